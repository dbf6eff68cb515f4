// Parley visitor widget, the embed (protocol v1). One line to embed:
//   <script src="https://CHAT-HOST/widget.js" data-site="SITE_ID" async></script>
// The site's look, words and pre-chat form are set on the server (parley site
// update) and come in the welcome frame; they are kept (localStorage) so the next
// page paints them before the socket opens. Optional on the tag, for what the
// site leaves unset: data-color, data-position (right|left), data-title,
// data-greeting; and data-department, data-lang (else the browser's language).
//
// This is what every page loads, so it is small: the launcher, in the site's
// colour and side as kept, in a shadow root styled by a constructed stylesheet;
// and, while no chat is going on, the socket that says hello, so an operator's
// invitation or a new message reaches a closed widget. The panel (widget-panel.js,
// from the same origin) comes only when needed: the visitor opens the widget, an
// invitation, a message or a chat arrives, or a chat is active (or the panel was
// open in this tab) on page load. It is loaded with import(), which the page's
// script-src governs (naming the chat host lets it in) and Trusted Types do not,
// and it takes over this socket and the frames read on it so far: the session
// goes on, nothing is said twice, and no second hello is needed.
(function () {
  "use strict";
  var script = document.currentScript;
  function attr(n) { return (script && script.getAttribute("data-" + n)) || ""; }
  var site = attr("site");
  if (!site) { console.error("parley: data-site is missing"); return; }
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host +
    "/v1/visitor?site=" + encodeURIComponent(site);
  // The launcher's name; the panel has every other word.
  var OPEN = {en: "Open chat", de: "Chat öffnen", fr: "Ouvrir le chat", es: "Abrir chat", ja: "チャットを開く", ar: "افتح المحادثة"};
  var lang = (attr("lang") || navigator.language || "en").toLowerCase().split("-")[0];

  // -- what the panel keeps (refused storage means page-long memory) ---------------
  function box(kind) { try { var s = window[kind]; s.getItem("x"); return s; } catch (e) { return null; } }
  var local = box("localStorage"), tab = box("sessionStorage");
  var KEY = "parley:" + site;
  function load(s, k) { try { return JSON.parse((s && s.getItem(k)) || "{}") || {}; } catch (e) { return {}; } }
  function keep(s, k, v) { try { if (s) s.setItem(k, JSON.stringify(v)); } catch (e) { /* full: page memory */ } }
  var me = load(local, KEY), kept = load(local, KEY + ":c"), cfg = load(local, KEY + ":s");

  // -- the launcher, drawn as the panel draws it -----------------------------------
  var host = document.createElement("parley-chat");
  var root = host.attachShadow({mode: "open"});
  var CSS_TEXT =
    ":host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483000!important;" +
    "inset:auto auto 0 0!important;width:0!important;height:0!important;visibility:visible!important;opacity:1!important}" +
    "button{cursor:pointer;border:0;padding:0;margin:0}:focus-visible{outline:2px solid var(--c);outline-offset:2px}" +
    ".la{position:fixed;bottom:20px;right:20px;width:58px;height:58px;border-radius:50%;background:var(--c);color:var(--fg);" +
    "display:grid;place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}" +
    ".la:hover{transform:scale(1.06)}.la svg{fill:currentColor}.left .la{right:auto;left:20px}" +
    "@media (prefers-reduced-motion:reduce){.la{transition:none}}";
  var wrap = document.createElement("div");
  try { var sheet = new CSSStyleSheet(); sheet.replaceSync(CSS_TEXT); root.adoptedStyleSheets = [sheet]; } catch (e) {
    var style = document.createElement("style"); style.textContent = CSS_TEXT; root.append(style);
  }
  var launcher = document.createElement("button");
  launcher.className = "la"; launcher.type = "button";
  launcher.setAttribute("aria-label", OPEN[lang] || OPEN.en);
  launcher.setAttribute("aria-expanded", "false");
  var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg"), path = document.createElementNS(NS, "path");
  svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", 28); svg.setAttribute("height", 28); svg.setAttribute("aria-hidden", "true");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  svg.append(path); launcher.append(svg); wrap.append(launcher); root.append(wrap);
  launcher.addEventListener("click", function () { panel(true); });
  function look() {
    // The accent colour (the server's is #rgb/#rrggbb; the tag's must be a CSS
    // colour), set through the CSSOM, which a strict style-src allows; text on it
    // dark on light colours, white otherwise.
    var color = cfg.color || attr("color");
    if (!(color && window.CSS && CSS.supports("color", color))) color = "#2f54eb";
    wrap.style.setProperty("--c", color);
    var probe = document.createElement("i"); wrap.append(probe); probe.style.color = color;
    var rgb = (getComputedStyle(probe).color.match(/[\d.]+/g) || [0, 0, 0]).map(Number); probe.remove();
    wrap.style.setProperty("--fg", (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) > 170 ? "#111827" : "#fff");
    wrap.className = (cfg.position || attr("position")) === "left" ? "w left" : "w";
  }

  // -- the panel, when needed ------------------------------------------------------
  var ws = null, frames = [], tries = 0, timer = 0, asked = false, taken = false;
  function panel(opening) {
    if (asked) return;
    asked = true;
    import(base.origin + "/widget-panel.js").then(function (m) {
      clearTimeout(timer); taken = true;
      m.default({script: script, host: host, root: root, ws: ws, frames: frames, opening: opening});
    }, function (e) { asked = false; console.error("parley: the chat panel cannot load", e); });
  }

  // -- the socket while the panel is not here ----------------------------------------
  function connect() {
    var sock = ws = new WebSocket(wsUrl), dept = attr("department") || me.dept || "";
    frames = [];
    sock.onopen = function () {
      // As the panel says it when no chat is going on (else the panel is here).
      sock.send(JSON.stringify({type: "hello", v: 1, department: dept, region: dept ? me.region || "" : "", token: me.token || "",
        conversation: "", last_seq: 0, epoch: kept.epoch || "",
        name: (me.name || "").slice(0, 100), email: (me.email || "").slice(0, 254),
        page: location.href.slice(0, 2000), language: navigator.language || "",
        title: document.title.slice(0, 300), referrer: document.referrer.slice(0, 2000),
        tz: -new Date().getTimezoneOffset()}));
    };
    sock.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      frames.push(f);
      if (f.type === "welcome") {
        tries = 0; me.token = f.token; keep(local, KEY, me);
        if (f.site) { cfg = f.site; keep(local, KEY + ":s", cfg); look(); }
        if (f.conversation) panel();
      } else if (/^(msg|ack|queued|joined|invitation)$/.test(f.type)) panel();
    };
    sock.onclose = function (ev) {
      // Until the panel takes it over: a refused or blocked visitor is told when it
      // opens the panel; else again after 1, 2, 4 ... 30 s (a flood refusal 30 s).
      if (taken || ev.code === 4403 || frames.some(function (f) { return f.code === "blocked"; })) return;
      tries++;
      var ms = ev.code === 4429 ? 30000 : Math.min(30000, 1000 * Math.pow(2, tries - 1));
      timer = setTimeout(connect, Math.round(ms * (0.8 + Math.random() * 0.4)));
    };
  }

  // In-page navigation (history, hash) is reported while the panel is not here
  // (then the panel does it), on a socket that has had its welcome.
  var lastPage = location.href;
  function pageChanged() {
    if (taken || location.href === lastPage) return;
    lastPage = location.href;
    if (ws && ws.readyState === 1 && frames.some(function (f) { return f.type === "welcome"; })) {
      ws.send(JSON.stringify({type: "page", url: lastPage.slice(0, 2000), title: document.title.slice(0, 300)}));
    }
  }
  addEventListener("popstate", pageChanged);
  addEventListener("hashchange", pageChanged);

  look();
  (document.body || document.documentElement).append(host);
  if (load(tab, KEY + ":ui").open || kept.conv && !kept.closed || (kept.pend || []).length) panel();
  else connect();
})();
