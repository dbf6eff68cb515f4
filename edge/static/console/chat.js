// The middle pane: the open chat's transcript (times, authors, notes set
// apart, older messages loaded on scrolling up), the visitor's typing, the
// composer (Enter sends, Shift+Enter a new line, a draft kept per chat) and
// the chat's actions (the dialog is actions.js).
import {h, fill, $} from "./dom.js";
import {t, clock, stamp} from "./i18n.js";
import {AUTHOR} from "./state.js";
import {attachmentView} from "./attachments.js";

/** Draw the open chat of ``state`` (or the empty prompt). */
export function drawChat(state) {
  const chat = state.chats.get(state.openId);
  document.body.classList.toggle("chat-open", Boolean(chat));
  $("chat-empty").hidden = Boolean(chat);
  $("chat-body").hidden = !chat;
  if (!chat) return;
  $("chat-title").textContent = chat.name;
  const canWrite = chat.mine && !chat.closed;
  $("close-chat").hidden = !canWrite;
  $("actions").hidden = false;  // what can be done, or why not: actions.js
  $("offer-actions").hidden = !(chat.offer && !chat.mine);
  $("composer-form").hidden = !canWrite;
  $("closed-note").hidden = !chat.closed;
  drawTranscript(state, chat);
  const typing = $("typing");
  typing.textContent = chat.typing
    ? t("typing", {x: chat.typing.name || t("visitor")}) + (chat.typing.preview ? " “" + chat.typing.preview + "”" : "")
    : "";
}

function drawTranscript(state, chat) {
  const log = $("transcript");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const fromBottom = log.scrollHeight - log.scrollTop;
  const sameChat = log.dataset.chat === chat.id;
  const items = chat.ordered().map((m) => message(state, m));
  for (const [cid, sent] of chat.pending) items.push(pendingItem(state, cid, sent));
  fill(log, chat.loadingOlder ? h("div", {class: "older"}, t("older")) : null, items);
  log.dataset.chat = chat.id;
  // New at the bottom: follow it when reading the end; older ones prepended:
  // keep the same messages in sight.
  if (!sameChat || atBottom) log.scrollTop = log.scrollHeight;
  else log.scrollTop = log.scrollHeight - fromBottom;
}

function message(state, m) {
  const kind = {[AUTHOR.VISITOR]: "visitor", [AUTHOR.OPERATOR]: "operator", [AUTHOR.SYSTEM]: "system", [AUTHOR.NOTE]: "note"}[m.author_kind] || "system";
  const own = m.author_id && m.author_id === state.me.operator_id;
  const who = own ? t("you") : m.author_name || (kind === "note" ? t("note") : "");
  const when = new Date(m.sent_at_ms);
  return h("div", {class: "msg " + kind + (own ? " own" : ""), "data-seq": m.seq},
    h("div", {class: "head"},
      who ? h("span", {class: "author"}, who) : null,
      kind === "note" ? h("span", {class: "tag"}, t("note")) : null,
      h("time", {datetime: when.toISOString(), title: stamp.format(when)}, clock.format(when))),
    m.attachment && m.attachment.sha256 ? attachmentView(m.conversation_id || state.openId, m.attachment) : h("p", {class: "text"}, m.text));
}

function pendingItem(state, cid, sent) {
  return h("div", {class: "msg operator own pending" + (sent.whisper ? " note" : ""), "data-cid": cid},
    h("div", {class: "head"}, h("span", {class: "author"}, t("you")),
      sent.failed ? h("span", {class: "failed"}, t("failed", {x: sent.failed})) : h("span", {class: "sending", "aria-label": "…"}, "…")),
    h("p", {class: "text"}, sent.text));
}
