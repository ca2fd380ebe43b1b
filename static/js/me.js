// The phone page: matches arrive live (with catch-up after sleep or a Wi-Fi drop), answers go by fetch,
// and a round shows where to go, with whom, and how long is left; badge scans and contacts are in contacts.js.
import { setupContacts } from "./contacts.js";
import { clock, el, openFeed, pageData, secondsUntil } from "./feed.js";
import { backgroundForms, newKey, retrying } from "./forms.js";
import { autoGrow, keyboardInset } from "./typing.js";

const data = pageData("me-data");
const T = data.text;
const list = document.getElementById("matches");
const empty = document.getElementById("no-matches");
const waiting = document.getElementById("waiting");
const conn = document.getElementById("conn");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const offsetMs = data.server_now ? Date.parse(data.server_now) - Date.now() : 0;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] ?? ""));
}

function matchNode(m) {
  const node = el("article", "match fresh");
  node.id = `match-${m.match_id}`;
  node.dataset.matchId = m.match_id;
  node.dataset.status = m.status;
  const head = el("header", "match-head");
  head.append(el("h3", "match-name", `${m.other.first_name} ${m.other.last_name || ""}`.trim()),
              el("span", "match-badge", `#${m.other.badge}`));
  node.append(head);
  const org = [m.other.title, m.other.company].filter(Boolean).join(" · ");
  if (org) node.append(el("p", "match-org", org));
  const reasons = el("ul", "reasons");
  for (const r of m.reasons || []) {
    const mine = r.giver === data.me;
    reasons.append(el("li", `reason ${mine ? "give" : "take"}`,
      fill(mine ? T.give : T.take, { offer: r.offer, need: r.need, name: m.other.first_name })));
  }
  node.append(reasons);
  const line = opener(m.opener);
  if (line) node.append(el("p", "starter", line));
  const form = el("form", "answers");
  form.method = "post";
  form.setAttribute("action", `/me/matches/${m.match_id}`);
  for (const action of ["accept", "decline", "met"]) {
    const button = el("button", `answer ${action}`, T[action]);
    button.name = "action";
    button.value = action;
    form.append(button);
  }
  node.append(form, el("p", "match-status", T.status[m.status] || m.status));
  return node;
}

// The starter addressed to this reader, in the page's language (the server sends its parts).
function opener(o) {
  if (!o || !(o.ask || o.tell)) return "";
  return fill(o.ask && o.tell ? T.opener.both : o.ask ? T.opener.ask : T.opener.tell, o);
}

// Nobody present clears the floor: say they will be paired in the next round (unless a match is on the page).
function showWaiting() {
  if (list.querySelector(".match")) return;
  empty.hidden = true;
  waiting.hidden = false;
}

function addMatch(m) {
  const existing = document.getElementById(`match-${m.match_id}`);
  if (existing) return;  // already on the page (rendered, or replayed after a reconnect)
  list.prepend(matchNode(m));
  empty.hidden = true;
  waiting.hidden = true;
  if (navigator.vibrate) navigator.vibrate(120);
}

// An answer goes in the background and waits out a Wi-Fi drop (forms.js: the banner, retries with one key, so the
// server records it once); the buttons show it is on its way. Never a page load: that would fail offline.
async function answer(form, action, button) {
  const node = form.closest(".match");
  if (node.dataset.pending) return;
  node.dataset.pending = action;
  const buttons = [...form.querySelectorAll("button")];
  for (const b of buttons) b.disabled = true;
  button.setAttribute("aria-busy", "true");
  const status = node.querySelector(".match-status");
  status.textContent = T.scan.sending;
  const body = new FormData();
  body.append("action", action);
  body.append("idem", newKey());
  try {
    // getAttribute: the buttons are named "action", which shadows form.action in the DOM.
    const response = await retrying((signal) => fetch(form.getAttribute("action"), {
      method: "POST", body, credentials: "same-origin", signal,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }));
    const result = await response.json().catch(() => ({}));
    if (!response.ok) { status.textContent = result.message || response.statusText; return; }
    node.dataset.status = result.status;
    status.textContent = T.status[result.status] || result.status;
  } finally {
    delete node.dataset.pending;
    for (const b of buttons) b.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

list.addEventListener("click", (e) => {
  const button = e.target.closest("button.answer");
  if (!button) return;
  e.preventDefault();
  answer(button.form, button.value, button);
});

let roundEnds = document.getElementById("round-clock").dataset.ends || null;
function setRound(r) {
  const card = document.getElementById("round");
  document.getElementById("round-title").textContent = fill(T.round, { n: r.number });
  // Left out of this round (a group rule, or everyone free already met): say why and what to do meanwhile.
  const leftOut = document.getElementById("round-left-out");
  leftOut.hidden = !r.left_out;
  leftOut.textContent = r.left_out ? (T.left_out[r.why] || T.left_out.already_met) : "";
  for (const id of ["round-where", "round-with"]) document.getElementById(id).hidden = !!r.left_out;
  card.classList.toggle("left-out", !!r.left_out);
  document.getElementById("round-point").textContent = r.meeting_point || "";
  document.getElementById("round-partners").textContent =
    (r.partners || []).map((p) => `${p.first_name} ${p.last_name || ""} (#${p.badge})`.replace(" (", " (").trim()).join(", ");
  roundEnds = r.ends_at;
  card.hidden = false;
  card.classList.add("fresh");
  for (const m of r.matches || []) addMatch(m);
  tick();
  if (navigator.vibrate) navigator.vibrate([120, 80, 120]);
}

function tick() {
  if (!roundEnds) return;
  const left = secondsUntil(roundEnds, offsetMs);
  document.getElementById("round-clock").textContent = left > 0 ? fill(T.left, { t: clock(left) }) : T.over;
}
setInterval(tick, 1000);
tick();

const contacts = setupContacts({ data, csrf });
keyboardInset();
autoGrow();
backgroundForms();  // my cards and privacy forms: in the background, kept while the Wi-Fi is away

openFeed({
  role: "attendee",
  event: data.event,
  lastSeq: data.last_seq,
  types: ["match", "round", "contact", "unmatched"],
  onMessage(type, message) {
    if (type === "match") addMatch(message);
    else if (type === "unmatched") showWaiting();
    else if (type === "round") setRound(message);
    else if (type === "contact") contacts.onContact(message);
  },
  onStatus(state) {
    conn.dataset.state = state;
    if (state === "live") contacts.flush();  // back on the network: send the scans that waited
  },
});
