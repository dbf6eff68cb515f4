// The Visitors page: who is on the account's sites now (Visitors.ListOnlineVisitors,
// in the order they came, a page at a time, per site), re-read when the stream's
// coalesced count changes (VisitorsOnline, a second at most, never per page
// view). "Invite" (roles with invite_visitors) opens a dialog for the words;
// how the invitation ended comes back as InvitationEnded and is said here.
import {h, fill, $} from "./dom.js";
import {t, since} from "./i18n.js";
import {openDialog, uid} from "./dialogs.js";

const V = "/parley.v1.Visitors/";
let app = null;
let next = "";
let shown = false;
let sitesLoaded = false;
let loading = null;

/** Wire the page once; ``ctx`` gives state() and call(method, input, request, output). */
export function wireVisitors(ctx) {
  app = ctx;
  $("visitors-site").addEventListener("change", () => list(true));
  $("visitors-more").addEventListener("click", () => list(false));
}

/** The page is shown (true) or left (false): the sites once, then the list. */
export async function showVisitors(on) {
  shown = on;
  if (!on) return;
  if (!sitesLoaded) {
    sitesLoaded = true;
    const select = $("visitors-site");
    try {
      const reply = await app.call("/parley.v1.Sites/ListSites", "parley.v1.ListSitesRequest", {page_size: 100}, "parley.v1.ListSitesResponse");
      for (const site of reply.sites) select.append(new Option(site.name || site.id, site.id));
    } catch (err) { void err; }
    select.parentElement.hidden = select.options.length < 2;
  }
  await list(true);
}

/** The stream's events: the count (re-read the list in sight) and invitations' ends. */
export function visitorEvents(events) {
  for (const event of events) {
    if (event.event === "visitors_online") {
      $("visitors-count").textContent = t("visitorsNow", {n: event.visitors_online.visitors});
      if (shown && !loading) list(true);
    } else if (event.event === "invitation_ended") {
      const e = event.invitation_ended;
      $("visitors-note").textContent = t("invitation_" + e.outcome, {x: e.visitor_id});
    }
  }
}

async function list(first) {
  const out = $("visitors-results");
  const request = {site_id: $("visitors-site").value, page_size: 50};
  if (!first) request.page_token = next;
  $("visitors-error").textContent = "";
  const call = app.call(V + "ListOnlineVisitors", "parley.v1.ListOnlineVisitorsRequest", request, "parley.v1.ListOnlineVisitorsResponse");
  loading = call;
  try {
    const reply = await call;
    if (first) fill(out);
    next = reply.next_page_token;
    if (first && !reply.visitors.length) out.append(h("li", {class: "empty"}, t("noVisitors")));
    out.append(...reply.visitors.map(row));
    $("visitors-more").hidden = !next;
  } catch (err) {
    $("visitors-error").textContent = t("loadFailed", {x: err.message});
  } finally {
    if (loading === call) loading = null;
  }
}

function row(v) {
  const may = app.state() && app.state().can("invite_visitors");
  // Why Invite cannot be used, said beside it (not only to a pointer's tooltip).
  const why = !may ? t("inviteNotAllowed") : v.conversation_id ? t("whyInviteInChat")
    : v.invited_by ? t("whyInviteInvited") : "";
  const whyId = why ? "why-invite-" + v.visitor_id : null;
  const facts = [
    since(Date.now() - Number(v.arrived_ms)),
    v.returning ? t("returning") : t("newVisitor"),
    v.language,
    v.conversation_id ? t("inChat") : v.invited_by ? t("invitedAlready") : "",
    v.referrer ? t("cameFrom", {x: v.referrer}) : "",
  ].filter(Boolean);
  return h("li", {class: "visitor-row", "data-visitor": v.visitor_id},
    h("span", {class: "who"}, v.name || t("visitor")),
    h("span", {class: "page"}, [v.page_title, v.page_url].filter(Boolean).join(" · ")),
    h("span", {class: "meta"}, facts.join(" · ")),
    h("button", {type: "button", class: "invite", disabled: Boolean(why), "aria-describedby": whyId,
      "aria-label": t("inviteWho", {x: v.name || t("visitor")}), onclick: () => invite(v)}, t("invite")),
    why ? h("span", {class: "invite-why", id: whyId}, why) : null);
}

function invite(v) {
  openDialog(t("inviteWho", {x: v.name || t("visitor")}), (body, close) => {
    const id = uid("invite-text");
    const text = h("textarea", {id, rows: 3, maxlength: 4000, required: true, autofocus: true});
    text.value = t("inviteDefault");
    const error = h("p", {class: "error", role: "alert"});
    const form = h("form", {class: "dlg-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await app.call(V + "InviteVisitor", "parley.v1.InviteVisitorRequest",
          {visitor_id: v.visitor_id, text: text.value}, "parley.v1.InviteVisitorResponse");
        $("visitors-note").textContent = t("invitationSent", {x: v.name || t("visitor")});
        close();
      } catch (err) {
        error.textContent = t("refused", {x: err.message});
      }
    }},
    h("label", {for: id}, t("inviteWords")), text, error,
    h("div", {class: "dlg-buttons"}, h("button", {type: "submit", class: "primary"}, t("invite"))));
    body.append(form);
  });
}
