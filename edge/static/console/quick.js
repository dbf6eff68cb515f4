// Quick replies: "/" in the composer (at the start or after a space) opens a
// list of the operator's templates (Templates.ListTemplates with the chat's id,
// so {visitor_name} and the other variables come filled in), filtered as the
// operator types after the "/" (fuzzy, on the shortcut and the text). Up and
// Down move, Enter or Tab insert the reply in place of "/word", Escape
// dismisses. The list is fetched once per chat and kept.
import {h, fill} from "./dom.js";
import {t} from "./i18n.js";
import {fuzzy} from "./dialogs.js";

const C = "/parley.v1.";
const SHOWN = 8;

/** The "/word" being typed before the caret: {start, query}, or null. */
export function slashAt(text, caret) {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([^\s/]*)$/.exec(before);
  return m ? {start: caret - m[2].length - 1, query: m[2]} : null;
}

/** Wire the popup to ``box``; returns {key(e) -> handled}. */
export function wireQuick(app, box) {
  const pop = h("ul", {id: "quick", class: "quick", role: "listbox", "aria-label": t("quickReplies"), hidden: true});
  box.before(pop);
  const cache = new Map();  // conversation id -> templates (or a promise)
  let shown = [];
  let active = 0;
  let slash = null;

  const hide = () => {
    pop.hidden = true;
    shown = [];
    slash = null;
    box.removeAttribute("aria-activedescendant");
  };

  const templates = async (chatId) => {
    if (!cache.has(chatId)) {
      const loading = app.bridge().call(C + "Templates/ListTemplates", "parley.v1.ListTemplatesRequest",
        {conversation_id: chatId, page_size: 200}, "parley.v1.ListTemplatesResponse")
        .then((r) => { cache.set(chatId, r.templates); return r.templates; })
        .catch(() => { cache.delete(chatId); return []; });
      cache.set(chatId, loading);
    }
    return cache.get(chatId);
  };

  const draw = () => {
    if (!shown.length) {
      fill(pop, h("li", {class: "quick-empty", role: "presentation"}, t("noQuick")));
      box.removeAttribute("aria-activedescendant");
      return;
    }
    fill(pop, shown.map((tpl, i) => h("li", {
      id: "quick-" + i, role: "option", class: "quick-item" + (i === active ? " active" : ""),
      "aria-selected": i === active ? "true" : "false", "data-shortcut": tpl.shortcut,
      onmousedown: (e) => { e.preventDefault(); active = i; insert(); },
    }, h("span", {class: "quick-key"}, "/" + tpl.shortcut), h("span", {class: "quick-text"}, tpl.rendered || tpl.text))));
    box.setAttribute("aria-activedescendant", "quick-" + active);
    const el = pop.querySelector(".active");
    if (el && el.scrollIntoView) el.scrollIntoView({block: "nearest"});
  };

  const update = async () => {
    const state = app.state();
    const chatId = state && state.openId;
    slash = chatId ? slashAt(box.value, box.selectionStart) : null;
    if (!slash) { hide(); return; }
    const want = slash;
    const all = await templates(chatId);
    if (slash !== want) return;  // typed on meanwhile: a later update draws
    const scored = [];
    for (const tpl of all) {
      const score = Math.max(fuzzy(want.query, tpl.shortcut) * 2, fuzzy(want.query, tpl.rendered || tpl.text));
      if (score >= 0) scored.push([score, tpl]);
    }
    if (want.query) scored.sort((a, b) => b[0] - a[0]);
    shown = scored.slice(0, SHOWN).map(([, tpl]) => tpl);
    active = Math.min(active, Math.max(0, shown.length - 1));
    pop.hidden = false;
    draw();
  };

  const insert = () => {
    const tpl = shown[active];
    if (!tpl || !slash) return;
    const text = tpl.rendered || tpl.text;
    const end = box.selectionStart;
    box.value = box.value.slice(0, slash.start) + text + box.value.slice(end);
    const caret = slash.start + text.length;
    box.setSelectionRange(caret, caret);
    hide();
    box.dispatchEvent(new Event("input"));  // the draft and typing follow
  };

  box.setAttribute("aria-controls", "quick");
  box.setAttribute("aria-autocomplete", "list");
  box.addEventListener("input", update);
  box.addEventListener("click", update);
  box.addEventListener("blur", () => setTimeout(hide, 150));

  return {
    key(e) {
      if (pop.hidden) return false;
      if (e.key === "Escape") { hide(); return true; }
      if (!shown.length) return false;
      if (e.key === "ArrowDown") { active = (active + 1) % shown.length; draw(); return true; }
      if (e.key === "ArrowUp") { active = (active - 1 + shown.length) % shown.length; draw(); return true; }
      if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") { insert(); return true; }
      return false;
    },
    hide,
  };
}
