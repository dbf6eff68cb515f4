// What each section of the Settings page holds: the service it calls (its
// methods are named after the noun: ListSites, CreateSite, UpdateSite,
// DeleteSite), the permission it needs, what it is listed under (a site or a
// department), its table's columns and its form's fields (forms.js). The
// fields are the API's writable ones; a create sends what the API takes at
// creation, the rest is set by editing.
import {h} from "./dom.js";
import {t, stamp} from "./i18n.js";
import {formDialog, confirmDialog} from "./forms.js";
import {MAIL, WEBHOOKS} from "./admin_outbox.js";

const yes = (v) => (v ? t("sYes") : t("sNo"));
const zones = () => (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]);
const list = (values) => (values && values.length ? values.join(", ") : "—");

const SITES = {
  id: "sites", title: "sSites", perm: "manage_sites", service: "Sites", noun: "Site", plural: "Sites",
  key: "site", reloads: true, name: (s) => s.name,
  columns: [
    {label: "fName", value: (s) => s.name},
    {label: "fOrigins", value: (s) => list(s.allowed_origins)},
    {label: "fTimezone", value: (s) => s.timezone || "UTC"},
    {label: "fTypingPreview", value: (s) => yes(s.typing_preview)},
  ],
  fields: () => [
    {name: "name", label: t("fName"), required: true},
    {name: "allowed_origins", label: t("fOrigins"), type: "list", hint: "https://shop.example"},
    {name: "timezone", label: t("fTimezone"), suggest: zones, hint: "Europe/Berlin"},
    {name: "typing_preview", label: t("fTypingPreview"), type: "checkbox"},
    {name: "languages", label: t("fLanguages"), type: "list", hint: "en, de"},
    {name: "quota_mb", label: t("fQuota"), type: "number"},
    {name: "transcript_retention_days", label: t("fTranscriptDays"), type: "optional-number", hint: t("sUnset")},
    {name: "address_retention_days", label: t("fAddressDays"), type: "optional-number", hint: t("sUnset")},
  ],
};

const DEPARTMENTS = {
  id: "departments", title: "sDepartments", perm: "manage_departments", service: "Departments", noun: "Department",
  plural: "Departments", key: "department", scope: "site", reloads: true, name: (d) => d.name,
  columns: [
    {label: "fName", value: (d) => d.name},
    {label: "fDescription", value: (d) => d.description},
    {label: "fChatEnabled", value: (d) => yes(d.chat_enabled)},
    {label: "fHours", value: (d) => d.hours || "—"},
  ],
  fields: (ctx, item) => [
    {name: "name", label: t("fName"), required: true},
    {name: "description", label: t("fDescription"), type: "textarea"},
    {name: "chat_enabled", label: t("fChatEnabled"), type: "checkbox", only: "edit"},
    {name: "hours", label: t("fHours"), only: "edit"},
    {name: "timezone", label: t("fTimezone"), suggest: zones, only: "edit"},
    {name: "max_wait_seconds", label: t("fMaxWait"), type: "number", only: "edit"},
    {name: "fallback_department_id", label: t("fFallback"), type: "select", only: "edit",
      options: () => [{value: "", label: "—"}, ...ctx.departments(item && item.site_id)
        .filter((d) => !item || d.id !== item.id).map((d) => ({value: d.id, label: d.name}))]},
    {name: "offer_seconds", label: t("fOfferSeconds"), type: "number", only: "edit"},
    {name: "offline_action", label: t("fOfflineAction"), type: "select", only: "edit",
      options: () => [{value: "keep", label: t("keep")}, {value: "forward", label: t("forward")}, {value: "close", label: t("closeThem")}]},
    {name: "offline_seconds", label: t("fOfflineSeconds"), type: "number", only: "edit"},
  ],
};

