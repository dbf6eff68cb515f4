// The console's commands: one registry that the keyboard, the command palette
// and the shortcut sheet all read. A module adds what it can do with
// register({id, title, keys, run, when}); registering an id again replaces the
// command (a dialog of another module can take over "chat.transfer", say).
//
// keys name a chord as chord() spells a keydown: modifiers in the order Ctrl
// (or the Mac's Cmd), Alt, Shift, then the key by its place on the keyboard
// ("Alt+C", "Alt+ArrowDown", "Alt+1"), so Alt with a letter works on layouts
// where it types another character; "?" is spelled as typed.

const registry = new Map();

/**
 * Add (or replace) a command: ``id``, ``title()`` for people, ``keys`` (a
 * chord, optional), ``run()``, and ``when()`` (optional: false hides it from
 * the palette and makes its keys do nothing); ``sheet`` (optional) spells
 * its keys on the shortcut sheet instead, "" leaves it off the sheet.
 */
export function register(command) {
  registry.set(command.id, command);
  return () => { if (registry.get(command.id) === command) registry.delete(command.id); };
}

/** The commands that may run now, in the order they were registered. */
export function available() {
  return [...registry.values()].filter((c) => !c.when || c.when());
}

/** Every command with keys (for the shortcut sheet), usable now or not. */
export function withKeys() {
  return [...registry.values()].filter((c) => c.keys);
}

/** Run the command ``id`` if it may run now; true when it ran. */
export function run(id) {
  const command = registry.get(id);
  if (!command || (command.when && !command.when())) return false;
  command.run();
  return true;
}

/** A keydown as a chord: "Ctrl+K", "Alt+ArrowDown", "Alt+1", "?", "Escape". */
export function chord(e) {
  if (e.key === "?") return "?";
  let key = e.key;
  if (/^Key[A-Z]$/.test(e.code)) key = e.code.slice(3);
  else if (/^Digit\d$/.test(e.code)) key = e.code.slice(5);
  else if (key && key.length === 1) key = key.toUpperCase();
  const parts = [];
  if (e.ctrlKey || e.metaKey) parts.push("Ctrl");
  if (e.altKey) parts.push("Alt");
  if (e.shiftKey && key.length > 1) parts.push("Shift");
  parts.push(key);
  return parts.join("+");
}

/** The command bound to a keydown, if one may run now. */
export function forKeys(e) {
  const spelled = chord(e);
  for (const command of registry.values()) {
    if (command.keys === spelled && (!command.when || command.when())) return command;
  }
  return null;
}

/** A chord as people read it: "Alt+↓". */
export function shown(keys) {
  return keys.replace("ArrowDown", "↓").replace("ArrowUp", "↑");
}
