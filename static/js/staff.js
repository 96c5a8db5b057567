// The secretariat's announcement desk: compose (es + en), target, expire, retract.
import { activeAnnouncements } from "./announcements.js";
import { explain, makeSender } from "./commands.js";
import { $, fill, h, messageBox } from "./dom.js";
import { formatDayTime, getTimezone, page, pick, setTimezone, t, zonedToEpoch } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";

let programme = null;
let listShown = null;
const { showMessage } = messageBox($("message"), 4000);

const live = connectLive({
  room: "*",
  onState(received, changed) {
    sender.seen(received.state.version);
    if (changed) drawActive();
  },
  onStatus(status) {
    drawConnMark($("conn-state"), status, { bilingual: false });
    document.body.dataset.phase = status.phase;
  },
});

const sender = makeSender({
  live,
  onBusy: (busy) => {
    for (const b of document.querySelectorAll("button.cmd")) b.disabled = busy;
  },
  onRefused: (body, error) => showMessage(explain(body, error), "error", error.message),
  onDone: (body) =>
    showMessage(t(body.type === "announcement.retract" ? "staff.retracted" : "staff.posted"), "ok"),
});


function roomName(id) {
  const room = programme?.rooms?.find((r) => r.id === id);
  return room ? pick(room.name) : id;
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
  fill($("tz"), `(${getTimezone()})`);
}

/** The `rooms` field of announcement.post for the chosen target. */
function targetRooms() {
  const target = document.querySelector('input[name="target"]:checked')?.value;
  if (target === "venue") return $("target-venue").value;
  if (target === "rooms") {
    return [...document.querySelectorAll('input[name="room"]:checked')].map((box) => box.value);
  }
  return ["*"];
}

$("target-venue").addEventListener("change", () => {
  document.querySelector('input[name="target"][value="venue"]').checked = true;
});
$("target-rooms").addEventListener("change", () => {
  document.querySelector('input[name="target"][value="rooms"]').checked = true;
});

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const es = $("text-es").value.trim();
  const en = $("text-en").value.trim();
  if (!es || !en) return showMessage(t("staff.need_text"));
  const rooms = targetRooms();
  if (Array.isArray(rooms) && !rooms.length) return showMessage(t("staff.need_rooms"));
  const body = {
    type: "announcement.post",
    text: { es, en },
    level: document.querySelector('input[name="level"]:checked')?.value || "info",
    rooms,
  };
  if ($("expires").value) {
    const expires = zonedToEpoch($("expires").value);
    if (!expires || expires <= Date.now() / 1000) return showMessage(t("staff.bad_expiry"));
    body.expires_at = expires;
  }
  const ack = await sender.send(body);
  if (ack?.ok) {
    $("text-es").value = "";
    $("text-en").value = "";
    $("expires").value = "";
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
          return h(
            "li",
            { class: `announcement level-${a.level}`, dataset: { id: a.id } },
            h("div", { class: "badge level" }, t(`announce.${a.level === "urgent" ? "urgent" : "info"}`)),
            h("p", { lang: "es", class: "a-es" }, a.text.es),
            h("p", { lang: "en", class: "a-en" }, a.text.en),
            h(
              "p",
              { class: "muted" },
              rooms.length === all ? t("staff.rooms_all") : rooms.map(roomName).join(", "),
              " · ",
              t("staff.posted_at", { time: formatDayTime(a.posted_at) }),
              " · ",
              a.expires_at ? t("staff.expires", { time: formatDayTime(a.expires_at) }) : t("staff.no_expiry"),
            ),
            h("button", { type: "button", class: "cmd danger", dataset: { retract: a.id } }, t("staff.retract")),
          );
        })
      : h("li", { class: "muted" }, t("staff.none")),
  );
}

$("active").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-retract]");
  if (!button || button.disabled) return;
  if (!window.confirm(t("staff.confirm_retract"))) return;
  sender.send({ type: "announcement.retract", id: button.dataset.retract });
});

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  drawTargets();
  listShown = null;
  drawActive();
});

setInterval(drawActive, 1000); // hide expired ones at their expiry
