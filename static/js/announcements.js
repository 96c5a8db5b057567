// Announcements as the screens show them: info in a band, urgent as a takeover.
import { serverNow } from "./clock.js";
import { h } from "./dom.js";
import { biT, langs, pick } from "./i18n.js";

/** The announcements still active at this instant (expired ones hide locally too). */
export function activeAnnouncements(received) {
  if (!received) return [];
  const now = serverNow(received);
  return (received.state.announcements || [])
    .filter((a) => a.expires_at === null || a.expires_at === undefined || a.expires_at > now)
    .sort((a, b) => (b.posted_at || 0) - (a.posted_at || 0));
}

/** A key that changes exactly when the set of shown announcements changes. */
export function announcementsKey(list) {
  return list.map((a) => a.id).join(",");
}

/** One announcement's text, in every shown language, one paragraph each. */
export function announcementText(a, cls = "a-text") {
  const texts = langs.map((lang) => [lang, pick(a.text, lang)]);
  const distinct = texts.filter(([, text], i) => i === 0 || text !== texts[0][1]);
  return distinct.map(([lang, text]) => h("p", { class: `${cls} l l-${lang}`, lang }, text));
}

/** The takeover for urgent announcements (newest first). */
export function urgentNodes(urgent) {
  return [
    h("div", { class: "u-head" }, biT("announce.urgent")),
    urgent.map((a) => h("div", { class: "u-item", dataset: { id: a.id } }, announcementText(a, "u-text"))),
  ];
}

/** An info announcement as a band entry. */
export function infoNode(a) {
  return h("div", { class: "i-item", dataset: { id: a.id } }, announcementText(a, "i-text"));
}
