// Two dialogs for the keyboard: the command palette (Ctrl+K: type to narrow
// the chats and commands, arrows to move, Enter to run, Escape to leave) and
// the sheet of shortcuts ("?"). Both are <dialog>s opened modal, so focus stays
// inside and returns where it was when they close. Chat names are text only.
import {h, fill, $} from "./dom.js";
import {t} from "./i18n.js";
import {available, withKeys, shown} from "./commands.js";

let items = [];     // [{id, label, hint, run}]
let active = 0;
let source = null;  // () => chat items [{id, label, hint, run}]

/** Wire the palette once; ``chats()`` lists the chats to offer. */
export function wirePalette(chats) {
  source = chats;
  const input = $("palette-input");
  input.addEventListener("input", () => { active = 0; list(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      active = items.length ? (active + step + items.length) % items.length : 0;
      mark();
    } else if (e.key === "Enter") {
      e.preventDefault();
      choose(items[active]);
    }
  });
  $("palette").addEventListener("close", () => { input.value = ""; });
  $("shortcuts-close").addEventListener("click", () => $("shortcuts").close());
}

export function openPalette() {
  const dialog = $("palette");
  if (dialog.open) return;
  $("shortcuts").open && $("shortcuts").close();
  active = 0;
  list();
  dialog.showModal();
  $("palette-input").focus();
}

function choose(item) {
  if (!item) return;
  $("palette").close();
  item.run();
}

function list() {
  const words = $("palette-input").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const commands = available().filter((c) => c.id !== "palette.open").map((c) => ({
    id: "cmd-" + c.id, label: c.title(), hint: c.keys ? shown(c.keys) : "", run: c.run,
  }));
  const all = [...source(), ...commands];
  items = all.filter((item) => words.every((w) => item.label.toLowerCase().includes(w))).slice(0, 50);
  const ul = $("palette-list");
  fill(ul, items.length ? items.map((item, i) => h("li", {
    id: "palette-" + i, role: "option", class: "palette-item", "data-id": item.id,
    onclick: () => choose(item), onmousemove: () => { if (active !== i) { active = i; mark(); } },
  }, h("span", {class: "label"}, item.label), item.hint ? h("kbd", null, item.hint) : null))
    : h("li", {class: "empty", role: "option", "aria-disabled": "true"}, t("noMatch")));
  mark();
}

function mark() {
  const input = $("palette-input");
  for (const li of $("palette-list").children) li.setAttribute("aria-selected", String(li.id === "palette-" + active));
  const current = $("palette-" + active);
  if (current) { input.setAttribute("aria-activedescendant", current.id); current.scrollIntoView({block: "nearest"}); }
  else input.removeAttribute("aria-activedescendant");
}

/** The sheet of shortcuts, built from the commands that have keys. */
export function openShortcuts() {
  const dialog = $("shortcuts");
  if (dialog.open) return;
  const rows = withKeys().filter((c) => c.sheet !== "");  // "": one line speaks for it (Alt+1…9)
  fill($("shortcuts-list"), rows.map((c) => [h("dt", null, h("kbd", null, shown(c.sheet || c.keys))), h("dd", null, c.title())]));
  dialog.showModal();
  $("shortcuts-close").focus();
}
