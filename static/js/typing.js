// Long typing on a touch screen (kiosk.js, prepare.js, me.js): card fields that grow with their text, and the
// action bar (Continue) kept above the on-screen keyboard.

// A textarea.grow is as tall as its text, so all of it is visible and the page (not the field) scrolls. CSS
// `field-sizing: content` does it where the browser knows it; elsewhere (Safari before 26) we set the height.
export function autoGrow(root = document) {
  const fields = root.querySelectorAll("textarea.grow");
  if (!fields.length || CSS.supports?.("field-sizing", "content")) return;
  const fit = (field) => {
    field.style.height = "auto";
    field.style.height = `${field.scrollHeight + field.offsetHeight - field.clientHeight}px`;
  };
  for (const field of fields) {
    fit(field);
    field.addEventListener("input", () => fit(field));
  }
}

// Browsers that overlay the keyboard on the page instead of resizing it (iPadOS Safari ignores
// `interactive-widget=resizes-content`) shrink only the visual viewport: lift the sticky bar by what the keyboard
// covers (--keyboard-inset, see kiosk.css and me.css), and keep the field being typed in visible above it.
export function keyboardInset() {
  const view = window.visualViewport;
  if (!view) return;
  const root = document.documentElement;
  const update = () => {
    const covered = Math.max(0, window.innerHeight - view.height - view.offsetTop);
    root.style.setProperty("--keyboard-inset", `${Math.round(covered)}px`);
  };
  view.addEventListener("resize", update);
  view.addEventListener("scroll", update);
  document.addEventListener("focusin", (event) => {
    if (!event.target.matches?.("textarea, input:not([type=checkbox]):not([type=hidden])")) return;
    // After the keyboard has come up: the field, not the bar over it, is what must be visible.
    setTimeout(() => event.target.scrollIntoView({ block: "nearest" }), 300);
  });
  update();
}
