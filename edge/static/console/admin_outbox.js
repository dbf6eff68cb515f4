// The Settings page's Email and Webhooks sections (services Mail and
// Webhooks): the account's SMTP server, shown with its outbox's state and
// edited through a form that sends only what changed (the password only when
// one is typed); the webhooks listed like the other sections, a new one's
// signing secret shown the one time the server gives it, and a test post.
import {h, fill} from "./dom.js";
import {t, stamp} from "./i18n.js";
import {formDialog, noticeDialog, said} from "./forms.js";

const TLS = ["none", "starttls", "tls"];
const EVENTS = ["chat.started", "chat.assigned", "chat.closed", "message", "rating", "ticket"];

function mailFields() {
  return [
    {name: "host", label: t("fHost"), required: true},
    {name: "port", label: t("fPort"), type: "number", initial: 587},
    {name: "tls", label: t("fTls"), type: "select", initial: "starttls", options: () => TLS.map((v) => ({value: v, label: v}))},
    {name: "username", label: t("fUsername")},
    {name: "password", label: t("fSmtpPassword"), type: "password"},
    {name: "from_address", label: t("fFrom"), type: "email", required: true},
  ];
}

export const MAIL = {
  id: "mail", title: "sMail", perm: "manage_sites",
  async draw(ctx, body) {
    let settings;
    try {
      settings = await ctx.call("Mail", "GetMailSettings", {}, "parley.v1.MailSettings");
    } catch (err) { fill(body, h("p", {class: "error", role: "alert"}, t("loadFailed", {x: said(err)}))); return; }
    const shown = {...settings, password: ""};
    const facts = [
      [t("fHost"), settings.host ? settings.host + ":" + settings.port : t("sUnset")],
      [t("fTls"), settings.tls || "—"],
      [t("fUsername"), settings.username || "—"],
      [t("password"), settings.password_set ? t("passwordSet") : t("sUnset")],
      [t("fFrom"), settings.from_address || "—"],
      [t("fStatus"), t("mailQueue", {n: settings.pending, m: settings.failed})],
    ];
    const edit = () => formDialog(t("sEditOf", {x: t("sMail")}), mailFields(), shown, (values, changed) => {
      const paths = changed.filter((p) => p !== "password" || values.password);
      return ctx.call("Mail", "UpdateMailSettings", {mail_settings: values, update_mask: {paths}}, "parley.v1.MailSettings");
    }, () => { ctx.tell(t("sSaved")); ctx.redraw(); });
    const test = () => formDialog(t("aTestMail"), [{name: "to", label: t("testTo"), type: "email", required: true}], null,
      (values) => ctx.call("Mail", "SendTestMail", {to: values.to}, null), () => ctx.tell(t("testSent")));
    fill(body,
      h("dl", {class: "facts"}, facts.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
      settings.last_error ? h("p", {class: "error"}, t("lastError", {x: settings.last_error})) : null,
      h("div", {class: "dlg-buttons start"},
        h("button", {type: "button", class: "primary", onclick: edit}, t("sEdit")),
        h("button", {type: "button", onclick: test, disabled: !settings.host}, t("aTestMail"))));
  },
};

export const WEBHOOKS = {
  id: "webhooks", title: "sWebhooks", perm: "manage_sites", service: "Webhooks", noun: "Webhook", plural: "Webhooks",
  key: "webhook", name: (w) => w.url,
  columns: [
    {label: "fUrl", value: (w) => w.url},
    {label: "fEvents", value: (w) => (w.events.length ? w.events.join(", ") : "*")},
    {label: "fEnabled", value: (w) => (w.enabled ? t("sYes") : w.disabled_reason ? t("disabledBecause", {x: w.disabled_reason}) : t("sNo"))},
    {label: "fCreated", value: (w) => stamp.format(new Date(Number(w.created_ms)))},
  ],
  fields: () => [
    {name: "url", label: t("fUrl"), type: "url", required: true, hint: "https://hooks.example/parley"},
    {name: "events", label: t("fEvents"), type: "checks", options: () => EVENTS.map((e) => ({value: e, label: e}))},
    {name: "enabled", label: t("fEnabled"), type: "checkbox", initial: true},
  ],
  created: (hook) => noticeDialog(t("sWebhooks"), h("p", null, t("webhookSecret")), h("p", null, h("code", {class: "secret"}, hook.secret))),
  actions: (w, ctx) => [{label: t("aTestWebhook"), run: async () => {
    try {
      await ctx.call("Webhooks", "TestWebhook", {webhook_id: w.id}, null);
      ctx.tell(t("testSent"));
    } catch (err) { ctx.tell(said(err)); }
  }}],
};
