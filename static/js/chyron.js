// The webcast's lower third: the delegation with the floor (the speaker's name and
// title, and its group, when known) in the language asked for, on a transparent
// page; hidden while nobody has the floor. The title is shown as it was typed.
import { $, fill, h, show } from "./dom.js";
import { langs, page, pick } from "./i18n.js";
import { connectLive } from "./live.js";

const lang = langs[0];

function render(state) {
  const floor = state.speakers.current;
  show($("third"), !!floor);
  document.body.dataset.floor = floor ? floor.entry_id : "";
  if (!floor) return;
  fill($("delegation"), pick(floor.delegation.name, lang));
  const group = floor.on_behalf_of ? pick(floor.on_behalf_of.name, lang) : "";
  const title = floor.speaker_title
    ? h("span", { class: "c-title", id: "title", text: floor.speaker_title })
    : null;
  const speaker = [floor.speaker_name, title].filter(Boolean);
  const parts = [];
  speaker.forEach((part, i) => parts.push(i ? ", " : "", part));
  if (group) parts.push(speaker.length ? " · " : "", group);
  fill($("detail"), parts);
}

connectLive({
  room: page.room,
  onState(received, changed) {
    if (changed) render(received.state);
  },
  onStatus(status) {
    document.body.dataset.phase = status.phase;
  },
});
