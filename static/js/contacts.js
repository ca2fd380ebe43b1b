// The phone's badge scanning and contact list: a scan (camera or typed) goes into a queue kept in localStorage and
// is sent from there, so a scan made in a Wi-Fi dead spot is not lost; the server answers a resend of the same
// scan (its nonce) like the first time, so sending twice makes one contact. Contacts arriving live (someone scanned
// me, connected back, changed what they share) come as ids: the page asks for the view it may see.
import { el } from "./feed.js";
import { openScanner } from "./scan.js";

const RETRY_MS = 15_000;
const NOTE_SAVE_MS = 800;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] ?? ""));
}

function safeWebsite(url) {
  return /^https?:\/\//i.test(url) ? url : `https://${url}`;
}

export function setupContacts({ data, csrf }) {
  const T = data.text.scan;
  const TM = data.text;
  const list = document.getElementById("contact-list");
  const empty = document.getElementById("no-contacts");
  const feedback = document.getElementById("scan-feedback");
  const waiting = document.getElementById("scan-waiting");
  const queueKey = `givetake:scans:${data.event}:${data.me}`;

  // ------------------------------------------------------------------------------------------ the server

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf,
                 ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });  // a network failure rejects (TypeError): the caller keeps its work for later
    const result = await response.json().catch(() => ({}));
    return { status: response.status, ok: response.ok, result };
  }

  // ------------------------------------------------------------------------------------------ the list

  function contactNode(c) {
    const holds = c.state !== "theirs";
    const shared = c.other.shared || {};
    const node = el("article", "contact fresh");
    node.id = `contact-${c.contact_id}`;
    node.dataset.contactId = c.contact_id;
    node.dataset.other = c.other.id;
    node.dataset.state = c.state;
    const head = el("header", "contact-head");
    const name = el("h3", "contact-name", `${c.other.first_name} ${c.other.last_name || ""}`.trim());
    name.dir = "auto";
    head.append(name, el("span", "contact-badge", `#${c.other.badge}`));
    node.append(head, el("p", "contact-state", T.state[c.state] || c.state));
    const org = [shared.title, shared.company || c.company].filter(Boolean).join(" · ");
    if (org) { const p = el("p", "contact-org", org); p.dir = "auto"; node.append(p); }
    if (c.offer && c.state !== "mutual") {  // a mutual contact shows all their offers below
      const p = el("p", "contact-offer");
      const text = el("span", null, c.offer);
      text.dir = "auto";
      p.append(el("span", "label", T.ask_me), " ", text);
      node.append(p);
    }
    const links = [];
    if (shared.email) links.push([`mailto:${shared.email}`, shared.email, "auto"]);
    if (shared.phone) links.push([`tel:${shared.phone.replace(/\s+/g, "")}`, shared.phone, "ltr"]);
    if (shared.website) links.push([safeWebsite(shared.website), shared.website, "auto"]);
    if (links.length) {
      const ul = el("ul", "contact-shared");
      for (const [href, text, dir] of links) {
        const a = el("a", null, text);
        a.href = href;
        a.dir = dir;
        if (href.startsWith("http")) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
        const li = el("li");
        li.append(a);
        ul.append(li);
      }
      node.append(ul);
    }
    if (c.state === "mutual") {
      for (const [items, cls, title] of [[c.offers, "give", T.offers], [c.needs, "take", T.needs]]) {
        if (!items?.length) continue;
        const card = el("div", `contact-card ${cls}`);
        const ul = el("ul");
        for (const item of items) {
          const li = el("li", null, item.text || (item.tags || []).join(", "));
          li.dir = "auto";
          ul.append(li);
        }
        card.append(el("h4", null, title), ul);
        node.append(card);
      }
      if (c.reasons?.length) {
        node.append(el("h4", "why", T.why));
        const ul = el("ul", "reasons");
        for (const r of c.reasons) {
          const mine = r.giver === data.me;
          const li = el("li", `reason ${mine ? "give" : "take"}`,
                        fill(mine ? TM.give : TM.take, { offer: r.offer, need: r.need, name: c.other.first_name }));
          li.dir = "auto";
          ul.append(li);
        }
        node.append(ul);
      }
    }
    const form = el("form", "contact-form");
    form.method = "post";
    form.setAttribute("action", `/me/contacts/${c.contact_id}`);
    const token = el("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    form.append(token);
    if (holds) {
      const label = el("label", "note-label", T.note);
      const note = el("textarea");
      note.name = "note"; note.rows = 2; note.maxLength = 2000; note.dir = "auto";
      note.placeholder = T.note_placeholder;
      note.value = c.note || "";
      label.append(note);
      const toggle = el("label", "switch");
      const box = el("input");
      box.type = "checkbox"; box.name = "follow_up"; box.value = "1"; box.checked = Boolean(c.follow_up);
      toggle.append(box, el("span", null, T.follow_up));
      const actions = el("div", "contact-actions");
      const save = el("button", "save", T.save);
      save.type = "submit"; save.name = "action"; save.value = "save";
      const vcard = el("a", "vcard", T.vcard);
      vcard.href = `/api/me/contacts/${c.contact_id}.vcf`;
      vcard.setAttribute("download", "");
      const saved = el("span", "saved");
      saved.setAttribute("role", "status");
      actions.append(save, saved, vcard);
      form.append(label, toggle, actions);
    } else {
      const connect = el("button", "connect primary", T.connect_back);
      connect.type = "submit"; connect.name = "action"; connect.value = "connect";
      form.append(connect);
    }
    node.append(form);
    enhance(node);
    return node;
  }

  function nodeFor(otherId) {
    return list.querySelector(`.contact[data-other="${Number(otherId)}"]`);
  }

  // Put a view on the list: replace the person's entry (its contact id changes when I connect back), or add it on
  // top. A note being typed is kept, not overwritten by an older server copy.
  function upsert(view) {
    const existing = nodeFor(view.other.id);
    const typing = existing?.querySelector("textarea[name=note]");
    const node = contactNode(view);
    if (typing && document.activeElement === typing) {
      const note = node.querySelector("textarea[name=note]");
      if (note) note.value = typing.value;
    }
    if (existing) existing.replaceWith(node);
    else list.prepend(node);
    if (typing && document.activeElement === typing) node.querySelector("textarea[name=note]")?.focus();
    empty.hidden = true;
    return node;
  }

  function remove(contactId) {
    list.querySelector(`.contact[data-contact-id="${Number(contactId)}"]`)?.remove();
    empty.hidden = list.children.length > 0;
  }

  // ------------------------------------------------------------------------------------------ notes, follow-up

  const unsaved = new Map();  // contact id -> fields not yet saved (retried when the phone is back online)

  async function saveFields(node, fields) {
    const id = node.dataset.contactId;
    const status = node.querySelector(".saved");
    unsaved.set(id, { ...(unsaved.get(id) || {}), ...fields });
    try {
      const { ok, status: code, result } = await api("PATCH", `/api/me/contacts/${id}`, unsaved.get(id));
      unsaved.delete(id);
      if (code === 404) { remove(id); return; }
      if (status) status.textContent = ok ? T.saved : (result.message || T.not_saved);
      if (ok) setTimeout(() => { if (status?.textContent === T.saved) status.textContent = ""; }, 2500);
    } catch {
      if (status) status.textContent = T.not_saved;
    }
  }

  function retryUnsaved() {
    for (const id of [...unsaved.keys()]) {
      const node = list.querySelector(`.contact[data-contact-id="${id}"]`);
      if (node) saveFields(node, {}); else unsaved.delete(id);
    }
  }

  async function connectBack(node) {
    const button = node.querySelector("button.connect");
    if (button) button.disabled = true;
    try {
      const { ok, status, result } = await api("POST", `/api/me/contacts/${node.dataset.contactId}/connect`, {});
      if (ok) { upsert(result.contact); return true; }
      if (status === 404) remove(node.dataset.contactId);
      else show(result.message || String(status));
    } catch {
      node.querySelector("form").submit();  // no fetch: the page form does it (and reloads)
    }
    if (button) button.disabled = false;
    return false;
  }

  function enhance(node) {
    const form = node.querySelector("form.contact-form");
    if (!form || form.dataset.enhanced) return;
    form.dataset.enhanced = "1";
    const note = form.querySelector("textarea[name=note]");
    const follow = form.querySelector("input[name=follow_up]");
    const save = form.querySelector("button.save");
    if (save) save.hidden = true;  // saved as you type
    let timer = null;
    note?.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => saveFields(node, { note: note.value }), NOTE_SAVE_MS);
    });
    note?.addEventListener("blur", () => {
      if (timer) { clearTimeout(timer); timer = null; saveFields(node, { note: note.value }); }
    });
    follow?.addEventListener("change", () => saveFields(node, { follow_up: follow.checked }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (event.submitter?.value === "connect") connectBack(node);
      else saveFields(node, { note: note?.value ?? "", follow_up: Boolean(follow?.checked) });
    });
  }

  list.querySelectorAll(".contact").forEach(enhance);

  // ------------------------------------------------------------------------------------------ the scan queue

  function readQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey)) || []; } catch { return []; }
  }

  function writeQueue(items) {
    try { localStorage.setItem(queueKey, JSON.stringify(items)); } catch { /* private mode: sent from memory */ }
    showWaiting(items);
  }

  function showWaiting(items = readQueue()) {
    waiting.hidden = items.length === 0;
    waiting.textContent = items.length === 1 ? T.waiting_one : fill(T.waiting, { n: items.length });
  }

  function show(text, kind = "") {
    feedback.textContent = text;
    feedback.dataset.kind = kind;
  }

  function enqueue(code) {
    const nonce = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    writeQueue([...readQueue(), { code, nonce, at: new Date().toISOString() }]);
    show(T.sending);
    flush();
  }

  // Retry later (network down, server busy or failing): everything else is the server's last word on the scan.
  const later = (status) => status === 429 || status >= 500;

  let flushing = null;
  function flush() {
    flushing ??= sendAll().finally(() => { flushing = null; });
    return flushing;
  }

  async function sendAll() {
    for (const item of readQueue()) {
      let answer;
      try {
        answer = await api("POST", "/api/me/scan", { code: item.code, nonce: item.nonce });
      } catch {
        showWaiting();
        return;  // offline: the rest waits too
      }
      if (later(answer.status)) { showWaiting(); return; }
      writeQueue(readQueue().filter((other) => other.nonce !== item.nonce));
      answered(answer);
    }
    showWaiting();
  }

  function answered({ ok, result }) {
    if (!ok || !result.contact) { show(result.message || "?", "error"); return; }
    const view = result.contact;
    upsert(view);
    const who = [view.other.first_name, view.company].filter(Boolean).join(" · ");
    show(result.created ? fill(T.connected, { who }) : fill(T.already, { name: view.other.first_name }),
         result.created ? "ok" : "repeat");
    navigator.vibrate?.(result.created ? [60, 40, 60] : 60);
  }

  document.getElementById("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.code;
    const code = input.value.trim();
    if (!code) return;
    input.value = "";
    enqueue(code);
  });

  window.addEventListener("online", flush);
  window.addEventListener("online", retryUnsaved);
  window.addEventListener("storage", (event) => { if (event.key === queueKey) showWaiting(); });
  setInterval(() => { if (readQueue().length) flush(); }, RETRY_MS);
  showWaiting();
  flush();

  // ------------------------------------------------------------------------------------------ the camera

  setupCamera({ T, onCode: enqueue, show });

  // ------------------------------------------------------------------------------------------ live messages

  const notice = document.getElementById("contact-notice");
  let noticeFor = null;
  document.getElementById("contact-notice-close").addEventListener("click", () => { notice.hidden = true; });
  document.getElementById("contact-notice-connect").addEventListener("click", async () => {
    const node = noticeFor && nodeFor(noticeFor);
    if (node && await connectBack(node)) notice.hidden = true;
  });

  async function onContact(message) {
    let answer;
    try {
      answer = await api("GET", `/api/me/contacts/${message.contact_id}`);
    } catch {
      return;  // the catch-up after the reconnect brings it again
    }
    if (answer.status === 404) { remove(message.contact_id); return; }
    if (!answer.ok) return;
    const view = answer.result.contact;
    const before = nodeFor(view.other.id)?.dataset.state;
    upsert(view);
    if (message.kind === "scanned_you" && view.state === "theirs") {
      noticeFor = view.other.id;
      document.getElementById("contact-notice-text").textContent =
        fill(T.scanned_you, { name: view.other.first_name });
      document.getElementById("contact-notice-connect").hidden = false;
      notice.hidden = false;
      navigator.vibrate?.([120, 80, 120]);
    } else if (message.kind === "mutual" && before === "mine") {  // they connected back (not my own tap)
      if (noticeFor === view.other.id) notice.hidden = true;
      show(fill(T.mutual, { name: view.other.first_name }), "ok");
      navigator.vibrate?.(120);
    }
  }

  return { onContact, flush };
}

