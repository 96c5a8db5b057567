// The webcast's lower third: the delegation with the floor (its group and the
// speaker's name when known) in the language asked for, on a transparent page;
// hidden while nobody has the floor.
import { $, fill, show } from "./dom.js";
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
  fill($("detail"), [floor.speaker_name, group].filter(Boolean).join(" · "));
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
