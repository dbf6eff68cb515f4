// Modal dialogs and the type-ahead picker they hold. A dialog is a native
// <dialog> opened modal (the page behind it inert), with the focus kept
// inside it (Tab and Shift+Tab wrap around), Escape closing it, and the focus
// given back to what opened it. One dialog at a time: opening one closes the
// last. A dialog may redraw itself while open (a colleague's status changes
// under a picker): the app calls refreshDialog() after each batch of events.
import {h, fill} from "./dom.js";
import {t} from "./i18n.js";

let current = null;  // {el, refresh, opener}
let nextId = 0;

/** A fresh id for aria wiring. */
export function uid(prefix) { nextId += 1; return prefix + "-" + nextId; }

/**
 * Open a dialog titled ``title``; ``build(body, close)`` fills its body and
 * returns an optional refresh function, called on refreshDialog().
 */
export function openDialog(title, build, kind) {
  closeDialog();
  const titleId = uid("dlg-title");
  const body = h("div", {class: "dlg-body"});
  const el = h("dialog", {class: "dlg " + (kind || ""), "aria-labelledby": titleId, "aria-modal": "true"},
    h("div", {class: "dlg-head"},
      h("h2", {id: titleId}, title),
      h("button", {type: "button", class: "dlg-x", "aria-label": t("dialogClose"), onclick: () => closeDialog()}, "×")),
    body);
  const opener = document.activeElement;
  el.addEventListener("keydown", (e) => trap(el, e));
  el.addEventListener("cancel", (e) => { e.preventDefault(); closeDialog(); });
  el.addEventListener("click", (e) => { if (e.target === el) closeDialog(); });  // the backdrop
  document.body.append(el);
  current = {el, refresh: null, opener};
  current.refresh = build(body, closeDialog) || null;
  el.showModal();
  const first = el.querySelector("[autofocus]") || focusables(body)[0] || el.querySelector(".dlg-x");
  if (first) first.focus();
  return el;
}

/** Close the open dialog (if any), the focus back where it was. */
export function closeDialog() {
  if (!current) return;
  const {el, opener} = current;
  current = null;
  if (el.open) el.close();
  el.remove();
  if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
}

/** Redraw the open dialog's live parts. */
export function refreshDialog() { if (current && current.refresh) current.refresh(); }

export function dialogOpen() { return Boolean(current); }

function focusables(root) {
  return [...root.querySelectorAll("button, input, textarea, select, [tabindex='0'], [href]")]
    .filter((el) => !el.disabled && !el.hidden && el.offsetParent !== null);
}

function trap(dialog, e) {
  if (e.key !== "Tab") return;
  const all = focusables(dialog);
  if (!all.length) return;
  const first = all[0];
  const last = all[all.length - 1];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

/**
 * How well ``query`` matches ``text`` as a subsequence: -1 when it does not,
 * else a score (a prefix and consecutive letters count most).
 */
export function fuzzy(query, text) {
  const q = query.toLowerCase();
  const s = text.toLowerCase();
  if (!q) return 1;
  if (s.startsWith(q)) return 1000 - s.length;
  const at = s.indexOf(q);
  if (at >= 0) return 500 - at;
  let score = 0;
  let from = 0;
  let run = 0;
  for (const ch of q) {
    const i = s.indexOf(ch, from);
    if (i < 0) return -1;
    run = i === from ? run + 1 : 0;
    score += 1 + run * 2;
    from = i + 1;
  }
  return score;
}

/**
 * A type-ahead picker: a text box (combobox) over a list of options
 * (listbox). ``items()`` gives [{id, label, detail, group, disabled, reason}];
 * typing filters them (fuzzy), Up and Down move, Enter picks an enabled one
 * (``onPick(item)``). Returns {el, refresh}.
 */
export function picker(label, items, onPick) {
  const listId = uid("pick-list");
  const input = h("input", {
    type: "text", class: "pick-input", role: "combobox", "aria-label": label, "aria-expanded": "true",
    "aria-controls": listId, "aria-autocomplete": "list", autocomplete: "off", autofocus: true,
    placeholder: t("typeToFilter"),
  });
  const list = h("ul", {id: listId, role: "listbox", class: "pick-list", "aria-label": label});
  let shown = [];
  let active = -1;

  const draw = () => {
    const q = input.value.trim();
    const scored = [];
    for (const item of items()) {
      const score = Math.max(fuzzy(q, item.label), item.alt ? fuzzy(q, item.alt) : -1);
      if (score >= 0) scored.push([score, item]);
    }
    if (q) scored.sort((a, b) => b[0] - a[0]);
    shown = scored.map(([, item]) => item);
    const keep = active >= 0 && active < shown.length && !shown[active].disabled;
    if (!keep) active = shown.findIndex((item) => !item.disabled);
    let group = null;
    const rows = [];
    shown.forEach((item, i) => {
      if (item.group !== group) {
        group = item.group;
        if (group) rows.push(h("li", {role: "presentation", class: "pick-group"}, group));
      }
      rows.push(h("li", {
        id: listId + "-" + i, role: "option", class: "pick-item" + (i === active ? " active" : ""),
        "aria-selected": i === active ? "true" : "false", "aria-disabled": item.disabled ? "true" : null,
        "data-id": item.id,
        onmousedown: (e) => e.preventDefault(),
        onclick: () => { if (!item.disabled) onPick(item); },
      },
      item.dot ? h("span", {class: "dot " + item.dot, "aria-hidden": "true"}) : null,
      h("span", {class: "pick-label"}, item.label),
      item.detail ? h("span", {class: "pick-detail"}, item.detail) : null,
      item.disabled && item.reason ? h("span", {class: "pick-reason"}, item.reason) : null));
    });
    if (!shown.length) rows.push(h("li", {role: "presentation", class: "pick-empty"}, t("noMatch")));
    fill(list, rows);
    if (active >= 0) input.setAttribute("aria-activedescendant", listId + "-" + active);
    else input.removeAttribute("aria-activedescendant");
    const el = list.querySelector(".active");
    if (el && el.scrollIntoView) el.scrollIntoView({block: "nearest"});
  };

  const move = (step) => {
    if (!shown.length) return;
    let i = active;
    for (let n = 0; n < shown.length; n += 1) {
      i = (i + step + shown.length) % shown.length;
      if (!shown[i].disabled) { active = i; break; }
    }
    draw();
  };

  input.addEventListener("input", () => { active = -1; draw(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "Enter") {
      e.preventDefault();
      const item = shown[active];
      if (item && !item.disabled) onPick(item);
    }
  });
  draw();
  return {el: h("div", {class: "picker"}, input, list), refresh: draw};
}
