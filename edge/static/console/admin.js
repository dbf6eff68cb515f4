// The Settings page: the account's configuration, one section per kind of
// thing (admin_sections.js says what each holds). A section is listed a page
// at a time (the API's paging), with a site (or department) chosen above the
// list when the things belong to one; "New" and each row's "Edit" open a form
// (forms.js) that sends a create with a request id or an update with only the
// changed fields in its mask; deletes ask first. Each section shows only to a
// role that holds its permission; the server checks every call anyway.
import {h, fill, $} from "./dom.js";
import {t} from "./i18n.js";
import {formDialog, confirmDialog, requestId, said} from "./forms.js";
import {SECTIONS} from "./admin_sections.js";

const V1 = "/parley.v1.";
const PAGE = 50;
let app = null;
let current = null;      // the section shown
let next = "";           // its next page's token
let wired = false;
let asked = 0;           // the list asked for last: an older answer arriving later is dropped
const cache = {sites: [], departments: [], roles: [], groups: new Map(), regions: new Map(), loaded: false};

const snake = (s) => s.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

/** Call ``Service/Method`` with the request and answer types named after it. */
function call(service, method, request, output) {
  return app.call(V1 + service + "/" + method, "parley.v1." + method + "Request", request,
    output === null ? null : output || "parley.v1." + method + "Response");
}

/** Every page of a list, for the pickers (sites, departments, roles). */
async function all(service, method, request, items) {
  const out = [];
  let token = "";
  do {
    const reply = await call(service, method, {...request, page_size: 200, page_token: token});
    out.push(...reply[items]);
    token = reply.next_page_token;
  } while (token && out.length < 5000);
  return out;
}

/** What the sections reach: the API, the caches, the choices above the list. */
const ctx = {
  call, all, t,
  can: (p) => { const s = app.state(); return Boolean(s && s.can(p)); },
  held: () => { const s = app.state(); return s ? s.role.permissions : new Set(); },
  site: () => $("admin-site").value,
  department: () => $("admin-dept").value,
  sites: () => cache.sites,
  departments: (siteId) => cache.departments.filter((d) => !siteId || d.site_id === siteId),
  roles: () => cache.roles,
  groups: (siteId) => cache.groups.get(siteId) || [],
  regions: (departmentId) => cache.regions.get(departmentId) || [],
  siteName: (id) => (cache.sites.find((s) => s.id === id) || {}).name || id,
  departmentName: (id) => (cache.departments.find((d) => d.id === id) || {}).name || id,
  reload: () => reloadCaches(),
  redraw: () => list(true),
  tell: (text) => tell(text),
};

/** The sections the caller's role may use. */
export function allowedSections(state) { return SECTIONS.filter((s) => state && state.can(s.perm)); }

/** Wire the page once; ``appCtx`` gives state() and call(method, input, request, output). */
export function wireAdmin(appCtx) {
  app = appCtx;
  if (wired) return;
  wired = true;
  // The rows of the site left go at once: none of them can be acted on while the
  // chosen site's rows load.
  $("admin-site").addEventListener("change", async () => { fill($("admin-body")); await loadScoped(); list(true); });
  $("admin-dept").addEventListener("change", () => list(true));
  $("admin-new").addEventListener("click", () => create());
  $("admin-more").addEventListener("click", () => list(false));
}

/** The page is shown: the caches, the tabs the role may use, the first section. */
export async function showAdmin() {
  const allowed = allowedSections(app.state());
  fill($("admin-tabs"), allowed.map((s) => h("button", {
    type: "button", "data-section": s.id, "aria-pressed": "false", onclick: () => open(s),
  }, t(s.title))));
  if (!cache.loaded) await reloadCaches();
  const keep = current && allowed.includes(current) ? current : allowed[0];
  if (keep) await open(keep);
}

async function reloadCaches() {
  try {
    const [sites, departments, roles] = await Promise.all([
      all("Sites", "ListSites", {}, "sites"),
      all("Departments", "ListDepartments", {}, "departments").catch(() => []),
      all("Roles", "ListRoles", {}, "roles").catch(() => []),
    ]);
    Object.assign(cache, {sites, departments, roles, loaded: true});
    const select = $("admin-site");
    const was = select.value;
    fill(select, sites.map((s) => new Option(s.name || s.id, s.id)));
    if (sites.some((s) => s.id === was)) select.value = was;
    await loadScoped();
  } catch (err) { $("admin-error").textContent = t("loadFailed", {x: said(err)}); }
}

/** The site's departments (in the choice above the list), groups and each department's regions. */
async function loadScoped() {
  const siteId = ctx.site();
  const dept = $("admin-dept");
  const was = dept.value;
  const departments = ctx.departments(siteId);
  fill(dept, departments.map((d) => new Option(d.name, d.id)));
  if (departments.some((d) => d.id === was)) dept.value = was;
  if (!siteId) return;
  try {
    cache.groups.set(siteId, await all("Groups", "ListGroups", {site_id: siteId}, "groups"));
    for (const d of departments) cache.regions.set(d.id, await all("Regions", "ListRegions", {department_id: d.id}, "regions"));
  } catch (err) { void err; /* the sections that need them say so when listed */ }
}

async function open(section) {
  current = section;
  for (const b of $("admin-tabs").children) b.setAttribute("aria-pressed", String(b.dataset.section === section.id));
  $("admin-title").textContent = t(section.title);
  $("admin-site-label").hidden = !(section.scope === "site" || section.scope === "department") || cache.sites.length < 1;
  $("admin-dept-label").hidden = section.scope !== "department";
  $("admin-new").hidden = !section.fields || section.create === false;
  $("admin-new").textContent = t("sNew");
  tell("");
  await list(true);
}