const OPERATORS = {
  id: "operators", title: "sOperators", perm: "manage_operators", service: "Operators", noun: "Operator",
  plural: "Operators", key: "operator", name: (o) => o.display_name || o.email,
  columns: [
    {label: "fDisplayName", value: (o) => [o.display_name, h("span", {class: "sub"}, o.email)]},
    {label: "fRole", value: (o) => o.role},
    {label: "fDepartments", value: (o, ctx) => list(o.department_ids.map(ctx.departmentName))},
    {label: "fMaxChats", value: (o) => String(o.max_chats)},
    {label: "fStatus", value: (o) => (o.disabled ? t("fDisabled") : o.online ? t("onlineNow") : t("offlineNow"))},
  ],
  fields: (ctx) => [
    {name: "email", label: t("fEmail"), type: "email", only: "create", required: true},
    {name: "password", label: t("fPassword"), type: "password", only: "create", required: true},
    {name: "display_name", label: t("fDisplayName"), required: true},
    {name: "internal_name", label: t("fInternalName")},
    {name: "role", label: t("fRole"), type: "select", initial: "operator",
      options: () => ctx.roles().map((r) => ({value: r.name, label: r.name}))},
    {name: "department_ids", label: t("fDepartments"), type: "checks",
      options: () => ctx.departments().map((d) => ({value: d.id,
        label: ctx.sites().length > 1 ? d.name + " · " + ctx.siteName(d.site_id) : d.name}))},
    {name: "max_chats", label: t("fMaxChats"), type: "number", initial: 5},
    {name: "region_ids", label: t("fRegions"), type: "checks", only: "edit",
      options: () => ctx.departments().flatMap((d) => ctx.regions(d.id).map((r) => ({value: r.id, label: r.name + " · " + d.name})))},
    {name: "group_ids", label: t("fGroups"), type: "checks", only: "edit",
      options: () => ctx.sites().flatMap((s) => ctx.groups(s.id).map((g) => ({value: g.id, label: g.name})))},
    {name: "languages", label: t("fLanguages"), type: "list", only: "edit"},
    {name: "schedule", label: t("fSchedule"), only: "edit", hint: "mon-fri 09:00-17:00"},
    {name: "timezone", label: t("fTimezone"), suggest: zones, only: "edit"},
    {name: "auto_distribution", label: t("fAutoDistribution"), type: "checkbox", only: "edit"},
    {name: "auto_accept", label: t("fAutoAccept"), type: "checkbox", only: "edit"},
    {name: "disabled", label: t("fDisabled"), type: "checkbox", only: "edit"},
  ],
  createRequest: (v) => ({
    operator: {email: v.email, display_name: v.display_name, internal_name: v.internal_name, role: v.role,
      department_ids: v.department_ids},
    password: v.password, max_chats: v.max_chats,
  }),
  actions: (o, ctx) => [
    {label: t("aResetPassword"), run: () => formDialog(t("aResetPassword") + ": " + (o.display_name || o.email),
      [{name: "password", label: t("newPassword"), type: "password", required: true}], null,
      (v) => ctx.call("Operators", "ResetPassword", {operator_id: o.id, new_password: v.password}, null),
      () => ctx.tell(t("sSaved")))},
    {label: t("aRevoke"), run: () => confirmDialog(t("aRevoke") + ": " + (o.display_name || o.email), t("aRevoke") + "?", t("aRevoke"),
      async () => {
        const reply = await ctx.call("Operators", "RevokeSessions", {operator_id: o.id});
        ctx.tell(t("revoked", {n: reply.revoked}));
      })},
  ],
};

const ROLES = {
  id: "roles", title: "sRoles", perm: "manage_roles", service: "Roles", noun: "Role", plural: "Roles",
  key: "role", idField: "name", idOf: (r) => r.name, reloads: true, name: (r) => r.name,
  editable: (r) => !r.builtin, removable: (r) => !r.builtin,
  columns: [
    {label: "fName", value: (r) => (r.builtin ? [r.name, " ", h("span", {class: "tag"}, t("sBuiltin"))] : r.name)},
    {label: "fPermissions", value: (r) => h("span", {class: "perms"}, r.permissions.join(", "))},
  ],
  fields: (ctx) => {
    // Every permission a role holds somewhere (the built-in owner holds them all).
    const names = [...new Set(ctx.roles().flatMap((r) => r.permissions))].sort();
    const held = ctx.held();
    return [
      {name: "name", label: t("fRoleName"), only: "create", required: true},
      {name: "permissions", label: t("fPermissions"), type: "checks",
        options: () => names.map((p) => ({value: p, label: p, note: held.has(p) ? "" : t("sYouLack")}))},
    ];
  },
};

