// Colleagues: the operators list (Operators.ListOperators once, then the
// session's presence events live), each one's load as the chat cards in sight
// show it, and the internal chat (the session's direct events and DirectSend;
// DirectMessages.ListDirectMessages for the history), with unread counts.
// Colleagues are shown by their internal name (the display name when none):
// visitors see the display name, colleagues the internal one.
import {h, fill, $} from "./dom.js";
import {t, clock, stamp} from "./i18n.js";

const C = "/parley.v1.";
const STATUS_ORDER = {online: 0, away: 1, offline: 2};

/** What the console knows of the colleagues: kept on the State (one per sign-in). */
export class Team {
  constructor() {
    this.people = new Map();   // operator_id -> {id, name, display_name, status, max_chats}
    this.threads = new Map();  // operator_id -> {messages: Map seq->msg, pending: Map cid->text, unread, loaded}
    this.openWith = "";        // whose internal chat is open in the panel
    this.panelOpen = false;
  }

  person(id) {
    let p = this.people.get(id);
    if (!p) { p = {id, name: "", display_name: "", status: "offline", max_chats: 0}; this.people.set(id, p); }
    return p;
  }

  thread(id) {
    let th = this.threads.get(id);
    if (!th) { th = {messages: new Map(), pending: new Map(), unread: 0, loaded: false}; this.threads.set(id, th); }
    return th;
  }

  unread() {
    let n = 0;
    for (const th of this.threads.values()) n += th.unread;
    return n;
  }

  /** The chats each operator is in, counted from the cards in sight. */
  loads(state) {
    const out = new Map();
    for (const chat of state.chats.values()) {
      const card = chat.card;
      if (!card || chat.closed || card.status === "closed" || !card.operator_ids) continue;
      for (const id of card.operator_ids) out.set(id, (out.get(id) || 0) + 1);
    }
    out.set(state.me.operator_id, state.mineCount());
    return out;
  }

  /** Colleagues (not oneself), online first, then by name. */
  sorted(state) {
    return [...this.people.values()]
      .filter((p) => p.id !== state.me.operator_id)
      .sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || label(a).localeCompare(label(b)));
  }
}

/** The name a colleague is shown by. */
export function label(p) { return p.name || p.display_name || p.id; }

/** The team of ``state`` (made on first use). */
export function team(state) {
  if (!state.team) state.team = new Team();
  return state.team;
}

/** Take one session event (presence, direct). */
export function teamEvent(state, event) {
  const e = event[event.event];
  const tm = team(state);
  if (event.event === "presence") {
    const p = tm.person(e.operator_id);
    p.status = e.status;
    p.display_name = e.display_name || p.display_name;
  } else if (event.event === "direct") {
    const other = e.from_operator_id === state.me.operator_id ? e.to_operator_id : e.from_operator_id;
    const th = tm.thread(other);
    const fresh = !th.messages.has(e.seq);
    th.messages.set(e.seq, e);
    th.pending.delete(e.client_msg_id);
    const seeing = tm.panelOpen && tm.openWith === other && !document.hidden;
    if (fresh && e.from_operator_id !== state.me.operator_id && !seeing) th.unread += 1;
  } else if (event.event === "error" && e.client_msg_id) {
    for (const th of tm.threads.values()) {
      const sent = th.pending.get(e.client_msg_id);
      if (sent) sent.failed = e.code;
    }
  }
}

/** The operators list, with internal names and limits (needs view_operators). */
export async function loadTeam(app) {
  const state = app.state();
  if (!state.can("view_operators")) return;
  const tm = team(state);
  let token = "";
  for (let page = 0; page < 10; page += 1) {
    const reply = await app.bridge().call(C + "Operators/ListOperators", "parley.v1.ListOperatorsRequest",
      {page_size: 200, page_token: token}, "parley.v1.ListOperatorsResponse");
    for (const o of reply.operators) {
      if (o.disabled) continue;
      const p = tm.person(o.id);
      Object.assign(p, {name: o.internal_name, display_name: o.display_name, max_chats: o.max_chats});
      if (o.status) p.status = o.status;
    }
    token = reply.next_page_token;
    if (!token) break;
  }
  app.draw();
}

async function loadThread(app, id) {
  const tm = team(app.state());
  const th = tm.thread(id);
  if (th.loaded) return;
  th.loaded = true;
  let after = 0;
  try {
    for (let page = 0; page < 20; page += 1) {
      const reply = await app.bridge().call(C + "DirectMessages/ListDirectMessages",
        "parley.v1.ListDirectMessagesRequest", {with_operator_id: id, after_seq: after, page_size: 200},
        "parley.v1.ListDirectMessagesResponse");
      for (const m of reply.messages) { th.messages.set(m.seq, m); after = Math.max(after, m.seq); }
      if (!reply.next_page_token || !reply.messages.length) break;
    }
  } catch (err) { void err; th.loaded = false; }
  app.draw();
}

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "d" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Draw the top bar's button (with its unread badge) and the panel. */
export function drawTeam(state, app) {
  const tm = team(state);
  const unread = tm.unread();
  const badge = $("team-unread");
  badge.textContent = unread ? String(unread) : "";
  badge.hidden = !unread;
  $("team-toggle").setAttribute("aria-label", unread ? t("colleaguesUnread", {n: unread}) : t("colleagues"));
  $("team-toggle").setAttribute("aria-expanded", tm.panelOpen ? "true" : "false");
  $("team").hidden = !tm.panelOpen;
  if (!tm.panelOpen) return;
  if (tm.openWith) drawThread(state, app, tm.openWith);
  else drawList(state, app);
}

