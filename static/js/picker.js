// Type-ahead delegation picker: matches codes and Spanish and English names,
// accents and case ignored; arrow keys move, Enter takes the highlighted one.
import { fill, h, show } from "./dom.js";
import { pick, t } from "./i18n.js";

const SHOWN = 8;

export function fold(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .trim();
}

/** Delegations matching a query, best first: code, then name starts, word starts, contains. */
export function matchDelegations(delegations, query) {
  const q = fold(query);
  if (!q) return [];
  const scored = [];
  for (const d of delegations) {
    const code = fold(d.code);
    const names = [fold(d.name?.es), fold(d.name?.en)];
    let score = null;
    if (code === q) score = 0;
    else if (code.startsWith(q)) score = 1;
    else if (names.some((n) => n.startsWith(q))) score = 2;
    else if (names.some((n) => n.split(/[\s\-/(),.]+/).some((w) => w.startsWith(q)))) score = 3;
    else if (names.some((n) => n.includes(q))) score = 4;
    if (score !== null) scored.push([score, d]);
  }
  scored.sort((a, b) => a[0] - b[0] || fold(pick(a[1].name)).localeCompare(fold(pick(b[1].name))));
  return scored.map(([, d]) => d);
}

/** A delegation's name with its code, once: a name that already ends with an acronym
 * in brackets ("Banco Interamericano de Desarrollo (BID)") keeps its own. */
export function delegationLabel(d) {
  const name = pick(d.name);
  return /\([^()]+\)\s*$/.test(name) ? name : `${name} (${d.code})`;
}

/** Wire a combobox input + listbox; returns {chosen(), clear()}. */
export function makePicker(input, list, { getDelegations, onEnter }) {
  let matches = [];
  let active = -1;
  let chosen = null;

  function open(visible) {
    show(list, visible);
    input.setAttribute("aria-expanded", String(visible));
  }

  function draw() {
    if (!input.value.trim()) {
      open(false);
      return;
    }
    fill(
      list,
      matches.length
        ? matches.slice(0, SHOWN).map((d, i) =>
            h(
              "li",
              {
                role: "option",
                id: `picker-opt-${i}`,
                class: i === active ? "active" : "",
                "aria-selected": String(i === active),
                dataset: { code: d.code },
              },
              delegationLabel(d),
            ),
          )
        : h("li", { class: "none", role: "option", "aria-disabled": "true" }, t("picker.none")),
    );
    if (active >= 0) input.setAttribute("aria-activedescendant", `picker-opt-${active}`);
    else input.removeAttribute("aria-activedescendant");
    open(true);
  }

  function choose(d) {
    chosen = d;
    input.value = delegationLabel(d);
    matches = [];
    active = -1;
    open(false);
  }

  input.addEventListener("input", () => {
    chosen = null;
    matches = matchDelegations(getDelegations(), input.value);
    active = matches.length ? 0 : -1;
    draw();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!matches.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const count = Math.min(matches.length, SHOWN);
      active = (active + step + count) % count;
      draw();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0 && matches[active]) choose(matches[active]);
      onEnter();
    } else if (event.key === "Escape") {
      if (!list.hidden) open(false);
      else input.blur();
    }
  });

  list.addEventListener("mousedown", (event) => {
    const item = event.target.closest("li[data-code]");
    if (!item) return;
    event.preventDefault(); // keep the focus in the input
    const d = getDelegations().find((x) => x.code === item.dataset.code);
    if (d) choose(d);
  });

  input.addEventListener("blur", () => open(false));

  return {
    chosen: () => chosen || (matches.length === 1 ? matches[0] : null),
    clear() {
      chosen = null;
      matches = [];
      active = -1;
      input.value = "";
      open(false);
    },
  };
}
