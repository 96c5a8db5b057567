// The speaker's monitor: the clock as large as the display allows, who has
// the floor and who is next, and the chair's message (podium.*) until cleared.
// Only this page shows the room's `podium` field.
import { drawClock, reading } from "./clock.js";
import { $, fill, show } from "./dom.js";
import { biNodes, biPick, page, pick, setTimezone } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

let current = null;

function render() {
  const state = current.state;
  const floor = state.speakers.current;
  fill($("floor-name"), floor ? biNodes((lang) => [pick(floor.delegation.name, lang), floor.speaker_name]
    .filter(Boolean).join(" — ")) : "");
  const next = state.speakers.queue[0];
  fill($("next-name"), next ? biPick(next.delegation.name) : "");
  const message = state.podium;
  const box = $("message");
  show(box, !!message);
  if (message) {
    fill(box, biPick(message.text));
    box.dataset.blink = String(!!message.blink);
    box.dataset.preset = message.preset || "";
  }
  tick();
}

function tick() {
  drawClock($("clock-box"), $("clock"), $("clock-label"), reading(current), {
    limitEl: $("clock-limit"),
    barEl: $("clock-bar"),
  });
}

connectLive({
  room: page.room,
  podium: true,
  onState(received, changed) {
    current = received;
    if (changed) render();
  },
  onStatus(status) {
    drawConnMark($("conn"), status);
    document.body.dataset.phase = status.phase;
  },
});

loadProgramme().then((p) => setTimezone(p?.meeting?.timezone));
setInterval(() => current && tick(), 200);
keepAwake();
