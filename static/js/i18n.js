// The page's languages and interface strings, rendered by the server into
// <script type="application/json" id="page-data"> (see dashboard/web/pages.py).
import { h } from "./dom.js";

export const page = JSON.parse(document.getElementById("page-data").textContent);

/** The languages this page shows, in order (["es", "en"] when both). */
export const langs = page.langs;

let timezone = "America/Panama";

export function setTimezone(tz) {
  if (tz) timezone = tz;
}

export function getTimezone() {
  return timezone;
}

/** An interface string in one language, with {name} placeholders filled. */
export function t(key, params = {}, lang = langs[0]) {
  const table = page.strings[lang] || page.strings[langs[0]] || {};
  const template = table[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

/** A bilingual value ({es, en}) in one language, falling back to the other. */
export function pick(value, lang = langs[0]) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return value[lang] || value.es || value.en || "";
}

/** One span per shown language; a value the same in both shows once. */
export function biNodes(valueFor, cls = "") {
  const texts = langs.map((lang) => [lang, valueFor(lang)]);
  const distinct = texts.filter(([, text], i) => i === 0 || text !== texts[0][1]);
  return h(
    "span",
    { class: `bi ${cls}`.trim() },
    distinct.map(([lang, text]) => h("span", { class: `l l-${lang}`, lang }, text)),
  );
}

/** An interface string in every shown language. */
export function biT(key, params = {}, cls = "") {
  return biNodes((lang) => t(key, params, lang), cls);
}

/** A bilingual value in every shown language. */
export function biPick(value, cls = "") {
  return biNodes((lang) => pick(value, lang), cls);
}

const formatters = new Map();

// Instants shown are within these bounds (2000-01-01 to 2200-01-01): the server bounds
// every instant a command carries, and a value past them is left out, never thrown on
// (Intl throws a RangeError on an invalid Date, and a screen would stop rendering).
const EARLIEST_S = 946684800;
const LATEST_S = 7258118400;

/** The Date of an instant in epoch seconds, or null when it is not a finite, plausible one. */
export function instantDate(epochSeconds) {
  if (typeof epochSeconds !== "number" || !Number.isFinite(epochSeconds)) return null;
  if (epochSeconds < EARLIEST_S || epochSeconds > LATEST_S) return null;
  return new Date(epochSeconds * 1000);
}

/** A time of day in the meeting's time zone (24 h), e.g. "15:30" or "15:30:07". */
export function formatTime(epochSeconds, { seconds = false, lang = langs[0] } = {}) {
  const date = instantDate(epochSeconds);
  if (date === null) return "";
  const key = `${lang}|${timezone}|${seconds}`;
  if (!formatters.has(key)) {
    formatters.set(
      key,
      new Intl.DateTimeFormat(lang === "es" ? "es-PA" : "en-GB", {
        hour: "2-digit",
        minute: "2-digit",
        second: seconds ? "2-digit" : undefined,
        hourCycle: "h23",
        timeZone: timezone,
      }),
    );
  }
  return formatters.get(key).format(date);
}

/** A day and time in the meeting's time zone, e.g. "mié 20 abr, 15:30". */
export function formatDayTime(epochSeconds, lang = langs[0]) {
  const date = instantDate(epochSeconds);
  if (date === null) return "";
  return new Intl.DateTimeFormat(lang === "es" ? "es-PA" : "en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: timezone,
  }).format(date);
}

/** Seconds east of UTC that the meeting's time zone is at an instant. */
function zoneOffset(epochSeconds, tz) {
  const date = instantDate(epochSeconds);
  if (date === null) return 0;
  const parts = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return wall / 1000 - epochSeconds;
}

/** A wall time "YYYY-MM-DDTHH:MM" read in the meeting's time zone, as epoch seconds. */
export function zonedToEpoch(value, tz = timezone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!match) return null;
  const [y, mo, d, hh, mm] = match.slice(1).map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mm) / 1000;
  let epoch = wall - zoneOffset(wall, tz);
  const again = zoneOffset(epoch, tz); // across a change of offset, measure once more
  if (wall - again !== epoch) epoch = wall - again;
  return epoch;
}

/** Epoch seconds as a "YYYY-MM-DDTHH:MM" wall time in the meeting's time zone. */
export function epochToZoned(epochSeconds, tz = timezone) {
  if (instantDate(epochSeconds) === null) return "";
  const local = new Date((epochSeconds + zoneOffset(epochSeconds, tz)) * 1000);
  return local.toISOString().slice(0, 16);
}
