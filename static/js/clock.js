// The speaking clock, counted locally from the state (never ticked over the wire).
import { biT, t } from "./i18n.js";
import { fill, setText } from "./dom.js";

/** Seconds before the limit at which the clock warns, per kind of speech (the room
 * state's `current.warn_s` wins when present). */
export const WARNING_S = { speech: 30, point_of_order: 15, reply: 15 };

/** The warning threshold of the speech with the floor. */
export function warnSeconds(current) {
  if (typeof current?.warn_s === "number") return current.warn_s;
  return WARNING_S[current?.kind] ?? WARNING_S.speech;
}

/** Compare two stream ids "ms-seq": negative, zero or positive like a sort key. */
export function compareVersions(a, b) {
  const [am, as] = String(a || "0-0").split("-").map(Number);
  const [bm, bs] = String(b || "0-0").split("-").map(Number);
  return am !== bm ? am - bm : (as || 0) - (bs || 0);
}

/** Server time now, from the offset measured when the state arrived. */
export function serverNow(received) {
  return Date.now() / 1000 + received.offset;
}

/** Stamp a received state with its clock offset (server_time - local time). */
export function receive(state) {
  return { state, offset: state.server_time - Date.now() / 1000 };
}

/**
 * Whether the speaker's delegation has used up its speaking time in the sitting (the
 * programme's `budget_s`): what it spoke before this speech plus this speech so far.
 */
export function budgetOut(current, elapsed) {
  const budget = current?.budget_s;
  if (typeof budget !== "number" || budget <= 0) return false;
  return (Number(current.spoken_before_s) || 0) + elapsed >= budget;
}

/** What the clock shows for a room at this instant (or at server time `at`, for a
 * caller that needs several readings of one instant), or null when nobody speaks. */
export function reading(received, at = null) {
  const current = received?.state?.speakers?.current;
  if (!current) return null;
  const now = at ?? serverNow(received);
  const running = current.paused ? 0 : now - received.state.server_time;
  const elapsed = current.elapsed_s + Math.max(0, running);
  const limit = current.limit_s;
  const budget = budgetOut(current, elapsed);
  if (!limit) {
    return {
      text: format(Math.floor(elapsed)),
      level: "normal",
      paused: !!current.paused,
      countUp: true,
      limit: null,
      progress: null,
      budgetOut: budget,
    };
  }
  const remaining = limit - elapsed;
  let text;
  if (remaining > 0) text = format(Math.ceil(remaining));
  else {
    const over = Math.floor(-remaining);
    text = over === 0 ? format(0) : `-${format(over)}`;
  }
  const level = remaining < 0 ? "overrun" : remaining <= warnSeconds(current) ? "warning" : "normal";
  const progress = Math.min(1, Math.max(0, elapsed / limit));
  return { text, level, paused: !!current.paused, countUp: false, remaining, limit, progress, budgetOut: budget };
}

/** m:ss (or h:mm:ss) for a number of seconds (whole seconds shown, never negative). */
export function format(seconds) {
  const s = Number.isFinite(seconds) ? Math.max(0, Math.floor(seconds)) : 0;
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

function labelKeys(r, budget) {
  const keys = [];
  if (r.paused) keys.push("clock.paused");
  if (r.level === "overrun") keys.push("clock.overrun");
  else if (r.level === "warning") keys.push("clock.warning");
  if (r.countUp && !r.paused) keys.push("clock.elapsed");
  if (budget && r.budgetOut) keys.push("clock.budget_out");
  return keys;
}

/**
 * Draw a reading into a clock box; touches the DOM only when what shows changes.
 * `bilingual` draws the label in every shown language (screens) or one (consoles);
 * `budget` says when the speaker's delegation has used up its time (the lobby overview,
 * a glance at every room, leaves that to the room's own screens).
 */
export function drawClock(
  box, timeEl, labelEl, r, { bilingual = true, limitEl = null, barEl = null, budget = true } = {},
) {
  const level = r ? r.level : "none";
  if (limitEl) {
    const limit = r?.limit ? format(r.limit) : "";
    if (limitEl.dataset.limit !== limit) {
      limitEl.dataset.limit = limit;
      if (!limit) fill(limitEl);
      else if (bilingual) fill(limitEl, biT("clock.of", { limit }));
      else fill(limitEl, t("clock.of", { limit }));
    }
  }
  if (barEl) {
    // Whole percent steps: the bar moves about once every few seconds, not every frame.
    const value = r?.progress === null || r?.progress === undefined ? "" : String(Math.round(r.progress * 100));
    if (barEl.dataset.value !== value) {
      barEl.dataset.value = value;
      barEl.hidden = value === "";
      if (value !== "") barEl.value = Number(value);
    }
  }
  const paused = r ? String(r.paused) : "false";
  const spent = String(!!(budget && r?.budgetOut));
  if (box.dataset.level !== level) box.dataset.level = level;
  if (box.dataset.paused !== paused) box.dataset.paused = paused;
  if (box.dataset.budgetOut !== spent) box.dataset.budgetOut = spent;
  setText(timeEl, r ? r.text : "");
  const keys = r ? labelKeys(r, budget).join(" ") : "";
  if (labelEl.dataset.keys === keys) return;
  labelEl.dataset.keys = keys;
  const parts = keys ? keys.split(" ") : [];
  if (bilingual) fill(labelEl, parts.map((key) => biT(key, {}, "clock-part")));
  else fill(labelEl, parts.map((key) => t(key)).join(" · "));
}