const REGIONS = {
  id: "regions", title: "sRegions", perm: "manage_departments", service: "Regions", noun: "Region", plural: "Regions",
  key: "region", scope: "department", reloads: true, name: (r) => r.name,
  columns: [{label: "fName", value: (r) => r.name}],
  fields: () => [{name: "name", label: t("fName"), required: true}],
};

const GROUPS = {
  id: "groups", title: "sGroups", perm: "manage_departments", service: "Groups", noun: "Group", plural: "Groups",
  key: "group", scope: "site", reloads: true, name: (g) => g.name,
  columns: [{label: "fName", value: (g) => g.name}],
  fields: () => [{name: "name", label: t("fName"), required: true}],
};

const LINKS = {
  id: "links", title: "sLinks", perm: "manage_departments", service: "LinkRules", noun: "LinkRule", plural: "LinkRules",
  key: "link_rule", scope: "site", name: (l) => l.pattern,
  columns: [
    {label: "fPattern", value: (l) => h("code", null, l.pattern)},
    {label: "fGroup", value: (l, ctx) => (ctx.groups(l.site_id).find((g) => g.id === l.group_id) || {}).name || l.group_id},
    {label: "fPosition", value: (l) => String(l.position)},
  ],
  fields: (ctx) => [
    {name: "pattern", label: t("fPattern"), required: true, hint: "/pricing"},
    {name: "group_id", label: t("fGroup"), type: "select", required: true,
      options: () => ctx.groups(ctx.site()).map((g) => ({value: g.id, label: g.name}))},
    {name: "position", label: t("fPosition"), type: "number"},
  ],
};

const TEMPLATES = {
  id: "templates", title: "sTemplates", perm: "manage_templates", service: "Templates", noun: "Template",
  plural: "Templates", key: "template", name: (q) => "/" + q.shortcut,
  columns: [
    {label: "fShortcut", value: (q) => "/" + q.shortcut},
    {label: "fText", value: (q) => h("span", {class: "clip"}, q.text)},
    {label: "fShared", value: (q) => yes(q.shared)},
  ],
  fields: () => [
    {name: "shortcut", label: t("fShortcut"), required: true},
    {name: "text", label: t("fText"), type: "textarea", required: true},
    {name: "shared", label: t("fShared"), type: "checkbox", only: "create", initial: true},
  ],
};

const EXPIRY = [["0", "forever"], ["3600", "oneHour"], ["86400", "oneDay"], ["604800", "oneWeek"], ["2592000", "oneMonth"]];

const BLOCKS = {
  id: "blocks", title: "sBlocks", perm: "manage_blacklist", service: "Blocks", noun: "Block", plural: "Blocks",
  key: "block", scope: "site", liftLabel: true, name: (b) => b.value,
  editable: () => false,
  columns: [
    {label: "fValue", value: (b) => b.value},
    {label: "fKind", value: (b) => (b.kind === "ip" ? t("kindIp") : t("kindVisitor"))},
    {label: "fReason", value: (b) => b.reason},
    {label: "fCreated", value: (b) => stamp.format(new Date(Number(b.created_ms)))},
    {label: "fExpiresAt", value: (b) => (Number(b.expires_ms) ? stamp.format(new Date(Number(b.expires_ms))) : t("forever"))},
  ],
  fields: () => [
    {name: "kind", label: t("fKind"), type: "select", initial: "ip",
      options: () => [{value: "ip", label: t("kindIp")}, {value: "visitor", label: t("kindVisitor")}]},
    {name: "value", label: t("fValue"), required: true, hint: "203.0.113.0/24"},
    {name: "reason", label: t("fReason")},
    {name: "expires", label: t("fExpires"), type: "select", initial: "0",
      options: () => EXPIRY.map(([value, key]) => ({value, label: t(key)}))},
  ],
  createRequest: (v, ctx) => ({
    block: {site_id: ctx.site(), kind: v.kind, value: v.value, reason: v.reason},
    expires_in_seconds: Number(v.expires),
  }),
};

/** The sections, in the order of the tabs. */
export const SECTIONS = [SITES, DEPARTMENTS, OPERATORS, ROLES, REGIONS, GROUPS, LINKS, TEMPLATES, BLOCKS, MAIL, WEBHOOKS];
