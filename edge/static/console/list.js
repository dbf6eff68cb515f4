// The left pane: the chat lists (Mine, New with its wait time and offers,
// Others', Missed) with their counts, and the operator's capacity.
import {h, fill, $} from "./dom.js";
import {t, since} from "./i18n.js";
import {VIEWS} from "./state.js";

/** Draw the lists from ``state``; ``act`` takes (action, chatId). */
export function drawLists(state, act, now) {
  $("capacity").textContent = t("capacity", {n: state.mineCount(), m: state.me.max_chats || 0});
  const nav = $("lists");
  const sections = VIEWS.map((view) => {
    const chats = state.inView(view);
    const headingId = "list-" + view;
    return h("section", {class: "view", "aria-labelledby": headingId},
      h("h2", {id: headingId}, t(view), " ", h("span", {class: "count", "data-count": view}, String(chats.length))),
      chats.length
        ? h("ul", {role: "list"}, chats.map((chat) => row(state, chat, view, act, now)))
        : h("p", {class: "empty"}, t("noChats")));
  });
  fill(nav, sections);
}

function row(state, chat, view, act, now) {
  const unread = chat.id === state.openId ? 0 : chat.unread();
  const last = chat.ordered().at(-1);
  const meta = [];
  if (view === "new" || view === "missed") meta.push(t("waiting", {x: since(now - ((chat.card && chat.card.started_ms) || now))}));
  const open = h("button", {
    class: "open" + (chat.id === state.openId ? " current" : ""), "data-chat": chat.id,
    "aria-current": chat.id === state.openId ? "true" : null, onclick: () => act("open", chat.id),
  },
  h("span", {class: "who"}, chat.name),
  unread ? h("span", {class: "badge", "aria-label": t("unread", {n: unread})}, String(unread)) : null,
  meta.length ? h("span", {class: "meta"}, meta.join(" · ")) : null,
  last ? h("span", {class: "preview"}, last.text.slice(0, 80)) : null,
  chat.typing ? h("span", {class: "typing-dot"}, t("typing", {x: chat.typing.name || t("visitor")})) : null);
  const actions = [];
  if (chat.offer && !chat.mine) {
    actions.push(h("button", {class: "accept", onclick: () => act("accept", chat.id)}, t("accept")));
    actions.push(h("button", {class: "decline", onclick: () => act("decline", chat.id)}, t("decline")));
  } else if (view === "new" && state.can("accept")) {
    actions.push(h("button", {class: "take", onclick: () => act("take", chat.id)}, t("take")));
  }
  return h("li", {class: "chat-row" + (chat.offer && !chat.mine ? " offered" : "")}, open,
    actions.length ? h("div", {class: "row-actions"}, actions) : null);
}
