// The composer of the open chat: Enter sends, Shift+Enter a new line, the
// draft kept per chat, typing sent (at most every 2 s, stopped after 4 s idle
// or on sending), a note (whisper) when "Note" is ticked; and the transcript
// loading older messages when scrolled to the top. "/" opens the quick
// replies (quick.js).
import {$} from "./dom.js";
import {wireQuick} from "./quick.js";

const TYPING_EVERY = 2000;
const TYPING_IDLE = 4000;

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "c" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let wired = false;

/** Wire the composer once; ``app`` gives state(), bridge(), draw(), loadOlder(chat). */
export function wireComposer(app) {
  if (wired) return;
  wired = true;
  const box = $("composer");
  let typingSent = 0;
  let typingChat = "";
  let idle = null;

  const stopTyping = () => {
    clearTimeout(idle);
    if (typingChat && app.bridge()) app.bridge().send([{typing: {conversation_id: typingChat, active: false}}]);
    typingChat = "";
    typingSent = 0;
  };

  const send = () => {
    const state = app.state();
    const chat = state && state.chats.get(state.openId);
    const text = box.value.trim();
    if (!chat || !text || !chat.mine || chat.closed) return;
    const whisper = $("whisper").checked;
    const cid = clientId();
    chat.pending.set(cid, {text, whisper});
    const body = {conversation_id: chat.id, client_msg_id: cid, text};
    app.bridge().send([whisper ? {whisper: body} : {send: body}]);  // else sent once back
    box.value = "";
    chat.draft = "";
    stopTyping();
    app.draw();
  };

  const quick = wireQuick(app, box);

  box.addEventListener("keydown", (e) => {
    if (quick.key(e)) { e.preventDefault(); e.stopPropagation(); return; }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    if (e.key === "Escape") box.blur();
  });
  $("composer-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  box.addEventListener("input", () => {
    const state = app.state();
    const chat = state && state.chats.get(state.openId);
    if (!chat) return;
    chat.draft = box.value;
    if ($("whisper").checked || !chat.mine) return;  // a note is not typing to the visitor
    const now = Date.now();
    if (typingChat !== chat.id || now - typingSent > TYPING_EVERY) {
      if (typingChat && typingChat !== chat.id) stopTyping();
      if (app.bridge().send([{typing: {conversation_id: chat.id, active: true}}])) {
        typingChat = chat.id;
        typingSent = now;
      }
    }
    clearTimeout(idle);
    idle = setTimeout(stopTyping, TYPING_IDLE);
  });
  box.addEventListener("blur", stopTyping);
  $("whisper").addEventListener("change", (e) => {
    box.placeholder = box.dataset[e.target.checked ? "note" : "reply"];
    document.body.classList.toggle("noting", e.target.checked);
  });
  $("transcript").addEventListener("scroll", () => {
    const state = app.state();
    const chat = state && state.chats.get(state.openId);
    if (chat && $("transcript").scrollTop < 60) app.loadOlder(chat);
  });
}
