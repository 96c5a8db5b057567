// The secretariat's announcement desk: compose (es + en, or from a template), choose
// where (nothing chosen until the desk says so), choose when it hides, post; an urgent
// one is posted only after a confirmation that says what it will do and shows it.
import { activeAnnouncements } from "./announcements.js";
import { serverNow } from "./clock.js";
import { explain, makeSender } from "./commands.js";
import { $, fill, h, messageBox, setText, show } from "./dom.js";
import { epochToZoned, formatDayTime, formatTime, getTimezone, langs, pick, setTimezone, t, zonedToEpoch } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";
import { drawPreview } from "./preview.js";
import { guardTyping } from "./typing.js";

// Common notices, in both languages; the parts in [brackets] are to be filled in.
const TEMPLATES = {
  lunch: {
    es: "El almuerzo se sirve en [lugar] de [hora] a [hora].",
    en: "Lunch is served in [place] from [time] to [time].",
  },
  shuttle: {
    es: "El transporte a [destino] sale a las [hora] desde [lugar de salida].",
    en: "The shuttle to [destination] leaves at [time] from [pick-up point].",
  },
  resumes: {
    es: "La sesión se reanuda a las [hora].",
    en: "The sitting resumes at [time].",
  },
  room_change: {
    es: "[Sesión] se traslada a [sala].",
    en: "[Sitting] moves to [room].",
  },
};
const PLACEHOLDER = /\[[^\]]*\]/;
const RESULT_SHOWN_MS = 12000;

let programme = null;
let listShown = null;
let phase = "connecting";
let lastContact = null;
let resultTimer = null;
let sender = null; // set below, once the live link it sends on exists
const { showMessage, hideMessage } = messageBox($("message"), 4000);

const live = connectLive({
  room: "*",
  onState(received, changed) {
    sender?.seen(received.state.version);
    if (changed) drawActive();
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
  onRefused: (body, error) => showMessage(explain(body, error), "error", error.message),
  onDone: (body) => {
    hideMessage();
    if (body.type === "announcement.retract") showMessage(t("staff.retracted"), "ok");
  },
});

function updateButtons() {
  const disabled = !!sender?.isBusy() || phase !== "live";
  for (const b of document.querySelectorAll("button.cmd")) {
    if (!b.closest("dialog")) b.disabled = disabled;
  }
}

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
  } else if (!$("message").hidden && $("message").dataset.kind === "error") {
    hideMessage(); // what went wrong while the link was down is no longer the news
  }
}

function roomName(id) {
  const room = programme?.rooms?.find((r) => r.id === id);
  return room ? pick(room.name) : id;
}

/** Server time now (the desk's clock corrected by the newest state's offset). */
function now() {
  const any = live.rooms.values().next().value;
  return any ? serverNow(any) : Date.now() / 1000;
}

/* ---- composing ---- */

function drawTargets() {
  fill(
    $("target-venue"),
    (programme?.venues || []).map((v) => h("option", { value: v.id }, pick(v.name))),
  );
  fill(
    $("target-rooms"),
    (programme?.rooms || []).map((r) =>
      h(
        "label",
        { class: "room-choice" },
        h("input", { type: "checkbox", name: "room", value: r.id }),
        ` ${pick(r.name)}`,
      ),
    ),
  );
  setText($("tz"), `(${t("staff.meeting_time", { tz: getTimezone() })})`);
  drawDays();
}

