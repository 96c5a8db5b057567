// The chair's console for one room: the floor first (who speaks, the clock, who is
// next), the list of speakers in its own pane, the room's screen as the hall sees it,
// and the sitting's controls apart. Nothing acts on the room by accident: shortcuts
// need Alt+Shift, a key typed as part of a word never presses a button, giving the
// floor out of turn asks first, no command goes out while the link is down, and the
// newest change to the list can be undone (Undo names it) for as long as the server allows.
import { aboutNodes } from "./about.js";
import { activeAnnouncements } from "./announcements.js";
import { drawBudgetOut, drawDesk, drawForecast } from "./desk.js";
import { drawClock, reading, serverNow } from "./clock.js";
import { explain, makeSender } from "./commands.js";
import { $, fill, h, messageBox, setText, show } from "./dom.js";
import { epochToZoned, formatDayTime, formatTime, page, pick, setTimezone, t, zonedToEpoch } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";
import { delegationLabel, makePicker } from "./picker.js";
import { drawPreview } from "./preview.js";
import { guardTyping } from "./typing.js";

const ROOM = page.room;
let current = null; // newest {state, offset}
let programme = null;
let phase = "connecting";
let lastContact = null;
let lastError = null; // the code of the refusal shown, if any
let floorAnnounced; // the entry id last announced as having the floor (undefined: none yet)
const { showMessage, hideMessage } = messageBox($("message"), 3000);
const CONNECTION_ERRORS = new Set(["offline", "timeout", "stale"]);
const kindText = (kind) => t(`kind.${kind || "speech"}`);
let sender = null; // set below, once the live link it sends on exists

const live = connectLive({
  room: ROOM,
  onState(received, changed) {
    current = received;
    if (changed) render();
    sender?.seen(received.state.version);
  },
  onStatus(status) {
    drawConnMark($("conn-state"), status, { bilingual: false });
    document.body.dataset.phase = status.phase;
    phase = status.phase;
    lastContact = status.lastContact;
    drawOffline();
    updateButtons();
  },
});

sender = makeSender({
  live,
  onBusy: () => updateButtons(),
  onRefused: (body, error) => {
    lastError = error.code;
    showMessage(explain(body, error, current?.state), "error", error.message);
  },
  onDone: () => {
    lastError = null;
    hideMessage();
  },
});

/** Send a room command against the version shown (`version`: the one a dialog asked on). */
function send(type, fields = {}, version = null) {
  if (!current || phase !== "live") return null;
  return sender.send({ type, room: ROOM, expected_version: version || current.state.version, ...fields });
}

/* ---- connection ---- */

/** While the link is down: say so, and why the commands are disabled; clear its error after. */
function drawOffline() {
  const box = $("offline");
  const down = phase !== "live";
  show(box, down);
  if (down) {
    setText(
      box,
      phase === "denied"
        ? t("offline.denied")
        : lastContact
          ? t("offline.since", { time: formatTime(lastContact, { seconds: true }) })
          : t("offline.connecting"),
    );
  } else if (lastError && CONNECTION_ERRORS.has(lastError)) {
    lastError = null;
    hideMessage();
  }
}

/* ---- drawing ---- */

function roomSessions() {
  return (programme?.sessions || []).filter((s) => (s.room ?? s.room_id) === ROOM);
}

function drawSitting(s) {
  const session = s.session;
  setText($("sitting-title"), session ? pick(session.title) : t("status.none"));
  const pill = $("sitting-status");
  show(pill, !!session);
  if (session) {
    pill.dataset.status = session.status;
    setText(pill, t(`status.${session.status}`));
  }
  let note = "";
  if (session?.status === "suspended" && session.suspended_until) {
    note = t("suspended_until", { time: formatDayTime(session.suspended_until) });
  } else if ((!session || session.status === "closed") && s.next_session) {
    note = t("next_sitting", {
      title: pick(s.next_session.title),
      time: formatDayTime(s.next_session.scheduled_start),
    });
  }
  setText($("sitting-note"), note);
  drawSittingChoice(s);
}

function drawSittingChoice(s) {
  const select = $("sitting-choice");
  const sessions = roomSessions();
  const keep = select.value;
  const wanted =
    (s.session && s.session.status !== "closed" && s.session.id) || s.next_session?.id || keep;
  const ids = sessions.map((x) => x.id).join(",");
  if (select.dataset.ids !== ids) {
    select.dataset.ids = ids;
    fill(
      select,
      sessions.map((x) =>
        h(
          "option",
          { value: x.id },
          t("sitting.option", { title: pick(x.title), time: formatDayTime(x.scheduled_start) }),
        ),
      ),
    );
  }
  if (wanted && sessions.some((x) => x.id === wanted) && select.dataset.auto !== wanted) {
    select.value = wanted;
    select.dataset.auto = wanted;
  }
}

