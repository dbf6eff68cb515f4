// The open chat's actions (operator.proto ChatAction and the rest): transfer
// to a colleague or a department, invite, join (visibly or not), take over,
// leave, on hold, not waiting, back to active, close, email the transcript
// to the visitor (Conversations.SendTranscript) and block the visitor
// (Blocks.CreateBlock). Each is offered in the actions dialog; one that cannot
// be done now is shown disabled with its reason (the role's permissions, or
// the chat as it is), and a refusal from the server (the session's error event
// for the chat) is said in words beside the chat. The server decides: what is
// hidden or disabled here only spares a refusal.
import {h, $} from "./dom.js";
import {t} from "./i18n.js";
import {openDialog, closeDialog, picker, uid} from "./dialogs.js";
import {team, label} from "./colleagues.js";

const C = "/parley.v1.";
const REFUSALS = new Set([
  "conversation_closed", "not_participant", "already_in_chat", "permission_denied", "operator_unavailable",
  "owner_changed", "waiting", "unknown_conversation", "at_capacity", "unknown_department", "unknown_operator",
]);

/** The departments a chat may go to (Departments.ListDepartments, with view_config). */
export async function loadDepartments(app) {
  const state = app.state();
  if (!state.can("view_config")) return;
  const list = await app.bridge().call(C + "Departments/ListDepartments", "parley.v1.ListDepartmentsRequest",
    {page_size: 100}, "parley.v1.ListDepartmentsResponse");
  state.departments = list.departments;
  app.draw();
}

/**
 * What can be done to ``chat`` now: [{id, label, reason}] in the dialog's
 * order; ``reason`` is why not ("" when it can).
 */
export function chatActions(state, chat) {
  const card = chat.card || {};
  const inChat = chat.mine && !chat.closed;
  const live = !chat.closed && card.status !== "closed";
  const role = (perm, what) => (state.can(perm) ? "" : t("roleMayNot", {x: t(what)}));
  const mineOnly = chat.closed ? t("whyClosed") : chat.mine ? "" : t("whyNotIn");
  const notMine = chat.closed ? t("whyClosed") : chat.mine ? t("whyIn") : card.status === "queued" ? t("whyWaiting") : "";
  const status = card.chat_status || "";
  const out = [
    {id: "transfer", label: t("aTransfer"), reason: role("transfer", "wTransfer") || mineOnly},
    {id: "invite", label: t("aInvite"), reason: role("invite", "wInvite") || mineOnly},
    {id: "join", label: t("aJoin"), reason: role("join", "wJoin") || notMine},
    {id: "join_invisible", label: t("aJoinInvisible"), reason: role("join_invisible", "wJoinInvisible") || notMine},
    {id: "take_over", label: t("aTakeOver"), reason: role("take_over", "wTakeOver") || notMine ||
      (card.operator_ids && card.operator_ids.length ? "" : t("whyNoOwner"))},
    {id: "leave", label: t("aLeave"), reason: mineOnly},
    status === "on_hold"
      ? {id: "active", label: t("aActive"), reason: role("change_chat_status", "wStatus") || mineOnly}
      : {id: "on_hold", label: t("aHold"), reason: role("change_chat_status", "wStatus") || mineOnly},
    status === "not_waiting"
      ? {id: "active", label: t("aActive"), reason: role("change_chat_status", "wStatus") || mineOnly}
      : {id: "not_waiting", label: t("aNotWaiting"), reason: role("change_chat_status", "wStatus") || mineOnly},
    {id: "close", label: t("aClose"), reason: inChat ? "" : mineOnly},
    {id: "transcript", label: t("aTranscript"), reason: chat.info && !chat.info.email ? t("whyNoEmail") : ""},
    {id: "block", label: t("aBlock"), reason: role("manage_blacklist", "wBlock") ||
      (card.visitor_id && card.site_id ? "" : t("whyNoVisitor"))},
  ];
  const seen = new Set();
  return out.filter((a) => (seen.has(a.id) ? false : seen.add(a.id))).map((a) => ({...a, live}));
}

/** Say an action's outcome (or refusal) beside the chat. */
export function say(text, kind) {
  const el = $("action-status");
  el.textContent = text;
  el.className = "action-status " + (kind || "");
  el.hidden = !text;
  clearTimeout(say.timer);
  if (text) say.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

/** A refusal of an action (an error event naming a chat, no client id). */
export function actionEvent(state, event) {
  if (event.event !== "error") return;
  const e = event.error;
  if (!e.conversation_id || e.client_msg_id || e.conversation_id !== state.openId) return;
  say(REFUSALS.has(e.code) ? t("no_" + e.code) : t("refused", {x: e.message || e.code}), "warn");
}

function act(app, chat, action) {
  app.bridge().send([{action: {conversation_id: chat.id, ...action}}]);
}

function run(app, chat, id) {
  const card = chat.card || {};
  switch (id) {
    case "transfer": return transferDialog(app, chat);
    case "invite": return colleagueDialog(app, chat, t("aInvite"), (p) => {
      act(app, chat, {invite_operator_id: p.id});
      say(t("invited", {x: label(p)}), "ok");
    });
    case "join": act(app, chat, {join: {invisible: false}}); break;
    case "join_invisible": act(app, chat, {join: {invisible: true}}); break;
    case "take_over": act(app, chat, {take_over: {from_operator_id: (card.operator_ids || [])[0] || ""}}); break;
    case "leave": act(app, chat, {leave: {}}); break;
    case "on_hold": case "not_waiting": case "active": act(app, chat, {chat_status: id}); break;
    case "close": app.bridge().send([{close: {conversation_id: chat.id}}]); break;
    case "block": return blockDialog(app, chat);
    case "transcript": sendTranscript(app, chat); break;
    default: break;
  }
  closeDialog();
  return null;
}

/** The actions dialog of the open chat. */
export function actionsDialog(app) {
  const state = app.state();
  const chat = state && state.chats.get(state.openId);
  if (!chat) return;
  openDialog(t("actionsOf", {x: chat.name}), (body) => {
    const buttons = chatActions(state, chat).map((a) => {
      const reasonId = uid("why");
      return h("li", null,
        h("button", {
          type: "button", class: "action", "data-action": a.id, "aria-disabled": a.reason ? "true" : null,
          "aria-describedby": a.reason ? reasonId : null,
          onclick: () => { if (!a.reason) run(app, chat, a.id); },
        }, a.label),
        a.reason ? h("span", {id: reasonId, class: "why"}, a.reason) : null);
    });
    const list = h("ul", {class: "action-list", role: "list"}, buttons);
    list.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      const all = [...list.querySelectorAll("button")];
      const i = all.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      all[(i + (e.key === "ArrowDown" ? 1 : -1) + all.length) % all.length].focus();
    });
    body.append(list);
    const first = list.querySelector("button:not([aria-disabled])");
    if (first) first.setAttribute("autofocus", "");
    return null;
  }, "dlg-actions");
}

