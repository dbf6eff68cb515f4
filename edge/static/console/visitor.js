// The right pane: what is known of the open chat's visitor
// (Conversations.GetVisitorInfo): name, email, current page and trail,
// referrer, browser and OS, address, language, local time, visits, and the
// visitor's earlier chats (ListConversations by visitor), each opened on the
// History page in one click. The page is
// live: app.js reads the info again whenever the stream says the visitors on
// the site changed (a page, an arrival; coalesced to a second at most).
import {h, fill, $} from "./dom.js";
import {t, lang, stamp} from "./i18n.js";

// local_time_ms is already shifted to the visitor's zone: read it as UTC.
const theirClock = new Intl.DateTimeFormat(lang, {hour: "numeric", minute: "2-digit", timeZone: "UTC"});

/** Draw ``chat``'s info (a VisitorInfo, or nothing while it loads);
    ``openPast(conversation)`` opens an earlier chat. */
export function drawVisitor(chat, openPast) {
  const pane = $("visitor-body");
  const info = chat && chat.info;
  if (!info) { pane.dataset.key = ""; fill(pane, h("p", {class: "empty"}, t("noInfo"))); return; }
  const current = info.pages.at(-1);
  const rows = [
    [t("name"), info.name || (chat && chat.name)],
    [t("email"), info.email],
    [t("page"), current ? current.title || current.url : ""],
    [t("browser"), [info.browser, info.os].filter(Boolean).join(", ")],
    [t("address"), info.ip],
    [t("language"), info.language],
    [t("localTime"), info.local_time_ms ? theirClock.format(new Date(info.local_time_ms)) : ""],
    [t("visits"), info.visits ? String(info.visits) : ""],
    [t("referrer"), info.referrer],
  ].filter(([, value]) => value);
  const trail = info.pages.slice(-10).reverse().map((p) =>
    h("li", null, h("span", {class: "url", title: p.url}, p.title || p.url), " ",
      h("time", {datetime: new Date(p.at_ms).toISOString()}, stamp.format(new Date(p.at_ms)))));
  const past = (chat.past || []).filter((c) => c.id !== chat.id).map((c) => {
    const when = new Date(Number(c.started_ms));
    const meta = [c.operators.map((o) => o.name).join(", "), t("messages", {n: c.message_count}),
      c.rating ? "★".repeat(c.rating) : ""].filter(Boolean).join(" · ");
    return h("li", null, h("button", {type: "button", class: "past", "data-past": c.id, onclick: () => openPast(c)},
      h("time", {datetime: when.toISOString()}, stamp.format(when)), h("span", {class: "meta"}, meta)));
  });
  // Redrawn only when what it shows changed: a re-read that brought nothing
  // new keeps the focus and the selection where they were.
  const key = JSON.stringify([chat.id, rows, info.pages.slice(-10), (chat.past || []).map((c) => c.id + c.message_count)]);
  if (pane.dataset.key === key) return;
  pane.dataset.key = key;
  fill(pane,
    h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    trail.length ? [h("h3", null, t("trail")), h("ol", {class: "trail"}, trail)] : null,
    past.length ? [h("h3", null, t("earlierChats")), h("ul", {class: "past-chats"}, past)] : null);
}
