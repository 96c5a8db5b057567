// What a page tells the control room about itself, and what the control room
// asks of it: `hello` on every (re)connect, `shown {version}` after a render
// (once in 1.25-3.75 s at most) and at least every 5 s, and the server's `directive`s
// (identify, reload, rename, set). Screens keep a stable id and their name in
// localStorage.
import { page } from "./i18n.js";

// A page not heard from for 10 s is listed silent: it says it is alive every 4-5 s.
const HEARTBEAT_MS = [4000, 5000];
// Thousands of screens follow a busy room: each sends its newest version once in
// 1.25-3.75 s (2.5 s on average), well within the 5 s after which a page is listed
// behind. The gaps are drawn at random so that screens that connected together (after
// a restart, say) do not all report at once: their reports spread over a few rounds.
const SHOWN_EVERY_MS = [1250, 3750];

function drawn([low, high]) {
  return low + Math.random() * (high - low);
}
const IDENTIFY_MS = 10000;
// Pages that are screens of the fleet (a stable id of their own); the others
// (consoles, desks) are listed by their connection.
const SCREEN_KINDS = new Set(["screen", "overview", "podium", "chyron"]);

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage refused (private mode, a sandboxed frame)
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // not kept: the page is listed by its connection instead
  }
}

function newId() {
  const bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** This page's stable id for its kind (made once, kept in localStorage). */
export function screenId(kind) {
  const key = `plenary.screen_id.${kind}`;
  let id = stored(key);
  if (!id || !/^[A-Za-z0-9_-]{1,40}$/.test(id)) {
    id = newId();
    store(key, id);
  }
  return id;
}

function nameKey(id) {
  return `plenary.screen_name.${id}`;
}

/** The big name-and-number card `screen.identify` shows for 10 s. */
function identify(name, number) {
  let card = document.getElementById("identify");
  if (!card) {
    card = document.createElement("div");
    card.id = "identify";
    card.setAttribute("role", "status");
    Object.assign(card.style, {
      position: "fixed", inset: "0", display: "flex", flexDirection: "column",
      alignItems: "center", justifyContent: "center", zIndex: "9999",
      background: "rgba(0, 0, 0, 0.85)", color: "#fff", font: "700 6vmin system-ui, sans-serif",
      textAlign: "center",
    });
    const num = document.createElement("div");
    num.className = "identify-number";
    num.style.fontSize = "40vmin";
    num.style.lineHeight = "1";
    const label = document.createElement("div");
    label.className = "identify-name";
    card.append(num, label);
    document.body.append(card);
  }
  card.querySelector(".identify-number").textContent = String(number ?? "");
  card.querySelector(".identify-name").textContent = name || "";
  card.hidden = false;
  card.style.display = "flex";
  clearTimeout(identify.timer);
  identify.timer = setTimeout(() => {
    card.hidden = true;
    card.style.display = "none";
  }, IDENTIFY_MS);
}

/** Where `screen.set` takes this page: the same kind of page, another room or language. */
function movedUrl(kind, { lang, room }) {
  const url = new URL(window.location.href);
  if (room && ["screen", "podium", "chyron"].includes(kind)) {
    url.pathname = `/${kind}/${encodeURIComponent(room)}`;
  }
  if (lang) url.searchParams.set("lang", lang);
  return url.toString();
}

/**
 * Report this page on `socket`: call the returned `shown(version)` after each render.
 * `kind` is the page's kind (screen, overview, podium, chyron, chair, staff, ...).
 */
export function startReport(socket, { kind, room }) {
  const isScreen = SCREEN_KINDS.has(kind);
  const id = isScreen ? screenId(kind) : null;
  let version = null;

  function hello() {
    const body = {
      kind,
      lang: page.lang || page.locale || "",
      viewport: [Math.round(window.innerWidth), Math.round(window.innerHeight)],
      room,
    };
    if (id) {
      body.screen_id = id;
      const name = stored(nameKey(id));
      if (name) body.name = name;
    }
    if (version) body.version = version;
    socket.emit("hello", body, (ack) => {
      if (ack?.ok && id && ack.name) store(nameKey(id), ack.name);
    });
  }

  let sentAt = 0;
  let shownGap = 0; // the first version after loading goes out at once
  let heartbeatGap = drawn(HEARTBEAT_MS);
  let pending = null; // a send of the newest version, waiting for its turn

  function send() {
    pending = null;
    if (!socket.connected) return;
    sentAt = Date.now();
    shownGap = drawn(SHOWN_EVERY_MS);
    heartbeatGap = drawn(HEARTBEAT_MS);
    socket.emit("shown", { version });
  }

  socket.on("connect", hello);
  if (socket.connected) hello();
  setInterval(() => {
    if (Date.now() - sentAt >= heartbeatGap) send();
  }, 500);

  socket.on("directive", (d) => {
    if (!d || (id && d.screen_id !== id)) return;
    if (d.action === "identify") identify(d.name || (id && stored(nameKey(id))) || "", d.number);
    else if (d.action === "reload") window.location.reload();
    else if (d.action === "rename" && id && typeof d.name === "string") store(nameKey(id), d.name);
    else if (d.action === "set") window.location.assign(movedUrl(kind, d));
  });

  return {
    id,
    shown(next) {
      if (!next || next === version) return;
      version = next;
      if (pending === null) pending = setTimeout(send, Math.max(0, sentAt + shownGap - Date.now()));
    },
  };
}