function drawFloor(s) {
  const speaker = s.speakers?.current;
  const head = s.speakers?.queue?.[0];
  setText($("floor-name"), speaker ? delegationLabel(speaker.delegation) : t("floor.empty"));
  const detail = [];
  const who = [speaker?.speaker_name, speaker?.speaker_title].filter(Boolean).join(", ");
  if (who) detail.push(who);
  if (speaker) detail.push(kindText(speaker.kind));
  // A group statement and the language of the statement, as the room's screen says them.
  if (speaker?.on_behalf_of) detail.push(t("about.on_behalf", { group: pick(speaker.on_behalf_of.name) }));
  if (speaker?.language) detail.push(t(`about.lang.${speaker.language}`));
  setText($("floor-detail"), detail.join(" · "));

  // The Next button names who it gives the floor to.
  let next;
  if (head) next = t("next.named", { name: delegationLabel(head.delegation), kind: kindText(head.kind) });
  else if (speaker) next = t("next.end_only", { name: delegationLabel(speaker.delegation) });
  else next = t("next.nobody");
  setText($("next-text"), next);

  const name = speaker ? delegationLabel(speaker.delegation) : "";
  const label = (id, key) => {
    if (speaker) $(id).setAttribute("aria-label", t(key, { name }));
    else $(id).removeAttribute("aria-label");
  };
  label("btn-stop", "floor.stop_named");
  label("btn-pause", speaker?.paused ? "floor.resume_named" : "floor.pause_named");
  label("btn-extend", "floor.extend30_named");
  label("btn-extend-60", "floor.extend60_named");

  // Said once, politely, to a screen reader when the floor changes hands.
  const now = speaker?.entry_id || null;
  if (floorAnnounced !== undefined && floorAnnounced !== now) {
    setText($("announcer"), speaker ? t("floor.announce", { name }) : t("floor.empty"));
  }
  floorAnnounced = now;
}

/** The room's newest list change that can still be undone (null: none, or too old). */
function undoable() {
  const undo = current?.state.speakers?.undo;
  return undo && serverNow(current) <= undo.until ? undo : null;
}

/** Undo names what it takes back, for as long as the server would take it back. */
function drawUndo() {
  const undo = undoable();
  const slot = $("undo-slot");
  const key = undo ? `${undo.at}:${undo.change}` : "";
  if (slot.dataset.key === key) return;
  slot.dataset.key = key;
  slot.dataset.empty = undo ? "" : "1";
  const label = undo
    ? t(`undo.${undo.change}`, { name: delegationLabel(undo.delegation) })
    : t("undo.none");
  setText($("undo-text"), label);
  $("btn-undo").setAttribute("aria-label", label);
  updateButtons();
}

/** What the room's screen shows now, and a warning on the floor block while it is urgent. */
function drawScreen() {
  drawPreview($("preview"), current);
  const urgent = activeAnnouncements(current).filter((a) => a.level === "urgent");
  const alert = $("screen-alert");
  const text = urgent.length ? t("screen.urgent", { text: pick(urgent[0].text) }) : "";
  show(alert, urgent.length > 0);
  setText(alert, text);
}

function drawQueue(s) {
  const queue = s.speakers?.queue || [];
  const pane = $("queue-pane");
  const scroll = pane.scrollTop;
  fill(
    $("queue"),
    queue.map((entry, i) => {
      const name = delegationLabel(entry.delegation);
      return h(
        "li",
        {
          class: `queue-item kind-${entry.kind || "speech"}`,
          draggable: "true",
          dataset: { entry: entry.entry_id, index: String(i) },
        },
        h("span", { class: "queue-pos", "aria-hidden": "true" }, String(i + 1)),
        h("span", { class: "drag-handle", "aria-hidden": "true", title: t("queue.drag") }, "⠿"),
        h(
          "span",
          { class: "queue-who" },
          h("span", { class: "queue-name" }, name),
          entry.kind && entry.kind !== "speech" ? h("span", { class: "badge kind" }, kindText(entry.kind)) : null,
          ...aboutNodes(entry, "muted about"),
          entry.speaker_name || entry.speaker_title
            ? h("span", { class: "muted" },
              [entry.speaker_name, entry.speaker_title].filter(Boolean).join(", "))
            : null,
        ),
        h(
          "span",
          { class: "queue-actions" },
          itemButton("start", "▶", t("queue.start"), t("queue.start_named", { name }), false, "start"),
          itemButton("up", "↑", null, t("queue.up_named", { name }), i === 0),
          itemButton("down", "↓", null, t("queue.down_named", { name }), i === queue.length - 1),
          itemButton("position", null, t("queue.position"), t("queue.position_named", { name }), queue.length < 2),
          itemButton("remove", "✕", t("queue.remove"), t("queue.remove_named", { name }), false, "danger remove"),
        ),
      );
    }),
  );
  pane.scrollTop = scroll;
  show($("queue-empty"), queue.length === 0);
  setText($("queue-count"), queue.length ? `(${queue.length})` : "");
  show($("list-closed"), !!s.speakers?.list_closed);
}

