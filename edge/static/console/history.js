// The History page: past (and open) chats from Conversations.ListConversations
// filtered by time, status, operator and rating, or found by words with
// SearchConversations (the matching text shown as a snippet); one opened shows
// its transcript, read with ListMessages a page at a time (a search's hit is
// scrolled into sight, the pages before it read as needed), and downloads as
// text or JSON (every page read for it). Everyone sees at
// least the chats they took part in; the server decides what else.
import {h, fill, $} from "./dom.js";
import {t, stamp, clock} from "./i18n.js";
import {AUTHOR} from "./state.js";
import {noticeText} from "./chat.js";

const C = "/parley.v1.Conversations/";
const PAGE = 25;
let app = null;
let next = "";            // the next page's token of the list shown
let asked = null;         // the request of the list shown
let reading = null;       // {id, next} of the transcript open
let operatorsLoaded = false;
let preset = null;        // a report figure's filter (reports.js), until cleared

/** Wire the page once; ``ctx`` gives state() and call(method, input, request, output). */
export function wireHistory(ctx) {
  app = ctx;
  $("history-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("history-more").addEventListener("click", () => more());
  $("history-back").addEventListener("click", () => closeTranscript());
  $("history-older").addEventListener("click", () => readMore());
  $("history-text").addEventListener("click", () => exportTranscript("text"));
  $("history-json").addEventListener("click", () => exportTranscript("json"));
  $("history-preset-clear").addEventListener("click", () => {
    preset = null;
    $("history-preset").hidden = true;
    search();
    $("history-query").focus();
  });
}

/** Show the chats of a report's figure next: ``f`` a ConversationFilter, ``label`` what it counts. */
export function filterHistory(f, label) {
  preset = f;
  asked = null;
  for (const id of ["history-query", "history-from", "history-to", "history-status", "history-rating", "history-operator"]) $(id).value = "";
  $("history-preset-text").textContent = t("rFromReport", {x: label});
  $("history-preset").hidden = false;
}

/** The page is shown: fill the operator filter once, list the newest. */
export function showHistory() {
  if (!operatorsLoaded) {
    operatorsLoaded = true;
    loadOperators();
  }
  if (!asked) search();
  else if (!reading) $("history-query").focus();
}

async function loadOperators() {
  const select = $("history-operator");
  try {
    const list = await app.call("/parley.v1.Operators/ListOperators", "parley.v1.ListOperatorsRequest",
      {page_size: 200}, "parley.v1.ListOperatorsResponse");
    for (const op of list.operators) select.append(new Option(op.display_name || op.email, op.id));
    select.parentElement.hidden = list.operators.length < 2;
  } catch (err) { void err; select.parentElement.hidden = true; }
}

function filter() {
  const f = preset ? {...preset} : {};
  const from = $("history-from").value;
  const to = $("history-to").value;
  if (from) f.start_time_ms = new Date(from + "T00:00").getTime();
  if (to) f.end_time_ms = new Date(to + "T00:00").getTime() + 86400000;
  const status = $("history-status").value;
  if (status === "missed") f.ended = ["missed"];
  else if (status) f.statuses = [status];
  const rating = $("history-rating").value;
  if (rating !== "") f.ratings = [Number(rating)];
  const operator = $("history-operator").value;
  if (operator) f.operator_id = operator;
  return f;
}

async function search() {
  closeTranscript();
  const query = $("history-query").value.trim();
  asked = query ? {query, filter: filter(), page_size: PAGE} : {filter: filter(), page_size: PAGE, order_by: "time"};
  fill($("history-results"));
  await page(asked, true);
}

async function more() { if (next && asked) await page({...asked, page_token: next}, false); }

async function page(request, first) {
  const out = $("history-results");
  $("history-more").hidden = true;
  $("history-error").textContent = "";
  out.setAttribute("aria-busy", "true");
  try {
    let rows;
    if (request.query !== undefined) {
      const reply = await app.call(C + "SearchConversations", "parley.v1.SearchConversationsRequest",
        request, "parley.v1.SearchConversationsResponse");
      rows = reply.hits.map((hit) => row(hit.conversation, hit.snippet, hit.seq));
      next = reply.next_page_token;
    } else {
      const reply = await app.call(C + "ListConversations", "parley.v1.ListConversationsRequest",
        request, "parley.v1.ListConversationsResponse");
      rows = reply.conversations.map((c) => row(c, "", 0));
      next = reply.next_page_token;
    }
    if (first && !rows.length) out.append(h("li", {class: "empty"}, t("noHistory")));
    out.append(...rows);
    $("history-more").hidden = !next;
  } catch (err) {
    $("history-error").textContent = t("loadFailed", {x: err.message});
  } finally { out.removeAttribute("aria-busy"); }
}

function status(c) {
  if (c.missed) return t("missed");
  if (c.status === "closed") return t("closedStatus");
  return t("status_" + c.status);
}

function row(c, snippet, seq) {
  const when = new Date(Number(c.started_ms));
  const who = c.operators.map((o) => o.name).join(", ");
  return h("li", {class: "history-row"},
    h("button", {type: "button", class: "history-open", "data-conversation": c.id, onclick: () => openTranscript(c, seq)},
      h("span", {class: "who"}, c.visitor_name || t("visitor")),
      h("time", {datetime: when.toISOString()}, stamp.format(when)),
      h("span", {class: "meta"}, [status(c), who, c.rating ? "★".repeat(c.rating) : "", t("messages", {n: c.message_count})]
        .filter(Boolean).join(" · ")),
      snippet ? h("span", {class: "snippet"}, marked(snippet)) : null));
}

/** A snippet's [matched] words as <mark>, the rest as text (never HTML). */
function marked(snippet) {
  return snippet.split(/(\[[^\]]*\])/).filter(Boolean).map((part) =>
    part.startsWith("[") && part.endsWith("]") ? h("mark", null, part.slice(1, -1)) : part);
}

