// A sponsor's scanner page: the camera, where the browser gives one (a secure context) and the scanning module
// (/static/js/scan.js) is there. Without either the page is the typed field, which a USB scanner also types into.
const open = document.getElementById("camera-open");
const box = document.getElementById("camera");
const video = document.getElementById("camera-video");
const status = document.getElementById("camera-status");
const form = document.getElementById("scan-form");
const field = document.getElementById("code");
const strings = document.getElementById("camera-strings").dataset;
let scanner = null;

async function moduleExists(url) {
  try {
    return (await fetch(url, { method: "HEAD", cache: "no-store" })).ok;
  } catch {
    return false;
  }
}

function close() {
  scanner?.stop?.();
  scanner = null;
  box.hidden = true;
  field.focus();
}

function unavailable() {
  close();
  open.hidden = true;
  field.placeholder = strings.unavailable;
}

async function start() {
  box.hidden = false;
  try {
    const module = await import(open.dataset.module);
    scanner = await module.openScanner({
      video,
      onCode(code) {
        close();
        field.value = code;
        form.requestSubmit();
      },
      onStatus(text) { status.textContent = text; },
    });
  } catch {
    unavailable();
  }
}

if (window.isSecureContext && navigator.mediaDevices?.getUserMedia && await moduleExists(open.dataset.module)) {
  open.hidden = false;
  open.addEventListener("click", start);
  document.getElementById("camera-close").addEventListener("click", close);
}

// Two Enters from a scanner (or a double tap) send one scan: the second waits for the page that answers the first.
form.addEventListener("submit", (event) => {
  if (form.dataset.sent) event.preventDefault();
  else form.dataset.sent = "1";
});
