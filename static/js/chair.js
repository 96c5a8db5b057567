// The chair's console for one room: sitting, floor, clock, list of speakers.
import { drawClock, reading, serverNow } from "./clock.js";
import { explain, makeSender } from "./commands.js";
import { $, fill, h, messageBox, setText, show } from "./dom.js";
import { epochToZoned, formatDayTime, page, pick, setTimezone, t, zonedToEpoch } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";
import { delegationLabel, makePicker } from "./picker.js";

const ROOM = page.room;
let current = null; // newest {state, offset}
let programme = null;
const { showMessage, hideMessage } = messageBox($("message"), 3000);

const live = connectLive({
  room: ROOM,
  onState(received, changed) {
    current = received;
    if (changed) render();
    sender.seen(received.state.version);
  },
  onStatus(status) {
    drawConnMark($("conn-state"), status, { bilingual: false });
    document.body.dataset.phase = status.phase;
  },
});

const sender = makeSender({
  live,
  onBusy: () => updateButtons(),
  onRefused: (body, error) =>
    showMessage(explain(body, error, current?.state), "error", error.message),
  onDone: () => hideMessage(),
});

function send(type, fields = {}) {
  if (!current) return;
  return sender.send({ type, room: ROOM, expected_version: current.state.version, ...fields });
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
  setText($("floor-name"), speaker ? delegationLabel(speaker.delegation) : t("floor.empty"));
  const detail = [];
  if (speaker?.speaker_name) detail.push(speaker.speaker_name);
  if (speaker?.kind && speaker.kind !== "speech") detail.push(t(`kind.${speaker.kind}`));
  setText($("floor-detail"), detail.join(" · "));
}

function drawQueue(s) {
  const queue = s.speakers?.queue || [];
  fill(
    $("queue"),
    queue.map((entry, i) =>
      h(
        "li",
        { class: `queue-item kind-${entry.kind || "speech"}`, dataset: { entry: entry.entry_id } },
        h(
          "span",
          { class: "queue-who" },
          h("span", { class: "queue-name" }, delegationLabel(entry.delegation)),
          entry.kind && entry.kind !== "speech"
            ? h("span", { class: "badge kind" }, t(`kind.${entry.kind}`))
            : null,
          entry.speaker_name ? h("span", { class: "muted" }, entry.speaker_name) : null,
        ),
        h(
          "span",
          { class: "queue-actions" },
          itemButton("up", "↑", "queue.up", i === 0),
          itemButton("down", "↓", "queue.down", i === queue.length - 1),
          itemButton("start", "▶", "queue.start", false),
          itemButton("remove", "✕", "queue.remove", false),
        ),
      ),
    ),
  );
  show($("queue-empty"), queue.length === 0);
  show($("list-closed"), !!s.speakers?.list_closed);
}

function itemButton(action, symbol, key, never) {
  return h(
    "button",
    {
      type: "button",
      class: "cmd small",
      title: t(key),
      "aria-label": t(key),
      dataset: { action, never: never ? "1" : "" },
    },
    symbol,
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
  const busy = sender.isBusy();
  document.body.classList.toggle("busy", busy);
  for (const button of document.querySelectorAll("button.cmd")) {
    button.disabled = busy || !current || button.dataset.never === "1" || !enabledFor(button.id);
  }
  const s = current?.state;
  const paused = !!s?.speakers?.current?.paused;
  setText($("btn-pause").firstChild, `${t(paused ? "timer.resume" : "timer.pause")} `);
  const closed = !!s?.speakers?.list_closed;
  setText($("btn-list").firstChild, `${t(closed ? "list.reopen" : "list.close")} `);
}

function render() {
  const s = current.state;
  setText($("room-name"), pick(s.room.name));
  setText($("version"), s.version);
  document.body.dataset.version = s.version;
  drawSitting(s);
  drawFloor(s);
  drawQueue(s);
  updateButtons();
  tick();
}

function tick() {
  drawClock($("clock-box"), $("clock"), $("clock-label"), reading(current), { bilingual: false });
}

/* ---- actions ---- */

const actions = {
  next: () => send("speaker.next"),
  stop: () => send("speaker.stop"),
  pause: () => send(current?.state.speakers?.current?.paused ? "timer.resume" : "timer.pause"),
  extend: (seconds = 30) => send("timer.extend", { seconds }),
  list: () => send(current?.state.speakers?.list_closed ? "list.reopen" : "list.close"),
  open: () => send("session.open", { session_id: $("sitting-choice").value }),
  suspend: () => {
    const until = $("suspend-until").value;
    if (!until || !current) return send("session.suspend");
    const today = epochToZoned(serverNow(current)).slice(0, 10);
    let epoch = zonedToEpoch(`${today}T${until}`);
    if (epoch <= serverNow(current)) epoch += 24 * 3600; // a time already past today: tomorrow
    return send("session.suspend", { until: epoch });
  },
  resume: () => send("session.resume"),
  close: () => {
    if (window.confirm(t("confirm.close_sitting"))) send("session.close");
  },
};

function click(id, fn) {
  $(id).addEventListener("click", () => {
    if (!$(id).disabled) fn();
  });
}

click("btn-next", actions.next);
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

$("queue").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled || !current) return;
  const entryId = button.closest("li").dataset.entry;
  const queue = current.state.speakers.queue;
  const position = queue.findIndex((e) => e.entry_id === entryId);
  const action = button.dataset.action;
  if (action === "up") send("speaker.move", { entry_id: entryId, position: position - 1 });
  else if (action === "down") send("speaker.move", { entry_id: entryId, position: position + 1 });
  else if (action === "start") send("speaker.start", { entry_id: entryId });
  else if (action === "remove") send("speaker.remove", { entry_id: entryId });
});

const picker = makePicker($("picker-input"), $("picker-list"), {
  getDelegations: () => programme?.delegations || [],
  onEnter: () => $("add-form").requestSubmit(),
});

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const delegation = picker.chosen();
  if (!delegation) {
    showMessage(t("picker.choose"));
    return;
  }
  const kind = document.querySelector('input[name="kind"]:checked')?.value || "speech";
  const name = $("speaker-name").value.trim();
  const fields = { delegation: delegation.code, kind };
  if (name) fields.speaker_name = name;
  const ack = await send("speaker.add", fields);
  if (ack?.ok) {
    picker.clear();
    $("speaker-name").value = "";
    document.querySelector('input[name="kind"][value="speech"]').checked = true;
    $("picker-input").focus();
  }
});

/* ---- keyboard ---- */

const KEYS = {
  n: actions.next,
  s: actions.stop,
  p: actions.pause,
  e: () => actions.extend(30),
  l: actions.list,
};

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const typing = event.target.closest?.("input, textarea, select");
  if (typing) return;
  if (event.key === "/") {
    event.preventDefault();
    $("picker-input").focus();
    return;
  }
  const button = { n: "btn-next", s: "btn-stop", p: "btn-pause", e: "btn-extend", l: "btn-list" }[
    event.key.toLowerCase()
  ];
  if (!button || $(button).disabled) return;
  event.preventDefault();
  KEYS[event.key.toLowerCase()]();
});

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  if (current) render();
});

setInterval(() => current && tick(), 250);
updateButtons();
