// The speaker's monitor: the clock as large as the display allows, who has
// the floor and who is next, and the chair's message (podium.*) until cleared.
// Only this page shows the room's `podium` field.
import { drawClock, reading } from "./clock.js";
import { $, fill, oncePerFrame, show } from "./dom.js";
import { biPick, page, setTimezone } from "./i18n.js";
import { connectLive, drawConnMark, keepAwake, loadProgramme } from "./live.js";

let current = null;

// How far a long message and the clock may shrink: fractions of the display's height
// (the message's: of its shorter side, so that portrait holds the longest one).
const MESSAGE_MIN = 0.025;
const CLOCK_MIN = 0.12;

function render() {
  const state = current.state;
  const floor = state.speakers.current;
  // The delegation's name in each language, the person's own once: it is the same in both.
  fill($("floor-name"), floor ? biPick(floor.delegation.name) : "",
    floor?.speaker_name ? ` — ${floor.speaker_name}` : "");
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
  fitPodium();
}

/**
 * Keep everything on the display: a long message gives way first, then the clock,
 * always from the full sizes (the same content gives the same layout).
 */
function fitPodium() {
  const grid = $("podium");
  const message = $("message");
  const clock = $("clock");
  message.style.removeProperty("font-size");
  clock.style.removeProperty("font-size");
  const over = () => grid.scrollHeight > grid.clientHeight + 1
    || $("clock-box").scrollHeight > $("clock-box").clientHeight + 1;
  const { innerHeight: high, innerWidth: wide } = window;
  const step = high * 0.005;
  const steps = [[message, 2 * MESSAGE_MIN * high], [clock, CLOCK_MIN * high],
    [message, MESSAGE_MIN * Math.min(high, wide)]];
  for (const [el, minimum] of steps) {
    let size = parseFloat(getComputedStyle(el).fontSize);
    while (over() && size > minimum + 0.5) {
      size = Math.max(minimum, size - step);
      el.style.setProperty("font-size", `${size}px`);
    }
  }
}

window.addEventListener("resize", oncePerFrame(() => current && fitPodium()));

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
