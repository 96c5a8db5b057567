// The live link to the server: Socket.IO with jittered reconnection, a watchdog
// that notices silent drops, re-subscription on every (re)connect, and the rule
// that only the newest version of a room is ever shown.
import { compareVersions, receive } from "./clock.js";
import { biT, formatTime, page, t } from "./i18n.js";
import { startReport } from "./report.js";
import { fill, show } from "./dom.js";

const PROBE_EVERY_MS = 15000; // watchdog: ask for the room's version this often
const PROBE_TIMEOUT_MS = 5000; // ...and call the link dead if no answer by then
const GRACE_MS = 1500; // a blip shorter than this shows no mark
const COMMAND_TIMEOUT_MS = 8000;
const DENIED = new Set(["unauthorized", "token_expired", "token_revoked", "forbidden", "not_found"]);

/**
 * Connect and subscribe to one room (or "*" for all).
 * onState(received, changed) gets {state, offset} for each room whose version
 * is at least the newest seen; onStatus({phase, lastContact, error}) gets
 * "connecting" | "live" | "reconnecting" | "denied".
 * podium: also receive the chair's message to the speaker (the podium monitor).
 */
export function connectLive({ room, onState, onStatus = () => {}, kind = page.page, podium = false }) {
  const socket = window.io({
    transports: ["websocket"],
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 5000,
  });
  const rooms = new Map();
  // The page says what it is and which version it shows (the control room's fleet).
  const report = startReport(socket, { kind, room });
  let lastContact = null; // local epoch seconds of the last sign of life
  let downSince = Date.now();
  let denied = null;
  let streamLive = true; // false while the server node has lost the event stream
  let probing = false;
  let phase = null;

  function setPhase(next) {
    if (next === phase && next !== "reconnecting") return;
    phase = next;
    onStatus({ phase, lastContact, error: denied });
  }

  function touch() {
    if (!streamLive) return; // connected, but what arrives may be stale: keep the mark
    lastContact = Date.now() / 1000;
    downSince = null;
    if (!denied) setPhase("live");
  }

  function down() {
    if (downSince === null) downSince = Date.now();
  }

  // `batch`: one of several states of one answer; the caller reports once they are all in,
  // so that the first report of an overview is not the version of its first room alone.
  function take(state, batch = false) {
    if (!state || !state.room) return;
    const id = state.room.id;
    const prev = rooms.get(id);
    if (prev) {
      const order = compareVersions(state.version, prev.state.version);
      if (order < 0) return; // an older version: never go back
      if (order === 0 && state.server_time <= prev.state.server_time) return;
      const received = receive(state);
      rooms.set(id, received);
      onState(received, order > 0);
    } else {
      const received = receive(state);
      rooms.set(id, received);
      onState(received, true);
    }
    if (!batch) report.shown(newestSeen()); // drawn by onState: now it is what the page shows
  }

  function answer(ack) {
    if (!ack || !ack.ok) {
      const code = ack?.error?.code || "unknown";
      if (DENIED.has(code)) {
        denied = code;
        setPhase("denied");
      }
      return;
    }
    denied = null;
    streamLive = ack.live !== false;
    if (!streamLive) down();
    if (Array.isArray(ack.states)) {
      for (const state of ack.states) take(state, true);
      report.shown(newestSeen());
    }
    if (ack.state) take(ack.state);
    touch();
  }

  // Ask the server something, one question at a time; no answer in time means
  // the link is connected on paper but silent: force a fresh connection.
  function ask(event, onAnswer) {
    if (probing) return;
    probing = true;
    socket.timeout(PROBE_TIMEOUT_MS).emit(event, podium ? { room, podium } : { room }, (err, ack) => {
      probing = false;
      if (err) {
        down();
        socket.disconnect();
        socket.connect();
        return;
      }
      onAnswer(ack);
    });
  }

  function subscribe() {
    ask("subscribe", answer);
  }

  // The watchdog's question is cheap (a version, not a state): thousands of
  // screens ask it without loading the server. Engine.io's own heartbeat
  // notices a dead connection; this notices a live one that missed a change.
  function probe() {
    ask("probe", (ack) => {
      if (!ack || !ack.ok) return;
      streamLive = ack.live !== false;
      if (!streamLive) down();
      if (compareVersions(ack.version, newestSeen()) > 0) subscribe();
      else touch();
    });
  }

  function newestSeen() {
    let newest = "0-0";
    for (const received of rooms.values()) {
      if (compareVersions(received.state.version, newest) > 0) newest = received.state.version;
    }
    return newest;
  }

  socket.on("connect", subscribe);
  socket.on("state", (state) => {
    take(state);
    touch();
  });
  // The server's node lost (or found again) the event stream: it says so, and
  // pushes every room's fresh state when it is back.
  socket.on("status", (status) => {
    streamLive = status?.live !== false;
    if (streamLive) touch();
    else down();
  });
  socket.on("disconnect", (reason) => {
    down();
    // The server closed us on purpose: socket.io will not retry by itself.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), jitter(1000, 3000));
  });
  socket.on("connect_error", (err) => {
    down();
    const code = err?.data?.code;
    if (DENIED.has(code)) {
      denied = code;
      setPhase("denied");
    }
    // Refused by the server's connect handler: retry later, with jitter.
    if (!socket.active) setTimeout(() => socket.connect(), jitter(3000, 8000));
  });

  setInterval(() => {
    if (socket.connected) probe();
  }, PROBE_EVERY_MS);
  setInterval(() => {
    // A refused access stays said; otherwise a drop longer than the grace shows the mark.
    if (!denied && downSince !== null && Date.now() - downSince >= GRACE_MS) setPhase("reconnecting");
  }, 500);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && socket.connected) subscribe();
  });
  setPhase("connecting");

  /** Send a command; resolves with the ack ({ok:true,...} or {ok:false,error}). */
  function command(body) {
    return new Promise((resolve) => {
      if (!socket.connected) {
        // A refused access is not a connection to wait for: say the access is gone.
        resolve({ ok: false, error: { code: denied || "offline" } });
        return;
      }
      socket.timeout(COMMAND_TIMEOUT_MS).emit("command", body, (err, ack) => {
        if (err) resolve({ ok: false, error: { code: "timeout" } });
        else resolve(ack || { ok: false, error: { code: "unknown" } });
      });
    });
  }

  return { socket, rooms, command, report };
}

