// The operators' console: signing in and out, the session through the bridge,
// and the three panes kept in step with the session's events. Commands that
// cannot go out while the socket is down wait: sends stay pending and are sent
// again with their client id once the session is back (never stored twice).
import {$} from "./dom.js";
import {t} from "./i18n.js";
import {Bridge, login} from "./bridge.js";
import {State} from "./state.js";
import {drawLists} from "./list.js";
import {drawChat, showOlder} from "./chat.js";
import {drawVisitor} from "./visitor.js";
import {wireComposer} from "./composer.js";
import {wireAttachments} from "./attachments.js";
import {actionsDialog, actionEvent, loadDepartments} from "./actions.js";
import {drawTeam, loadTeam, pendingDirect, teamEvent, wireTeam} from "./colleagues.js";
import {closeDialog, refreshDialog} from "./dialogs.js";
import {Nav} from "./nav.js";
import {closeMenu, drawMenu, wireMenu} from "./menu.js";
import {profileDialog, hours} from "./profile.js";
import {register} from "./commands.js";

const TOKEN_KEY = "parley.console.token";
const C = "/parley.v1.";
let state = null;
let bridge = null;
let drawQueued = false;
let wasReady = false;
// What the actions, colleagues and dialogs modules reach of the app.
const extras = {state: () => state, bridge: () => bridge, draw: () => draw()};
let nav = null;

function banner(text, kind) {
  const el = $("banner");
  el.textContent = text;
  el.className = "banner " + (kind || "");
  el.hidden = !text;
}

/** Redraw once after the current batch of changes: every batch that comes
    before the next frame is drawn in that frame, once. A timer stands in when
    no frame comes soon (a hidden tab paints none, yet keeps its title and read
    marks; a flood of events can hold frames back). */
function draw() {
  if (drawQueued) return;
  drawQueued = true;
  const run = () => { if (drawQueued) drawNow(); };
  if (!document.hidden) requestAnimationFrame(run);
  setTimeout(run, document.hidden ? 50 : 100);
}

function drawNow() {
  drawQueued = false;
  if (!state) return;
  drawLists(state, act, Date.now());
  drawChat(state);
  drawVisitor(state.chats.get(state.openId), (c) => nav.openPast(c));
  $("status").value = state.me.status || "offline";
  drawTeam(state, extras);
  refreshDialog();
  markRead();
  nav.drawn(state);
  drawMenu();
}

function command(c) { return bridge.send([c]); }

function act(action, id) {
  const chat = state.chat(id);
  if (action === "open") openChat(id);
  else if (action === "accept") { command({answer: {conversation_id: id, accept: true}}); openChat(id); }
  else if (action === "decline") { command({answer: {conversation_id: id, accept: false}}); chat.offer = null; }
  else if (action === "take") { command({pick: {conversation_id: id}}); openChat(id); }
  draw();
}

async function openChat(id) {
  state.openId = id;
  const chat = state.chat(id);
  $("composer").value = chat.draft;
  drawNow();  // a click is answered in its own frame
  if (chat.messages.size < 30) await loadOlder(chat);  // a resumed chat holds only the newest
  loadVisitor(chat);
}

async function loadVisitor(chat) {
  try {
    chat.info = await bridge.call(C + "Conversations/GetVisitorInfo", "parley.v1.GetVisitorInfoRequest",
      {conversation_id: chat.id}, "parley.v1.VisitorInfo");
    draw();
  } catch (err) { void err; /* no sight of it (yet): the panel says so */ }
  if (chat.past || !chat.card || !chat.card.visitor_id) return;
  try {  // the visitor's chats the role may see, newest first
    const reply = await bridge.call(C + "Conversations/ListConversations", "parley.v1.ListConversationsRequest",
      {filter: {visitor_id: chat.card.visitor_id}, order_by: "time", page_size: 11}, "parley.v1.ListConversationsResponse");
    chat.past = reply.conversations.filter((c) => c.id !== chat.id).slice(0, 10);
    draw();
  } catch (err) { void err; chat.past = []; }
}

