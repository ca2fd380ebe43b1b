// The staff dashboard: check-ins and matches as they happen, counters, the round, printers (polled: CUPS has no push).
import { el, openFeed, pageData } from "./feed.js";

const data = pageData("live-data");
const FEED_MAX = 30;
const PRINTER_POLL_MS = 15000;

function prepend(listId, node) {
  const list = document.getElementById(listId);
  list.prepend(node);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
}

function checkin(c) {
  const item = el("li", "fresh");
  item.append(el("strong", null, c.first_name), ` ${c.company ? "· " + c.company : ""} `,
              el("span", "muted small", c.device || ""));
  prepend("checkins", item);
  if (typeof c.present === "number") document.getElementById("count-checked_in").textContent = c.present;
}

function match(m) {
  const item = el("li", "fresh");
  item.append(el("strong", null, m.a.first_name), ` #${m.a.badge} & `, el("strong", null, m.b.first_name),
              ` #${m.b.badge} `, el("span", "muted small", `${m.direction} · ${m.score}`));
  prepend("matches", item);
}

function stats(s) {
  for (const key of ["checked_in", "matches", "contacts", "queue"]) {
    if (typeof s[key] === "number") document.getElementById(`count-${key}`).textContent = s[key];
  }
}

function round(r) {
  const ends = new Date(r.ends_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const unpaired = (r.unpaired || []).length;
  document.getElementById("round-line").textContent =
    `Round ${r.number}: ${r.groups.length} groups, ends ${ends}` + (unpaired ? `, ${unpaired} without a partner` : "");
}

async function refreshPrinters() {
  const response = await fetch(data.printers_url, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const body = await response.json();
  const rows = (body.printers || []).map((p) => {
    const row = el("tr");
    row.append(el("td", null, p.name), el("td", null, p.state), el("td", null, p.accepting ? "yes" : "no"),
               el("td", null, p.message || ""));
    return row;
  });
  document.querySelector("#printers tbody").replaceChildren(...rows);
}
if (data.printers_url) setInterval(() => refreshPrinters().catch(() => {}), PRINTER_POLL_MS);

openFeed({
  role: "staff",
  event: data.event,
  lastSeq: data.last_seq,
  types: ["checkin", "match", "stats", "round"],
  onMessage(type, message) {
    ({ checkin, match, stats, round })[type](message);
  },
  onStatus(state) { document.getElementById("conn").dataset.state = state; },
});
