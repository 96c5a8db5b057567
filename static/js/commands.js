// Sending commands from a console: one at a time, each with the version shown
// and a fresh id, and a refusal explained in the reader's language.
import { compareVersions } from "./clock.js";
import { page, t } from "./i18n.js";

const SETTLE_MS = 3000; // re-enable anyway if the new state is slow to arrive
const ALIASES = { token_expired: "unauthorized", token_revoked: "unauthorized", cross_site: "forbidden" };

/** A command id: a UUID (a fallback where randomUUID needs a secure context). */
export function newCommandId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// What a suspended sitting refuses (the floor given, the clock run): anything else it
// refuses has a reason of its own, the sitting being in progress.
const OPEN_SITTING_ONLY = new Set(["speaker.next", "speaker.start", "timer.resume"]);

/** The refusal of a command, as a sentence in the page's language (`state`: the room's, if any). */
export function explain(body, error, state = null) {
  const code = ALIASES[error?.code] || error?.code || "unknown";
  const type = body?.type || "";
  const table = page.strings[page.langs[0]] || {};
  let key = `error.${code}`;
  if (code === "conflict") {
    const family = type.split(".")[0];
    const sitting = state?.session?.status;
    if (["speaker", "timer", "list"].includes(family) && state
        && !["open", "suspended"].includes(sitting)) {
      key = "error.conflict.no_sitting";
    } else if (sitting === "suspended" && OPEN_SITTING_ONLY.has(type)) {
      key = "error.conflict.suspended";
    } else if (`error.conflict.${type}` in table) key = `error.conflict.${type}`;
    else if (`error.conflict.${family}` in table) key = `error.conflict.${family}`;
  }
  if (!(key in table)) key = "error.unknown";
  return t(key, { field: error?.field || "?", message: error?.message || code });
}

/**
 * The second click of a double click on a command button is dropped (`detail`
 * counts the clicks the system took as one gesture): a chair who double-clicks
 * Next means one speaker, even when the first command's answer and state came
 * back before the second click.
 */
function dropDoubleClicks() {
  document.addEventListener(
    "click",
    (event) => {
      if (event.detail > 1 && event.target.closest?.("button.cmd")) {
        event.preventDefault(); // a submit button: no second submit either
        event.stopImmediatePropagation();
      }
    },
    true,
  );
}

/**
 * A sender that allows one command in flight: `busy` stays on from the click
 * until the state carrying the command's result has arrived, so a double
 * press cannot send a second command against the same version; the second
 * click of a double click is never taken as a command.
 */
export function makeSender({ live, onBusy, onRefused, onDone }) {
  dropDoubleClicks();
  let busy = false;
  let waitFor = null;
  let settle = null;

  function setBusy(value) {
    busy = value;
    if (!value) {
      waitFor = null;
      clearTimeout(settle);
    }
    onBusy(value);
  }

  /** Call with each new state: releases the console once its version is reached. */
  function seen(version) {
    if (waitFor && compareVersions(version, waitFor) >= 0) setBusy(false);
  }

  async function send(body) {
    if (busy) return null;
    setBusy(true);
    const full = { ...body, command_id: newCommandId() };
    const ack = await live.command(full);
    if (ack.ok) {
      onDone?.(full, ack);
      waitFor = ack.version || null;
      const room = body.room && live.rooms.get(body.room);
      if (!waitFor || !room || compareVersions(room.state.version, waitFor) >= 0) setBusy(false);
      else settle = setTimeout(() => setBusy(false), SETTLE_MS);
    } else {
      setBusy(false);
      onRefused(full, ack.error || { code: "unknown" });
    }
    return ack;
  }

  return { send, seen, isBusy: () => busy };
}