function drawList(state, app) {
  const tm = team(state);
  const loads = tm.loads(state);
  const people = tm.sorted(state);
  $("team-title").textContent = t("colleagues");
  $("team-back").hidden = true;
  $("team-form").hidden = true;
  fill($("team-body"), people.length
    ? h("ul", {class: "team-list", role: "list"}, people.map((p) => {
      const th = tm.threads.get(p.id);
      const load = loads.get(p.id) || 0;
      return h("li", null, h("button", {
        type: "button", class: "mate", "data-operator": p.id, onclick: () => openThread(app, p.id),
      },
      h("span", {class: "dot " + p.status, "aria-hidden": "true"}),
      h("span", {class: "mate-name"}, label(p)),
      th && th.unread ? h("span", {class: "badge", "aria-label": t("unread", {n: th.unread})}, String(th.unread)) : null,
      h("span", {class: "mate-meta"}, t(p.status) + " · " + t("load", {n: load, m: p.max_chats || "?"}))));
    }))
    : h("p", {class: "empty"}, t("noColleagues")));
}

function drawThread(state, app, id) {
  const tm = team(state);
  const p = tm.person(id);
  const th = tm.thread(id);
  if (tm.panelOpen && !document.hidden) th.unread = 0;
  $("team-title").textContent = label(p);
  $("team-back").hidden = false;
  $("team-form").hidden = false;
  const log = $("team-body");
  const items = [...th.messages.values()].sort((a, b) => a.seq - b.seq).map((m) => {
    const own = m.from_operator_id === state.me.operator_id;
    const when = new Date(m.sent_at_ms);
    return h("div", {class: "msg dm " + (own ? "operator own" : "visitor"), "data-seq": m.seq},
      h("div", {class: "head"}, h("span", {class: "author"}, own ? t("you") : label(p)),
        h("time", {datetime: when.toISOString(), title: stamp.format(when)}, clock.format(when))),
      h("p", {class: "text"}, m.text));
  });
  for (const [cid, sent] of th.pending) {
    items.push(h("div", {class: "msg dm operator own pending", "data-cid": cid},
      h("div", {class: "head"}, h("span", {class: "author"}, t("you")),
        sent.failed ? h("span", {class: "failed"}, t("failed", {x: sent.failed})) : h("span", {class: "sending"}, "…")),
      h("p", {class: "text"}, sent.text)));
  }
  fill(log, items.length ? items : h("p", {class: "empty"}, t("noDirect")));
  log.scrollTop = log.scrollHeight;
}

function openThread(app, id) {
  const tm = team(app.state());
  tm.openWith = id;
  tm.thread(id).unread = 0;
  app.draw();
  loadThread(app, id);
  setTimeout(() => $("team-input").focus(), 0);
}

function togglePanel(app, open) {
  const state = app.state();
  if (!state) return;
  const tm = team(state);
  tm.panelOpen = open;
  app.draw();
  if (open) setTimeout(() => { const b = $("team").querySelector("button.mate, #team-input"); if (b) b.focus(); }, 0);
  else $("team-toggle").focus();
}

let wired = false;

/** Wire the colleagues panel once; ``app`` gives state(), bridge(), draw(). */
export function wireTeam(app) {
  if (wired) return;
  wired = true;
  $("me").before(h("button", {id: "team-toggle", type: "button", class: "team-toggle", "aria-controls": "team"},
    t("colleagues"), " ", h("span", {id: "team-unread", class: "badge", hidden: true})));
  $("team-toggle").addEventListener("click", () => togglePanel(app, !team(app.state()).panelOpen));
  $("team-close").addEventListener("click", () => togglePanel(app, false));
  $("team-back").addEventListener("click", () => {
    team(app.state()).openWith = "";
    app.draw();
    setTimeout(() => { const b = $("team").querySelector("button.mate"); if (b) b.focus(); }, 0);
  });
  $("team").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); togglePanel(app, false); } });
  const input = $("team-input");
  const send = () => {
    const state = app.state();
    const tm = team(state);
    const text = input.value.trim();
    if (!text || !tm.openWith) return;
    const cid = clientId();
    tm.thread(tm.openWith).pending.set(cid, {text});
    app.bridge().send([{direct: {to_operator_id: tm.openWith, client_msg_id: cid, text}}]);
    input.value = "";
    app.draw();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $("team-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
}

/** Direct messages that waited for the session (sent again with their client id). */
export function pendingDirect(state) {
  const out = [];
  for (const [id, th] of team(state).threads) {
    for (const [cid, sent] of th.pending) if (!sent.failed) out.push({direct: {to_operator_id: id, client_msg_id: cid, text: sent.text}});
  }
  return out;
}
