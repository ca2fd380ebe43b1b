// A Socket.IO feed with catch-up, shared by the live screen, the phone page and the staff dashboard.
// On every (re)connect it joins its room with the last seq it has; the server replays what was missed, then
// answers. Messages that arrive before the answer are held, then delivered in seq order; every seq is delivered
// once (a message committed during the join can arrive both live and in the replay).

const SEEN_WINDOW = 2000;  // seqs remembered for de-duplication; older ones are below the floor anyway

export function openFeed({ role, event, token = null, lastSeq = 0, types, onMessage, onStatus = () => {} }) {
  let last = lastSeq;       // highest seq delivered: sent as last_seq when (re)joining
  let floor = lastSeq;      // everything up to here was already on the page when it was rendered
  let joined = false;
  let held = [];
  const seen = new Set();
  // A websocket first: one long connection that any app process behind a round-robin balancer can hold, with no
  // affinity needed (deploy/nginx.conf). Long-polling only when a websocket cannot be opened (a proxy that refuses
  // them); its requests need affinity, which deploy/haproxy.cfg gives by cookie.
  const socket = window.io({ transports: ["websocket", "polling"], tryAllTransports: true, reconnectionDelayMax: 5000 });

  function deliver(type, message) {
    const seq = message && message.seq;
    if (typeof seq !== "number" || seq <= floor || seen.has(seq)) return;
    seen.add(seq);
    if (seq > last) last = seq;
    if (seen.size > SEEN_WINDOW) {
      for (const old of seen) { if (old < last - SEEN_WINDOW) seen.delete(old); }
    }
    try { onMessage(type, message); } catch (err) { console.error(err); }
  }

  function rejoin() {
    joined = false;
    held = [];
    onStatus("joining");
    socket.emit("join", { role, event, token, last_seq: last }, (answer) => {
      if (!answer || !answer.ok) { onStatus("denied", answer); return; }
      if (answer.reset) { last = 0; floor = 0; seen.clear(); }
      joined = true;
      const pending = held.sort((x, y) => x[1].seq - y[1].seq);
      held = [];
      pending.forEach(([type, message]) => deliver(type, message));
      onStatus("live", answer);
    });
  }
  socket.on("connect", rejoin);
  // The server's message queue was away for a while (Redis restarting): the socket stayed up but may have missed
  // messages; rejoining with the last seq replays them from the event log.
  socket.on("resync", rejoin);
  socket.on("disconnect", () => onStatus("offline"));
  socket.on("connect_error", () => onStatus("offline"));
  socket.on("error", (err) => onStatus("denied", err));
  for (const type of types) {
    socket.on(type, (message) => (joined ? deliver(type, message) : held.push([type, message])));
  }
  // A phone waking up or a tablet back on Wi-Fi: reconnect at once instead of waiting for the backoff.
  const wake = () => { if (!socket.connected) socket.connect(); };
  document.addEventListener("visibilitychange", () => { if (!document.hidden) wake(); });
  window.addEventListener("online", wake);
  return { socket, lastSeq: () => last };
}

// JSON handed over by the server page in <script type="application/json" id="..."> (data, not code: CSP allows it).
export function pageData(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Seconds left until an ISO time, corrected by the server clock offset the page measured at load.
export function secondsUntil(iso, offsetMs = 0) {
  return Math.max(0, Math.round((Date.parse(iso) - (Date.now() + offsetMs)) / 1000));
}

export function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}
