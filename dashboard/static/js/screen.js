// A room's screen: floor, clock, next speakers, announcements; unattended, so
// it reconnects by itself and says when what it shows may be out of date.
import { infoNode, activeAnnouncements, announcementsKey, urgentNodes } from "./announcements.js";
import { drawClock, reading, serverNow } from "./clock.js";
import { $, fill, h, show } from "./dom.js";
import { biNodes, biPick, biT, formatDayTime, formatTime, page, pick, setTimezone, t } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

const QUEUE_RENDERED = 12; // then as many as fit whole
const INFO_ROTATE_MS = 12000;

let current = null; // the newest {state, offset} of this room
let programme = null;
let announcementsShown = null;
let infoPage = 0;

function venueName(venueId) {
  const venue = programme?.venues?.find((v) => v.id === venueId);
  return venue ? venue.name : venueId || "";
}

/** "15:30", or "mié 20 abr, 15:30" when it is not within the next hours. */
function when(epoch, lang) {
  if (!epoch || !current) return "";
  const ahead = epoch - serverNow(current);
  return ahead > 12 * 3600 || ahead < -12 * 3600 ? formatDayTime(epoch, lang) : formatTime(epoch, { lang });
}

function drawHeader(s) {
  fill($("room-name"), biPick(s.room.name));
  fill($("venue-name"), biPick(venueName(s.room.venue)));
  const session = s.session;
  const pill = $("sitting-status");
  const note = $("sitting-note");
  if (session) {
    fill($("sitting-title"), biPick(session.title));
    pill.dataset.status = session.status;
    fill(pill, biT(`status.${session.status}`));
    show(pill, true);
  } else {
    fill($("sitting-title"), biT("status.none"));
    show(pill, false);
  }
  const next = s.next_session;
  if (session?.status === "suspended" && session.suspended_until) {
    fill(note, biNodes((lang) => t("suspended_until", { time: when(session.suspended_until, lang) }, lang)));
  } else if ((!session || session.status === "closed") && next) {
    fill(
      note,
      biNodes((lang) =>
        next.scheduled_start
          ? t("next_sitting", { title: pick(next.title, lang), time: when(next.scheduled_start, lang) }, lang)
          : t("next_sitting_no_time", { title: pick(next.title, lang) }, lang),
      ),
    );
  } else fill(note);
}

function drawFloor(s) {
  const speaker = s.speakers?.current;
  const name = $("floor-name");
  name.classList.toggle("empty", !speaker);
  if (!speaker) {
    fill(name, biT("floor.empty"));
    fill($("floor-detail"));
    return;
  }
  fill(name, biPick(speaker.delegation.name));
  fill(
    $("floor-detail"),
    speaker.speaker_name ? h("span", { class: "speaker-name" }, speaker.speaker_name) : null,
    speaker.kind && speaker.kind !== "speech" ? biT(`kind.${speaker.kind}`, {}, "kind-mark") : null,
  );
}

function drawQueue(s) {
  const queue = s.speakers?.queue || [];
  fill(
    $("queue"),
    queue.slice(0, QUEUE_RENDERED).map((entry) =>
      h(
        "li",
        { class: `q-item kind-${entry.kind || "speech"}`, dataset: { entry: entry.entry_id } },
        h("span", { class: "q-name" }, biPick(entry.delegation.name)),
        entry.kind && entry.kind !== "speech" ? biT(`kind.${entry.kind}`, {}, "kind-mark") : null,
        entry.speaker_name ? h("span", { class: "q-speaker" }, entry.speaker_name) : null,
      ),
    ),
  );
  fitQueue();
  const closed = $("list-closed");
  show(closed, !!s.speakers?.list_closed);
  if (s.speakers?.list_closed) fill(closed, biT("list.closed"));
}

/** Shrink the name with the floor until the floor block fits (never below the floor size). */
function fitFloor() {
  const block = document.querySelector(".s-floor");
  const name = $("floor-name");
  name.style.removeProperty("font-size");
  const minimum = window.innerHeight * 0.032;
  let size = parseFloat(getComputedStyle(name).fontSize);
  while (block.scrollHeight > block.clientHeight + 1 && size > minimum) {
    size = Math.max(minimum, size * 0.92);
    name.style.setProperty("font-size", `${size}px`);
  }
}

/** Hide the entries that do not fit whole, and say how many more wait. */
function fitQueue() {
  const list = $("queue");
  const more = $("queue-more");
  const total = current?.state?.speakers?.queue?.length || 0;
  if (!total) {
    fill(more, biT("queue.empty"));
    return;
  }
  fill(more, biT("queue.more", { n: total })); // hold the line's place while measuring
  for (const item of list.children) item.hidden = false;
  const bottom = list.getBoundingClientRect().bottom + 1;
  let shown = 0;
  let full = false;
  for (const item of list.children) {
    full = full || item.getBoundingClientRect().bottom > bottom;
    item.hidden = full;
    if (!full) shown += 1;
  }
  if (total > shown) fill(more, biT("queue.more", { n: total - shown }));
  else fill(more);
}

function drawAnnouncements(force = false) {
  const active = activeAnnouncements(current);
  const urgent = active.filter((a) => a.level === "urgent");
  const info = active.filter((a) => a.level !== "urgent");
  const shown = 1; // one at a time, rotating: the queue keeps its room
  const pages = Math.max(1, Math.ceil(info.length / shown));
  const key = `${announcementsKey(active)}|${infoPage % pages}`;
  if (!force && key === announcementsShown) return false;
  announcementsShown = key;
  const takeover = $("urgent");
  show(takeover, urgent.length > 0);
  document.body.classList.toggle("has-urgent", urgent.length > 0);
  fill(takeover, urgent.length ? urgentNodes(urgent) : []);
  const band = $("info-band");
  show(band, info.length > 0);
  const start = (infoPage % pages) * shown;
  fill(band, info.slice(start, start + shown).map(infoNode));
  return true;
}

function render() {
  const s = current.state;
  document.body.dataset.version = s.version;
  drawHeader(s);
  drawFloor(s);
  drawAnnouncements(true);
  fitFloor();
  tick();
  drawQueue(s); // last: it shows as many entries as the rest leaves room for
}

function tick() {
  drawClock($("clock-box"), $("clock"), $("clock-label"), reading(current));
  drawAnnouncements();
}

connectLive({
  room: page.room,
  onState(received, changed) {
    current = received;
    if (changed) render();
  },
  onStatus(status) {
    drawConnMark($("conn"), status);
    document.body.dataset.phase = status.phase;
  },
});

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  if (current) render();
});

setInterval(() => current && tick(), 200);
// Whatever changes the room left for the floor or the queue (clock label,
// announcements, a resize), fit them again.
new ResizeObserver(() => fitQueue()).observe($("queue"));
new ResizeObserver(() => fitFloor()).observe(document.querySelector(".s-floor"));
setInterval(() => {
  infoPage += 1;
}, INFO_ROTATE_MS);
keepAwake();
