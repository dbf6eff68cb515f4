// Forms of the Settings page: a dialog drawn from a list of field specs, the
// value read back, what changed worked out (an update sends only those paths,
// as its update_mask), a create's request id kept while the same request is
// retried, and the server's refusal said in words next to the field it names
// (the bridge passes ErrorInfo's ``field``). Nothing typed is lost on a
// refusal: the dialog stays open with the values as they were.
//
// A field spec: {name, label, type, options, only, hint, required, lacks, disabled}
//   type: text | email | password | number | optional-number | textarea |
//         list (one a line) | checkbox | select | checks (a set of values) |
//         info (words shown, never sent)
//   disabled: shown, not editable and never sent (its hint says why)
//   options: () => [{value, label, note}] for select and checks
//   only: "create" | "edit" (shown at one of the two alone)
import {h, fill} from "./dom.js";
import {t, hasWord} from "./i18n.js";
import {openDialog, closeDialog, uid} from "./dialogs.js";
import "./admin_words.js";

/** The server's refusal in the console's words (its own message when we have none). */
export function said(err) {
  const reason = String(err.reason || "").toLowerCase();
  const key = "no_" + reason;
  if (!hasWord(key)) return err.message || reason;
  const detail = String(err.message || "").replace(/^[a-z_]+: /, "");  // the reason is said already
  const words = t(key, {x: detail});
  return reason === "permission_denied" && detail ? words + " (" + detail + ")" : words;
}

/** A fresh id for a create (printable, 32 hex characters). */
export function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function control(spec, value, id, describedBy) {
  const common = {id, name: spec.name, "aria-describedby": describedBy, disabled: Boolean(spec.disabled)};
  switch (spec.type) {
    case "info": return h("p", {id, class: "info"}, value || "");
    case "textarea": return h("textarea", {...common, rows: 4}, value || "");
    case "list": return h("textarea", {...common, rows: 3, placeholder: t("sListHint")}, (value || []).join("\n"));
    case "checkbox": return h("input", {...common, type: "checkbox", checked: Boolean(value)});
    case "select": {
      const select = h("select", common);
      const options = spec.options();
      // A value the options lack (a role not listed, say) stays chosen rather than silently replaced.
      if (value && !options.some((o) => String(o.value) === String(value))) options.unshift({value, label: String(value)});
      for (const o of options) select.append(new Option(o.label, o.value, false, String(o.value) === String(value ?? "")));
      return select;
    }
    case "checks": {
      const held = new Set(value || []);
      const options = spec.options();
      // Values the form has no box for (a region of a site not loaded) are kept as they are.
      const offered = new Set(options.map((o) => o.value));
      const kept = JSON.stringify([...held].filter((v) => !offered.has(v)));
      if (!options.length) return h("p", {...common, class: "hint", "data-kept": kept}, t("sNone"));
      return h("div", {...common, role: "group", class: "checks", "aria-labelledby": id + "-label", "data-kept": kept},
        options.map((o) => h("label", {class: "check"},
          h("input", {type: "checkbox", value: o.value, checked: held.has(o.value)}),
          " ", o.label, o.note ? h("span", {class: "note"}, " (" + o.note + ")") : null)));
    }
    case "number": case "optional-number":
      return h("input", {...common, type: "number", min: 0, step: 1, inputmode: "numeric",
        value: spec.type === "optional-number" && !value ? "" : String(value ?? 0)});
    default:
      return h("input", {...common, type: spec.type || "text", value: value ?? "",
        autocomplete: spec.type === "password" ? "new-password" : "off", required: spec.required,
        list: spec.suggest ? id + "-list" : null});
  }
}

function read(spec, el) {
  switch (spec.type) {
    case "checkbox": return el.checked;
    case "list": return el.value.split("\n").map((s) => s.trim()).filter(Boolean);
    case "checks": return [...JSON.parse(el.dataset.kept || "[]"), ...[...el.querySelectorAll("input:checked")].map((i) => i.value)];
    case "number": return Math.max(0, Math.trunc(Number(el.value) || 0));
    case "optional-number": return el.value.trim() === "" ? 0 : Math.trunc(Number(el.value));
    default: return el.value.trim();
  }
}

function same(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = [...(a || [])].sort(), y = [...(b || [])].sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return (a ?? "") === (b ?? "") || (typeof a === "number" && a === Number(b));
}

/**
 * Open a form dialog. ``original`` is the item edited (null: a new one).
 * ``submit(values, changed)`` sends it: ``values`` every field shown,
 * ``changed`` the names that differ from ``original`` (all, for a new one);
 * it resolves to a message to show (the dialog closes) or rejects with the
 * server's CallError (said next to its field; the dialog stays).
 */
