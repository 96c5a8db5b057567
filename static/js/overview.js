// The lobby overview: every room at a glance, and the announcements for all.
// One unattended screen shows every room of every venue whole: the cards are laid
// out from the number of rooms and the display's shape, then fitOverview() steps the
// type down from the largest sizes until the whole page fits the viewport.
import { forecastText } from "./about.js";
import { activeAnnouncements, announcementsKey, infoNode, urgentNodes } from "./announcements.js";
import { drawClock, reading } from "./clock.js";
import { $, fill, h, oncePerFrame, show } from "./dom.js";
import { biNodes, biPick, biT, formatDayTime, formatTime, page, pick, setTimezone, t } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

const rooms = new Map(); // room id -> {received, card parts}
let programme = null;
let announcementsShown = null;
const portrait = window.matchMedia("(orientation: portrait)");

/*
 * Type sizes in % of the screen height: the largest (where fitting starts) and the
 * smallest each gives way to, all >= 2.5 %. Then, as the last resort, the sitting's
 * title (a secondary line: its second language first) down to 2 % (docs/screens.md).
 */
const SIZES = {
  head: [3.4, 2.6],
  ann: [3.0, 2.5],
  venue: [3.0, 2.5],
  room: [3.6, 2.6],
  title: [2.9, 2.5],
  title2: [2.9, 2.5],
  floor: [5.4, 3.0],
  floor2: [3.4, 2.5],
  clock: [6.4, 4.0],
  meta: [2.9, 2.5],
  pad: [1.5, 0.5],
};
const TYPE = Object.keys(SIZES).filter((name) => name !== "pad"); // the sizes of text
const STEPS = 12; // from the largest sizes to the smallest, in even steps
const LAST_RESORT = [{ title2: 2.25 }, { title2: 2.0 }, { title: 2.25 }, { title: 2.0 }];
// Only where even that cannot fit (a portrait display is 1.78 times as tall as it is
// wide, so a screenful of bilingual text cannot be 2 % of its height): everything together,
// step by step, never below 2.5 % of the screen's shorter side (docs/screens.md).
const SHRINK = 0.94;
const SHORT_SIDE_MIN = 2.5;
const CARD_ASPECT = 2.2; // a card reads best about twice as wide as it is tall

function card(roomId) {
  let entry = rooms.get(roomId);
  if (entry) return entry;
  const parts = {
    name: h("h3", { class: "o-room" }),
    title: h("span", { class: "o-title-text" }),
    pill: h("span", { class: "pill" }),
    floor: h("div", { class: "o-floor" }),
    next: h("div", { class: "o-next" }),
    clockBox: h("div", { class: "o-clock-box", dataset: { level: "none" } }),
    clock: h("span", { class: "o-clock" }),
    clockLabel: h("span", { class: "o-clock-label" }),
    queue: h("div", { class: "o-queue" }),
    forecast: h("p", { class: "o-forecast" }),
  };
  parts.clockBox.append(parts.clockLabel, parts.clock);
  parts.root = h(
    "article",
    { class: "o-card", dataset: { room: roomId } },
    parts.name,
    h("p", { class: "o-sitting" }, parts.pill, parts.title),
    parts.floor,
    parts.next,
    h("div", { class: "o-live" }, parts.queue, parts.clockBox),
    parts.forecast,
  );
  entry = { received: null, parts };
  rooms.set(roomId, entry);
  return entry;
}

function venueOf(entry) {
  return entry.received?.state?.room?.venue || "";
}

/**
 * How many columns of cards each venue gets. Landscape: the venues side by side, each
 * its rooms in `rows` rows; portrait: the venues one above the other, each its rooms in
 * `cols` columns. Of the arrangements, the one whose cards are nearest CARD_ASPECT wins.
 * It depends only on the rooms and the display's shape, never on what the cards say.
 */
