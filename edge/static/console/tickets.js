// The Tickets page: the offline requests visitors left when nobody could chat
// (Tickets.ListTickets, newest first, a page at a time, per site), one opened
// in full with GetTicket. Shown to roles with view_tickets; the server narrows
// them to the departments the operator may see.
import {h, fill, $} from "./dom.js";
import {t, stamp} from "./i18n.js";

const T = "/parley.v1.Tickets/";
let app = null;
let next = "";
let sitesLoaded = false;

/** Wire the page once; ``ctx`` gives call(method, input, request, output). */
export function wireTickets(ctx) {
  app = ctx;
  $("tickets-site").addEventListener("change", () => list(true));
  $("tickets-more").addEventListener("click", () => list(false));
  $("tickets-back").addEventListener("click", () => {
    $("ticket-read").hidden = true;
    $("tickets-list").hidden = false;
  });
}

/** The page is shown: the sites once, then the newest tickets. */
export async function showTickets() {
  if (!sitesLoaded) {
    sitesLoaded = true;
    const select = $("tickets-site");
    try {
      const reply = await app.call("/parley.v1.Sites/ListSites", "parley.v1.ListSitesRequest", {page_size: 100}, "parley.v1.ListSitesResponse");
      for (const site of reply.sites) select.append(new Option(site.name || site.id, site.id));
    } catch (err) { void err; }
    select.parentElement.hidden = select.options.length < 2;
  }
  $("ticket-read").hidden = true;
  $("tickets-list").hidden = false;
  await list(true);
}

async function list(first) {
  const out = $("tickets-results");
  const request = {site_id: $("tickets-site").value, page_size: 25};
  if (!first) request.page_token = next;
  else fill(out);
  $("tickets-more").hidden = true;
  $("tickets-error").textContent = "";
  try {
    const reply = await app.call(T + "ListTickets", "parley.v1.ListTicketsRequest", request, "parley.v1.ListTicketsResponse");
    next = reply.next_page_token;
    if (first && !reply.tickets.length) out.append(h("li", {class: "empty"}, t("noTickets")));
    out.append(...reply.tickets.map(row));
    $("tickets-more").hidden = !next;
  } catch (err) {
    $("tickets-error").textContent = t("loadFailed", {x: err.message});
  }
}

function row(ticket) {
  const when = new Date(Number(ticket.created_ms));
  return h("li", {class: "ticket-row"},
    h("button", {type: "button", class: "ticket-open", "data-ticket": ticket.id, onclick: () => read(ticket.id)},
      h("span", {class: "who"}, ticket.name || ticket.email || t("visitor")),
      h("time", {datetime: when.toISOString()}, stamp.format(when)),
      h("span", {class: "meta"}, ticket.email),
      h("span", {class: "snippet"}, ticket.text.slice(0, 140))));
}

async function read(id) {
  $("tickets-error").textContent = "";
  try {
    const ticket = await app.call(T + "GetTicket", "parley.v1.GetTicketRequest", {ticket_id: id}, "parley.v1.Ticket");
    const when = new Date(Number(ticket.created_ms));
    const rows = [
      [t("name"), ticket.name], [t("email"), ticket.email], [t("received"), stamp.format(when)],
      [t("language"), ticket.language], [t("page"), ticket.page_url],
    ].filter(([, v]) => v);
    $("ticket-title").textContent = ticket.name || ticket.email || t("visitor");
    fill($("ticket-body"),
      h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
      h("p", {class: "ticket-text"}, ticket.text));
    $("tickets-list").hidden = true;
    $("ticket-read").hidden = false;
    $("tickets-back").focus();
  } catch (err) {
    $("tickets-error").textContent = t("loadFailed", {x: err.message});
  }
}
