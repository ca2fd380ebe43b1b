// Forms that survive a Wi-Fi drop, for the kiosk and the phone (kiosk.js, me.js).
//
// A form with a hidden `idem` field (rendered with the page) is sent in the background: on a network failure or a
// 502/503/504 (the server answers 503 with Retry-After while its database is away) it is sent again, with the same
// key, until it goes through, so the server answers a retry of something it already did with its first answer
// (kiosk/idempotency.py) and does nothing twice. Meanwhile a polite "Reconnecting…" banner shows and what was typed
// is kept in sessionStorage (until it went through, or the kiosk starts over: nothing stays on a shared tablet).
// The answer is a redirect to the next page, which we go to with location.replace; a page with an error (4xx) is
// shown in place, as a plain form post would show it. Without this script the forms post as they always did.

const RETRYABLE = new Set([502, 503, 504]);
const TIMEOUT_MS = 15000;  // a request the Wi-Fi swallowed: give up on it and send again (same key)
const MAX_WAIT_MS = 15000;
const STORE = "gt-form:";

const pageHooks = [];
let waiting = 0;

// A fresh key (crypto.getRandomValues works on the venue's plain-http address; randomUUID needs https).
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function banner(on) {
  const box = document.getElementById("reconnecting");
  if (!box) return;
  waiting = Math.max(0, waiting + (on ? 1 : -1));
  const text = waiting ? box.dataset.text : "";
  if (box.textContent !== text) box.textContent = text;  // a live region: changing its text is what is announced
  box.classList.toggle("shown", waiting > 0);
}

function pause(ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); removeEventListener("online", done); resolve(); };
    const timer = setTimeout(done, ms);
    addEventListener("online", done);  // back on the network: try at once
  });
}

// Send until an answer that is not a network failure or a 502/503/504; the banner shows while we wait.
export async function retrying(send, { onWait = () => {} } = {}) {
  let delay = 1000;
  let shown = false;
  try {
    for (;;) {
      let response = null;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
      try {
        response = await send(abort.signal);
        if (!RETRYABLE.has(response.status)) return response;
      } catch {
        // offline, refused, reset or timed out: all mean "try again"
      } finally {
        clearTimeout(timer);
      }
      if (!shown) { banner(true); shown = true; onWait(); }
      const after = Number(response?.headers.get("Retry-After"));
      await pause(after > 0 ? Math.min(after * 1000, MAX_WAIT_MS) : delay);
      delay = Math.min(delay * 2, 8000);
    }
  } finally {
    if (shown) banner(false);
  }
}

// What was typed, kept per page and form until it went through.
function storeKey(form) {
  return `${STORE}${location.pathname}|${form.getAttribute("action") || ""}`;
}

function keep(form, pending = false) {
  const fields = [];
  for (const [name, value] of new FormData(form)) {
    if (name !== "csrf_token" && typeof value === "string") fields.push([name, value]);
  }
  try {
    sessionStorage.setItem(storeKey(form), JSON.stringify({ fields, pending }));
  } catch { /* storage full or disabled: the page still holds the fields */ }
}

function restore(form) {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(storeKey(form)) || "null"); } catch { return false; }
  if (!saved) return false;
  const values = new Map();
  for (const [name, value] of saved.fields) values.set(name, [...(values.get(name) || []), value]);
  for (const element of form.elements) {
    if (!element.name || element.name === "csrf_token" || !values.has(element.name)) continue;
    const mine = values.get(element.name);
    if (element.type === "checkbox" || element.type === "radio") element.checked = mine.includes(element.value);
    else if (element.type !== "submit" && element.type !== "button") element.value = mine[0];
  }
  return saved.pending;
}

// Forget every form kept on this tablet (start over, idle reset, the done screen, the start page).
export function forgetTyped() {
  try {
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(STORE)) sessionStorage.removeItem(key);
  } catch { /* nothing kept */ }
}

// Show an answer's page (a form with its error) in place of this one, then let the page's scripts set it up.
function showPage(html) {
  const next = new DOMParser().parseFromString(html, "text/html");
  document.title = next.title;
  document.body.replaceWith(document.adoptNode(next.body));  // its scripts do not run again: the hooks do
  setupForms();
  for (const hook of pageHooks) hook();
}

// Send `form` in the background (with the button that was pressed), retrying; then go where the answer says.
export async function submit(form, submitter = null) {
  if (form.dataset.sending) return;
  form.dataset.sending = "1";
  let key = form.querySelector("input[name=idem]");
  if (!key) {
    key = Object.assign(document.createElement("input"), { type: "hidden", name: "idem" });
    form.append(key);
  }
  if (!key.value) key.value = newKey();
  const body = new FormData(form);
  if (submitter?.name && !form.querySelector(`input[type=hidden][name="${submitter.name}"]`)) {
    body.append(submitter.name, submitter.value);
  }
  keep(form, true);
  const buttons = [...form.querySelectorAll("button")];
  for (const button of buttons) button.disabled = true;
  submitter?.setAttribute("aria-busy", "true");
  const url = new URL(form.getAttribute("action") || "", location.href);  // a button named "action" hides form.action
  const response = await retrying((signal) => fetch(url, {
    method: "POST", body, redirect: "follow", credentials: "same-origin", signal,
    // X-Background-Form: the page the redirect leads to keeps its messages ("Saved.") for the load below (kiosk/app.py)
    headers: { Accept: "text/html", "X-Background-Form": "1" },
  }));
  if (response.ok && response.redirected) {
    sessionStorage.removeItem(storeKey(form));
    location.replace(response.url);  // the step's post leaves no history entry to go back and send again
    return;
  }
  // An error (a field to correct) or a page answered in place: show it, as a plain post would.
  const html = await response.text().catch(() => "");
  sessionStorage.removeItem(storeKey(form));
  if (html) showPage(html);
  else {
    delete form.dataset.sending;
    for (const button of buttons) button.disabled = false;
    submitter?.removeAttribute("aria-busy");
  }
}

// The forms of this page that go in the background: posts with an idem field that no other script handles.
function setupForms() {
  for (const form of document.querySelectorAll("form[method=post]")) {
    if (!form.querySelector("input[name=idem]") || form.dataset.background) continue;
    form.dataset.background = "1";
    if (restore(form)) submit(form);  // the page was reloaded while a post was on its way: send it again
    form.addEventListener("input", () => keep(form));
    form.addEventListener("change", () => keep(form));
  }
}

// Intercept submits once for the whole document (a listener that ran before us may have taken the form over).
export function backgroundForms({ onPage } = {}) {
  if (onPage) pageHooks.push(onPage);
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.dataset?.background) return;
    event.preventDefault();
    submit(form, event.submitter);
  });
  linksWaitOffline();
  setupForms();
}

// A link tapped while offline waits (with the banner) and opens once the page can be loaded.
function linksWaitOffline() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[href]");
    if (!link || navigator.onLine || event.defaultPrevented || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || (url.pathname === location.pathname && url.hash)) return;
    event.preventDefault();
    goWhenReachable(url.href);
  });
}

// Go to `url` (the kiosk's start page) once it can be loaded: offline, the screen is cleared at once (`clear`:
// nothing of the last person stays on it) and the banner shows, instead of the browser's "no internet" page.
let leaving = false;
export async function goWhenReachable(url, { clear = () => {} } = {}) {
  if (leaving) return;
  leaving = true;
  forgetTyped();
  if (!navigator.onLine) clear();
  await retrying((signal) => fetch(url, { credentials: "same-origin", cache: "no-store", signal }), { onWait: clear });
  location.replace(url);
}
