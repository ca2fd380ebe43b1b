// Kiosk enhancements: live name search, ticket QR camera, idle reset, one-tap forms, done-screen countdown; forms
// go in the background and wait out a Wi-Fi drop (forms.js). Every page works without this script; it only makes
// the tablet faster, tidier and steadier on bad Wi-Fi.
import { backgroundForms, forgetTyped, goWhenReachable, newKey, submit } from "./forms.js";
import { heartbeat } from "./heartbeat.js";
import { openScanner } from "./scan.js";
import { autoGrow, keyboardInset } from "./typing.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// Back to the start for the next person, also when the Wi-Fi is gone at that moment: the screen is cleared at once
// and the start page loads when it can (never the browser's "no internet" page with someone's details behind it).
function startOver() {
  const start = document.querySelector(".kiosk-bar[data-start]")?.dataset.start ?? "/kiosk/";
  goWhenReachable(start, { clear: () => document.querySelector("main")?.replaceChildren() });
}

function post(url, fields) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = url;
  for (const [name, value] of Object.entries({ csrf_token: csrf, ...fields })) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  submit(form);
}

// Idle: a shared tablet must not keep someone's details on screen. Any touch or key restarts the clock. On a form
// step the kiosk starts over (the server forgets who it was serving); on the start page a typed name, its results
// or an open camera are cleared. The done screen has its own countdown.
function idleReset() {
  const bar = document.querySelector(".kiosk-bar[data-idle-seconds]");
  if (!bar || document.querySelector(".done[data-return]")) return;
  const seconds = Number(bar.dataset.idleSeconds) || 90;
  let last = Date.now();
  for (const type of ["pointerdown", "keydown", "input", "scroll"]) {
    addEventListener(type, () => { last = Date.now(); }, { passive: true, capture: true });
  }
  // Looked up at each tick: a form shown again with its error replaced the page's body.
  const somethingToClear = () => Boolean(document.querySelector("form.search input[name=q]")?.value
    || document.getElementById("results")?.children.length || document.getElementById("scanner")?.hidden === false);
  setInterval(() => {
    if (Date.now() - last < seconds * 1000) return;
    last = Date.now();
    // On a step the server forgets who it served when the start page loads; replace: no history to go back to.
    if (document.querySelector("form.start-over") || somethingToClear()) startOver();
  }, 500);
}

// "Start over" goes the same way as the idle reset (the plain post without this script).
function startOverButton() {
  document.querySelector("form.start-over")?.addEventListener("submit", (event) => {
    event.preventDefault();
    startOver();
  });
}

// Forms submit once: a double tap must not check someone in twice or print two badges.
function submitOnce() {
  for (const form of document.querySelectorAll("form[data-once]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      const clicked = event.submitter;
      if (clicked?.name) {
        const keep = document.createElement("input");
        keep.type = "hidden"; keep.name = clicked.name; keep.value = clicked.value;
        form.append(keep);
      }
      for (const button of form.querySelectorAll("button")) button.disabled = true;
    });
  }
}