function itemButton(action, symbol, text, label, never, cls = "") {
  return h(
    "button",
    {
      type: "button",
      class: `cmd small ${cls}`.trim(),
      title: label,
      "aria-label": label,
      dataset: { action, never: never ? "1" : "" },
    },
    symbol ? h("span", { "aria-hidden": "true" }, symbol) : null,
    text ? h("span", { class: "btn-text" }, text) : null,
  );
}

function enabledFor(id) {
  const s = current?.state;
  if (!s) return false;
  const status = s.session?.status;
  const speaker = s.speakers?.current;
  const waiting = s.speakers?.queue?.length || 0;
  switch (id) {
    case "btn-open":
      return (!status || status === "scheduled" || status === "closed") && !!$("sitting-choice").value;
    case "btn-suspend":
      return status === "open";
    case "btn-resume":
      return status === "suspended";
    case "btn-close":
      return status === "open" || status === "suspended";
    case "btn-next":
      return waiting > 0 || !!speaker;
    case "btn-undo":
      return !!undoable();
    case "btn-stop":
    case "btn-pause":
    case "btn-extend":
    case "btn-extend-60":
      return !!speaker;
    default:
      return true;
  }
}

function updateButtons() {
  const busy = !!sender?.isBusy();
  const up = phase === "live";
  document.body.classList.toggle("busy", busy);
  document.body.classList.toggle("offline", !up);
  for (const button of document.querySelectorAll("button.cmd")) {
    if (button.closest("dialog")) continue;
    button.disabled = busy || !up || !current || button.dataset.never === "1" || !enabledFor(button.id);
  }
  const s = current?.state;
  const paused = !!s?.speakers?.current?.paused;
  setText($("btn-pause"), t(paused ? "timer.resume" : "timer.pause"));
  const closed = !!s?.speakers?.list_closed;
  setText($("btn-list"), t(closed ? "list.reopen" : "list.close"));
}

function render() {
  const s = current.state;
  setText($("room-name"), pick(s.room.name));
  document.body.dataset.version = s.version;
  drawSitting(s);
  drawFloor(s);
  drawQueue(s);
  drawDesk(s, { send, programme });
  drawScreen();
  // The message the podium monitor shows now: the clear button shows while there is one.
  show($("btn-podium-clear"), !!s.podium);
  document.body.dataset.podium = s.podium ? s.podium.preset || "text" : "";
  updateButtons();
  tick();
}

let previewKey = "";
function tick() {
  drawUndo();
  const r = reading(current);
  drawClock($("clock-box"), $("clock"), $("clock-label"), r, {
    bilingual: false,
    limitEl: $("clock-limit"),
    barEl: $("clock-bar"),
  });
  drawBudgetOut(r);
  drawForecast(current);
  // Announcements expire on their own: redraw the preview when the shown set changes.
  const key = activeAnnouncements(current).map((a) => a.id).join(",");
  if (key !== previewKey) {
    previewKey = key;
    drawScreen();
  }
}

/* ---- asking first ---- */

/** Ask in the page's dialog; resolves true when confirmed. `extra` nodes go under the text. */
function ask({ title, text, ok, extra = null, danger = false }) {
  const dialog = $("ask");
  setText($("ask-title"), title);
  setText($("ask-text"), text || "");
  fill($("ask-extra"), extra);
  setText($("ask-ok"), ok);
  $("ask-ok").classList.toggle("danger", danger);
  $("ask-ok").classList.toggle("primary", !danger);
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    (extra?.querySelector?.("input") || $("ask-ok")).focus();
  });
}

