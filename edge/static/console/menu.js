// The top bar on a phone: one row, with a Menu button that opens what does not
// fit (the pages nav.js has, the colleagues, who is signed in, sign out, the
// notifications prompt) while the status stays in the row. The menu holds the
// header's own elements, not copies: whatever entry nav.js puts in the pages
// nav is in it, with its handlers and its state. On a wide screen its box is
// not drawn (CSS display: contents), so the same elements are the top bar as
// before, and the button is not shown.
//
// A disclosure, for the keyboard and screen readers: the button says whether
// it is open (aria-expanded) and opens with Enter, Space or ArrowDown; the
// first entry takes the focus, the arrows move between entries, Escape closes
// and gives the focus back to the button, and so does choosing an entry;
// leaving it (focus or a tap elsewhere) closes it.
import {$} from "./dom.js";

const NARROW = window.matchMedia("(max-width: 720px)");

let button = null;
let panel = null;

function isOpen() { return button.getAttribute("aria-expanded") === "true"; }

/** The entries one can reach in the open menu, in order. */
function entries() {
  return [...panel.querySelectorAll("button, select, input, a[href]")]
    .filter((el) => !el.disabled && el.getClientRects().length > 0);
}

function show(on, focusBack) {
  if (on === isOpen()) return;
  button.setAttribute("aria-expanded", String(on));
  button.closest(".top").classList.toggle("menu-open", on);
  if (on) {
    const first = entries()[0];
    if (first) first.focus();
  } else if (focusBack) {
    button.focus();
  }
}

/** Wire the Menu button once. */
export function wireMenu() {
  button = $("menu-toggle");
  panel = $("top-menu");
  button.addEventListener("click", () => show(!isOpen(), true));
  button.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && !isOpen()) { e.preventDefault(); show(true); }
    if (e.key === "Escape" && isOpen()) { e.preventDefault(); e.stopPropagation(); show(false); }
  });
  panel.addEventListener("keydown", (e) => {
    if (!isOpen()) return;
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); show(false, true); return; }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp" && e.key !== "Home" && e.key !== "End") return;
    if (e.target.tagName === "SELECT") return;  // its own arrows
    const all = entries();
    const i = all.indexOf(document.activeElement);
    e.preventDefault();
    const to = e.key === "Home" ? 0 : e.key === "End" ? all.length - 1
      : (i + (e.key === "ArrowDown" ? 1 : -1) + all.length) % all.length;
    if (all[to]) all[to].focus();
  });
  // A choice closes the menu after the entry did its work (its own handler
  // ran first); the focus goes back to the button unless the entry moved it.
  panel.addEventListener("click", (e) => {
    if (!isOpen() || !e.target.closest("button")) return;
    const inside = panel.contains(document.activeElement) || document.activeElement === document.body;
    show(false, inside);
  });
  panel.addEventListener("focusout", (e) => {
    if (isOpen() && e.relatedTarget && !panel.contains(e.relatedTarget) && e.relatedTarget !== button) show(false);
  });
  document.addEventListener("pointerdown", (e) => {
    if (isOpen() && !panel.contains(e.target) && !button.contains(e.target)) show(false);
  });
  NARROW.addEventListener("change", () => { if (!NARROW.matches) show(false); });
}

/** After each draw: a dot on the button while the menu holds something new
    (unread colleagues, the notifications prompt unanswered). */
export function drawMenu() {
  const unread = $("team-unread");
  const fresh = !$("notify-ask").hidden || Boolean(unread && !unread.hidden);
  const dot = $("menu-new");
  if (dot.hidden === fresh) dot.hidden = !fresh;
}

/** Close the menu (signing out, say). */
export function closeMenu() { if (button && isOpen()) show(false); }
