// A paired kiosk or screen tells the server it is still there, so the organizer's "Ready for doors" panel can
// flag a tablet that went to sleep or off the Wi-Fi. The URL comes from the page's [data-ping].
const EVERY_MS = 30000;

export function heartbeat() {
  const url = document.querySelector("[data-ping]")?.dataset.ping;
  if (!url) return;
  setInterval(() => {
    if (document.visibilityState === "visible") fetch(url, { cache: "no-store" }).catch(() => {});
  }, EVERY_MS);
}
