// The left pane: the chat lists (Mine, New with its wait time and offers,
// Others', Missed) with their counts, and the operator's capacity.
//
// Drawn by key: each view's section is made once, each chat's row is kept by
// chat id with the words it shows, and a draw rebuilds only the rows whose
// words changed, then moves rows only where the order changed. A batch of
// events that touches three chats costs three rows, not the whole list (a
// console with 200 chats redrew 200 rows on every switch before).
import {h, $} from "./dom.js";
import {t, since} from "./i18n.js";
import {AUTHOR, VIEWS} from "./state.js";

const sections = new Map();  // view -> {section, count, list, empty}
const rows = new Map();      // "view:chat id" -> {li, key}
const facts = new WeakMap(); // chat -> {size, readSeq, last, unread}: its messages read once per change

/** Draw the lists from ``state``; ``act`` takes (action, chatId). */
export function drawLists(state, act, now) {
  const held = state.mineCount();
  const full = state.me.max_chats > 0 && held >= state.me.max_chats;  // Take would be refused
  $("capacity").textContent = t("capacity", {n: held, m: state.me.max_chats || 0});
  const nav = $("lists");
  if (!sections.size || !nav.contains(sections.get(VIEWS[0]).section)) build(nav);
  const seen = new Set();
  for (const view of VIEWS) {
    const chats = state.inView(view);
    const s = sections.get(view);
    if (s.count.textContent !== String(chats.length)) s.count.textContent = String(chats.length);
    s.empty.hidden = chats.length > 0;
    s.list.hidden = chats.length === 0;
    let at = s.list.firstElementChild;
    for (const chat of chats) {
      const id = view + ":" + chat.id;
      seen.add(id);
      const {li, old} = keyed(state, chat, view, act, now, id, full);
      if (old) {  // its words changed: the new row takes the old one's place
        if (at === old) at = old.nextElementSibling;
        old.remove();
      }
      if (at === li) at = at.nextElementSibling;
      else s.list.insertBefore(li, at);  // moved or new: put in its place
    }
    while (at) { const next = at.nextElementSibling; at.remove(); at = next; }
  }
  for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
}

function build(nav) {
  sections.clear();
  rows.clear();
  nav.replaceChildren(...VIEWS.map((view) => {
    const headingId = "list-" + view;
    const count = h("span", {class: "count", "data-count": view}, "0");
    const list = h("ul", {role: "list"});
    const empty = h("p", {class: "empty"}, t("noChats"));
    const section = h("section", {class: "view", "aria-labelledby": headingId},
      h("h2", {id: headingId}, t(view), " ", count), list, empty);
    sections.set(view, {section, count, list, empty});
    return section;
  }));
}

/** The chat's row, rebuilt only when what it shows changed. */
function keyed(state, chat, view, act, now, id, full) {
  const {last, unread} = read(chat);
  const current = chat.id === state.openId;
  const shown = {
    name: chat.name, current,
    unread: current ? 0 : unread,
    meta: view === "new" || view === "missed" ? t("waiting", {x: since(now - ((chat.card && chat.card.started_ms) || now))}) : "",
    preview: last ? last.text.slice(0, 80) : "",
    typing: chat.typing ? t("typing", {x: chat.typing.name || t("visitor")}) : "",
    offered: Boolean(chat.offer && !chat.mine),
    take: view === "new" && state.can("accept"),
    full,
  };
  const key = JSON.stringify(shown);
  const kept = rows.get(id);
  if (kept && kept.key === key) return {li: kept.li, old: null};
  const li = row(chat, shown, act);
  rows.set(id, {li, key});
  return {li, old: kept ? kept.li : null};
}

/** The newest message and the visitor's unread ones, counted again only when
    the chat's messages or its read mark changed. */
function read(chat) {
  const had = facts.get(chat);
  if (had && had.size === chat.messages.size && had.readSeq === chat.readSeq) return had;
  let last = null;
  let unread = 0;
  for (const m of chat.messages.values()) {
    if (!last || m.seq > last.seq) last = m;
    if (m.seq > chat.readSeq && m.author_kind === AUTHOR.VISITOR) unread += 1;
  }
  const out = {size: chat.messages.size, readSeq: chat.readSeq, last, unread};
  facts.set(chat, out);
  return out;
}

function row(chat, shown, act) {
  const open = h("button", {
    class: "open" + (shown.current ? " current" : ""), "data-chat": chat.id,
    "aria-current": shown.current ? "true" : null, onclick: () => act("open", chat.id),
  },
  h("span", {class: "who"}, shown.name),
  shown.unread ? h("span", {class: "badge", "aria-label": t("unread", {n: shown.unread})}, String(shown.unread)) : null,
  shown.meta ? h("span", {class: "meta"}, shown.meta) : null,
  shown.preview ? h("span", {class: "preview"}, shown.preview) : null,
  shown.typing ? h("span", {class: "typing-dot"}, shown.typing) : null);
  const actions = [];
  if (shown.offered) {
    actions.push(h("button", {class: "accept", onclick: () => act("accept", chat.id)}, t("accept")));
    actions.push(h("button", {class: "decline", onclick: () => act("decline", chat.id)}, t("decline")));
  } else if (shown.take) {
    // At the limit, Take is shown disabled with the reason in words.
    const whyId = shown.full ? "why-take-" + chat.id : null;
    actions.push(h("button", {class: "take", disabled: shown.full, "aria-describedby": whyId,
      onclick: () => act("take", chat.id)}, t("take")));
    if (shown.full) actions.push(h("span", {class: "why", id: whyId}, t("no_at_capacity")));
  }
  return h("li", {class: "chat-row" + (shown.offered ? " offered" : ""), "data-row": chat.id}, open,
    actions.length ? h("div", {class: "row-actions"}, actions) : null);
}
