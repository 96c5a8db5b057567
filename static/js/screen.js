// A room's screen: floor, clock, next speakers, announcements; unattended, so
// it reconnects by itself and says when what it shows may be out of date.
import { aboutNodes } from "./about.js";
import { infoNode, activeAnnouncements, announcementsKey, urgentNodes } from "./announcements.js";
import { drawClock, format, reading, serverNow } from "./clock.js";
import { $, fill, h, oncePerFrame, show } from "./dom.js";
import { biNodes, biPick, biT, formatDayTime, formatTime, page, pick, setTimezone, t } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

const QUEUE_RENDERED = 12; // then as many as fit whole
const QUEUE_WANTED = 5; // next speakers every display should show (when there are as many)
const CLOCK_MIN = 0.07; // the clock gives way down to 7% of the height, no further
const FLOOR_MIN = 0.032; // the name with the floor, down to 3.2% (all else is >= 2.5%)
const QUEUE_MIN = 0.025; // the queue's names, down to the size floor of the screens
const portrait = window.matchMedia("(orientation: portrait)");
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
    fill($("sitting-title"), biPick(session.title),
      session.item ? h("span", { class: "item" }, " · ", biPick(session.item.title)) : null);
    pill.dataset.status = session.status;
    fill(pill, biT(`status.${session.status}`));
    show(pill, true);
  } else {
    fill($("sitting-title"), biT("status.none"));
    show(pill, false);
  }
  const next = s.next_session;
  if (session?.status === "suspended") {
    fill(note); // said full width, with a countdown, in the middle of the screen
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

/** A suspended sitting: the whole middle of the screen says so, and when it resumes. */
function drawSuspension(s) {
  const session = s.session;
  const suspended = session?.status === "suspended";
  document.body.classList.toggle("suspended", suspended);
  show($("suspension"), suspended);
  if (!suspended) return;
  fill($("suspension-title"), biT("sitting_suspended"));
  drawSuspensionWhen();
}

function drawSuspensionWhen() {
  const until = current?.state?.session?.suspended_until;
  const el = $("suspension-when");
  if (!until) {
    if (el.dataset.key !== "") {
      el.dataset.key = "";
      fill(el);
    }
    return;
  }
  const left = Math.max(0, Math.ceil(until - serverNow(current)));
  const key = `${until}|${left}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  fill(
    el,
    biNodes((lang) => t("resumes_at", { time: when(until, lang) }, lang), "s-resumes-at"),
    left > 0 ? h("span", { class: "s-resumes-in tabular" }, biT("resumes_in", { time: format(left) })) : null,
  );
}

/** The time of day in the meeting's time zone, in the header. */
function drawNow() {
  if (!current) return;
  const text = formatTime(serverNow(current));
  const el = $("now");
  if (el.textContent !== text) el.textContent = text;
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
    ...aboutNodes(speaker),
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
        ...aboutNodes(entry, "q-about"),
        entry.speaker_name ? h("span", { class: "q-speaker" }, entry.speaker_name) : null,
      ),
    ),
  );
  const closed = $("list-closed");
  show(closed, !!s.speakers?.list_closed);
  if (s.speakers?.list_closed) fill(closed, biT("list.closed"));
}

/** Shrink the name with the floor until the floor block fits (never below FLOOR_MIN). */
function fitFloor() {
  const block = document.querySelector(".s-floor");
  const name = $("floor-name");
  name.style.removeProperty("font-size");
  const minimum = window.innerHeight * FLOOR_MIN;
  // Inline boxes (the kind mark's) may stick out a pixel or two: not an overflow.
  const slack = Math.max(2, window.innerHeight * 0.002);
  let size = parseFloat(getComputedStyle(name).fontSize);
  while (block.scrollHeight > block.clientHeight + slack && size > minimum) {
    size = Math.max(minimum, size * 0.92);
    name.style.setProperty("font-size", `${size}px`);
  }
}

/** Hide the entries that do not fit whole, say how many more wait; answer how many show. */
function fitQueue() {
  const list = $("queue");
  const more = $("queue-more");
  const total = current?.state?.speakers?.queue?.length || 0;
  if (!total) {
    fill(more, biT("queue.empty"));
    return 0;
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
  return shown;
}

/**
 * Fit the floor, then the queue. When fewer than QUEUE_WANTED next speakers fit whole,
 * what shares the height with them gives way step by step, measuring after each step,
 * until they fit or everything is at its minimum: on a portrait display the clock, then
 * the name with the floor, then the queue's own type; on a landscape one (the queue has
 * its own column) the queue's type; then the room between entries. Always from the full sizes, so the same content
 * gives the same layout: nothing moves unless something changed.
 */
function fitScreen() {
  if (!current) return;
  const clock = $("clock");
  const list = $("queue");
  clock.style.removeProperty("font-size");
  list.style.removeProperty("font-size");
  list.classList.remove("tight");
  fitFloor();
  let shown = fitQueue();
  const wanted = Math.min(QUEUE_WANTED, current.state.speakers?.queue?.length || 0);
  if (shown >= wanted) return;
  const squeeze = [[list, QUEUE_MIN]];
  if (portrait.matches) squeeze.unshift([clock, CLOCK_MIN], [$("floor-name"), FLOOR_MIN]);
  const step = window.innerHeight * 0.005;
  for (const [el, fraction] of squeeze) {
    const minimum = window.innerHeight * fraction;
    let size = parseFloat(getComputedStyle(el).fontSize);
    while (shown < wanted && size > minimum + 0.5) {
      size = Math.max(minimum, size - step);
      el.style.setProperty("font-size", `${size}px`);
      shown = fitQueue();
    }
  }
  if (shown < wanted) {
    list.classList.add("tight"); // last: less room between the entries
    shown = fitQueue();
  }
}

/** Fit again in the next frame (once) when a size changed: announcements, labels, resize. */
const fitSoon = oncePerFrame(fitScreen);

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
  drawSuspension(s);
  drawFloor(s);
  drawAnnouncements(true);
  tick();
  drawQueue(s);
  fitScreen(); // last: the queue shows as many entries as the rest leaves room for
}

function tick() {
  drawClock($("clock-box"), $("clock"), $("clock-label"), reading(current), {
    limitEl: $("clock-limit"),
    barEl: $("clock-bar"),
  });
  drawAnnouncements();
  drawNow();
  if (current.state.session?.status === "suspended") drawSuspensionWhen();
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
// announcements, a resize, a turned display), fit them again.
const resized = new ResizeObserver(fitSoon);
for (const el of [$("queue"), document.querySelector(".s-floor"), $("screen")]) resized.observe(el);
portrait.addEventListener("change", fitSoon);
setInterval(() => {
  infoPage += 1;
}, INFO_ROTATE_MS);
keepAwake();