function entryOf(entryId) {
  const queue = current?.state.speakers?.queue || [];
  const index = queue.findIndex((e) => e.entry_id === entryId);
  return index < 0 ? null : { entry: queue[index], index, queue };
}

async function giveFloorOutOfTurn(entryId) {
  const found = entryOf(entryId);
  if (!found) return;
  const name = delegationLabel(found.entry.delegation);
  // The chair answers what the dialog says: if the room changes meanwhile (another
  // chair's Next), the command is refused as stale rather than ending another speech.
  const version = current.state.version;
  const speaker = current.state.speakers.current;
  const text = [
    t("confirm.start_text", { position: found.index + 1 }),
    speaker ? t("confirm.start_ends", { name: delegationLabel(speaker.delegation) }) : "",
  ].join(" ");
  const yes = await ask({
    title: t("confirm.start_title", { name }),
    text,
    ok: t("queue.start_named", { name }),
  });
  if (yes && entryOf(entryId)) send("speaker.start", { entry_id: entryId }, version);
}

async function moveToPosition(entryId) {
  const found = entryOf(entryId);
  if (!found) return;
  const name = delegationLabel(found.entry.delegation);
  const version = current.state.version; // the list the position is chosen on
  const input = h("input", {
    type: "number",
    id: "ask-position",
    min: "1",
    max: String(found.queue.length),
    value: String(found.index + 1),
    required: true,
  });
  const extra = h("div", {}, h("label", { for: "ask-position" }, t("queue.position_label", { n: found.queue.length })), input);
  const yes = await ask({ title: t("queue.position_named", { name }), ok: t("queue.move"), extra });
  if (!yes) return;
  const position = Math.round(Number(input.value)) - 1;
  moveEntry(entryId, position, version);
}

function moveEntry(entryId, position, version = null) {
  const found = entryOf(entryId);
  if (!found) return;
  const last = found.queue.length - 1;
  const to = Math.max(0, Math.min(last, position));
  if (Number.isFinite(to) && to !== found.index) send("speaker.move", { entry_id: entryId, position: to }, version);
}

/* ---- actions ---- */

function parseClock(value) {
  const match = /^\s*([01]?\d|2[0-3])[:.h]?([0-5]\d)\s*$/.exec(value || "");
  return match ? `${match[1].padStart(2, "0")}:${match[2]}` : null;
}

const actions = {
  next: () => send("speaker.next"),
  undo: () => send("speaker.undo"),
  stop: () => send("speaker.stop"),
  pause: () => send(current?.state.speakers?.current?.paused ? "timer.resume" : "timer.pause"),
  extend: (seconds = 30) => send("timer.extend", { seconds }),
  list: () => send(current?.state.speakers?.list_closed ? "list.reopen" : "list.close"),
  open: () => send("session.open", { session_id: $("sitting-choice").value }),
  suspend: () => {
    const raw = $("suspend-until").value.trim();
    if (!raw || !current) return send("session.suspend");
    const until = parseClock(raw);
    if (!until) {
      showMessage(t("suspend.bad_time"));
      return null;
    }
    const today = epochToZoned(serverNow(current)).slice(0, 10);
    let epoch = zonedToEpoch(`${today}T${until}`);
    if (epoch <= serverNow(current)) epoch += 24 * 3600; // a time already past today: tomorrow
    return send("session.suspend", { until: epoch });
  },
  resume: () => send("session.resume"),
  close: async () => {
    // Sent against the room as the dialog showed it (the speakers it counted).
    const version = current.state.version;
    const waiting = current.state.speakers?.queue?.length || 0;
    const title = pick(current.state.session?.title);
    const yes = await ask({
      title: t("confirm.close_sitting"),
      text: waiting ? `${title}. ${t("confirm.close_waiting", { n: waiting })}` : title,
      ok: t("confirm.close_ok"),
      danger: true,
    });
    if (yes) send("session.close", {}, version);
  },
};

function click(id, fn) {
  $(id).addEventListener("click", () => {
    if (!$(id).disabled) fn();
  });
}

click("btn-next", actions.next);
click("btn-undo", actions.undo);
click("btn-stop", actions.stop);
click("btn-pause", actions.pause);
click("btn-extend", () => actions.extend(30));
click("btn-extend-60", () => actions.extend(60));
click("btn-list", actions.list);
click("btn-open", actions.open);
click("btn-suspend", actions.suspend);
click("btn-resume", actions.resume);
click("btn-close", actions.close);
$("sitting-choice").addEventListener("change", updateButtons);

