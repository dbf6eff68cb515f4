// Getting around the console: the notifications (notify.js), the keyboard and
// the palette (keys.js, palette.js), the pages (Chats, History, Tickets, Visitors), and
// resuming across a reload: each chat's last seq and read seq are kept in the
// tab's sessionStorage and given back to the State before the bridge's first
// hello, so a reload replays only what came after.
//
// app.js calls in at five places: restore(state) before the bridge starts,
// before(state, events) and after(state, events) around applying a batch,
// drawn(state) after each draw, and stop() at signing out.
import {$} from "./dom.js";
import {VIEWS} from "./state.js";
import {t} from "./i18n.js";
import {Notifier, titled} from "./notify.js";
import {wireKeys} from "./keys.js";
import {wirePalette} from "./palette.js";
import {wireHistory, showHistory, filterHistory, readConversation} from "./history.js";
import {wireTickets, showTickets} from "./tickets.js";
import {wireVisitors, showVisitors, visitorEvents} from "./visitors.js";
import {wireReports, showReports} from "./reports.js";
import {wireAdmin, showAdmin, allowedSections} from "./admin.js";

const SEQS_KEY = "parley.console.seqs";
const EPOCH_KEY = "parley.console.epoch";  // the epoch the kept seqs belong to
const KEEP = 500;              // chats whose resume points are kept
const PAGES = ["chats", "history", "tickets", "visitors", "reports", "admin"];
// The pages a role must hold something for (the server refuses their calls anyway).
const GATED = {tickets: (s) => s.can("view_tickets"), reports: (s) => s.can("view_statistics"),
  admin: (s) => allowedSections(s).length > 0};

export class Nav {
  /** ``app``: state(), bridge(), command(c), open(id), act(action, id), call(...). */
  constructor(app) {
    this.app = app;
    this.notifier = new Notifier();
    this.current = "chats";
    this.saveQueued = false;
    this.streamMessages = 0;    // message events the stream brought (tests read it)
    this.ticker = null;
    window.parleyNav = this;
    const ctx = {...app, page: (name) => this.page(name), notifyOn: () => this.enable("on"),
      notifyOff: () => this.notifier.choice !== "on"};
    wireKeys(ctx);
    wirePalette(() => this.chatItems());
    wireHistory(ctx);
    wireTickets(ctx);
    wireVisitors(ctx);
    wireReports({...ctx, drill: (f, label) => { filterHistory(f, label); this.page("history"); }});
    wireAdmin(ctx);
    for (const name of PAGES) $("page-" + name).addEventListener("click", () => this.page(name));
    $("notify-on").addEventListener("click", () => this.enable("on"));
    $("notify-off").addEventListener("click", () => this.enable("off"));
    const wake = () => this.notifier.wake();
    document.addEventListener("pointerdown", wake, {capture: true});
    document.addEventListener("keydown", wake, {capture: true});
    document.addEventListener("visibilitychange", () => { const s = app.state(); if (s) this.drawn(s); });
  }

  /** A new session (after login or reload): resume points back, the prompt if unanswered. */
  restore(state) {
    let kept = {};
    try { kept = JSON.parse(sessionStorage.getItem(SEQS_KEY) || "{}"); } catch (err) { void err; }
    state.epoch = sessionStorage.getItem(EPOCH_KEY) || "";
    for (const [id, [seq, read]] of Object.entries(kept)) {
      const chat = state.chat(id);
      chat.streamSeq = chat.lastSeq = seq;
      chat.readSeq = read;
    }
    this.streamMessages = 0;
    $("notify-ask").hidden = Boolean(this.notifier.choice);
    clearInterval(this.ticker);
    this.ticker = setInterval(() => {
      const s = this.app.state();
      if (s) this.notifier.tick(s, (id) => this.app.open(id));
    }, 1000);
    this.page("chats");
  }

  enable(choice) {
    this.notifier.choose(choice);
    $("notify-ask").hidden = true;
  }

  /** Before a batch is applied: what was true of the chats it touches. */
  before(state, events) {
    const was = new Map();
    for (const event of events) {
      const e = event[event.event];
      const id = e && (e.conversation_id || (e.card && e.card.conversation_id));
      if (!id || was.has(id)) continue;
      const chat = state.chats.get(id);
      was.set(id, {offered: Boolean(chat && chat.offer), waiting: Boolean(chat && chat.view === "new")});
    }
    return was;
  }

  /** After a batch: sounds and notifications, and the resume points saved. */
  after(state, events, was) {
    for (const event of events) if (event.event === "message") this.streamMessages += 1;
    visitorEvents(events);
    this.notifier.events(state, events, was, (id) => this.app.open(id));
    this.save();
  }

  save() {
    if (this.saveQueued) return;
    this.saveQueued = true;
    setTimeout(() => {
      this.saveQueued = false;
      const s = this.app.state();
      if (!s) return;
      const kept = [...s.chats.values()].filter((c) => c.streamSeq > 0)
        .sort((a, b) => b.lastSeq - a.lastSeq).slice(0, KEEP);
      sessionStorage.setItem(SEQS_KEY, JSON.stringify(Object.fromEntries(kept.map((c) => [c.id, [c.streamSeq, c.readSeq]]))));
      sessionStorage.setItem(EPOCH_KEY, s.epoch);
    }, 250);
  }

  /** After each draw: the title's count and which pages the role may see. */
  drawn(state) {
    titled(Notifier.unread(state));
    for (const [name, may] of Object.entries(GATED)) {
      $("page-" + name).hidden = !may(state);
      if (this.current === name && !may(state) && state.role.name) this.page("chats");
    }
    this.save();
  }

  /** Show a page: chats, history, tickets or visitors. */
  page(name) {
    if (!PAGES.includes(name)) return;
    const changed = name !== this.current;
    this.current = name;
    document.body.dataset.page = name;
    for (const p of PAGES) {
      $("page-" + p).setAttribute("aria-pressed", String(p === name));
      if (p !== "chats") $(p + "-page").hidden = p !== name;
    }
    if (!changed) return;
    showVisitors(name === "visitors");
    if (name === "history") showHistory();
    else if (name === "tickets") showTickets();
    else if (name === "reports") showReports();
    else if (name === "admin") showAdmin();
  }

  /** A visitor's earlier chat (a Conversation), read on the History page. */
  openPast(c) {
    readConversation(c);
    this.page("history");
  }

  /** The palette's chat items: every listed chat, in the lists' order. */
  chatItems() {
    const s = this.app.state();
    if (!s) return [];
    const out = [];
    for (const view of VIEWS) {
      for (const chat of s.inView(view)) {
        const n = chat.unread();
        out.push({id: "chat-" + chat.id, label: t("openChat", {x: chat.name}), hint: t(view) + (n ? " · " + n : ""),
          run: () => { this.page("chats"); this.app.open(chat.id); }});
      }
    }
    return out;
  }

  stop() {
    clearInterval(this.ticker);
    sessionStorage.removeItem(SEQS_KEY);
    titled(0);
  }
}
