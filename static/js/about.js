// What a list entry says beside the delegation's name: the group it speaks for
// ("on behalf of CARICOM") and the language of the statement ("speaks Portuguese"),
// in every shown language; and the list's forecast end, for consoles and the overview.
import { h } from "./dom.js";
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

/** The sentence saying when the list ends at its limits, against the scheduled end. */
export function forecastText(state, lang) {
  const speakers = state?.speakers;
  const end = speakers?.forecast_end;
  const scheduled = state?.session?.scheduled_end;
  if (!end || !scheduled) return "";
  if (!speakers.current && !speakers.queue?.length) return ""; // an empty list ends now
  const minutes = Math.round((end - scheduled) / 60);
  // Against a scheduled end more than half a day away the comparison says nothing.
  if (Math.abs(minutes) > 12 * 60) return t("forecast.at", { time: formatTime(end, { lang }) }, lang);
  const key = minutes > 0 ? "forecast.after" : "forecast.before";
  return t(key, { time: formatTime(end, { lang }), min: Math.abs(minutes) }, lang);
}

/** A line for the console: the forecast, as a node. */
export function forecastNode(state, lang) {
  const text = forecastText(state, lang);
  return text ? h("span", { class: "forecast" }, text) : null;
}
