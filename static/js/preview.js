// A small likeness of a room's screen, for consoles and desks: what the hall sees
// now (the urgent takeover, the announcement band, a closed list, a suspension),
// drawn from the same state the screen draws. Text goes in as text nodes only.
import { activeAnnouncements } from "./announcements.js";
import { fill, h } from "./dom.js";
import { formatTime, pick, t } from "./i18n.js";

const QUEUE_SHOWN = 3;

function texts(a) {
  const es = pick(a.text, "es");
  const en = pick(a.text, "en");
  return es === en ? [h("p", { lang: "es" }, es)] : [h("p", { lang: "es" }, es), h("p", { lang: "en" }, en)];
}

/**
 * Draw into `box` what the room's screen shows for `received` ({state, offset});
 * `extra` announcements (not yet posted) are shown as if they were.
 */
export function drawPreview(box, received, { extra = [] } = {}) {
  const s = received?.state;
  if (!s) {
    fill(box, h("p", { class: "mini-empty" }, "—"));
    return;
  }
  const active = [...extra, ...activeAnnouncements(received)];
  const urgent = active.filter((a) => a.level === "urgent");
  const info = active.filter((a) => a.level !== "urgent");
  const session = s.session;
  const speaker = s.speakers?.current;
  const queue = s.speakers?.queue || [];
  box.dataset.urgent = String(urgent.length > 0);
  box.dataset.status = session?.status || "none";

  const head = h(
    "div",
    { class: "mini-head" },
    h("span", { class: "mini-room" }, pick(s.room.name)),
    session ? h("span", { class: "mini-pill", dataset: { status: session.status } }, t(`status.${session.status}`)) : null,
  );
  let body;
  if (session?.status === "suspended") {
    body = h(
      "div",
      { class: "mini-suspended" },
      session.suspended_until
        ? t("suspended_until", { time: formatTime(session.suspended_until) })
        : t("status.suspended"),
    );
  } else {
    body = h(
      "div",
      { class: "mini-body" },
      h(
        "div",
        { class: "mini-floor" },
        h("span", { class: "mini-label" }, t("preview.floor")),
        h("strong", {}, speaker ? pick(speaker.delegation.name) : t("floor.empty")),
      ),
      h(
        "div",
        { class: "mini-queue" },
        s.speakers?.list_closed ? h("span", { class: "mini-closed" }, t("list.closed")) : null,
        queue.length
          ? h("ol", {}, queue.slice(0, QUEUE_SHOWN).map((e) => h("li", {}, pick(e.delegation.name))))
          : h("span", { class: "mini-label" }, t("queue.empty")),
        queue.length > QUEUE_SHOWN ? h("span", { class: "mini-label" }, t("queue.more", { n: queue.length - QUEUE_SHOWN })) : null,
      ),
    );
  }
  const band = info.length ? h("div", { class: "mini-band" }, texts(info[0])) : null;
  const takeover = urgent.length
    ? h(
        "div",
        { class: "mini-urgent", role: "note" },
        h("div", { class: "mini-urgent-head" }, t("announce.urgent")),
        urgent.map((a) => h("div", { class: "mini-urgent-item" }, texts(a))),
      )
    : null;
  fill(box, head, body, band, takeover);
}