function tell(text) {
  const el = $("admin-status");
  el.textContent = text;
}

/** The request that lists ``section`` (its scope filled in). */
function listRequest(section) {
  const request = {page_size: PAGE};
  if (section.scope === "site") request.site_id = ctx.site();
  if (section.scope === "department") request.department_id = ctx.department();
  return request;
}

async function list(first) {
  const section = current;
  if (!section) return;
  const ask = ++asked;
  const body = $("admin-body");
  $("admin-error").textContent = "";
  $("admin-more").hidden = true;
  if (section.draw) { await section.draw(ctx, body); return; }
  if (first) { next = ""; fill(body); }
  if ((section.scope === "site" && !ctx.site()) || (section.scope === "department" && !ctx.department())) {
    fill(body, h("p", {class: "empty"}, t("sNone")));
    return;
  }
  body.setAttribute("aria-busy", "true");
  try {
    const request = listRequest(section);
    if (!first && next) request.page_token = next;
    const reply = await call(section.service, "List" + section.plural, request);
    if (ask !== asked) return;
    const items = reply[snake(section.plural)];
    next = reply.next_page_token;
    let table = body.querySelector("table");
    if (!table) {
      if (!items.length) { fill(body, h("p", {class: "empty"}, t("sNone"))); return; }
      table = h("table", {class: "admin-table"},
        h("caption", {class: "sr"}, t(section.title)),
        h("thead", null, h("tr", null, section.columns.map((c) => h("th", {scope: "col"}, t(c.label))),
          h("th", {scope: "col"}, h("span", {class: "sr"}, t("actions"))))),
        h("tbody"));
      fill(body, h("div", {class: "table-wrap"}, table));
    }
    table.tBodies[0].append(...items.map((item) => row(section, item)));
    $("admin-more").hidden = !next;
  } catch (err) {
    $("admin-error").textContent = t("loadFailed", {x: said(err)});
  } finally { body.removeAttribute("aria-busy"); }
}

function idOf(section, item) { return section.idOf ? section.idOf(item) : item.id; }
function nameOf(section, item) { return section.name(item); }

function row(section, item) {
  const name = nameOf(section, item);
  const buttons = [];
  const editable = section.fields && (!section.editable || section.editable(item)) && section.update !== false;
  if (editable) buttons.push(h("button", {type: "button", "aria-label": t("sEditOf", {x: name}), onclick: () => edit(section, item)}, t("sEdit")));
  for (const action of section.actions ? section.actions(item, ctx) : []) {
    buttons.push(h("button", {type: "button", "aria-label": action.label + ": " + name, onclick: () => action.run()}, action.label));
  }
  if (section.remove !== false && (!section.removable || section.removable(item))) {
    const label = section.liftLabel ? t("sLift") : t("sDelete");
    buttons.push(h("button", {type: "button", class: "danger-quiet", "aria-label": label + ": " + name,
      onclick: () => remove(section, item, label)}, label));
  }
  return h("tr", {"data-id": idOf(section, item)},
    section.columns.map((c, i) => (i === 0 ? h("th", {scope: "row"}, c.value(item, ctx)) : h("td", null, c.value(item, ctx)))),
    h("td", {class: "row-buttons"}, h("div", null, buttons)));
}

function create() {
  const section = current;
  if (!section || !section.fields) return;
  let last = null;  // the last request sent and its id: a retry of the same request reuses the id
  formDialog(t("sNewOf", {x: t(section.title)}), section.fields(ctx, null), null, async (values) => {
    const request = section.createRequest ? section.createRequest(values, ctx) : {[section.key]: withScope(section, values)};
    const body = JSON.stringify(request);
    const id = last && last.body === body ? last.id : requestId();
    last = {body, id};
    const made = await call(section.service, "Create" + section.noun, {...request, request_id: id}, "parley.v1." + section.noun);
    return made;
  }, async (made) => {
    tell(t("sCreated"));
    if (section.created) section.created(made, ctx);
    if (section.reloads) await reloadCaches();
    await list(true);
  });
}

function withScope(section, values) {
  const out = {...values};
  if (section.scope === "site") out.site_id = ctx.site();
  if (section.scope === "department") out.department_id = ctx.department();
  return out;
}

function edit(section, item) {
  formDialog(t("sEditOf", {x: nameOf(section, item)}), section.fields(ctx, item), item, async (values, changed) => {
    const key = section.key;
    const thing = {};
    for (const name of changed) thing[name] = values[name];
    if (section.idField === "name") thing.name = item.name; else thing.id = item.id;
    const request = {[key]: thing, update_mask: {paths: changed}};
    return call(section.service, "Update" + section.noun, request, "parley.v1." + section.noun);
  }, async () => {
    tell(t("sSaved"));
    if (section.reloads) await reloadCaches();
    await list(true);
  });
}

function remove(section, item, label) {
  const name = nameOf(section, item);
  const text = section.liftLabel ? t("sConfirmLift", {x: name}) : t("sConfirmDelete", {x: name});
  confirmDialog(label + ": " + name, text, label, async () => {
    await call(section.service, "Delete" + section.noun, {[section.idField || snake(section.noun) + "_id"]: idOf(section, item)}, null);
    tell(t("sDeleted"));
    if (section.reloads) await reloadCaches();
    await list(true);
  });
}
