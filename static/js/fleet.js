// The control room's fleet page: every page connected to any web node, with
// its status, read from GET /api/screens every 2 s; its actions are the
// screen.* commands, sent over the live link (recorded in the stream).
import { fill, h, show } from "./dom.js";
import { formatTime, pick, setTimezone, t } from "./i18n.js";
import { connectLive, loadProgramme } from "./live.js";

const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
let programme = null;

const live = connectLive({ room: "*", kind: "fleet", onState() {} });

function roomName(id) {
  if (id === "*") return t("fleet.all_rooms");
  if (!id) return t("fleet.none");
  const room = programme?.rooms?.find((r) => r.id === id);
  return room ? pick(room.name) : id;
}

async function send(body) {
  const ack = await live.command(body);
  const error = $("error");
  if (!ack.ok) {
    error.textContent = t("fleet.failed", { code: ack.error?.code || "unknown" });
    show(error, true);
  } else show(error, false);
  return ack;
}

function actions(screen) {
  const id = screen.screen_id;
  const gone = screen.status === "gone";
  const rename = h("form", {
    class: "fleet-rename",
    onsubmit(event) {
      event.preventDefault();
      const name = input.value.trim();
      if (name) send({ type: "screen.rename", screen_id: id, name }).then(refresh);
    },
  });
  const input = h("input", {
    name: "name", maxlength: 80, value: screen.name || "", "aria-label": t("fleet.rename_prompt"),
  });
  rename.append(input, h("button", { type: "submit", class: "fleet-do-rename" }, t("fleet.rename")));
  const lang = h("select", {
    "aria-label": t("fleet.lang"),
    class: "fleet-lang",
    onchange() { if (lang.value) send({ type: "screen.set", screen_id: id, lang: lang.value }); },
  }, h("option", { value: "" }, t("fleet.lang")),
  ...Object.entries(LANG_NAMES).map(([l, name]) => h("option", { value: l }, name())));
  const room = h("select", {
    "aria-label": t("fleet.room"),
    class: "fleet-room",
    onchange() { if (room.value) send({ type: "screen.set", screen_id: id, room: room.value }); },
  }, h("option", { value: "" }, t("fleet.room")),
  // only the rooms the page's link may open: another would show "access needed" on it
  ...(programme?.rooms || []).filter((r) => [r.id, "*"].includes(screen.access || "*"))
    .map((r) => h("option", { value: r.id }, pick(r.name))));
  const identify = h("button", { type: "button", class: "fleet-identify", disabled: gone,
    onclick: () => send({ type: "screen.identify", screen_id: id }) }, t("fleet.identify"));
  const reload = h("button", { type: "button", class: "fleet-reload", disabled: gone,
    onclick: () => send({ type: "screen.reload", screen_id: id }) }, t("fleet.reload"));
  const cell = h("td", { class: "fleet-actions" }, identify, reload, rename, lang, room);
  // Kept from one reading to the next (the focus and an open menu stay): only this changes.
  cell.update = (next) => {
    identify.disabled = reload.disabled = next.status === "gone";
    if (document.activeElement !== input) input.value = next.name || "";
  };
  return cell;
}

const KINDS = new Set(["screen", "overview", "podium", "chyron", "chair", "chair_index",
  "staff", "admin", "fleet", "delegation", "other"]);
/** A kind of page in the page's language (an unknown one as it came). */
function kindName(kind) {
  return KINDS.has(kind) ? t(`fleet.kind.${kind}`) : kind;
}

/** The row of `s`: its cells drawn anew, its actions kept when it was listed already. */
function drawRow(s, old) {
  const cells = [
    h("td", { class: "fleet-number" }, String(s.number ?? "")),
    h("td", { class: "fleet-name" }, s.name || s.screen_id),
    h("td", { class: "fleet-kind", dataset: { kind: s.kind } }, kindName(s.kind)),
    h("td", { class: "fleet-room-name" }, roomName(s.room)),
    h("td", { class: "fleet-lang-shown" }, s.lang || ""),
    h("td", { class: "fleet-viewport" }, s.viewport ? `${s.viewport[0]}×${s.viewport[1]}` : ""),
    h("td", { class: "fleet-node" }, s.node),
    h("td", {}, formatTime(s.connected_at, { seconds: true })),
    h("td", {}, formatTime(s.last_seen, { seconds: true })),
    h("td", { class: "fleet-version" }, s.version_shown || "—"),
    h("td", { class: "fleet-room-version" }, s.room_version || "—"),
    h("td", { class: "fleet-status" }, h("span", { class: `pill ${s.status}` }, t(`fleet.${s.status}`))),
  ];
  const tr = old || h("tr", {}, actions(s));
  const acts = tr.querySelector(":scope > .fleet-actions");
  while (tr.firstChild !== acts) tr.firstChild.remove();
  acts.before(...cells);
  acts.update(s);
  tr.className = `fleet-row status-${s.status}`;
  Object.assign(tr.dataset, { screen: s.screen_id, room: s.room, kind: s.kind, status: s.status });
  return tr;
}

// A screen's languages, as the menu names them: each language in itself, both in the page's.
const LANG_NAMES = { both: () => t("fleet.lang_both"), es: () => "Español", en: () => "English" };

// The pages shown in the rooms: what the counts at the top are of. Consoles and desks
// report themselves too and are listed, marked by their kind, but counted nowhere.
const DISPLAYS = new Set(["screen", "overview", "podium", "chyron"]);

function draw(screens) {
  const counts = new Map();
  for (const s of screens) {
    if (s.status === "gone" || !DISPLAYS.has(s.kind)) continue;
    counts.set(s.room, (counts.get(s.room) || 0) + 1);
  }
  fill($("counts"), ...[...counts.entries()].sort().map(([room, n]) =>
    h("li", { class: "fleet-count", dataset: { room } }, t("fleet.count", { room: roomName(room), n }))));
  show($("empty"), !screens.some((s) => DISPLAYS.has(s.kind)));
  // Rows are updated in place, never taken out unless they move: a row taken out of the
  // page would lose the keyboard's focus, close its open menu, and a name being typed.
  const body = $("fleet");
  const listed = new Map([...body.children].map((tr) => [tr.dataset.screen, tr]));
  let at = body.firstElementChild;
  for (const s of screens) {
    const tr = drawRow(s, listed.get(s.screen_id));
    listed.delete(s.screen_id);
    if (tr === at) at = at.nextElementSibling;
    else body.insertBefore(tr, at);
  }
  for (const tr of listed.values()) tr.remove();
}

async function refresh() {
  try {
    const response = await fetch("/api/screens", { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    draw(await response.json());
    document.body.dataset.fleet = "read";
  } catch {
    $("error").textContent = t("fleet.unreadable");
    show($("error"), true);
  }
}

loadProgramme().then((p) => {
  programme = p;
  setTimezone(p?.meeting?.timezone);
  refresh();
});
setInterval(refresh, POLL_MS);
