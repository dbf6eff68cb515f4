// Parley visitor widget (protocol v1). Embed with:
//   <script src="https://CHAT-HOST/widget.js" data-site="SITE_ID" async></script>
// It keeps the visitor's token in localStorage; a page load replays the open
// conversation from the start (to show it), a reconnect resumes from the last seq
// seen, and messages not yet acknowledged are resent with their id (the server
// stores a client message id once). When nobody can chat (out of hours, nobody
// online, the visitor's language not served) it shows the offline form instead,
// which leaves a request answered later by email.
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
  var offline = false; var depts = [];

  var box = document.createElement("div");
  box.id = "parley-widget";
  box.innerHTML =
    '<div class="pw-head">Chat with us <span class="pw-state">connecting…</span></div>' +
    '<div class="pw-log" aria-live="polite"></div>' +
    '<div class="pw-pick" hidden><select class="pw-dept" aria-label="Department"></select>' +
    '<select class="pw-region" aria-label="Region" hidden></select></div>' +
    '<form class="pw-form"><input class="pw-input" maxlength="4000" ' +
    'placeholder="Type a message" autocomplete="off"><button>Send</button></form>' +
    '<form class="pw-offline" hidden><p>Nobody can chat right now. Leave a message and ' +
    'we will answer by email.</p><input class="pw-name" maxlength="100" placeholder="Your name">' +
    '<input class="pw-email" type="email" required maxlength="254" placeholder="Email">' +
    '<textarea class="pw-text" required maxlength="4000" placeholder="Your message"></textarea>' +
    '<button>Leave a message</button></form>';
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
    "#parley-widget .pw-input{flex:1;border:0;padding:8px}" +
    "#parley-widget .pw-pick{display:flex;gap:4px;padding:4px 8px;border-top:1px solid #ccd}" +
    "#parley-widget .pw-pick select{flex:1}" +
    "#parley-widget .pw-offline{display:flex;flex-direction:column;gap:4px;padding:8px;" +
    "border-top:1px solid #ccd}#parley-widget .pw-offline p{margin:0;color:#555}" +
    "#parley-widget [hidden]{display:none}";
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

  var chatForm = box.querySelector(".pw-form"), offlineForm = box.querySelector(".pw-offline");
  var pick = box.querySelector(".pw-pick"), deptSelect = box.querySelector(".pw-dept");
  var regionSelect = box.querySelector(".pw-region");
  function option(select, value, text) {
    var o = document.createElement("option"); o.value = value; o.textContent = text;
    select.appendChild(o);
  }
  // The departments as the server sees them for this visitor: a picker when there
  // are several (and regions when operators of more than one are online), the
  // offline form when the chosen one cannot chat and no chat is open.
  function showDepartments(f) {
    depts = f.departments || [];
    if (f.department) dept = f.department;
    offline = !!f.offline;
    var chosen = null;
    for (var i = 0; i < depts.length; i++) if (depts[i].id === dept) chosen = depts[i];
    pick.hidden = conv !== "" || depts.length < 2 && !(chosen && chosen.regions.length);
    deptSelect.hidden = depts.length < 2;
    deptSelect.textContent = "";
    if (!chosen) option(deptSelect, "", "Choose a department");
    depts.forEach(function (d) { option(deptSelect, d.id, d.name + (d.online ? "" : " (offline)")); });
    deptSelect.value = dept;
    regionSelect.textContent = "";
    regionSelect.hidden = !(chosen && chosen.regions.length);
    if (chosen && chosen.regions.length) {
      option(regionSelect, "", "Any region");
      chosen.regions.forEach(function (r) { option(regionSelect, r.id, r.name); });
    }
    showForms();
  }
  function showForms() {
    var useOffline = offline && !conv && dept !== "";
    offlineForm.hidden = !useOffline;
    chatForm.hidden = useOffline;
    if (ready) state.textContent = useOffline ? "offline" : "online";
  }
  deptSelect.addEventListener("change", function () {
    send({type: "choose", department: deptSelect.value});
  });
  regionSelect.addEventListener("change", function () {
    send({type: "choose", department: dept, region: regionSelect.value});
  });
  offlineForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    send({type: "ticket", name: box.querySelector(".pw-name").value,
          email: box.querySelector(".pw-email").value, text: box.querySelector(".pw-text").value});
  });

  function connect() {
    state.textContent = "connecting…";
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      delay = 500;
      send({type: "hello", v: 1, department: dept, token: token, last_seq: lastSeq,
            page: location.href.slice(0, 2000), language: navigator.language || "",
            title: document.title.slice(0, 300), referrer: document.referrer.slice(0, 2000),
            tz: -new Date().getTimezoneOffset()});
    };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        ready = true; state.textContent = "online";
        if (f.token !== token) { token = f.token; lastSeq = 0; }
        conv = f.conversation || ""; save();
        showDepartments(f);
        for (var cid in unacked) send({type: "msg", cid: cid, text: unacked[cid].text});
      } else if (f.type === "departments") {
        showDepartments(f);
      } else if (f.type === "ticket_saved") {
        offlineForm.hidden = true;
        line("system", "Thank you: we received your message and will answer by email.");
      } else if (f.type === "msg") {
        if (f.conversation !== conv) { conv = f.conversation; lastSeq = 0; pick.hidden = true; }
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
        if (f.conversation !== conv) { conv = f.conversation; lastSeq = 0; pick.hidden = true; }
        if (f.seq > lastSeq) { lastSeq = f.seq; save(); }
        seen[f.conversation + ":" + f.seq] = 1;
        if (unacked[f.cid]) { unacked[f.cid].el.title = "delivered"; delete unacked[f.cid]; }
      } else if (f.type === "queued") {
        state.textContent = "waiting: you are number " + f.position +
          (f.eta ? " (about " + Math.max(1, Math.round(f.eta / 60)) + " min)" : "");
      } else if (f.type === "joined") {
        state.textContent = f.operator + " is here";
      } else if (f.type === "closed") {
        state.textContent = "chat closed"; conv = ""; lastSeq = 0; save();
        if (f.reason === "no_operator") { offline = true; line("system", "Nobody could answer in time."); }
        showForms();
      } else if (f.type === "error") {
        if (f.code === "offline" && f.cid && unacked[f.cid]) {
          // Nobody can chat: the message goes into the offline form instead.
          box.querySelector(".pw-text").value = unacked[f.cid].text;
          unacked[f.cid].el.remove(); delete unacked[f.cid];
          offline = true; showForms(); return;
        }
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
  // Pages that change without a reload (history navigation) are reported too,
  // so operators see the visitor's trail.
  var lastPage = location.href;
  function pageChanged() {
    if (location.href === lastPage) return;
    lastPage = location.href;
    if (ready) send({type: "page", url: lastPage.slice(0, 2000), title: document.title.slice(0, 300)});
  }
  window.addEventListener("popstate", pageChanged);
  window.addEventListener("hashchange", pageChanged);
  connect();
})();