function jitter(min, max) {
  return min + Math.random() * (max - min);
}

/** Draw the discreet connection mark: hidden while live. */
export function drawConnMark(el, status, { bilingual = true } = {}) {
  const { phase, lastContact, error } = status;
  const visible = phase !== "live";
  el.dataset.phase = phase;
  show(el, visible);
  if (!visible) return;
  let key = "conn.connecting";
  const params = {};
  if (phase === "denied") key = error === "not_found" ? "conn.unknown_room" : "conn.denied";
  else if (phase === "reconnecting" || lastContact) {
    key = "conn.reconnecting";
    params.time = lastContact ? formatTime(lastContact, { seconds: true }) : "—";
  }
  if (bilingual) fill(el, biT(key, params));
  else fill(el, t(key, params));
}

/** Fetch the programme (rooms, sessions, delegations, venues, meeting), retrying. */
export async function loadProgramme() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
    try {
      const response = await fetch("/api/programme", { credentials: "same-origin" });
      if (response.ok) return await response.json();
    } catch {
      // offline: try again below
    }
    await new Promise((resolve) => setTimeout(resolve, jitter(delay, delay * 1.5)));
  }
}

/** Keep the display awake where the browser allows it (Screen Wake Lock API). */
export function keepAwake() {
  if (!("wakeLock" in navigator)) return;
  const request = async () => {
    try {
      await navigator.wakeLock.request("screen");
    } catch {
      // not allowed now (hidden tab, battery saver): asked again when visible
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") request();
  });
  request();
}