export function formDialog(title, specs, original, submit, after) {
  const editing = Boolean(original);
  const shown = specs.filter((s) => !s.only || s.only === (editing ? "edit" : "create"));
  openDialog(title, (body) => {
    const controls = new Map();
    const problems = new Map();
    const top = h("p", {class: "error", role: "alert"});
    const form = h("form", {class: "dlg-form admin-form", novalidate: true});
    for (const spec of shown) {
      const id = uid("f-" + spec.name);
      const problem = h("p", {id: id + "-problem", class: "error field-problem", role: "alert"});
      const hint = spec.hint ? h("p", {id: id + "-hint", class: "hint"}, spec.hint) : null;
      const el = control(spec, original ? original[spec.name] : spec.initial, id,
        [id + "-problem", hint ? id + "-hint" : ""].filter(Boolean).join(" "));
      controls.set(spec.name, el);
      const suggest = spec.suggest ? h("datalist", {id: id + "-list"}, spec.suggest().map((v) => h("option", {value: v}))) : null;
      problems.set(spec.name, problem);
      if (spec.type === "info") {
        form.append(h("div", {class: "field"}, h("span", {class: "label"}, spec.label), el));
      } else if (spec.type === "checkbox") {
        form.append(h("div", {class: "field field-check"}, h("label", {for: id}, el, " ", spec.label), hint, problem));
      } else if (spec.type === "checks") {
        form.append(h("div", {class: "field"}, h("span", {id: id + "-label", class: "label"}, spec.label), el, hint, problem));
      } else {
        form.append(h("div", {class: "field"}, h("label", {for: id}, spec.label), el, suggest, hint, problem));
      }
    }
    const button = h("button", {type: "submit", class: "primary"}, editing ? t("sSave") : t("sCreate"));
    form.append(top, h("div", {class: "dlg-buttons"},
      h("button", {type: "button", onclick: () => closeDialog()}, t("cancel")), button));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      for (const p of problems.values()) p.textContent = "";
      for (const el of controls.values()) el.removeAttribute("aria-invalid");
      top.textContent = "";
      const values = {};
      const changed = [];
      for (const spec of shown) {
        if (spec.disabled || spec.type === "info") continue;
        values[spec.name] = read(spec, controls.get(spec.name));
        if (!editing || !same(values[spec.name], original[spec.name])) changed.push(spec.name);
      }
      const missing = shown.find((s) => s.required && !values[s.name]);
      if (missing) {
        problems.get(missing.name).textContent = t("no_invalid_argument");
        controls.get(missing.name).setAttribute("aria-invalid", "true");
        controls.get(missing.name).focus();
        return;
      }
      if (editing && !changed.length) { top.textContent = t("sNothingChanged"); return; }
      button.disabled = true;
      try {
        const result = await submit(values, changed);
        closeDialog();
        if (after) after(result);
      } catch (err) {
        const name = String(err.field || "").split(".").pop();
        const at = problems.get(name) ? name : "";
        if (at) {
          problems.get(at).textContent = said(err);
          const el = controls.get(at);
          el.setAttribute("aria-invalid", "true");
          (el.querySelector ? el.querySelector("input") || el : el).focus();
        } else {
          top.textContent = said(err);
        }
      } finally { button.disabled = false; }
    });
    fill(body, form);
  }, "dlg-wide");
}

/** Ask before something that cannot be undone; ``run()`` rejects with a CallError to show. */
export function confirmDialog(title, text, label, run) {
  openDialog(title, (body) => {
    const problem = h("p", {class: "error", role: "alert"});
    const yes = h("button", {type: "button", class: "danger"}, label);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      problem.textContent = "";
      try { await run(); closeDialog(); } catch (err) { problem.textContent = said(err); } finally { yes.disabled = false; }
    });
    fill(body, h("div", {class: "dlg-form"}, h("p", null, text), problem,
      h("div", {class: "dlg-buttons"}, h("button", {type: "button", autofocus: true, onclick: () => closeDialog()}, t("cancel")), yes)));
  });
}

/** A dialog that only tells something (a webhook's secret, say). */
export function noticeDialog(title, ...content) {
  openDialog(title, (body) => {
    fill(body, h("div", {class: "dlg-form"}, ...content,
      h("div", {class: "dlg-buttons"}, h("button", {type: "button", onclick: () => closeDialog()}, t("done")))));
  });
}
