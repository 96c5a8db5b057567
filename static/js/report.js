// What a page tells the control room about itself, and what the control room
// asks of it: `hello` on every (re)connect, `shown {version}` every 4-5 s (the
// newest version drawn), and the server's `directive`s
// (identify, reload, rename, set). Screens keep a stable id and their name in
// localStorage.
import { page } from "./i18n.js";

// Every 4-5 s a page says which version it shows: a page not heard from for 10 s is
// listed silent, one still showing an older version than its room's 5 s after the
// change (and after a report of its own since) behind. Thousands of screens report:
// the gaps are drawn at random so that screens that connected together (after a
// restart, say) do not all report at once, and their reports spread over a few rounds.
const REPORT_MS = [4000, 5000];

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

// One computer driving several displays opens a window per display, each with
// `?display=<slot>` in its address: localStorage is shared by the windows, so each
// slot keeps an id (and a name) of its own, and the control room sees two screens.
const DISPLAY = /^[A-Za-z0-9_-]{1,16}$/;

function displaySlot() {
  const slot = new URLSearchParams(window.location.search).get("display");
  return slot && DISPLAY.test(slot) ? slot : "";
}

/** This page's stable id for its kind and display slot (made once, kept in localStorage). */
export function screenId(kind) {
  const slot = displaySlot();
  const key = `plenary.screen_id.${kind}${slot ? `.${slot}` : ""}`;
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

  let sentAt = Date.now();
  let gap = drawn(REPORT_MS);

  function report() {
    sentAt = Date.now();
    gap = drawn(REPORT_MS);
    socket.emit("shown", { version });
  }

  socket.on("connect", hello); // the hello says the version shown, and the page is live
  if (socket.connected) hello();
  setInterval(() => {
    if (socket.connected && Date.now() - sentAt >= gap) report();
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
      if (!next) return;
      const first = version === null;
      version = next; // said at the next report; the first at once
      if (first && socket.connected) report();
    },
  };
}
