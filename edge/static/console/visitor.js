// The right pane: what is known of the open chat's visitor
// (Conversations.GetVisitorInfo): name, email, current page and trail,
// browser and OS, language, local time, visits.
import {h, fill, $} from "./dom.js";
import {t, lang, stamp} from "./i18n.js";

// local_time_ms is already shifted to the visitor's zone: read it as UTC.
const theirClock = new Intl.DateTimeFormat(lang, {hour: "numeric", minute: "2-digit", timeZone: "UTC"});

/** Draw ``info`` (a VisitorInfo, or null while it loads). */
export function drawVisitor(chat) {
  const pane = $("visitor-body");
  const info = chat && chat.info;
  if (!info) { fill(pane, h("p", {class: "empty"}, t("noInfo"))); return; }
  const current = info.pages.at(-1);
  const rows = [
    [t("name"), info.name || (chat && chat.name)],
    [t("email"), info.email],
    [t("page"), current ? current.title || current.url : ""],
    [t("browser"), [info.browser, info.os].filter(Boolean).join(", ")],
    [t("language"), info.language],
    [t("localTime"), info.local_time_ms ? theirClock.format(new Date(info.local_time_ms)) : ""],
    [t("visits"), info.visits ? String(info.visits) : ""],
    [t("referrer"), info.referrer],
  ].filter(([, value]) => value);
  const trail = info.pages.slice(-10).reverse().map((p) =>
    h("li", null, h("span", {class: "url", title: p.url}, p.title || p.url), " ",
      h("time", {datetime: new Date(p.at_ms).toISOString()}, stamp.format(new Date(p.at_ms)))));
  fill(pane,
    h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    trail.length ? [h("h3", null, t("trail")), h("ol", {class: "trail"}, trail)] : null);
}