/** Colleagues as picker items: status and load, unavailable ones with why. */
function colleagueItems(state, chat, group) {
  const tm = team(state);
  const loads = tm.loads(state);
  const inChat = new Set([...((chat.card && chat.card.operator_ids) || []), ...((chat.card && chat.card.invisible_operator_ids) || [])]);
  return tm.sorted(state).map((p) => {
    const load = loads.get(p.id) || 0;
    let reason = "";
    if (p.status !== "online") reason = t("whyOffline", {x: t(p.status)});
    else if (p.max_chats && load >= p.max_chats) reason = t("whyFull");
    if (inChat.has(p.id)) reason = t("whyInChat");
    return {
      id: p.id, kind: "operator", label: label(p), alt: p.display_name, group, dot: p.status,
      detail: t(p.status) + " · " + t("load", {n: load, m: p.max_chats || "?"}), disabled: Boolean(reason), reason,
    };
  });
}

function colleagueDialog(app, chat, title, onPick) {
  openDialog(title, (body, close) => {
    const state = app.state();
    const pick = picker(t("pickColleague"), () => colleagueItems(state, chat, ""), (item) => {
      close();
      onPick(team(state).person(item.id));
    });
    body.append(pick.el);
    return pick.refresh;
  }, "dlg-pick");
}

function transferDialog(app, chat) {
  openDialog(t("transferChat", {x: chat.name}), (body, close) => {
    const state = app.state();
    const items = () => {
      const departments = (state.departments || []).map((d) => ({
        id: d.id, kind: "department", label: d.name, group: t("departments"), detail: d.description || "",
        disabled: false, reason: "",
      }));
      return [...colleagueItems(state, chat, t("colleagues")), ...departments];
    };
    const pick = picker(t("pickTarget"), items, (item) => {
      close();
      if (item.kind === "department") {
        act(app, chat, {transfer_to_department_id: item.id});
        say(t("transferredTo", {x: item.label}), "ok");
      } else {
        act(app, chat, {transfer_to_operator_id: item.id});
        say(t("transferredTo", {x: item.label}), "ok");
      }
    });
    body.append(pick.el);
    return pick.refresh;
  }, "dlg-pick");
}

const TRANSCRIPT_REFUSALS = new Set(["no_email", "mail_not_set", "too_many_transcripts", "unknown_conversation"]);

/** Email the chat's transcript to the address the visitor gave (the server's outbox sends it). */
async function sendTranscript(app, chat) {
  try {
    const reply = await app.bridge().call(C + "Conversations/SendTranscript", "parley.v1.SendTranscriptRequest",
      {conversation_id: chat.id}, "parley.v1.SendTranscriptResponse");
    say(t("transcriptSent", {x: reply.email}), "ok");
  } catch (err) {
    const reason = String(err.reason || "").toLowerCase();
    say(TRANSCRIPT_REFUSALS.has(reason) ? t("no_" + reason) : t("refused", {x: err.message || err.reason}), "warn");
  }
}

function blockDialog(app, chat) {
  openDialog(t("blockVisitor", {x: chat.name}), (body, close) => {
    const reasonId = uid("block-reason");
    const reason = h("input", {id: reasonId, type: "text", maxlength: "500", autofocus: true});
    const error = h("p", {class: "error", role: "alert"});
    const form = h("form", {class: "dlg-form"},
      h("p", null, t("blockWhat")),
      h("label", {for: reasonId}, t("blockReason")), reason, error,
      h("div", {class: "dlg-buttons"},
        h("button", {type: "button", onclick: () => close()}, t("cancel")),
        h("button", {type: "submit", class: "danger"}, t("aBlock"))));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const card = chat.card || {};
      try {
        await app.bridge().call(C + "Blocks/CreateBlock", "parley.v1.CreateBlockRequest",
          {block: {site_id: card.site_id, kind: "visitor", value: card.visitor_id, reason: reason.value.trim()}},
          "parley.v1.Block");
        close();
        say(t("blocked", {x: chat.name}), "ok");
      } catch (err) { error.textContent = t("refused", {x: err.message || err.reason}); }
    });
    body.append(form);
    return null;
  });
}