/** The page of messages before the oldest held (or the last page). */
export async function loadOlder(chat) {
  if (showOlder(chat)) { draw(); return; }  // held already, not drawn yet
  if (chat.loadingOlder || chat.firstLoaded === 1) return;
  const request = {conversation_id: chat.id, page_size: 30};
  if (chat.firstLoaded) request.before_seq = chat.firstLoaded;
  else if (chat.lastSeq) request.before_seq = chat.lastSeq + 1;
  chat.loadingOlder = true;
  draw();
  try {
    const page = await bridge.call(C + "Conversations/ListMessages", "parley.v1.ListMessagesRequest",
      request, "parley.v1.ListMessagesResponse");
    for (const m of page.messages) chat.add(m, false);
    if (!page.messages.length) chat.firstLoaded = 1;  // nothing older
    showOlder(chat);
  } catch (err) { void err; } finally { chat.loadingOlder = false; draw(); }
}

function markRead() {
  const chat = state.chats.get(state.openId);
  if (!chat || !chat.mine || chat.closed || document.hidden) return;
  let top = 0;
  for (const m of chat.messages.values()) if (m.author_kind === 1) top = Math.max(top, m.seq);
  if (top > chat.readSeq && command({read: {conversation_id: chat.id, seq: top}})) chat.readSeq = top;
}

/** A send the server was too busy to take goes again after its hint, with
 * the same client id (stored once whatever happens). */
function retryLater(event) {
  if (event.event !== "error") return;
  const e = event.error;
  const chat = e.conversation_id ? state.chats.get(e.conversation_id) : null;
  const sent = chat && chat.pending.get(e.client_msg_id);
  if (!sent || !sent.retryIn) return;
  const wait = sent.retryIn;
  sent.retryIn = 0;
  setTimeout(() => {
    if (!bridge || sent.failed || chat.pending.get(e.client_msg_id) !== sent) return;
    const body = {conversation_id: chat.id, client_msg_id: e.client_msg_id, text: sent.text};
    bridge.send([sent.whisper ? {whisper: body} : {send: body}]);
  }, wait);
}

/** Send what waited for the session (sends keep their client id). */
function flushPending() {
  const commands = [];
  for (const chat of state.chats.values()) {
    for (const [cid, sent] of chat.pending) {
      if (sent.failed) continue;
      const body = {conversation_id: chat.id, client_msg_id: cid, text: sent.text};
      commands.push(sent.whisper ? {whisper: body} : {send: body});
    }
  }
  commands.push(...pendingDirect(state));
  if (commands.length) bridge.send(commands);
}

/** Show who is signed in (its name opens the profile; the status says its hours). */
function showMe(me) {
  state.me.profile = me;
  state.me.display_name = me.display_name;
  $("me").textContent = me.display_name;
  $("me").title = t("profile");
  $("status").title = t("pHours") + ": " + hours(me);
}

function openProfile() {
  if (!state) return;
  closeMenu();
  profileDialog({
    state: () => state, call: (...args) => bridge.call(...args),
    saved: (me, words) => {
      if (!state) return;
      showMe(me);
      if (words) {
        banner(words, "ok");
        setTimeout(() => { if ($("banner").textContent === words) banner(""); }, 4000);
      }
    },
  });
}

async function whoAmI() {
  const me = await bridge.call(C + "Auth/GetMe", "parley.v1.GetMeRequest", {}, "parley.v1.Operator");
  showMe(me);
  try {
    const role = await bridge.call(C + "Roles/GetRole", "parley.v1.GetRoleRequest", {name: me.role}, "parley.v1.Role");
    state.role = {name: role.name, permissions: new Set(role.permissions)};
  } catch (err) { void err; state.role = {name: me.role, permissions: new Set(["chat"])}; }
  loadTeam(extras).catch(() => {});
  loadDepartments(extras).catch(() => {});
  draw();
}