// Live search: results as you type (debounced), showing only first name, last initial and company.
function liveSearch() {
  const form = document.querySelector("form.search");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const results = document.getElementById("results");
  const template = document.getElementById("choice-template");
  let timer = null;
  let retry = null;
  let seq = 0;

  // Offline (or the server's database away) the list says so instead of showing nobody, and tries again.
  function noConnection(mine, after = 3) {
    if (mine !== seq) return;
    const note = document.createElement("p");
    note.className = "muted no-connection";
    note.textContent = form.dataset.offline;
    results.replaceChildren(note);
    clearTimeout(retry);
    retry = setTimeout(search, Math.min(Math.max(after, 1), 15) * 1000);
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    clearTimeout(retry);
    if (!q) { results.replaceChildren(); return; }  // how many letters are enough depends on the script: the server says
    let response;
    try {
      response = await fetch(`${form.dataset.lookup}?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
    } catch {
      noConnection(mine);
      return;
    }
    if (mine !== seq) return;  // a newer keystroke won
    if (response.status === 429) { results.textContent = "…"; return; }
    if ([502, 503, 504].includes(response.status)) { noConnection(mine, Number(response.headers.get("Retry-After")) || 3); return; }
    const body = await response.json().catch(() => ({}));
    const nodes = (body.results ?? []).map((person) => {
      const node = template.content.firstElementChild.cloneNode(true);
      node.querySelector("input[name=choice]").value = person.choice;
      node.querySelector("input[name=csrf_token]").value = csrf;
      node.querySelector("input[name=idem]").value = newKey();  // one key per result, not the template's
      node.querySelector(".choice-name").textContent = `${person.first_name} ${person.last_initial}`.trim();
      node.querySelector(".choice-company").textContent = person.company;
      node.querySelector(".choice-here").hidden = !person.checked_in;
      return node;
    });
    results.replaceChildren(...nodes);
  }

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 180); });
  // Typed before this script ran (a quick hand, a slow tablet): search for it now, not at the next keystroke.
  if (input.value.trim()) search();
  addEventListener("online", () => { if (results.querySelector(".no-connection")) search(); });
  // A USB ticket scanner types the code and Enter: an entry with a digit and no space is a ticket, not a name
  // (short references like "T-100" included; nobody's name has digits).
  form.addEventListener("submit", (event) => {
    const value = input.value.trim();
    event.preventDefault();  // a name is searched here, live (a page load would fail offline)
    if (/^[A-Za-z0-9\-\/:.]{4,}$/.test(value) && /\d/.test(value)) post(form.dataset.ticket, { code: value });
    else { clearTimeout(timer); search(); }
  });
}

// Ticket camera (scan.js: BarcodeDetector where it exists, the vendored jsQR elsewhere), facing the person at the
// tablet. The first code read is posted as the ticket.
function ticketScanner() {
  const open = document.getElementById("scan-ticket");
  if (!open || !navigator.mediaDevices?.getUserMedia || !window.isSecureContext) return;
  open.hidden = false;
  const box = document.getElementById("scanner");
  const video = document.getElementById("scanner-video");
  const status = document.getElementById("scanner-status");
  const strings = document.querySelector(".strings").dataset;
  let scanner = null;

  function stop() {
    scanner?.stop();
    scanner = null;
    box.hidden = true;
  }

  open.addEventListener("click", async () => {
    if (scanner) return;
    box.hidden = false;
    try {
      scanner = await openScanner({
        video, facingMode: "user",
        onCode(code) {
          stop();
          document.getElementById("ticket-code").value = code;
          submit(document.getElementById("ticket-form"));
        },
      });
    } catch {
      status.textContent = strings.cameraDenied;
    }
  });
  document.getElementById("scanner-close").addEventListener("click", stop);
}

// Done screen: count down (a bar that empties), then back to the start for the next person.
function doneCountdown() {
  const done = document.querySelector(".done[data-return]");
  if (!done) return;
  const total = Number(done.dataset.seconds || 25);
  const bar = done.querySelector(".countdown-bar span");
  let left = total;
  // A touch means someone is still reading (or scanning the QR): give them at least ten more seconds.
  addEventListener("pointerdown", () => { left = Math.max(left, Math.min(10, total)); }, { passive: true });
  setInterval(() => {
    left -= 1;
    if (bar) bar.style.transform = `scaleX(${Math.max(left, 0) / total})`;
    if (left <= 0) startOver();  // the done page (a phone QR) leaves no history entry, even offline
  }, 1000);
}

// Badge preview on the details step: follows the fields as they are corrected.
function badgePreview() {
  const preview = document.querySelector(".badge-preview");
  const form = document.querySelector(".details-layout form");
  if (!preview || !form) return;
  const value = (name) => form.elements[name]?.value.trim() ?? "";
  form.addEventListener("input", () => {
    preview.querySelector(".badge-first").textContent = value("first_name");
    preview.querySelector(".badge-full").textContent = `${value("first_name")} ${value("last_name")}`.trim();
    preview.querySelector(".badge-company").textContent = [value("title"), value("company")].filter(Boolean).join(" · ");
  });
}

// Badge print status on the done screen, when the kiosk has a printer.
async function printStatus() {
  const status = document.querySelector("[data-job-status]");
  if (!status?.dataset.jobStatus) return;
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await fetch(status.dataset.jobStatus, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    if (job.message) status.textContent = job.message;
    if (job.status === "done" || job.status === "failed") return;
  }
}

// What a page needs set up; run again when a form's answer (its error) replaces the page's body.
function setUpPage() {
  submitOnce();
  startOverButton();
  liveSearch();
  ticketScanner();
  badgePreview();
  autoGrow();
}

// A new person starts here, and the last one is done: nothing typed is kept on the tablet.
if (document.querySelector("form.search, .done[data-return]")) forgetTyped();
idleReset();
doneCountdown();
printStatus();
heartbeat();
keyboardInset();
setUpPage();
backgroundForms({ onPage: setUpPage });
