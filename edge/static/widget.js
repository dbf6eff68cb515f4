// Parley visitor widget (protocol v1). Embed with:
//   <script src="https://CHAT-HOST/widget.js" data-site="SITE_ID" async></script>
// It keeps the visitor's token in localStorage; a page load replays the open
// conversation from the start (to show it), a reconnect resumes from the last seq
// seen, and messages not yet acknowledged are resent with their id (the server
// stores a client message id once).
(function () {
  "use strict";
  var script = document.currentScript;
  var site = script && script.getAttribute("data-site");
  var dept = (script && script.getAttribute("data-department")) || "";
  if (!site) { console.error("parley: data-site is missing"); return; }
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host +
    "/v1/visitor?site=" + encodeURIComponent(site);
  var key = "parley:" + site;
  // Storage can be refused (privacy settings, sandboxed pages): then the
  // identity lasts as long as the page.
  var store = null;
  try { store = window.localStorage; store.getItem(key); } catch (e) { store = null; }
  var saved = {};
  try { saved = JSON.parse((store && store.getItem(key)) || "{}") || {}; } catch (e) { saved = {}; }
  var lastSeq = 0, token = saved.token || "", conv = saved.conv || "";
  var unacked = {}; var seen = {}; var ws = null; var delay = 500; var ready = false;

  var box = document.createElement("div");
  box.id = "parley-widget";
  box.innerHTML =
    '<div class="pw-head">Chat with us <span class="pw-state">connecting…</span></div>' +
    '<div class="pw-log" aria-live="polite"></div>' +
    '<form class="pw-form"><input class="pw-input" maxlength="4000" ' +
    'placeholder="Type a message" autocomplete="off"><button>Send</button></form>';
  var css = document.createElement("style");
  css.textContent =
    "#parley-widget{position:fixed;right:16px;bottom:16px;width:320px;font:14px sans-serif;" +
    "background:#fff;border:1px solid #ccd;border-radius:8px;box-shadow:0 4px 16px #0002}" +
    "#parley-widget .pw-head{background:#2b59c3;color:#fff;padding:8px;border-radius:8px 8px 0 0}" +
    "#parley-widget .pw-state{float:right;font-size:12px;opacity:.8}" +
    "#parley-widget .pw-log{height:260px;overflow-y:auto;padding:8px}" +
    "#parley-widget .pw-m{margin:4px 0}#parley-widget .pw-visitor{text-align:right}" +
    "#parley-widget .pw-system{color:#777;font-style:italic;text-align:center}" +
    "#parley-widget .pw-typing{min-height:1.2em;padding:0 8px;color:#777;font-size:12px}" +
    "#parley-widget .pw-form{display:flex;border-top:1px solid #ccd}" +
    "#parley-widget .pw-input{flex:1;border:0;padding:8px}";
  document.head.appendChild(css);
  document.body.appendChild(box);
  var log = box.querySelector(".pw-log"), state = box.querySelector(".pw-state");
  var typingLine = document.createElement("div");
  typingLine.className = "pw-typing";
  log.after(typingLine);

  function save() {
    if (store) {
      try { store.setItem(key, JSON.stringify({token: token, conv: conv})); } catch (e) { store = null; }
    }
  }
  function line(cls, text) {
    var div = document.createElement("div");
    div.className = "pw-m pw-" + cls;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function send(frame) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame)); }

  function connect() {
    state.textContent = "connecting…";
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      delay = 500;
      send({type: "hello", v: 1, department: dept, token: token, last_seq: lastSeq});
    };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        ready = true; state.textContent = "online";
        if (f.token !== token) { token = f.token; lastSeq = 0; }
        conv = f.conversation || ""; save();
        for (var cid in unacked) send({type: "msg", cid: cid, text: unacked[cid].text});
      } else if (f.type === "msg") {
        if (f.conversation !== conv) { conv = f.conversation; lastSeq = 0; }
        if (f.seq <= lastSeq) return;
        lastSeq = f.seq; save();
        if (f.from === "visitor" && unacked[f.cid]) {
          unacked[f.cid].el.classList.remove("pw-pending"); delete unacked[f.cid]; return;
        }
        if (seen[f.conversation + ":" + f.seq]) return;
        seen[f.conversation + ":" + f.seq] = 1;
        line(f.from, f.from === "operator" ? f.name + ": " + f.text : f.text);
        if (f.from === "operator") {
          typingLine.textContent = "";
          if (document.visibilityState !== "hidden") send({type: "read", seq: f.seq});
        }
      } else if (f.type === "typing") {
        typingLine.textContent = f.active ? f.name + " is typing…" : "";
      } else if (f.type === "ack") {
        // Every message before this seq has reached this connection already,
        // and the server does not echo our own message back to us.
        if (f.conversation !== conv) { conv = f.conversation; lastSeq = 0; }
        if (f.seq > lastSeq) { lastSeq = f.seq; save(); }
        seen[f.conversation + ":" + f.seq] = 1;
        if (unacked[f.cid]) { unacked[f.cid].el.title = "delivered"; delete unacked[f.cid]; }
      } else if (f.type === "queued") {
        state.textContent = "waiting: you are number " + f.position;
      } else if (f.type === "joined") {
        state.textContent = f.operator + " is here";
      } else if (f.type === "closed") {
        state.textContent = "chat closed"; conv = ""; lastSeq = 0; save();
      } else if (f.type === "error") {
        line("system", "Error: " + f.message);
        if (f.cid && unacked[f.cid] && !f.retryable) delete unacked[f.cid];
      }
    };
    ws.onclose = function () {
      ready = false; state.textContent = "reconnecting…";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 15000);
    };
  }

  // Typing: tell the operator at most every 2 s while the draft changes, and
  // that it stopped when the box empties or the message goes.
  var lastTyping = 0;
  box.querySelector(".pw-input").addEventListener("input", function (ev) {
    var draft = ev.target.value;
    var now = Date.now();
    if (!draft) { lastTyping = 0; send({type: "typing", active: false}); return; }
    if (now - lastTyping > 2000) {
      lastTyping = now;
      send({type: "typing", active: true, text: draft.slice(0, 4000)});
    }
  });

  box.querySelector(".pw-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = box.querySelector(".pw-input");
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    lastTyping = 0;
    var cid = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    unacked[cid] = {text: text, el: line("visitor", text)};
    if (ready) send({type: "msg", cid: cid, text: text});
  });
  connect();
})();
