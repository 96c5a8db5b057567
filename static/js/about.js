// What a list entry says beside the delegation's name: the group it speaks for
// ("on behalf of CARICOM") and the language of the statement ("speaks Portuguese"),
// in every shown language; and the list's forecast end, for consoles and the overview.
import { reading, serverNow } from "./clock.js";
import { biNodes, formatTime, t } from "./i18n.js";

const pickIn = (value, lang) => (value && (value[lang] || value.es || value.en)) || "";

/** Nodes for an entry's group and language (empty when it has neither). */
export function aboutNodes(entry, cls = "about") {
  const nodes = [];
  if (entry?.on_behalf_of) {
    const group = entry.on_behalf_of.name;
    nodes.push(biNodes((lang) => t("about.on_behalf", { group: pickIn(group, lang) }, lang), cls));
  }
  if (entry?.language) {
    nodes.push(biNodes((lang) => t(`about.lang.${entry.language}`, {}, lang), `${cls} about-lang`));
  }
  return nodes;
}

/** "Name, on behalf of Group" in one language (consoles, the record). */
export function nameWithGroup(name, entry, lang) {
  if (!entry?.on_behalf_of) return name;
  return t("about.named_on_behalf", { name, group: pickIn(entry.on_behalf_of.name, lang) }, lang);
}

/**
 * When the list ends at its limits, at this instant, from a received state {state, offset}
 * (null when the state has no forecast). The server's `forecast_end` holds at the moment
 * the state was built; since then it has moved on by the time gone by, less what the
 * speech with the floor used of its time left (floored at 0, as the server counts it).
 * So a speech running within its limit leaves it where it was, while an overrun, a pause
 * or an empty floor moves it later second by second, between states as well.
 */
export function forecastEnd(received) {
  const state = received?.state;
  const end = state?.speakers?.forecast_end;
  if (typeof end !== "number" || typeof state.server_time !== "number") return null;
  const at = serverNow(received); // one instant for both figures: no flicker at a minute's edge
  const since = Math.max(0, at - state.server_time);
  const current = state.speakers.current;
  if (!current) return end + since;
  const leftThen = Math.max(0, (current.limit_s || 0) - (Number(current.elapsed_s) || 0));
  const now = reading(received, at);
  const leftNow = now?.limit ? Math.max(0, now.remaining) : 0;
  return end + since - Math.max(0, leftThen - leftNow);
}

/** The sentence saying when the list ends at its limits (at this instant, see
 * forecastEnd), against the scheduled end; "" when there is none to say. */
export function forecastText(received, lang) {
  const state = received?.state;
  const speakers = state?.speakers;
  const end = forecastEnd(received);
  const scheduled = state?.session?.scheduled_end;
  if (!end || !scheduled) return "";
  if (!speakers.current && !speakers.queue?.length) return ""; // an empty list ends now
  const minutes = Math.round((end - scheduled) / 60);
  // Against a scheduled end more than half a day away the comparison says nothing.
  if (Math.abs(minutes) > 12 * 60) return t("forecast.at", { time: formatTime(end, { lang }) }, lang);
  const key = minutes > 0 ? "forecast.after" : "forecast.before";
  return t(key, { time: formatTime(end, { lang }), min: Math.abs(minutes) }, lang);
}
