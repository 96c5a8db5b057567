// A delegation's page (made for a phone): the rooms and who has the floor, its own
// places on the lists with an estimate of the wait, its requests (pending, declined with
// the chair's reason), a form to ask for the floor, and a button to withdraw.
import { explain, newCommandId } from "./commands.js";
import { $, fill, h, messageBox, setText, show } from "./dom.js";
import { formatTime, pick, t } from "./i18n.js";
import { connectLive, drawConnMark, loadProgramme } from "./live.js";

const own = JSON.parse($("delegation-data").textContent);
const { showMessage, hideMessage } = messageBox($("message"), 6000);
let programme = null;
let mine = { entries: [], requests: [], declined: [] };
let fetching = null;

const live = connectLive({
  room: "*",
  onState(received, changed) {
    if (changed) { drawRooms(); refresh(); }
  },
  onStatus(status) {
    drawConnMark($("conn-state"), status, { bilingual: false });
    document.body.dataset.phase = status.phase;
  },
});

/** The delegation's own entries and requests, read again after each change of state. */
async function refresh() {
  if (fetching) return fetching;
  fetching = (async () => {
    try {
      const answer = await fetch("/api/delegation", { credentials: "same-origin" });
      if (answer.ok) mine = await answer.json();
    } finally { fetching = null; }
    drawMine();
  })();
  return fetching;
}

function roomName(id) {
  const room = programme?.rooms.find((r) => r.id === id);
  return room ? pick(room.name) : id;
}

function sittingTitle(id) {
  const sitting = programme?.sessions.find((s) => s.id === id);
  return sitting ? pick(sitting.title) : id;
}

function kindLabel(kind) { return t(`kind.${kind}`); }

function withdrawButton(body, label) {
  const button = h("button", { type: "button", class: "cmd" }, t("dl.withdraw"));
  button.setAttribute("aria-label", `${t("dl.withdraw")}: ${label}`);
  button.addEventListener("click", () => send(body, t("dl.withdrawn")));
  return button;
}

function drawMine() {
  const items = [];
  for (const e of mine.entries) {
    const label = `${roomName(e.room)} · ${kindLabel(e.kind)}`;
    const status = [t("dl.position", { n: e.position + 1 })];
    const state = live.rooms.get(e.room)?.state;
    const inProgress = state?.session && state.session.id === e.session_id;
    if (!inProgress) status.push(t("dl.prepared", { title: sittingTitle(e.session_id) }));
    else if (e.wait_s !== null && e.wait_s !== undefined) {
      status.push(e.wait_s < 1 && e.position === 0 ? t("dl.eta_now")
        : t("dl.eta", { min: Math.max(1, Math.round(e.wait_s / 60)) }));
    }
    items.push(h("li", { class: "dl-item entry", "data-entry": e.entry_id },
      h("span", { class: "dl-what" }, label),
      h("span", { class: "dl-status" }, status.join(" · ")),
      withdrawButton({ type: "request.withdraw", room: e.room, entry_id: e.entry_id }, label)));
  }
  for (const r of mine.requests) {
    const label = `${roomName(r.room)} · ${kindLabel(r.kind)}`;
    items.push(h("li", { class: "dl-item pending", "data-request": r.request_id },
      h("span", { class: "dl-what" }, label),
      h("span", { class: "dl-status" }, t("dl.pending")),
      withdrawButton({ type: "request.withdraw", room: r.room, request_id: r.request_id }, label)));
  }
  for (const r of [...mine.declined].reverse().slice(0, 5)) {
    const reason = r.reason ? pick(r.reason) : "";
    items.push(h("li", { class: "dl-item declined", "data-request": r.request_id },
      h("span", { class: "dl-what" }, `${roomName(r.room)} · ${kindLabel(r.kind)}`),
      h("span", { class: "dl-status" }, `${t("dl.declined")} (${formatTime(r.declined_at)})`),
      reason ? h("span", { class: "dl-status dl-reason" }, t("dl.reason", { reason })) : ""));
  }
  fill($("mine"), ...(items.length ? items : [h("li", { class: "muted" }, t("dl.none"))]));
}

function drawRooms() {
  const items = [];
  for (const [id, { state }] of live.rooms) {
    const current = state.speakers.current;
    const floor = current ? t("dl.floor", { name: pick(current.delegation.name) }) : t("dl.no_floor");
    const sitting = state.session ? pick(state.session.title) : t("dl.no_sitting");
    items.push(h("li", { class: "dl-room", "data-room": id },
      h("span", { class: "dl-what" }, roomName(id)),
      h("span", { class: "dl-status" }, sitting),
      h("span", { class: "dl-status" }, floor)));
  }
  fill($("rooms"), ...items);
}

async function send(body, done) {
  const full = { ...body, command_id: newCommandId() };
  const ack = await live.command(full);
  if (ack.ok) {
    hideMessage(); // a refusal before this is no longer the news
    if (done) showMessage(done, "ok");
    await refresh();
  } else {
    showMessage(explain(full, ack.error || { code: "unknown" }), "error", ack.error?.message);
  }
  return ack;
}

function fillForm() {
  fill($("ask-room"), ...programme.rooms.map((r) => h("option", { value: r.id }, pick(r.name))));
  fill($("ask-level"), h("option", { value: "" }, t("dl.level_any")),
    ...own.levels.map((lv) => h("option", { value: lv.code }, pick(lv.name))));
  fill($("ask-behalf"), h("option", { value: "" }, t("dl.own")),
    ...own.groups.map((g) => h("option", { value: g.code }, pick(g.name))));
  const me = programme.delegations.find((d) => d.code === own.code);
  if (me) setText($("who"), pick(me.name));
}

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { type: "request.submit", room: $("ask-room").value, kind: $("ask-kind").value };
  if ($("ask-language").value) body.language = $("ask-language").value; // else not stated
  const name = $("ask-name").value.trim();
  if (name) body.speaker_name = name;
  const title = $("ask-title").value.trim();
  if (title) body.speaker_title = title;
  if ($("ask-level").value) body.level = $("ask-level").value;
  if ($("ask-behalf").value) body.on_behalf_of = $("ask-behalf").value;
  $("ask-send").disabled = true;
  show($("ask-result"), false); // the answer to an earlier request is not this one's
  try {
    const ack = await send(body, null);
    if (ack.ok) {
      const result = $("ask-result");
      setText(result, ack.request_id ? t("dl.sent_approval") : t("dl.sent_direct"));
      show(result, true);
    }
  } finally { $("ask-send").disabled = false; }
});

loadProgramme().then((loaded) => { programme = loaded; fillForm(); drawRooms(); refresh(); });