function arrange(counts) {
  const w = window.innerWidth;
  const ht = window.innerHeight;
  const most = Math.max(1, ...counts);
  let best = null;
  for (let n = 1; n <= most; n += 1) {
    const cols = counts.map((c) => (portrait.matches ? Math.min(n, c) : Math.ceil(c / n)));
    const rows = counts.map((c, i) => Math.ceil(c / cols[i]));
    const across = portrait.matches ? Math.max(...cols) : cols.reduce((a, b) => a + b, 0);
    const down = portrait.matches ? rows.reduce((a, b) => a + b, 0) : Math.max(...rows);
    const miss = Math.abs(Math.log(w / across / (ht / down) / CARD_ASPECT));
    if (!best || miss < best.miss - 1e-9) best = { miss, cols, rows };
  }
  return best;
}

/** Lay the cards out by venue, in programme order. */
function layout() {
  const order = programme?.rooms?.map((r) => r.id) || [];
  const ids = [...rooms.keys()].sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b));
  const venues = new Map();
  for (const id of ids) {
    const venue = venueOf(rooms.get(id));
    if (!venues.has(venue)) venues.set(venue, []);
    venues.get(venue).push(rooms.get(id).parts.root);
  }
  const { cols, rows } = arrange([...venues.values()].map((cards) => cards.length));
  fill(
    $("venues"),
    [...venues.entries()].map(([venueId, cards], i) => {
      const venue = programme?.venues?.find((v) => v.id === venueId);
      const section = h(
        "section",
        { class: "o-venue", dataset: { venue: venueId } },
        h("h2", { class: "o-venue-name" }, venue ? biPick(venue.name) : venueId),
        h("div", { class: "o-cards" }, cards),
      );
      section.style.setProperty("--weight", String(portrait.matches ? rows[i] : cols[i]));
      section.lastChild.style.setProperty("--cols", String(cols[i]));
      return section;
    }),
  );
  fitSoon();
}