// The chair's message to the speaker, shown on the podium monitor only: it does not
// depend on the list, so it carries no expected version.
function podium(type, fields = {}) {
  if (!current || phase !== "live") return null;
  return sender.send({ type, room: ROOM, ...fields });
}
for (const id of ["btn-podium-conclude", "btn-podium-one-minute", "btn-podium-time-up"]) {
  click(id, () => podium("podium.message", { preset: $(id).dataset.preset, blink: !!$(id).dataset.blink }));
}
click("btn-podium-clear", () => podium("podium.clear"));

$("queue").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled || !current) return;
  const entryId = button.closest("li").dataset.entry;
  const found = entryOf(entryId);
  if (!found) return;
  const action = button.dataset.action;
  if (action === "up") moveEntry(entryId, found.index - 1);
  else if (action === "down") moveEntry(entryId, found.index + 1);
  else if (action === "position") moveToPosition(entryId);
  else if (action === "start") giveFloorOutOfTurn(entryId);
  else if (action === "remove") send("speaker.remove", { entry_id: entryId });
});

/* ---- drag and drop ---- */

let dragged = null;
const list = $("queue");
list.addEventListener("dragstart", (event) => {
  const item = event.target.closest?.("li[data-entry]");
  if (!item || phase !== "live" || sender.isBusy()) {
    event.preventDefault();
    return;
  }
  dragged = item.dataset.entry;
  item.classList.add("dragging");
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", dragged);
});
list.addEventListener("dragover", (event) => {
  const item = event.target.closest?.("li[data-entry]");
  if (!dragged || !item) return;
  event.preventDefault();
  for (const li of list.querySelectorAll(".drop-target")) li.classList.remove("drop-target");
  if (item.dataset.entry !== dragged) item.classList.add("drop-target");
});
list.addEventListener("drop", (event) => {
  const item = event.target.closest?.("li[data-entry]");
  event.preventDefault();
  if (dragged && item && item.dataset.entry !== dragged) {
    const target = entryOf(item.dataset.entry);
    if (target) moveEntry(dragged, target.index);
  }
});
list.addEventListener("dragend", () => {
  dragged = null;
  for (const li of list.querySelectorAll(".dragging, .drop-target")) li.classList.remove("dragging", "drop-target");
});

/* ---- adding ---- */

const picker = makePicker($("picker-input"), $("picker-list"), {
  getDelegations: () => programme?.delegations || [],
  onEnter: () => $("add-form").requestSubmit(),
});

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (phase !== "live") return;
  const delegation = picker.chosen();
  if (!delegation) {
    showMessage(t("picker.choose"));
    return;
  }
  const kind = document.querySelector('input[name="kind"]:checked')?.value || "speech";
  const name = $("speaker-name").value.trim();
  const title = $("speaker-title").value.trim();
  const fields = { delegation: delegation.code, kind };
  if (name) fields.speaker_name = name;
  if (title) fields.speaker_title = title;
  // No sitting in progress: the entry goes on the list prepared for the next one.
  const prepared = current?.state.speakers?.for_session;
  if (!current?.state.session && prepared) fields.session_id = prepared;
  const ack = await send("speaker.add", fields);
  if (ack?.ok) {
    picker.clear();
    $("speaker-name").value = "";
    $("speaker-title").value = "";
    document.querySelector('input[name="kind"][value="speech"]').checked = true;
    $("picker-input").focus();
  }
});

/* ---- keyboard ---- */

// Alt+Shift+letter, by the key's place (event.code): the same on every layout, and on a
// Mac, where Option+Shift+letter types a symbol rather than the letter.
const SHORTCUTS = {
  KeyN: ["btn-next", actions.next],
  KeyS: ["btn-stop", actions.stop],
  KeyP: ["btn-pause", actions.pause],
  KeyE: ["btn-extend", () => actions.extend(30)],
  KeyL: ["btn-list", actions.list],
  KeyZ: ["btn-undo", actions.undo],
};

document.addEventListener("keydown", (event) => {
  if (event.repeat || $("ask").open) return;
  if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey) {
    const shortcut = SHORTCUTS[event.code];
    if (!shortcut) return;
    event.preventDefault();
    if (!$(shortcut[0]).disabled) shortcut[1]();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/" && !event.target.closest?.("input, textarea, select, [contenteditable]")) {
    event.preventDefault();
    $("picker-input").focus();
  }
});
guardTyping();

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  if (current) render();
});

setInterval(() => current && tick(), 250);
updateButtons();
