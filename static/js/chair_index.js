// For a chair of every room: pick the room to chair.
import { $, fill, h } from "./dom.js";
import { pick, setTimezone, t } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";

let programme = null;

function draw(rooms) {
  const order = programme?.rooms || [...rooms.values()].map((r) => r.state.room);
  fill(
    $("rooms"),
    order.map((room) => {
      const state = rooms.get(room.id)?.state;
      const session = state?.session;
      return h(
        "li",
        {},
        h("a", { class: "button", href: `/chair/${encodeURIComponent(room.id)}` }, pick(room.name)),
        " ",
        h("span", { class: "muted" }, session ? `${pick(session.title)} · ${t(`status.${session.status}`)}` : t("status.none")),
      );
    }),
  );
}

const live = connectLive({
  room: "*",
  onState: () => draw(live.rooms),
  onStatus: (status) => {
    drawConnMark($("conn-state"), status, { bilingual: false });
    document.body.dataset.phase = status.phase;
  },
});

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  draw(live.rooms);
});