function rank(order, id) {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

function drawCard(entry) {
  const s = entry.received.state;
  const p = entry.parts;
  fill(p.name, biPick(s.room.name));
  const next = s.next_session;
  if ((!s.session || s.session.status === "closed") && next?.scheduled_start) {
    // A room with no sitting: when its next one starts (today: the time; else the day too).
    const soon = next.scheduled_start - (entry.received.state.server_time || 0) < 12 * 3600;
    fill(
      p.title,
      biNodes((lang) =>
        t(
          "next_sitting",
          {
            title: pick(next.title, lang),
            time: soon ? formatTime(next.scheduled_start, { lang }) : formatDayTime(next.scheduled_start, lang),
          },
          lang,
        ),
      ),
    );
    if (s.session) {
      p.pill.dataset.status = s.session.status;
      fill(p.pill, biT(`status.${s.session.status}`));
    }
    show(p.pill, !!s.session);
  } else if (s.session) {
    fill(p.title, biPick(s.session.title),
      s.session.item ? h("span", { class: "o-item" }, " · ", biPick(s.session.item.title)) : null);
    p.pill.dataset.status = s.session.status;
    fill(p.pill, biT(`status.${s.session.status}`));
    show(p.pill, true);
  } else {
    fill(p.title, biT("status.none"));
    show(p.pill, false);
  }
  const speaker = s.speakers?.current;
  p.floor.classList.toggle("empty", !speaker);
  fill(p.floor, speaker ? biPick(speaker.delegation.name) : biT("floor.empty"));
  const waiting = s.speakers?.queue?.length || 0;
  const head = s.speakers?.queue?.[0];
  // Who is next, on one line across the card: the label once per language, then the name.
  fill(
    p.next,
    head ? [h("span", { class: "o-next-label" }, biT("next_label")), " ", biPick(head.delegation.name, "o-next-name")] : null,
  );
  show(p.next, !!head);
  drawForecast(entry);
  fill(
    p.queue,
    biT("queue.count", { n: waiting }),
    s.speakers?.list_closed ? h("span", { class: "o-closed" }, biT("list.closed")) : null,
  );
  drawClock(p.clockBox, p.clock, p.clockLabel, reading(entry.received), { budget: false });
  p.root.dataset.version = s.version;
}

/**
 * When the list ends at its limits (the console's sentence, in every shown language):
 * only for an open sitting with someone speaking or waiting. Drawn with the clocks (each
 * tick), since an overrun, a pause or an empty floor moves it between states; the DOM is
 * touched only when the text changes (about once a minute). Answers whether it did.
 */
function drawForecast(entry) {
  const { received, parts } = entry;
  const open = received.state.session?.status === "open";
  const texts = new Map(open ? page.langs.map((lang) => [lang, forecastText(received, lang)]) : []);
  const text = texts.get(page.langs[0]) ? [...texts.values()].join("\n") : "";
  if (parts.forecast.dataset.text === text) return false;
  parts.forecast.dataset.text = text;
  fill(parts.forecast, text ? biNodes((lang) => texts.get(lang)) : null);
  show(parts.forecast, !!text);
  return true;
}

/**
 * Every room's active announcements, once each, newest first. Those for every room are
 * the band (urgent ones over everything, as on the screens); one meant for some rooms only
 * (a venue, chosen rooms) is an entry of the band named with its rooms, never a takeover:
 * the lobby of one venue must not read another's urgent notice as its own.
 */
function drawAnnouncements() {
  const byId = new Map(); // id -> {a, where: the rooms showing it}
  let shown = 0; // rooms whose state has come
  for (const [roomId, { received }] of rooms) {
    if (received) shown += 1;
    for (const a of activeAnnouncements(received)) {
      const seen = byId.get(a.id) || { a, where: [] };
      seen.where.push(roomId);
      byId.set(a.id, seen);
    }
  }
  const list = [...byId.values()].sort((x, y) => (y.a.posted_at || 0) - (x.a.posted_at || 0));
  const key = `${announcementsKey(list.map((x) => x.a))}|${list.map((x) => x.where.length)}|${shown}`;
  if (key === announcementsShown) return;
  announcementsShown = key;
  const forAll = (x) => x.where.length >= shown;
  const urgent = list.filter((x) => forAll(x) && x.a.level === "urgent").map((x) => x.a);
  const band = list.filter((x) => !forAll(x) || x.a.level !== "urgent");
  const box = $("announcements");
  show(box, list.length > 0);
  fill(
    box,
    urgent.length ? h("div", { class: "o-urgent" }, urgentNodes(urgent)) : null,
    band.map((x) => (forAll(x) ? infoNode(x.a) : targetedNode(x.a, x.where))),
  );
  fitSoon();
}

/** An announcement for some rooms only: its text, after the names of those rooms. */
function targetedNode(a, where) {
  const node = infoNode(a);
  node.classList.toggle("urgent", a.level === "urgent");
  const names = (lang) => where.map((id) => pick(rooms.get(id).received?.state.room.name, lang))
    .join(", ");
  node.prepend(biNodes((lang) => t("announce.only_in", { rooms: names(lang) }, lang), "a-where"));
  return node;
}

/**
 * Set every size at `t` (0: the largest, 1: the smallest), with the last-resort ones in
 * `extra`, all times `scale` (never below SHORT_SIDE_MIN % of the shorter side).
 */
function applySizes(pageEl, t, extra = {}, scale = 1) {
  const vh = window.innerHeight / 100;
  const floor = (Math.min(window.innerWidth, window.innerHeight) / 100) * SHORT_SIDE_MIN;
  for (const [name, [large, small]] of Object.entries(SIZES)) {
    let size = (name in extra ? extra[name] : large + (small - large) * t) * vh;
    if (scale < 1) size = name === "pad" ? size * scale : Math.max(floor, size * scale);
    pageEl.style.setProperty(`--o-${name}`, `${size.toFixed(2)}px`);
  }
}

function fits() {
  const scroller = document.scrollingElement;
  if (scroller.scrollHeight > window.innerHeight || scroller.scrollWidth > window.innerWidth) {
    return false;
  }
  for (const { parts } of rooms.values()) {
    const el = parts.root;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) return false;
  }
  return true;
}

