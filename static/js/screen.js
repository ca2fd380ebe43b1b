// The live screen: matches animate in one at a time (a burst at 8:55 is queued and paced, not a blur),
// counters follow `stats`, a round shows its countdown and meeting points, and the page idles calmly between.
import { clock, el, openFeed, pageData, secondsUntil } from "./feed.js";
import { heartbeat } from "./heartbeat.js";

const data = pageData("screen-data");
const stage = document.getElementById("stage");
const idle = document.getElementById("idle");
const recent = document.getElementById("recent");
const conn = document.getElementById("conn");
const offsetMs = data.server_now ? Date.parse(data.server_now) - Date.now() : 0;

const DWELL_MS = 5000;       // a match stays centre stage this long when nothing waits
const BUSY_DWELL_MS = 1800;  // ... and this long while others queue up
const MAX_QUEUE = 12;        // beyond this, older waiting matches go straight to the recent list
const RECENT_MAX = 8;
const IDLE_AFTER_MS = 45000; // back to the calm idle state after this long without news

const queue = [];
let showing = null;
let timer = null;
let idleTimer = null;

function side(person) {
  const wrap = el("span", "who");
  wrap.append(el("span", "who-name", person.first_name), el("span", "who-badge", `#${person.badge}`));
  return wrap;
}

function matchCard(m, small = false) {
  const card = el(small ? "li" : "article", small ? "recent-item" : "match-card");
  card.dataset.matchId = m.match_id;
  const people = { [m.a.id]: m.a, [m.b.id]: m.b };
  const gives = (m.gives && m.gives.length) ? m.gives : [{ giver: m.a.id, taker: m.b.id, topic: "" }];
  for (const g of gives) {
    const giver = people[g.giver];
    const taker = people[g.taker];
    if (!giver || !taker) continue;
    const line = el("p", "give-line");
    line.append(side(giver), el("span", "verb", " can help "), side(taker));
    if (g.topic) line.append(el("span", "verb", " with "), el("span", "topic", g.topic));
    card.append(line);
  }
  if (!small && m.direction === "both") card.classList.add("two-way");
  return card;
}

function setIdle(on) {
  idle.hidden = !on;
  stage.classList.toggle("is-idle", on);
}

function pushRecent(m) {
  recent.prepend(matchCard(m, true));
  while (recent.children.length > RECENT_MAX) recent.lastElementChild.remove();
}

function showNext() {
  timer = null;
  if (showing) {
    const leaving = stage.querySelector(".match-card");
    if (leaving) { leaving.classList.add("leaving"); setTimeout(() => leaving.remove(), 600); }
    pushRecent(showing);
    showing = null;
  }
  while (queue.length > MAX_QUEUE) pushRecent(queue.shift());
  const next = queue.shift();
  if (!next) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => setIdle(true), IDLE_AFTER_MS);
    return;
  }
  clearTimeout(idleTimer);
  setIdle(false);
  showing = next;
  const card = matchCard(next);
  card.classList.add("entering");
  stage.append(card);
  requestAnimationFrame(() => requestAnimationFrame(() => card.classList.remove("entering")));
  timer = setTimeout(showNext, queue.length ? BUSY_DWELL_MS : DWELL_MS);
}

function addMatch(m) {
  queue.push(m);
  if (!timer) {
    showNext();
  } else if (showing && queue.length === 1) {
    // Someone new is waiting: shorten the current card's stay.
    clearTimeout(timer);
    timer = setTimeout(showNext, BUSY_DWELL_MS);
  }
}

function setStats(s) {
  for (const key of ["checked_in", "matches", "contacts"]) {
    const node = document.getElementById(`count-${key}`);
    if (node && typeof s[key] === "number" && node.textContent !== String(s[key])) {
      node.textContent = s[key];
      node.classList.remove("bump");
      void node.offsetWidth;  // restart the animation
      node.classList.add("bump");
    }
  }
}

let roundEnds = null;
function setRound(r) {
  const panel = document.getElementById("round");
  if (!r) { panel.hidden = true; roundEnds = null; return; }
  document.getElementById("round-title").textContent = `Round ${r.number}`;
  const list = document.getElementById("round-points");
  list.replaceChildren();
  for (const g of r.groups || []) {
    const item = el("li", "point");
    item.append(el("span", "point-name", g.meeting_point));
    const names = g.people.map((p) => (p.first_name ? `${p.first_name} #${p.badge}` : `#${p.badge}`)).join(" · ");
    item.append(el("span", "point-people", names));
    list.append(item);
  }
  roundEnds = r.ends_at;
  panel.hidden = false;
  tick();
}

function tick() {
  if (!roundEnds) return;
  const left = secondsUntil(roundEnds, offsetMs);
  document.getElementById("round-clock").textContent = left > 0 ? clock(left) : "Time!";
  document.getElementById("round").classList.toggle("ending", left <= 60);
}
setInterval(tick, 1000);

for (const m of data.recent || []) pushRecent(m);
setIdle(true);
if (data.round) setRound(data.round);

openFeed({
  role: "screen",
  event: data.event,
  lastSeq: data.last_seq,
  types: ["match", "stats", "round"],
  onMessage(type, message) {
    if (type === "match") addMatch(message);
    else if (type === "stats") setStats(message);
    else if (type === "round") setRound(message);
  },
  onStatus(state) { conn.dataset.state = state; },
});
heartbeat();
