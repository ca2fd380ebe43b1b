// Kiosk enhancements: live name search, ticket QR camera, idle reset, one-tap forms, done-screen countdown.
// Every page works without this script; it only makes the tablet faster and tidier.
import { heartbeat } from "./heartbeat.js";
import { openScanner } from "./scan.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

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
  form.submit();
}

// Idle: a shared tablet must not keep someone's details on screen. Any touch or key restarts the clock. On a form
// step the kiosk starts over (the server forgets who it was serving); on the start page a typed name, its results
// or an open camera are cleared. The done screen has its own countdown.
function idleReset() {
  const bar = document.querySelector(".kiosk-bar[data-idle-seconds]");
  if (!bar || document.querySelector(".done[data-return]")) return;
  const seconds = Number(bar.dataset.idleSeconds) || 90;
  const resetForm = document.querySelector("form.start-over");
  const search = document.querySelector("form.search input[name=q]");
  const results = document.getElementById("results");
  const scanner = document.getElementById("scanner");
  let last = Date.now();
  for (const type of ["pointerdown", "keydown", "input", "scroll"]) {
    addEventListener(type, () => { last = Date.now(); }, { passive: true, capture: true });
  }
  const somethingToClear = () => Boolean(search?.value || results?.children.length || (scanner && !scanner.hidden));
  setInterval(() => {
    if (Date.now() - last < seconds * 1000) return;
    last = Date.now();
    if (resetForm) resetForm.submit();
    else if (somethingToClear()) location.replace(bar.dataset.start);  // replace: history keeps nothing to go back to
  }, 500);
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
  let seq = 0;

  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { results.replaceChildren(); return; }  // how many letters are enough depends on the script: the server says
    const response = await fetch(`${form.dataset.lookup}?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
    if (mine !== seq) return;  // a newer keystroke won
    if (response.status === 429) { results.textContent = "…"; return; }
    const body = await response.json();
    const nodes = (body.results ?? []).map((person) => {
      const node = template.content.firstElementChild.cloneNode(true);
      node.querySelector("input[name=choice]").value = person.choice;
      node.querySelector("input[name=csrf_token]").value = csrf;
      node.querySelector(".choice-name").textContent = `${person.first_name} ${person.last_initial}`.trim();
      node.querySelector(".choice-company").textContent = person.company;
      node.querySelector(".choice-here").hidden = !person.checked_in;
      return node;
    });
    results.replaceChildren(...nodes);
  }

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 180); });
  // A USB ticket scanner types the code and Enter: an entry with a digit and no space is a ticket, not a name
  // (short references like "T-100" included; nobody's name has digits).
  form.addEventListener("submit", (event) => {
    const value = input.value.trim();
    if (/^[A-Za-z0-9\-\/:.]{4,}$/.test(value) && /\d/.test(value)) {
      event.preventDefault();
      post(form.dataset.ticket, { code: value });
    }
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
          document.getElementById("ticket-form").submit();
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
    if (left <= 0) location.replace(done.dataset.return);  // the done page (a phone QR) leaves no history entry
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

idleReset();
submitOnce();
liveSearch();
ticketScanner();
doneCountdown();
badgePreview();
printStatus();
heartbeat();
