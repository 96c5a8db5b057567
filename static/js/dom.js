// Building DOM without HTML strings: every piece of text goes in as a text node.

/** Create an element: h("li", {class: "x", dataset: {id: 1}}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children (strings become text nodes). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set an element's text, touching the DOM only when it changes. */
export function setText(el, text) {
  const value = text === undefined || text === null ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

export const $ = (id) => document.getElementById(id);

/** `fn` run in the next animation frame, once however often this is called before it. */
export function oncePerFrame(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}

export function show(el, visible) {
  if (el.hidden === !visible) return;
  el.hidden = !visible;
}

/**
 * A message box (#message) for consoles: errors stay until the next action,
 * other kinds hide by themselves after `hideAfterMs`.
 */
export function messageBox(box, hideAfterMs) {
  let timer = null;
  const hide = () => show(box, false);
  function showMessage(text, kind = "error", detail = "") {
    box.dataset.kind = kind;
    box.title = detail || "";
    fill(box, text);
    show(box, true);
    clearTimeout(timer);
    if (kind !== "error") timer = setTimeout(hide, hideAfterMs);
  }
  return { showMessage, hideMessage: hide };
}
