// The live screen: matches animate in one at a time (a burst at 8:55 is queued and paced, not a blur),
// counters follow `stats`, a round shows its countdown and meeting points, and the page idles calmly between.
import { clock, el, openFeed, pageData, secondsUntil } from "./feed.js";
import { heartbeat } from "./heartbeat.js";

const data = pageData("screen-data");
const T = data.text;
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
  wrap.append(el("bdi", "who-name", person.first_name), el("span", "who-badge", `#${person.badge}`));
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
    line.append(side(giver), el("span", "verb", ` ${T.can_help} `), side(taker));
    if (g.topic) line.append(el("span", "verb", ` ${T.with} `), el("span", "topic", g.topic));
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

// A round takes the stage: its groups are split into pages that fit the panel at a size readable from the back
// of the room, and the pages turn on their own ("Page 2 of 3"); nothing is cut off, however many are here.
const roundPanel = document.getElementById("round");
const roundList = document.getElementById("round-points");
const roundPage = document.getElementById("round-page");
const PAGE_MS = Math.max(2, Number(data.page_s) || 10) * 1000;
const ROUND_LINGER_S = 120;  // "Time!" stays up this long after a round ends
let roundEnds = null;
let round = null;
let pages = [];
let pageIndex = 0;
let pageTimer = null;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] ?? ""));
}

function personNode(p) {
  // <bdi>: a name in another script (Arabic, Hebrew) is isolated, so the badge number after it stays after it.
  const person = el("span", "person");
  if (p.first_name) person.append(el("bdi", "person-name", p.first_name), " ");
  person.append(el("span", "person-badge", `#${p.badge}`));
  return person;
}

function groupNode(g) {
  const item = el("li", "point");
  const name = el("bdi", "point-name", g.meeting_point);
  const people = el("span", "point-people");
  g.people.forEach((p, i) => {
    if (i) people.append(el("span", "point-sep", " · "));
    people.append(personNode(p));
  });
  item.append(name, people);
  return item;
}

function paginate() {
  // Greedy: add groups while they fit the panel; the next one starts a new page. Measured, not guessed, so long
  // names, trios and the projector's resolution all find their own page size.
  const groups = (round && round.groups) || [];
  pages = [];
  roundList.replaceChildren();
  let page = [];
  for (const g of groups) {
    const node = groupNode(g);
    roundList.append(node);
    if (page.length && roundList.scrollHeight > roundList.clientHeight + 1) {
      node.remove();
      pages.push(page);
      roundList.replaceChildren(node);
      page = [];
    }
    page.push(node);
  }
  if (page.length) pages.push(page);
  pageIndex = Math.min(pageIndex, Math.max(pages.length - 1, 0));
  showPage();
}

function showPage() {
  clearTimeout(pageTimer);
  roundList.replaceChildren(...(pages[pageIndex] || []));
  roundList.dataset.page = String(pageIndex + 1);
  roundPage.hidden = pages.length < 2;
  roundPage.textContent = pages.length > 1 ? fill(T.page, { page: pageIndex + 1, pages: pages.length }) : "";
  if (pages.length > 1) {
    pageTimer = setTimeout(() => { pageIndex = (pageIndex + 1) % pages.length; showPage(); }, PAGE_MS);
  }
}

function setRound(r) {
  clearTimeout(pageTimer);
  if (!r) {
    roundPanel.hidden = true;
    document.body.classList.remove("round-on");
    round = null; roundEnds = null;
    return;
  }
  round = r;
  document.getElementById("round-title").textContent = fill(T.round, { n: r.number });
  roundEnds = r.ends_at;
  roundPanel.hidden = false;
  document.body.classList.add("round-on");
  pageIndex = 0;
  paginate();
  if (document.fonts) document.fonts.ready.then(() => { if (round === r) paginate(); });  // sizes settle
  tick();
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (round) paginate(); }, 200);
});

function tick() {
  if (!roundEnds) return;
  const left = secondsUntil(roundEnds, offsetMs);
  document.getElementById("round-clock").textContent = left > 0 ? clock(left) : T.time_up;
  roundPanel.classList.toggle("ending", left <= 60);
  if (left < -ROUND_LINGER_S) setRound(null);  // the round is over: matches have the stage again
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