function onState(name, detail) {
  if (name === "connecting") banner(t("connecting"), "info");
  else if (name === "reconnecting") banner(t("reconnecting"), "warn");
  else if (name === "ready") {
    if (wasReady) {
      banner(t("synced"), "ok");
      setTimeout(() => { if ($("banner").textContent === t("synced")) banner(""); }, 4000);
    } else {
      banner("");
      whoAmI().catch(() => {});
    }
    wasReady = true;
    state.me.max_chats = detail.session.max_chats || state.me.max_chats;
    flushPending();
    draw();
  } else if (name === "ended") {
    // A token refused before the console was ever ready: a mistyped API token.
    signOut(!wasReady && detail && (detail.reason === "bad_token" || detail.code === 4401) ? t("badToken") : t("sessionEnded"));
  }
}

function start(token) {
  state = new State();
  wasReady = false;
  nav = nav || new Nav({
    state: () => state, bridge: () => bridge, command: (c) => bridge && command(c), act,
    open: (id) => act("open", id), call: (...args) => bridge.call(...args),
  });
  nav.restore(state);
  $("login").hidden = true;
  $("app").hidden = false;
  bridge = new Bridge(token, {
    resume: () => state.resume(),
    epoch: () => state.epoch,
    events: (events) => {
      const now = Date.now();
      const was = nav.before(state, events);
      for (const event of events) {
        state.apply(event, now);
        retryLater(event);
        teamEvent(state, event);
        actionEvent(state, event);
      }
      nav.after(state, events, was);
      // The visitors on the site changed (a page, an arrival): the open
      // chat's visitor panel shows the page it is on now.
      const open = state.chats.get(state.openId);
      if (open && open.info && events.some((e) => e.event === "visitors_online")) loadVisitor(open);
      draw();
    },
    state: onState,
  });
  window.parleyConsole = {drop: () => bridge.drop(), state: () => state};
  wireComposer({state: () => state, bridge: () => bridge, draw, loadOlder});
  if (!$("attach")) wireAttachments(() => state && state.openId);
  wireTeam(extras);
  bridge.start();
}

async function signOut(message) {
  const ending = bridge;
  bridge = null;
  if (ending) {
    ending.on.state = () => {};  // the logout ends the stream: not "session ended"
    if (!message) await ending.call(C + "Auth/Logout", "parley.v1.LogoutRequest", {}, null).catch(() => {});
    ending.stop();
  }
  closeDialog();
  closeMenu();
  $("team").hidden = true;
  state = null;
  nav.stop();
  sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("password").value = "";
  $("email").focus();
}

function setUp() {
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", t(el.dataset.tLabel));
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
  $("composer").dataset.reply = t("compose");
  $("composer").dataset.note = t("composeNote");
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("sign-in");
    button.disabled = true;
    $("login-error").textContent = "";
    try {
      const reply = await login($("email").value, $("password").value);
      sessionStorage.setItem(TOKEN_KEY, reply.token);
      start(reply.token);
    } catch (err) {
      $("login-error").textContent = err.reason === "BAD_CREDENTIALS" ? t("badLogin") : t("loginFailed", {x: err.message});
    } finally { button.disabled = false; }
  });
  // A kiosk's API token (parley token create) stands in for the password:
  // the bridge checks it as it checks a login's.
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("api-token").value.trim();
    if (!token) return;
    $("api-token").value = "";
    $("login-error").textContent = "";
    sessionStorage.setItem(TOKEN_KEY, token);
    start(token);
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("me").addEventListener("click", openProfile);
  register({id: "profile", title: () => t("profile"), when: () => Boolean(state && state.me.profile), run: openProfile});
  wireMenu();
  $("status").addEventListener("change", (e) => { command({status: {status: e.target.value}}); });
  $("close-chat").addEventListener("click", () => { command({close: {conversation_id: state.openId}}); });
  $("accept-offer").addEventListener("click", () => act("accept", state.openId));
  $("decline-offer").addEventListener("click", () => act("decline", state.openId));
  $("actions").addEventListener("click", () => actionsDialog(extras));
  $("back").addEventListener("click", () => { state.openId = ""; draw(); });
  setInterval(() => { if (state) draw(); }, 5000);  // wait times count up
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) start(token); else $("email").focus();
}

setUp();
