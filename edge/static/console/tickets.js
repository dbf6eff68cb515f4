// The Tickets page: the offline requests visitors left when nobody could chat
// and the missed chats of visitors who gave an email (Tickets.ListTickets,
// newest first, a page at a time, per site), one opened in full with
// GetTicket, and its lifecycle: assigned to oneself (UpdateTicket's
// assignee_id), answered by email (ReplyToTicket: the ticket is answered, the
// reply listed), closed or opened again (UpdateTicket's status); a missed
// chat's transcript one click away. Shown to roles with view_tickets; the
// server narrows them to the departments the operator may see.
import {h, fill, $} from "./dom.js";
import {t, stamp, addWords} from "./i18n.js";
import {said} from "./forms.js";
import {readConversation} from "./history.js";

addWords({
  en: {
    tk_open: "Open", tk_assigned: "Assigned", tk_answered: "Answered", tk_closed: "Closed",
    tkMissedChat: "Missed chat", tkRequest: "Request", tkStatus: "Status", tkAssignee: "Assigned to",
    tkAssignMe: "Assign to me", tkClose: "Close ticket", tkReopen: "Open again", tkReplies: "Answers sent",
    tkReply: "Answer by email", tkReplyLabel: "Your answer (sent to {x})", tkSend: "Send the answer",
    tkNoEmail: "The visitor left no email: nothing can be sent.", tkSent: "Sent to {x}.",
    tkOpenChat: "Read the missed chat", tkYou: "you",
  },
  de: {
    tk_open: "Offen", tk_assigned: "Zugewiesen", tk_answered: "Beantwortet", tk_closed: "Geschlossen",
    tkMissedChat: "Verpasster Chat", tkRequest: "Anfrage", tkStatus: "Status", tkAssignee: "Zugewiesen an",
    tkAssignMe: "Mir zuweisen", tkClose: "Ticket schließen", tkReopen: "Wieder öffnen", tkReplies: "Gesendete Antworten",
    tkReply: "Per E-Mail antworten", tkReplyLabel: "Ihre Antwort (an {x})", tkSend: "Antwort senden",
    tkNoEmail: "Der Besucher hat keine E-Mail hinterlassen: nichts kann gesendet werden.", tkSent: "An {x} gesendet.",
    tkOpenChat: "Den verpassten Chat lesen", tkYou: "Sie",
  },
});

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
      h("span", {class: "meta"}, [t("tk_" + (ticket.status || "open")),
        ticket.kind === "missed_chat" ? t("tkMissedChat") : t("tkRequest"), ticket.email].filter(Boolean).join(" · ")),
      h("span", {class: "snippet"}, ticket.text.slice(0, 140))));
}

async function read(id) {
  $("tickets-error").textContent = "";
  try {
    const ticket = await app.call(T + "GetTicket", "parley.v1.GetTicketRequest", {ticket_id: id}, "parley.v1.Ticket");
    show(ticket);
    $("tickets-list").hidden = true;
    $("ticket-read").hidden = false;
    $("tickets-back").focus();
  } catch (err) {
    $("tickets-error").textContent = t("loadFailed", {x: err.message});
  }
}

/** Who a ticket is assigned to, as the operator reads it. */
function assignee(ticket) {
  if (!ticket.assignee_id) return "";
  const state = app.state();
  if (state && ticket.assignee_id === state.me.operator_id) return t("tkYou");
  const mate = state && state.team ? state.team.people.get(ticket.assignee_id) : null;
  return (mate && (mate.name || mate.display_name)) || ticket.assignee_id;
}

/** Draw an opened ticket: its facts, text, answers, and what can be done. */
function show(ticket) {
  const when = new Date(Number(ticket.created_ms));
  const rows = [
    [t("tkStatus"), t("tk_" + (ticket.status || "open")) + " · " + (ticket.kind === "missed_chat" ? t("tkMissedChat") : t("tkRequest"))],
    [t("tkAssignee"), assignee(ticket)],
    [t("name"), ticket.name], [t("email"), ticket.email], [t("received"), stamp.format(when)],
    [t("language"), ticket.language], [t("page"), ticket.page_url],
  ].filter(([, v]) => v);
  $("ticket-title").textContent = ticket.name || ticket.email || t("visitor");
  const problem = h("p", {class: "error", role: "alert"});
  const done = h("p", {class: "meta", role: "status"});
  const update = async (fields, values) => {
    problem.textContent = "";
    try {
      const saved = await app.call(T + "UpdateTicket", "parley.v1.UpdateTicketRequest",
        {ticket: {id: ticket.id, ...values}, update_mask: {paths: fields}}, "parley.v1.Ticket");
      show(saved);
      $("ticket-body").querySelector(".ticket-actions button")?.focus();
    } catch (err) { problem.textContent = said(err); }
  };
  const me = app.state() ? app.state().me.operator_id : "";
  const closed = ticket.status === "closed";
  const actions = h("div", {class: "ticket-actions"},
    ticket.assignee_id !== me && !closed
      ? h("button", {type: "button", "data-ticket-action": "assign", onclick: () => update(["assignee_id"], {assignee_id: me})}, t("tkAssignMe")) : null,
    ticket.conversation_id
      ? h("button", {type: "button", "data-ticket-action": "chat", onclick: () => openChat(ticket.conversation_id)}, t("tkOpenChat")) : null,
    closed
      ? h("button", {type: "button", "data-ticket-action": "reopen", onclick: () => update(["status"], {status: "open"})}, t("tkReopen"))
      : h("button", {type: "button", "data-ticket-action": "close", onclick: () => update(["status"], {status: "closed"})}, t("tkClose")));
  const replies = ticket.replies.map((r) => {
    const at = new Date(Number(r.sent_ms));
    return h("div", {class: "msg operator"},
      h("div", {class: "head"}, h("span", {class: "author"}, r.operator_name),
        h("time", {datetime: at.toISOString()}, stamp.format(at))),
      h("p", {class: "text"}, r.text));
  });
  let form = h("p", {class: "meta"}, t("tkNoEmail"));
  if (ticket.email) {
    const boxId = "ticket-reply-text";
    const box = h("textarea", {id: boxId, rows: 4, maxlength: "20000"});
    const send = h("button", {type: "submit", class: "primary"}, t("tkSend"));
    form = h("form", {class: "ticket-reply"},
      h("label", {for: boxId}, t("tkReplyLabel", {x: ticket.email})), box, send);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = box.value.trim();
      if (!text) { box.focus(); return; }
      problem.textContent = "";
      send.disabled = true;
      try {
        const saved = await app.call(T + "ReplyToTicket", "parley.v1.ReplyToTicketRequest",
          {ticket_id: ticket.id, text}, "parley.v1.Ticket");
        show(saved);
        $("ticket-body").querySelector("[role=status]").textContent = t("tkSent", {x: ticket.email});
      } catch (err) { problem.textContent = said(err); send.disabled = false; }  // the text stays as typed
    });
  }
  fill($("ticket-body"),
    h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    h("p", {class: "ticket-text"}, ticket.text),
    actions, problem, done,
    replies.length ? [h("h3", null, t("tkReplies")), h("div", {class: "ticket-replies"}, replies)] : null,
    closed ? null : [h("h3", null, t("tkReply")), form]);
}

async function openChat(id) {
  try {
    const c = await app.call("/parley.v1.Conversations/GetConversation", "parley.v1.GetConversationRequest",
      {conversation_id: id}, "parley.v1.Conversation");
    readConversation(c);
    app.page("history");
  } catch (err) { $("tickets-error").textContent = t("loadFailed", {x: err.message}); }
}
