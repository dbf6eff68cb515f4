// Telling the operator something happened: a sound per kind of event (made
// with the Web Audio API, no audio files), a desktop notification while the
// console is out of sight, the unread count in the tab's title, and a waiting
// chat nobody takes alerting again every ALERT_AFTER seconds, louder and
// repeated each time.
//
// Browsers start sound and notifications only after a gesture: the "Enable
// sound and notifications" prompt after login is that gesture, and the choice
// is kept in localStorage. After a reload the audio context waits for the
// first key or click. The sounds called for are logged, heard or not
// (window.parleyNav.notifier.log), which the tests read: a test cannot listen.
import {AUTHOR} from "./state.js";
import {t} from "./i18n.js";

const CHOICE_KEY = "parley.console.notify";
const AFTER_KEY = "parley.console.alertAfter";
const GAP_MS = 700;          // one sound at a time: a burst of events plays once
const FRESH_MS = 60000;      // older messages (a replay) make no sound

// Each kind: notes of [frequency Hz, start s, length s], and a type of wave.
const TUNES = {
  offer: {wave: "sine", notes: [[660, 0, 0.14], [880, 0.16, 0.22]]},
  waiting: {wave: "sine", notes: [[520, 0, 0.18], [700, 0.2, 0.18]]},
  message: {wave: "triangle", notes: [[988, 0, 0.09]]},
  colleague: {wave: "sine", notes: [[440, 0, 0.08], [440, 0.12, 0.08]]},
  escalate: {wave: "square", notes: [[880, 0, 0.15], [660, 0.18, 0.15], [880, 0.36, 0.15]]},
};

export class Notifier {
  constructor() {
    this.audio = null;
    this.log = [];                 // [{kind, level, at}] what was played
    this.lastSound = 0;
    this.waitingSince = new Map(); // chat id -> {since, alerts}
    this.alertAfter = Number(sessionStorage.getItem(AFTER_KEY)) || 45;
  }

  get choice() { return localStorage.getItem(CHOICE_KEY) || ""; }

  /** The operator's answer at the prompt: "on" or "off". */
  choose(choice) {
    localStorage.setItem(CHOICE_KEY, choice);
    if (choice !== "on") return;
    this.wake();
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  }

  /** Start (or resume) the audio context; call from a user gesture. */
  wake() {
    if (this.choice !== "on") return;
    try {
      if (!this.audio) this.audio = new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
    } catch (err) { void err; this.audio = null; }
  }

  /** Play ``kind`` (level 0 normal; higher is louder and repeated). */
  sound(kind, level = 0) {
    const now = Date.now();
    const heard = this.choice === "on" && this.audio && this.audio.state === "running" &&
      (level > 0 || now - this.lastSound >= GAP_MS);
    this.log.push({kind, level, at: now, heard: Boolean(heard)});
    if (this.log.length > 100) this.log.shift();
    if (!heard) return;
    this.lastSound = now;
    const tune = TUNES[kind] || TUNES.message;
    const volume = Math.min(0.9, 0.18 * (1 + level));
    const repeats = 1 + Math.min(level, 2);
    const start = this.audio.currentTime + 0.02;
    for (let r = 0; r < repeats; r++) {
      for (const [hz, at, length] of tune.notes) {
        const osc = this.audio.createOscillator();
        const gain = this.audio.createGain();
        osc.type = tune.wave;
        osc.frequency.value = hz;
        const from = start + r * 0.7 + at;
        gain.gain.setValueAtTime(0.0001, from);
        gain.gain.exponentialRampToValueAtTime(volume, from + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, from + length);
        osc.connect(gain).connect(this.audio.destination);
        osc.start(from);
        osc.stop(from + length + 0.05);
      }
    }
  }

  /** A desktop notification while the console is out of sight; click opens the chat. */
  desktop(title, body, chatId, open) {
    if (this.choice !== "on" || !("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden && document.hasFocus()) return;
    try {
      const note = new Notification(title, {body: (body || "").slice(0, 160), tag: chatId || "parley"});
      note.onclick = () => { window.focus(); if (chatId) open(chatId); note.close(); };
    } catch (err) { void err; /* some browsers allow them only from a service worker */ }
  }

  /**
   * What a batch of events calls for: ``before`` holds, per chat touched,
   * what was true before the batch ({offered, waiting}); ``open(id)`` opens a
   * chat (from a notification's click).
   */
  events(state, events, before, open) {
    const now = Date.now();
    for (const event of events) {
      const e = event[event.event];
      if (event.event === "offered" && !(before.get(e.conversation_id) || {}).offered) {
        this.sound("offer");
        this.desktop(t("notifyOffer"), e.visitor_name || "", e.conversation_id, open);
      } else if (event.event === "listed" && e.view === "new" && !(before.get(e.card.conversation_id) || {}).waiting) {
        this.sound("waiting");
        this.desktop(t("notifyWaiting"), e.card.visitor_name || "", e.card.conversation_id, open);
      } else if (event.event === "message" && now - e.sent_at_ms < FRESH_MS) {
        const chat = state.chats.get(e.conversation_id);
        const seen = chat && chat.id === state.openId && !document.hidden;
        if (e.author_kind === AUTHOR.VISITOR && chat && chat.mine && !seen) {
          this.sound("message");
          this.desktop(chat.name, e.text, chat.id, open);
        } else if ((e.author_kind === AUTHOR.OPERATOR || e.author_kind === AUTHOR.NOTE) &&
                   e.author_id && e.author_id !== state.me.operator_id && chat && chat.mine) {
          this.sound("colleague");
          this.desktop(e.author_name || t("colleague"), e.text, chat.id, open);
        }
      }
    }
  }

  /** Chats waiting for somebody (offers to me and the New pool), alerted again when long. */
  tick(state, open) {
    const now = Date.now();
    const waiting = new Set();
    for (const chat of state.chats.values()) {
      const offered = chat.offer && !chat.mine;
      if (!(offered || (chat.view === "new" && !chat.mine && !chat.closed))) continue;
      waiting.add(chat.id);
      let w = this.waitingSince.get(chat.id);
      if (!w) { w = {since: now, alerts: 0}; this.waitingSince.set(chat.id, w); }
      if (now - w.since >= this.alertAfter * 1000 * (w.alerts + 1)) {
        w.alerts += 1;
        this.sound(w.alerts > 1 ? "escalate" : "waiting", w.alerts);
        this.desktop(t("notifyStillWaiting"), chat.name, chat.id, open);
      }
    }
    for (const id of this.waitingSince.keys()) if (!waiting.has(id)) this.waitingSince.delete(id);
  }

  /** The count the tab title shows: unread visitor messages in my chats and offers to me. */
  static unread(state) {
    let n = 0;
    for (const chat of state.chats.values()) {
      if (chat.offer && !chat.mine) n += 1;
      else if (chat.mine && !chat.closed && (chat.id !== state.openId || document.hidden)) n += chat.unread();
    }
    return n;
  }
}

/** The tab's title with the unread count in front: "(3) Parley console". */
export function titled(n) {
  document.title = (n ? "(" + n + ") " : "") + t("title");
}
