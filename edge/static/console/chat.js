// The middle pane: the open chat's transcript (times, authors, notes set
// apart, each operator's message marked sent or read by the visitor, older
// messages loaded on scrolling up), the visitor's typing, the
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
  if (!chat) { shownId = ""; return; }
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

// The transcript is drawn by key: a message's row is made once (a seq names one
// message for good) and new ones are put in their place; switching chats draws
// only the newest WINDOW messages, and scrolling up shows WINDOW more of those
// held before asking the server for older ones (app.js's loadOlder).
const WINDOW = 50;
let shownId = "";           // the chat the transcript shows
let floor = 0;              // the lowest seq shown (0: every one held)
const items = new Map();    // seq -> row
const marks = new Map();    // seq -> the delivery mark of an operator's message shown
const pendingRows = new Map();  // client id -> {el, failed}

/** Show more of the open chat's held messages; false when all are shown. */
export function showOlder(chat) {
  if (chat.id !== shownId || !floor) return false;
  const seqs = [...chat.messages.keys()].sort((a, b) => a - b);
  const at = seqs.findIndex((seq) => seq >= floor);
  if (at <= 0) return false;
  floor = at > WINDOW ? seqs[at - WINDOW] : 0;
  return true;
}

function drawTranscript(state, chat) {
  const log = $("transcript");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const fromBottom = log.scrollHeight - log.scrollTop;
  // A message once held stays held: one shown but gone means the chat was
  // dropped (its epoch changed) and is drawn anew.
  let sameChat = shownId === chat.id && log.dataset.chat === chat.id;
  for (const seq of items.keys()) if (sameChat && !chat.messages.has(seq)) sameChat = false;
  if (!sameChat) {
    shownId = chat.id;
    const held = chat.messages.size;
    floor = held > WINDOW ? [...chat.messages.keys()].sort((a, b) => a - b)[held - WINDOW] : 0;
    items.clear();
    marks.clear();
    pendingRows.clear();
    fill(log, h("div", {class: "older", hidden: true}, t("older")));
  }
  log.firstElementChild.hidden = !chat.loadingOlder;
  const seqs = [...chat.messages.keys()].sort((a, b) => a - b);
  const wanted = floor ? seqs.filter((seq) => seq >= floor) : seqs;
  // Pending sends stay last, in the order they were written.
  for (const [cid, row] of pendingRows) {
    const sent = chat.pending.get(cid);
    if (!sent || (sent.failed || "") !== row.failed) { row.el.remove(); pendingRows.delete(cid); }
  }
  for (const [cid, sent] of chat.pending) {
    if (pendingRows.has(cid)) continue;
    const el = pendingItem(state, cid, sent);
    log.append(el);
    pendingRows.set(cid, {el, failed: sent.failed || ""});
  }
  let next = pendingRows.size ? pendingRows.values().next().value.el : null;
  for (let i = wanted.length - 1; i >= 0; i--) {
    let el = items.get(wanted[i]);
    if (!el) {
      el = message(state, chat.messages.get(wanted[i]));
      log.insertBefore(el, next);
      items.set(wanted[i], el);
      const mark = el.querySelector(".delivery");
      if (mark) marks.set(wanted[i], mark);
    }
    next = el;
  }
  // Stored (the server has it: the visitor gets it) or read by the visitor.
  for (const [seq, mark] of marks) {
    const read = seq <= chat.seenSeq;
    if (mark.dataset.read === String(read)) continue;
    mark.dataset.read = String(read);
    mark.textContent = read ? "✓✓" : "✓";
    mark.setAttribute("aria-label", read ? t("deliveredRead") : t("delivered"));
    mark.title = mark.getAttribute("aria-label");
  }
  log.dataset.chat = chat.id;
  // New at the bottom: follow it when reading the end; older ones prepended:
  // keep the same messages in sight.
  if (!sameChat || atBottom) log.scrollTop = log.scrollHeight;
  else log.scrollTop = log.scrollHeight - fromBottom;
}

// A notice's words by its code: [key, which names fill {n} and {m}]. Its text is
// the server's English, shown for a code this console does not know.
const NOTICES = {
  joined: ["ntJoined", 0], left: ["ntLeft", 0], invited: ["ntInvited", 0, 1],
  transferred: ["ntTransferred", 0, 1], took_over: ["ntTookOver", 0, 1], moved: ["ntMoved", 0],
  requeued: ["ntRequeued"], on_hold: ["ntOnHold", 0], not_waiting: ["ntNotWaiting", 0],
  active: ["ntActive", 0], closed_by_operator: ["ntClosedBy", 0], closed_by_visitor: ["ntClosedByVisitor"],
};
const CLOSES = {abandoned: "ntAbandoned", no_operator: "ntNoOperator", operator_offline: "ntOperatorOffline"};

/** A notice in the console's language; any other message as written. */
export function noticeText(m) {
  const args = m.notice_args || [];
  if (m.notice === "closed") return t(CLOSES[args[0]] || "ntClosed");
  const words = NOTICES[m.notice];
  if (!words) return m.text;
  const [key, n, second] = words;
  return t(key, {n: n === undefined ? "" : args[n] || "", m: second === undefined ? "" : args[second] || ""});
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
      h("time", {datetime: when.toISOString(), title: stamp.format(when)}, clock.format(when)),
      kind === "operator" ? h("span", {class: "delivery", role: "img"}) : null),
    m.attachment && m.attachment.sha256 ? attachmentView(m.conversation_id || state.openId, m.attachment) : h("p", {class: "text"}, noticeText(m)));
}

function pendingItem(state, cid, sent) {
  return h("div", {class: "msg operator own pending" + (sent.whisper ? " note" : ""), "data-cid": cid},
    h("div", {class: "head"}, h("span", {class: "author"}, t("you")),
      sent.failed ? h("span", {class: "failed"}, t("failed", {x: sent.failed})) : h("span", {class: "sending", "aria-label": "…"}, "…")),
    h("p", {class: "text"}, sent.text));
}
