// The lobby overview: every room at a glance, and the announcements for all.
import { activeAnnouncements, announcementsKey, infoNode, urgentNodes } from "./announcements.js";
import { drawClock, reading } from "./clock.js";
import { $, fill, h, show } from "./dom.js";
import { biPick, biT, formatTime, page, setTimezone } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

const rooms = new Map(); // room id -> {received, card parts}
let programme = null;
let announcementsShown = null;

function card(roomId) {
  let entry = rooms.get(roomId);
  if (entry) return entry;
  const parts = {
    name: h("h3", { class: "o-room" }),
    title: h("div", { class: "o-title-text" }),
    pill: h("span", { class: "pill" }),
    floor: h("div", { class: "o-floor" }),
    clockBox: h("div", { class: "o-clock-box", dataset: { level: "none" } }),
    clock: h("span", { class: "o-clock" }),
    clockLabel: h("span", { class: "o-clock-label" }),
    queue: h("div", { class: "o-queue" }),
  };
  parts.clockBox.append(parts.clock, parts.clockLabel);
  parts.root = h(
    "article",
    { class: "o-card", dataset: { room: roomId } },
    parts.name,
    h("div", { class: "o-sitting" }, parts.title, parts.pill),
    h("div", { class: "o-live" }, parts.floor, parts.clockBox),
    parts.queue,
  );
  entry = { received: null, parts };
  rooms.set(roomId, entry);
  return entry;
}

function venueOf(entry) {
  return entry.received?.state?.room?.venue || "";
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
  fill(
    $("venues"),
    [...venues.entries()].map(([venueId, cards]) => {
      const venue = programme?.venues?.find((v) => v.id === venueId);
      return h(
        "section",
        { class: "o-venue", dataset: { venue: venueId } },
        h("h2", { class: "o-venue-name" }, venue ? biPick(venue.name) : venueId),
        h("div", { class: "o-cards" }, cards),
      );
    }),
  );
}

function rank(order, id) {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

function drawCard(entry) {
  const s = entry.received.state;
  const p = entry.parts;
  fill(p.name, biPick(s.room.name));
  if (s.session) {
    fill(p.title, biPick(s.session.title));
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
  fill(
    p.queue,
    biT("queue.count", { n: waiting }),
    s.speakers?.list_closed ? h("span", { class: "o-closed" }, biT("list.closed")) : null,
  );
  p.root.dataset.version = s.version;
}

/** Announcements for all: every active one, once, newest first. */
function drawAnnouncements() {
  const byId = new Map();
  for (const { received } of rooms.values()) {
    for (const a of activeAnnouncements(received)) byId.set(a.id, a);
  }
  const list = [...byId.values()].sort((a, b) => (b.posted_at || 0) - (a.posted_at || 0));
  const key = announcementsKey(list);
  if (key === announcementsShown) return;
  announcementsShown = key;
  const urgent = list.filter((a) => a.level === "urgent");
  const info = list.filter((a) => a.level !== "urgent");
  const box = $("announcements");
  show(box, list.length > 0);
  fill(
    box,
    urgent.length ? h("div", { class: "o-urgent" }, urgentNodes(urgent)) : null,
    info.map(infoNode),
  );
}

function tick() {
  for (const entry of rooms.values()) {
    if (!entry.received) continue;
    const p = entry.parts;
    drawClock(p.clockBox, p.clock, p.clockLabel, reading(entry.received));
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
  layout();
});

setInterval(tick, 250);
keepAwake();
