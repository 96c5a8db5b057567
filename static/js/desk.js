// The chair console's list tools: pending requests from the delegations (accept, or
// decline with a reason), protocol order, the agenda item, each delegation's time
// against its budget, and when the list would end at its limits.
import { aboutNodes, forecastText, nameWithGroup } from "./about.js";
import { format } from "./clock.js";
import { $, fill, h, setText, show } from "./dom.js";
import { langs, pick, t } from "./i18n.js";

let sendCommand = null;
let state = null;

/** Redraw the panel from the room's state; `send(type, fields)` sends a room command. */
export function drawDesk(s, { send }) {
  sendCommand = send;
  state = s;
  const box = $("desk");
  if (!box) return;
  const requests = s.speakers?.requests || [];
  fill($("desk-requests"), requests.map((r) => {
    const name = nameWithGroup(pick(r.delegation.name), r, langs[0]);
    return h("li", { class: "desk-request", dataset: { request: r.request_id } },
      h("span", { class: "queue-name" }, name),
      h("span", { class: "badge kind" }, t(`kind.${r.kind}`)),
      r.level ? h("span", { class: "muted" }, pick(r.level.name)) : null,
      ...aboutNodes(r, "muted about"),
      h("button", { type: "button", class: "cmd primary", dataset: { act: "accept" },
        "aria-label": t("desk.accept_named", { name }) }, t("desk.accept")),
      h("button", { type: "button", class: "cmd", dataset: { act: "decline" },
        "aria-label": t("desk.decline_named", { name }) }, t("desk.decline")));
  }));
  show($("desk-requests-empty"), requests.length === 0);
  const sitting = s.session;
  const select = $("desk-item");
  const spec = window.__programme?.sessions?.find((x) => x.id === sitting?.id);
  const options = [h("option", { value: "" }, t("desk.no_item"))];
  for (const item of spec?.items || []) {
    options.push(h("option", { value: item.id }, pick(item.title)));
  }
  fill(select, options);
  select.value = sitting?.item?.id || "";
  select.disabled = !sitting || !(spec?.items?.length);
  fill($("desk-totals"), (s.totals || []).map((row) => {
    const budget = row.budget_s;
    const left = budget ? budget - row.spoken_s : null;
    return h("tr", { class: left !== null && left <= 0 ? "over" : "" },
      h("th", { scope: "row" }, pick(row.delegation.name)),
      h("td", {}, String(row.speeches)),
      h("td", {}, format(row.spoken_s)),
      h("td", {}, left === null ? "—" : format(left)));
  }));
}

/** When the list ends, from the received state {state, offset}: drawn with the clock (each
 * tick), since an overrun, a pause or an empty floor moves it between states. */
export function drawForecast(received) {
  const el = $("desk-forecast");
  if (el) setText(el, forecastText(received, langs[0]));
}

/** Beside the totals, while the speaker's delegation has used up its time: drawn with
 * the clock (each tick), since it runs out during a speech, not when the state changes. */
export function drawBudgetOut(r) {
  const el = $("desk-budget-out");
  if (el) show(el, !!r?.budgetOut);
}

function ready() {
  const box = $("desk");
  if (!box) return;
  $("desk-requests").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-act]");
    const row = event.target.closest("li[data-request]");
    if (!button || !row || !sendCommand) return;
    const request_id = row.dataset.request;
    if (button.dataset.act === "accept") {
      await sendCommand("request.accept", { request_id });
      return;
    }
    const reason = window.prompt(t("desk.reason_prompt"), "");
    if (reason === null) return;
    const fields = { request_id };
    if (reason.trim()) fields.reason = { es: reason.trim(), en: reason.trim() };
    await sendCommand("request.decline", fields);
  });
  $("desk-order").addEventListener("click", () => {
    const fields = { by: "protocol" };
    if (!state?.session && state?.speakers?.for_session) fields.session_id = state.speakers.for_session;
    sendCommand?.("list.order", fields);
  });
  $("desk-item").addEventListener("change", (event) => {
    sendCommand?.("item.start", { item_id: event.target.value || null });
  });
}

fetch("/api/programme", { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : null))
  .then((p) => { window.__programme = p; if (state) drawDesk(state, { send: sendCommand }); });
ready();