/**
 * While measuring, a clock that shows no label gets the longest one-part label
 * ("Time almost up"), so that its turning amber later takes no room the fit did not
 * leave; the clock box then keeps the width it had with it (the queue's length beside
 * it does not reflow). Answers a function that puts the real labels back.
 */
function reserveClockLabels() {
  const restore = [];
  for (const { received, parts } of rooms.values()) {
    parts.clockBox.style.removeProperty("min-width");
    if (!received?.state?.speakers?.current || parts.clockLabel.childElementCount > 1) continue;
    const kept = [...parts.clockLabel.childNodes];
    fill(parts.clockLabel, biT("clock.warning", {}, "clock-part"));
    restore.push(() => {
      parts.clockBox.style.setProperty("min-width", `${parts.clockBox.getBoundingClientRect().width}px`);
      parts.clockLabel.replaceChildren(...kept);
    });
  }
  return () => restore.forEach((put) => put());
}

/**
 * Fit the page to the viewport: from the largest sizes, step all of them down evenly
 * (each between its largest and smallest) and measure after each step; then, if still
 * needed, the last-resort steps. Always from the largest, so the same content gives
 * the same layout: nothing moves unless something changed.
 */
function fitOverview() {
  const pageEl = document.querySelector(".o-page");
  const restore = reserveClockLabels();
  let fitted = false;
  for (let step = 0; step <= STEPS && !fitted; step += 1) {
    applySizes(pageEl, step / STEPS);
    fitted = fits();
  }
  const extra = {};
  for (const more of LAST_RESORT) {
    if (fitted) break;
    Object.assign(extra, more);
    applySizes(pageEl, 1, extra);
    fitted = fits();
  }
  const floor = (Math.min(window.innerWidth, window.innerHeight) / 100) * SHORT_SIDE_MIN;
  // Until it fits or the largest type too is down at the floor (the clock last).
  const largest = (window.innerHeight / 100) * Math.max(...TYPE.map((name) => SIZES[name][1]));
  for (let scale = SHRINK; !fitted && largest * scale >= floor * SHRINK; scale *= SHRINK) {
    applySizes(pageEl, 1, extra, scale);
    fitted = fits();
  }
  restore();
  document.body.dataset.fit = fitted ? "fits" : "overflows";
}

/** Fit again in the next frame (once): a card, an announcement, a label or the display changed. */
const fitSoon = oncePerFrame(fitOverview);

function tick() {
  for (const entry of rooms.values()) {
    if (!entry.received) continue;
    const p = entry.parts;
    const before = p.clockLabel.childElementCount;
    drawClock(p.clockBox, p.clock, p.clockLabel, reading(entry.received), { budget: false });
    // A label of two parts ("Paused", "Overrun") is taller than the room reserved.
    if (Math.max(before, p.clockLabel.childElementCount) > 1 && before !== p.clockLabel.childElementCount) {
      fitSoon();
    }
    // The forecast's new text may wrap otherwise: fit again (from the largest sizes, so
    // the same lengths give the same layout).
    if (drawForecast(entry)) fitSoon();
  }
  drawAnnouncements();
  const any = [...rooms.values()].find((e) => e.received);
  if (any) fill($("now"), formatTime(Date.now() / 1000 + any.received.offset));
}

connectLive({
  room: page.room,
  onState(received, changed) {
    const known = rooms.has(received.state.room.id);
    const entry = card(received.state.room.id);
    entry.received = received;
    if (!known) layout();
    if (changed) {
      drawCard(entry);
      announcementsShown = null;
      fitSoon();
    }
  },
  onStatus(status) {
    drawConnMark($("conn"), status);
    document.body.dataset.phase = status.phase;
  },
});

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  // Times drawn before the meeting's time zone was known (the forecast, the next sitting).
  for (const entry of rooms.values()) if (entry.received) drawCard(entry);
  layout();
});

window.addEventListener("resize", layout);
portrait.addEventListener("change", layout);
setInterval(tick, 250);
keepAwake();