/** Open the transcript of ``c`` (a Conversation) from elsewhere: a visitor's earlier chat. */
export function readConversation(c) {
  if (!asked) asked = {filter: {}, page_size: PAGE, order_by: "time"};  // the list behind it, when back
  if (!$("history-results").children.length) page(asked, true);
  return openTranscript(c, 0);
}

async function openTranscript(c, seq) {
  reading = {id: c.id, next: "", seq, conversation: c};
  $("history-export-error").textContent = "";
  $("history-list").hidden = true;
  $("history-read").hidden = false;
  $("history-title").textContent = (c.visitor_name || t("visitor")) + " · " + stamp.format(new Date(Number(c.started_ms)));
  fill($("history-transcript"));
  await readMore();
  // A search's hit: the pages up to it, then the message in sight.
  for (let n = 0; seq && reading && reading.id === c.id && reading.next && n < 20; n += 1) {
    if ($("history-transcript").querySelector(".msg.hit")) break;
    await readMore();
  }
  const hit = $("history-transcript").querySelector(".msg.hit");
  $("history-back").focus();
  if (hit) hit.scrollIntoView({block: "center"});
}

/** Every message of the open transcript (each page read), oldest first. */
async function allMessages(id) {
  const out = [];
  let token = "";
  do {
    const request = {conversation_id: id, page_size: 200};
    if (token) request.page_token = token;
    const reply = await app.call(C + "ListMessages", "parley.v1.ListMessagesRequest", request, "parley.v1.ListMessagesResponse");
    out.push(...reply.messages);
    token = reply.next_page_token;
  } while (token);
  return out;
}

const KINDS = {[AUTHOR.VISITOR]: "visitor", [AUTHOR.OPERATOR]: "operator", [AUTHOR.SYSTEM]: "system", [AUTHOR.NOTE]: "note"};

/** The transcript as a file: text (a line per message) or JSON (the conversation and its messages). */
async function exportTranscript(kind) {
  if (!reading) return;
  const c = reading.conversation;
  $("history-export-error").textContent = "";
  let messages;
  try { messages = await allMessages(c.id); } catch (err) {
    $("history-export-error").textContent = t("loadFailed", {x: err.message});
    return;
  }
  let body;
  let type;
  if (kind === "json") {
    const rows = messages.map((m) => ({
      seq: m.seq, sent_at: new Date(Number(m.sent_at_ms)).toISOString(), author_kind: KINDS[m.author_kind] || "system",
      author_name: m.author_name, text: m.text,
      ...(m.attachment && m.attachment.sha256 ? {attachment: {name: m.attachment.name, size: m.attachment.size, sha256: m.attachment.sha256}} : {}),
    }));
    body = JSON.stringify({conversation: c, messages: rows}, null, 2) + "\n";
    type = "application/json";
  } else {
    const lines = [(c.visitor_name || t("visitor")) + " · " + new Date(Number(c.started_ms)).toISOString(), ""];
    for (const m of messages) {
      const who = m.author_name || (KINDS[m.author_kind] === "note" ? t("note") : t("visitor"));
      const tag = KINDS[m.author_kind] === "note" ? " (" + t("note") + ")" : "";
      const text = m.attachment && m.attachment.sha256 ? "[" + m.attachment.name + "]" : noticeText(m);
      const at = "[" + new Date(Number(m.sent_at_ms)).toISOString().replace("T", " ").slice(0, 19) + " UTC] ";
      lines.push(at + (KINDS[m.author_kind] === "system" ? "— " + text : who + tag + ": " + text));
    }
    body = lines.join("\n") + "\n";
    type = "text/plain";
  }
  const url = URL.createObjectURL(new Blob([body], {type: type + ";charset=utf-8"}));
  const link = h("a", {href: url, download: "parley-chat-" + c.id + (kind === "json" ? ".json" : ".txt")});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function readMore() {
  if (!reading) return;
  const id = reading.id;
  const request = {conversation_id: id, page_size: 50};
  if (reading.next) request.page_token = reading.next;
  $("history-older").hidden = true;
  try {
    const reply = await app.call(C + "ListMessages", "parley.v1.ListMessagesRequest", request, "parley.v1.ListMessagesResponse");
    if (!reading || reading.id !== id) return;
    reading.next = reply.next_page_token;
    $("history-transcript").append(...reply.messages.map((m) => message(m, reading.seq)));
    $("history-older").hidden = !reading.next;
  } catch (err) {
    $("history-transcript").append(h("p", {class: "error"}, t("loadFailed", {x: err.message})));
  }
}

function message(m, hit) {
  const kind = {[AUTHOR.VISITOR]: "visitor", [AUTHOR.OPERATOR]: "operator", [AUTHOR.SYSTEM]: "system", [AUTHOR.NOTE]: "note"}[m.author_kind] || "system";
  const when = new Date(Number(m.sent_at_ms));
  return h("div", {class: "msg " + kind + (Number(m.seq) === Number(hit) ? " hit" : ""), "data-seq": m.seq},
    h("div", {class: "head"},
      m.author_name ? h("span", {class: "author"}, m.author_name) : null,
      kind === "note" ? h("span", {class: "tag"}, t("note")) : null,
      h("time", {datetime: when.toISOString(), title: stamp.format(when)}, clock.format(when))),
    h("p", {class: "text"}, noticeText(m)));
}

function closeTranscript() {
  reading = null;
  $("history-read").hidden = true;
  $("history-list").hidden = false;
}
