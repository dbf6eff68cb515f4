// The Reports page: Reports.GetReport for a site, one of its departments or
// one operator, over a range of days in the site's timezone (today,
// yesterday, the last 7 or 30 days, or chosen): the totals, a row per day with
// bars of the chats, and the busiest hours of the day (the same report grouped
// by hour). Every count opens its chats on the History page (the row's span
// and the matching filter, as the API documents: ListConversations with the
// day's bounds and status "closed"); the table downloads as CSV. Bars are SVG
// rects drawn from the figures (no inline styles: the CSP forbids them).
import {h, fill, $} from "./dom.js";
import {t, lang} from "./i18n.js";
import {said} from "./forms.js";
import "./admin_words.js";

const R = "/parley.v1.Reports/GetReport";
const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
let app = null;
let sites = [];
let wired = false;
let shown = null;        // {request, report, hours} on the page now

const num = new Intl.NumberFormat(lang, {maximumFractionDigits: 1});

/** A length of time as people read it: 12 s, 1 min 40 s, 2 h 5 min; "—" when nothing was measured. */
export function span(ms, measured) {
  if (!measured) return "—";
  const s = Math.round(Number(ms) / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
  return Math.floor(s / 3600) + " h" + (Math.floor(s / 60) % 60 ? " " + (Math.floor(s / 60) % 60) + " min" : "");
}

/** Today's date (YYYY-MM-DD) in the timezone ``tz``, moved by ``days``. */
export function dayIn(tz, days) {
  const today = new Intl.DateTimeFormat("en-CA", {timeZone: tz || "UTC", year: "numeric", month: "2-digit", day: "2-digit"})
    .format(new Date());
  const at = new Date(today + "T00:00:00Z").getTime() + days * DAY_MS;
  return new Date(at).toISOString().slice(0, 10);
}

function call(method, input, request, output) { return app.call(method, input, request, output); }

/** Wire the page once; ``ctx`` gives call(...) and drill(filter, label) (History with a filter). */
export function wireReports(ctx) {
  app = ctx;
  if (wired) return;
  wired = true;
  $("reports-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("reports-site").addEventListener("change", () => { fillScope(); });
  $("reports-range").addEventListener("change", () => {
    const custom = $("reports-range").value === "custom";
    $("reports-from").parentElement.hidden = !custom;
    $("reports-to").parentElement.hidden = !custom;
    if (custom && !$("reports-from").value) {
      const tz = siteTz();
      $("reports-from").value = dayIn(tz, -6);
      $("reports-to").value = dayIn(tz, 0);
    }
  });
  $("reports-csv").addEventListener("click", () => download());
}

/** The page is shown: the sites once, then the report as chosen. */
export async function showReports() {
  if (!sites.length) {
    try {
      const reply = await call("/parley.v1.Sites/ListSites", "parley.v1.ListSitesRequest", {page_size: 200}, "parley.v1.ListSitesResponse");
      sites = reply.sites;
    } catch (err) { $("reports-error").textContent = t("loadFailed", {x: said(err)}); return; }
    fill($("reports-site"), sites.map((s) => new Option(s.name || s.id, s.id)));
    $("reports-site").parentElement.hidden = sites.length < 2;
    await fillScope();
  }
  if (!shown) await load();
}

function siteTz() {
  const site = sites.find((s) => s.id === $("reports-site").value);
  return (site && site.timezone) || "UTC";
}

async function fillScope() {
  const site = $("reports-site").value;
  const dept = $("reports-department");
  fill(dept, new Option(t("rWholeSite"), ""));
  try {
    const reply = await call("/parley.v1.Departments/ListDepartments", "parley.v1.ListDepartmentsRequest",
      {site_id: site, page_size: 200}, "parley.v1.ListDepartmentsResponse");
    for (const d of reply.departments) dept.append(new Option(d.name, d.id));
  } catch (err) { void err; }
  dept.parentElement.hidden = dept.options.length < 2;
  const op = $("reports-operator");
  if (op.options.length > 1) return;
  try {
    const reply = await call("/parley.v1.Operators/ListOperators", "parley.v1.ListOperatorsRequest",
      {page_size: 200}, "parley.v1.ListOperatorsResponse");
    for (const o of reply.operators) op.append(new Option(o.display_name || o.email, o.id));
  } catch (err) { void err; }
  op.parentElement.hidden = op.options.length < 2;
}

/** The days the range stands for, in the site's timezone. */
function range() {
  const tz = siteTz();
  switch ($("reports-range").value) {
    case "yesterday": return [dayIn(tz, -1), dayIn(tz, -1)];
    case "last7": return [dayIn(tz, -6), dayIn(tz, 0)];
    case "last30": return [dayIn(tz, -29), dayIn(tz, 0)];
    case "custom": return [$("reports-from").value, $("reports-to").value || $("reports-from").value];
    default: return [dayIn(tz, 0), dayIn(tz, 0)];
  }
}

async function load() {
  const [start, end] = range();
  const out = $("reports-body");
  $("reports-error").textContent = "";
  $("reports-note").textContent = "";
  $("reports-csv").hidden = true;
  if (!start || end < start) { $("reports-error").textContent = t("rBadRange"); return; }
  const request = {site_id: $("reports-site").value, department_id: $("reports-department").value,
    operator_id: $("reports-operator").value, start_date: start, end_date: end};
  out.setAttribute("aria-busy", "true");
  try {
    const [report, hours] = await Promise.all([
      call(R, "parley.v1.GetReportRequest", {...request, group_by: "day"}, "parley.v1.Report"),
      call(R, "parley.v1.GetReportRequest", {...request, group_by: "hour"}, "parley.v1.Report"),
    ]);
    shown = {request, report, hours};
    draw();
  } catch (err) {
    shown = null;
    fill(out);
    if (String(err.reason).toLowerCase() === "history_off") $("reports-note").textContent = t("rHistoryOff");
    else $("reports-error").textContent = t("loadFailed", {x: said(err)});
  } finally { out.removeAttribute("aria-busy"); }
}

/** The History filter of a figure: the span's chats, narrowed as ``narrow`` says. */
function filterOf(row, narrow) {
  const f = {site_id: shown.request.site_id, start_time_ms: Number(row.start_time_ms), end_time_ms: Number(row.end_time_ms)};
  if (shown.request.department_id) f.department_id = shown.request.department_id;
  if (shown.request.operator_id) f.operator_id = shown.request.operator_id;
  if (narrow === "missed") f.ended = ["missed"];
  else if (narrow === "abandoned") f.ended = ["abandoned"];
  else if (narrow === "no_operator") f.ended = ["no_operator"];
  else f.statuses = ["closed"];
  if (narrow === "rated") f.ratings = [1, 2, 3, 4, 5];
  return f;
}

/** A count that opens its chats in History (plain text when there are none). */
function drillable(row, narrow, value, what, when, text) {
  const shown = text || String(value);
  if (!Number(value)) return shown;
  return h("button", {type: "button", class: "drill", "data-drill": narrow, "aria-label": shown + " " + what + ", " + when + ": " + t("rDrill"),
    onclick: () => app.drill(filterOf(row, narrow), what + " · " + when)}, shown);
}

function rangeLabel(report) {
  const {start_date: a, end_date: b} = shown.request;
  return a === b ? a : a + " – " + b;
}

function draw() {
  const {report, hours} = shown;
  const total = report.total || {};
  const out = $("reports-body");
  $("reports-note").textContent = t("rInTz", {x: report.timezone || "UTC"});
  if (!Number(total.chats)) { fill(out, h("p", {class: "empty"}, t("rEmpty"))); return; }
  $("reports-csv").hidden = false;
  const when = rangeLabel(report);
  const card = (label, value, sub) => h("div", {class: "figure"}, h("span", {class: "label"}, label), h("span", {class: "value"}, value),
    sub ? h("span", {class: "sub"}, sub) : null);
  const times = (p50, p90, n) => span(p50, n) + " · " + span(p90, n);
  fill(out,
    h("div", {class: "figures"},
      card(t("rChats"), drillable(total, "all", total.chats, t("rChats"), when)),
      card(t("rMissed"), drillable(total, "missed", total.missed, t("rMissed"), when)),
      card(t("rAbandoned"), drillable(total, "abandoned", total.abandoned, t("rAbandoned"), when),
        t("rNoOperator") + ": " + total.no_operator),
      card(t("rFirstResponse"), times(total.first_response_p50_ms, total.first_response_p90_ms, total.answered), "p50 · p90"),
      card(t("rWait"), times(total.wait_p50_ms, total.wait_p90_ms, total.waited), "p50 · p90"),
      card(t("rDuration"), span(total.duration_average_ms, total.chats), "p50 " + span(total.duration_p50_ms, total.chats)
        + " · p90 " + span(total.duration_p90_ms, total.chats)),
      card(t("rRating"), total.ratings ? num.format(total.rating_average) + " ★" : "—",
        drillable(total, "rated", total.ratings, t("rRating"), when, t("rRated", {n: total.ratings})))),
    h("h3", null, t("rDays")),
    bars(report.rows),
    table(report.rows, total),
    h("h3", null, t("rHours")),
    hourBars(hours.rows));
}

function bars(rows) {
  const top = Math.max(1, ...rows.map((r) => Number(r.chats)));
  const height = 18, gap = 4, label = 90, width = 600;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${rows.length * (height + gap)}`);
  svg.setAttribute("class", "bars");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("rChatsBar") + ": " + rows.map((r) => r.day + " " + r.chats).join(", "));
  rows.forEach((r, i) => {
    const y = i * (height + gap);
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "0");
    text.setAttribute("y", String(y + height - 5));
    text.textContent = r.day;
    const bar = (value, cls) => {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(label));
      rect.setAttribute("y", String(y));
      rect.setAttribute("height", String(height));
      rect.setAttribute("width", String(((width - label - 40) * Number(value)) / top));
      rect.setAttribute("class", cls);
      return rect;
    };
    const count = document.createElementNS(SVG, "text");
    count.setAttribute("x", String(label + 4 + ((width - label - 40) * Number(r.chats)) / top));
    count.setAttribute("y", String(y + height - 5));
    count.textContent = String(r.chats);
    svg.append(text, bar(r.chats, "chats"), bar(r.missed, "missed"), count);
  });
  return svg;
}

function hourBars(rows) {
  const byHour = new Map(rows.map((r) => [Number(r.hour), r]));
  const top = Math.max(1, ...rows.map((r) => Number(r.chats)));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 480 130");
  svg.setAttribute("class", "bars hours");
  svg.setAttribute("role", "img");
  const busiest = [...rows].filter((r) => Number(r.chats)).sort((a, b) => b.chats - a.chats).slice(0, 3)
    .map((r) => t("rHourChats", {x: String(r.hour).padStart(2, "0") + ":00", n: r.chats}));
  svg.setAttribute("aria-label", t("rBusiest", {x: busiest.join(", ") || "—"}));
  for (let hour = 0; hour < 24; hour += 1) {
    const chats = Number((byHour.get(hour) || {}).chats || 0);
    const tall = (100 * chats) / top;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", String(hour * 20 + 2));
    rect.setAttribute("y", String(104 - tall));
    rect.setAttribute("width", "16");
    rect.setAttribute("height", String(tall));
    rect.setAttribute("class", "chats");
    const tip = document.createElementNS(SVG, "title");
    tip.textContent = t("rHourChats", {x: String(hour).padStart(2, "0") + ":00", n: chats});
    rect.append(tip);
    svg.append(rect);
    if (hour % 3 === 0) {
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("x", String(hour * 20 + 2));
      text.setAttribute("y", "124");
      text.textContent = String(hour).padStart(2, "0");
      svg.append(text);
    }
  }
  return h("div", {class: "hours-wrap"}, svg, h("p", {class: "meta"}, t("rBusiest", {x: busiest.join(", ") || "—"})));
}

const HEAD = ["rDay", "rChats", "rMissed", "rAbandoned", "rNoOperator", "rFirstResponse", "rWait", "rDuration", "rRating"];

function table(rows, total) {
  const line = (r, label, isTotal) => h("tr", {class: isTotal ? "total" : null},
    h("th", {scope: "row"}, label),
    h("td", null, drillable(r, "all", r.chats, t("rChats"), label)),
    h("td", null, drillable(r, "missed", r.missed, t("rMissed"), label)),
    h("td", null, drillable(r, "abandoned", r.abandoned, t("rAbandoned"), label)),
    h("td", null, drillable(r, "no_operator", r.no_operator, t("rNoOperator"), label)),
    h("td", null, span(r.first_response_p50_ms, r.answered) + " / " + span(r.first_response_p90_ms, r.answered)),
    h("td", null, span(r.wait_p50_ms, r.waited) + " / " + span(r.wait_p90_ms, r.waited)),
    h("td", null, span(r.duration_average_ms, r.chats) + " (" + span(r.duration_p50_ms, r.chats) + " / " + span(r.duration_p90_ms, r.chats) + ")"),
    h("td", null, r.ratings ? num.format(r.rating_average) + " (" + r.ratings + ")" : "—"));
  return h("div", {class: "table-wrap"}, h("table", {class: "admin-table report-table"},
    h("caption", {class: "sr"}, t("rDays")),
    h("thead", null, h("tr", null, HEAD.map((k) => h("th", {scope: "col"}, t(k) +
      (["rFirstResponse", "rWait"].includes(k) ? " p50 / p90" : k === "rDuration" ? " Ø (p50 / p90)" : ""))))),
    h("tbody", null, rows.map((r) => line(r, r.day, false)), line(total, t("rTotal"), true))));
}

const CSV_FIELDS = ["chats", "missed", "abandoned", "no_operator", "answered", "first_response_p50_ms", "first_response_p90_ms",
  "waited", "wait_p50_ms", "wait_p90_ms", "duration_average_ms", "duration_p50_ms", "duration_p90_ms", "ratings", "rating_average"];

/** The report as CSV (a row per day, then the total), the figures as the API gives them. */
export function csv(report) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
  const lines = [["day", ...CSV_FIELDS].join(",")];
  for (const r of report.rows) lines.push([r.day, ...CSV_FIELDS.map((f) => r[f])].map(quote).join(","));
  lines.push(["total", ...CSV_FIELDS.map((f) => report.total[f])].map(quote).join(","));
  return lines.join("\r\n") + "\r\n";
}

function download() {
  if (!shown) return;
  const blob = new Blob([csv(shown.report)], {type: "text/csv"});
  const url = URL.createObjectURL(blob);
  const {start_date: a, end_date: b} = shown.request;
  const link = h("a", {href: url, download: `parley-report-${a}-${b}.csv`});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