/** The meeting's days (and today), named in the desk's language, for the expiry. */
function drawDays() {
  const days = new Set();
  const start = programme?.meeting?.start_date;
  const end = programme?.meeting?.end_date;
  if (start && end) {
    for (let d = new Date(`${start}T12:00:00Z`); d <= new Date(`${end}T12:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
      days.add(d.toISOString().slice(0, 10));
    }
  }
  const today = epochToZoned(now()).slice(0, 10);
  days.add(today);
  const names = new Intl.DateTimeFormat(langs[0] === "es" ? "es-PA" : "en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
  fill(
    $("expires-day"),
    [...days].sort().map((day) =>
      h("option", { value: day, selected: day === today }, names.format(new Date(`${day}T12:00:00Z`))),
    ),
  );
}

/** The room ids the chosen target reaches (for the summary), and the command's `rooms`. */
function target() {
  const kind = document.querySelector('input[name="target"]:checked')?.value;
  const rooms = programme?.rooms || [];
  if (kind === "all") return { field: ["*"], ids: rooms.map((r) => r.id) };
  if (kind === "venue") {
    const venue = $("target-venue").value;
    return { field: venue, ids: rooms.filter((r) => r.venue === venue).map((r) => r.id) };
  }
  if (kind === "rooms") {
    const ids = [...document.querySelectorAll('input[name="room"]:checked')].map((box) => box.value);
    return { field: ids, ids };
  }
  return null;
}

/** The instant the announcement hides at, null for never; or {error}. */
function expiry() {
  const preset = document.querySelector('input[name="expiry"]:checked')?.value || "none";
  const at = now();
  if (preset === "none") return { at: null };
  if (preset === "15m") return { at: at + 15 * 60 };
  if (preset === "1h") return { at: at + 3600 };
  if (preset === "day") {
    const today = epochToZoned(at).slice(0, 10);
    return { at: zonedToEpoch(`${today}T23:59`) };
  }
  if (preset === "sitting") {
    const ends = (target()?.ids || [])
      .map((id) => live.rooms.get(id)?.state?.session)
      .filter((s) => s && (s.status === "open" || s.status === "suspended") && s.scheduled_end)
      .map((s) => s.scheduled_end);
    if (!ends.length) return { error: t("staff.no_sitting") };
    return { at: Math.max(...ends) };
  }
  const match = /^\s*([01]?\d|2[0-3])[:.h]?([0-5]\d)\s*$/.exec($("expires-time").value);
  if (!match) return { error: t("staff.bad_time") };
  return { at: zonedToEpoch(`${$("expires-day").value}T${match[1].padStart(2, "0")}:${match[2]}`) };
}

function drawExpiry() {
  const preset = document.querySelector('input[name="expiry"]:checked')?.value;
  document.querySelector(".expiry-at").classList.toggle("chosen", preset === "at");
  const e = expiry();
  setText(
    $("expiry-says"),
    e.error ? e.error : e.at ? t("staff.hides_at", { time: formatDayTime(e.at) }) : t("staff.no_expiry"),
  );
}

$("template").addEventListener("change", () => {
  const chosen = TEMPLATES[$("template").value];
  if (!chosen) return;
  $("text-es").value = chosen.es;
  $("text-en").value = chosen.en;
  $("text-es").focus();
  // The first part to fill in, selected, so typing replaces it.
  const at = chosen.es.search(PLACEHOLDER);
  if (at >= 0) $("text-es").setSelectionRange(at, chosen.es.indexOf("]", at) + 1);
});

$("target-venue").addEventListener("change", () => {
  document.querySelector('input[name="target"][value="venue"]').checked = true;
  drawExpiry();
});
$("target-rooms").addEventListener("change", () => {
  document.querySelector('input[name="target"][value="rooms"]').checked = true;
  drawExpiry();
});
for (const id of ["expires-day", "expires-time"]) {
  $(id).addEventListener("input", () => {
    document.querySelector('input[name="expiry"][value="at"]').checked = true;
    drawExpiry();
  });
}
$("compose").addEventListener("change", drawExpiry);

/** A sentence's key for `n` rooms: its `_one` form for a single room ("1 sala", not "1 salas"). */
function counted(key, n) {
  return n === 1 ? `${key}_one` : key;
}

/** Ask before an urgent post: what it does, where, and a screen with it. */
function confirmUrgent(body, ids) {
  const dialog = $("confirm-urgent");
  const names = ids.map(roomName);
  setText(
    $("urgent-summary"),
    t(counted("staff.urgent_summary", ids.length), { n: ids.length, rooms: names.join(", ") }),
  );
  const sample = ids.map((id) => live.rooms.get(id)).find(Boolean);
  drawPreview($("urgent-preview"), sample, {
    extra: [{ id: "preview", level: "urgent", text: body.text, posted_at: now() }],
  });
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("urgent-cancel").focus(); // the safe answer is the one under the finger
  });
}

function resetForm() {
  $("compose").reset(); // info, no target, no expiry, no template
  for (const box of document.querySelectorAll('input[name="room"]')) box.checked = false;
  for (const radio of document.querySelectorAll('input[name="target"]')) radio.checked = false;
  drawDays();
  drawExpiry();
}

function showResult(text) {
  const box = $("post-result");
  setText(box, text);
  show(box, true);
  clearTimeout(resultTimer);
  resultTimer = setTimeout(() => show(box, false), RESULT_SHOWN_MS);
}

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (phase !== "live") return;
  show($("post-result"), false);
  const es = $("text-es").value.trim();
  const en = $("text-en").value.trim();
  if (!es || !en) return showMessage(t("staff.need_text"));
  if (PLACEHOLDER.test(es) || PLACEHOLDER.test(en)) return showMessage(t("staff.fill_placeholders"));
  const where = target();
  if (!where) return showMessage(t("staff.need_target"));
  if (!where.ids.length) return showMessage(t("staff.need_rooms"));
  const level = document.querySelector('input[name="level"]:checked')?.value || "info";
  const body = { type: "announcement.post", text: { es, en }, level, rooms: where.field };
  const e = expiry();
  if (e.error) return showMessage(e.error);
  if (e.at) {
    if (e.at <= now()) return showMessage(t("staff.bad_expiry"));
    body.expires_at = e.at;
  }
  if (level === "urgent" && !(await confirmUrgent(body, where.ids))) return;
  const ack = await sender.send(body);
  if (ack?.ok) {
    resetForm();
    showResult(
      t(counted(level === "urgent" ? "staff.posted_urgent" : "staff.posted_where", where.ids.length), {
        n: where.ids.length,
        rooms: where.ids.map(roomName).join(", "),
      }),
    );
  }
});

/* ---- the active announcements ---- */

function drawActive() {
  const byId = new Map();
  const roomsOf = new Map();
  for (const [roomId, received] of live.rooms) {
    for (const a of activeAnnouncements(received)) {
      byId.set(a.id, a);
      if (!roomsOf.has(a.id)) roomsOf.set(a.id, []);
      roomsOf.get(a.id).push(roomId);
    }
  }
  const all = live.rooms.size;
  const list = [...byId.values()].sort((a, b) => (b.posted_at || 0) - (a.posted_at || 0));
  const key = list.map((a) => `${a.id}:${roomsOf.get(a.id).join("+")}`).join(",");
  if (key === listShown) return;
  listShown = key;
  fill(
    $("active"),
    list.length
      ? list.map((a) => {
          const rooms = roomsOf.get(a.id);
          const where = rooms.length === all ? t("staff.rooms_all") : rooms.map(roomName).join(", ");
          return h(
            "li",
            { class: `announcement level-${a.level}`, dataset: { id: a.id } },
            h("div", { class: "badge level" }, t(`announce.${a.level === "urgent" ? "urgent" : "info"}`)),
            h("p", { lang: "es", class: "a-es" }, a.text.es),
            h("p", { lang: "en", class: "a-en" }, a.text.en),
            h(
              "p",
              { class: "muted" },
              where,
              " · ",
              t("staff.posted_at", { time: formatDayTime(a.posted_at) }),
              " · ",
              a.expires_at ? t("staff.expires", { time: formatDayTime(a.expires_at) }) : t("staff.no_expiry"),
            ),
            h(
              "button",
              {
                type: "button",
                class: "cmd danger",
                dataset: { retract: a.id },
                "aria-label": t("staff.retract_named", { text: pick(a.text) }),
              },
              t("staff.retract"),
            ),
          );
        })
      : h("li", { class: "muted" }, t("staff.none")),
  );
  updateButtons();
}

$("active").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-retract]");
  if (!button || button.disabled) return;
  if (!window.confirm(t("staff.confirm_retract"))) return;
  sender.send({ type: "announcement.retract", id: button.dataset.retract });
});

guardTyping();

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  drawTargets();
  drawExpiry();
  listShown = null;
  drawActive();
});

setInterval(() => {
  drawActive(); // hide expired ones at their expiry
  if (programme) drawExpiry();
}, 1000);
updateButtons();