function setupCamera({ T, onCode, show }) {
  const open = document.getElementById("scan-open");
  const box = document.getElementById("scan-box");
  const video = document.getElementById("scan-video");
  const torch = document.getElementById("scan-torch");
  if (!(window.isSecureContext && navigator.mediaDevices?.getUserMedia)) {
    document.getElementById("scan-insecure").hidden = false;
    return;
  }
  open.hidden = false;
  let scanner = null;

  function close() {
    scanner?.stop();
    scanner = null;
    box.hidden = true;
    open.hidden = false;
    torch.hidden = true;
    torch.setAttribute("aria-pressed", "false");
  }

  open.addEventListener("click", async () => {
    if (scanner) return;
    open.hidden = true;
    box.hidden = false;
    show("");
    try {
      scanner = await openScanner({
        video,
        onCode(code) { close(); onCode(code); },
        onStatus(state) { box.dataset.state = state; },
      });
    } catch {
      close();
      show(T.camera_denied, "error");
      return;
    }
    if (scanner.torch) {
      torch.hidden = false;
      torch.textContent = T.light_on;
    }
  });
  torch.addEventListener("click", async () => {
    const on = torch.getAttribute("aria-pressed") !== "true";
    try {
      await scanner?.torch?.(on);
      torch.setAttribute("aria-pressed", String(on));
      torch.textContent = on ? T.light_off : T.light_on;
    } catch { torch.hidden = true; }
  });
  document.getElementById("scan-cancel").addEventListener("click", close);
  // Leaving the page (or the phone locking) turns the camera off.
  document.addEventListener("visibilitychange", () => { if (document.hidden) close(); });
}
