// Keys typed as part of a word never press a button: a Space (or Enter) that comes
// within a moment of a printable key, with the focus on a button, a checkbox or a
// radio button, is dropped, so typing "Costa Rica" with the focus on "Next" does not
// give anyone the floor. A deliberate press (no typing just before) acts as always.

const TYPING_MS = 1500;
const PRESSABLE = 'button, summary, [role="button"], input[type="checkbox"], input[type="radio"], input[type="submit"]';
const EDITABLE = 'input:not([type="checkbox"]):not([type="radio"]):not([type="submit"]):not([type="button"]), textarea, select, [contenteditable]';

/** Install the guard on the document (once per page). */
export function guardTyping() {
  let lastPrintable = -Infinity;
  let dropSpaceUp = false;

  document.addEventListener(
    "keydown",
    (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target instanceof Element ? event.target : null;
      if (target?.closest(EDITABLE)) return; // text goes where it is typed
      const pressable = !!target?.closest(PRESSABLE);
      const now = performance.now();
      const typing = now - lastPrintable < TYPING_MS;
      if ((event.key === " " || event.key === "Enter") && pressable && typing) {
        event.preventDefault();
        event.stopImmediatePropagation();
        if (event.key === " ") dropSpaceUp = true;
        lastPrintable = now; // still typing
        return;
      }
      if (event.key.length === 1 && event.key !== " ") lastPrintable = now;
    },
    true,
  );
  document.addEventListener(
    "keyup",
    (event) => {
      if (event.key === " " && dropSpaceUp) {
        dropSpaceUp = false;
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );
}
