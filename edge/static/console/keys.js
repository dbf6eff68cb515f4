// The keyboard: one keydown listener on the document that runs the command
// bound to the chord (commands.js), and the console's own commands: the next
// or previous chat in the lists (Alt+↓/↑), the n-th (Alt+1..9), the palette
// (Ctrl+K), the shortcut sheet (?), close, transfer, note, accept, and the
// pages. Plain keys ("?") act only outside text fields; chords act anywhere.
import {$} from "./dom.js";
import {t} from "./i18n.js";
import {register, forKeys, chord} from "./commands.js";
import {openPalette, openShortcuts} from "./palette.js";

/** The chats in the order the lists show them (ids). */
export function shownChats() {
  return [...document.querySelectorAll("#lists button.open[data-chat]")].map((b) => b.dataset.chat);
}

function typing(el) {
  return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable ||
    (el.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(el.type)));
}

/** Wire the keyboard once; ``app`` gives state(), command(c), open(id), act(action, id), page(name), notifyOn(). */
export function wireKeys(app) {
  const writable = () => {
    const s = app.state();
    const chat = s && s.chats.get(s.openId);
    return Boolean(chat && chat.mine && !chat.closed);
  };
  const step = (by) => {
    const ids = shownChats();
    if (!ids.length) return;
    const at = ids.indexOf(app.state().openId);
    const next = at < 0 ? (by > 0 ? 0 : ids.length - 1) : (at + by + ids.length) % ids.length;
    app.page("chats");
    app.open(ids[next]);
  };
  register({id: "palette.open", keys: "Ctrl+K", title: () => t("cmdPalette"), run: openPalette});
  register({id: "shortcuts", keys: "?", title: () => t("cmdShortcuts"), run: openShortcuts});
  register({id: "chat.next", keys: "Alt+ArrowDown", title: () => t("cmdNext"), run: () => step(1)});
  register({id: "chat.previous", keys: "Alt+ArrowUp", title: () => t("cmdPrevious"), run: () => step(-1)});
  for (let n = 1; n <= 9; n++) {
    register({id: "chat." + n, keys: "Alt+" + n, title: () => t("cmdNth", {n: n === 1 ? "n" : n}), when: () => shownChats().length >= n,
      sheet: n === 1 ? "Alt+1…9" : "",
      run: () => { app.page("chats"); app.open(shownChats()[n - 1]); }});
  }
  register({id: "chat.reply", keys: "Alt+R", title: () => t("cmdReply"), when: writable,
    run: () => { app.page("chats"); $("composer").focus(); }});
  register({id: "chat.whisper", keys: "Alt+N", title: () => t("cmdWhisper"), when: writable, run: () => {
    const box = $("whisper");
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change"));
    $("composer").focus();
  }});
  register({id: "chat.accept", keys: "Alt+A", title: () => t("cmdAccept"), when: () => {
    const s = app.state();
    const chat = s && s.chats.get(s.openId);
    return Boolean(chat && !chat.mine && (chat.offer || (chat.view === "new" && s.can("accept"))));
  }, run: () => {
    const s = app.state();
    const chat = s.chats.get(s.openId);
    app.act(chat.offer ? "accept" : "take", chat.id);
  }});
  register({id: "chat.close", keys: "Alt+C", title: () => t("close"), when: writable,
    run: () => app.command({close: {conversation_id: app.state().openId}})});
  // The chat's actions (transfer first among them) in their dialog.
  register({id: "chat.transfer", keys: "Alt+T", title: () => t("actions"),
    when: () => writable() && Boolean($("actions")) && !$("actions").hidden,
    run: () => $("actions").click()});
  register({id: "page.chats", keys: "Alt+L", title: () => t("chats"), run: () => app.page("chats")});
  register({id: "page.history", keys: "Alt+H", title: () => t("history"), run: () => app.page("history")});
  register({id: "page.tickets", keys: "Alt+I", title: () => t("tickets"), when: () => app.state() && app.state().can("view_tickets"),
    run: () => app.page("tickets")});
  register({id: "page.visitors", keys: "Alt+V", title: () => t("visitorsPage"), run: () => app.page("visitors")});
  register({id: "page.reports", keys: "Alt+E", title: () => t("reportsPage"), when: () => app.state() && app.state().can("view_statistics"),
    run: () => app.page("reports")});
  register({id: "page.admin", keys: "Alt+S", title: () => t("adminPage"), when: () => !document.getElementById("page-admin").hidden,
    run: () => app.page("admin")});
  register({id: "notify.on", title: () => t("notifyEnable"), when: app.notifyOff, run: app.notifyOn});
  register({id: "status.online", title: () => t("goOnline"), run: () => app.command({status: {status: "online"}})});
  register({id: "status.away", title: () => t("goAway"), run: () => app.command({status: {status: "away"}})});

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    if (document.querySelector("dialog[open]") && chord(e) !== "Ctrl+K") return;  // the dialog has the keys
    const plain = !e.ctrlKey && !e.metaKey && !e.altKey;
    if (plain && typing(e.target)) return;
    if (plain && e.key !== "?") return;
    const command = forKeys(e);
    if (!command) return;
    e.preventDefault();
    command.run();
  });
}
