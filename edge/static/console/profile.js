// The operator's own profile, opened from its name in the top bar (or the
// palette): the name visitors see and the one colleagues see, the avatar, the
// auto-accept choice, its timezone, the emails it wants (new tickets, missed
// chats, the daily report) and a new password (Auth.UpdateMe with the fields
// changed as its update mask; Auth.ChangePassword). Its reception hours are
// shown as who manages operators set them. What the role may not change is
// shown disabled with the reason; the server checks each field anyway.
import {t, addWords} from "./i18n.js";
import {formDialog} from "./forms.js";

const A = "/parley.v1.Auth/";
const TOPICS = ["tickets", "missed", "daily"];
const zones = () => (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]);

addWords({
  en: {
    profile: "Your profile", profileOf: "Your profile: {x}", pAccount: "Signed in as",
    pHours: "Reception hours", pAlways: "Always (no hours set)", pHoursIn: "{x}, in {m}",
    pAvatar: "Avatar (an https address; empty: your initials)", pTimezone: "Your timezone",
    pTimezoneHint: "Of your reception hours and your daily report.", pMail: "Email me",
    pMail_tickets: "New tickets", pMail_missed: "Missed chats", pMail_daily: "Daily report",
    pMailHint: "New tickets of your departments; the daily report: yesterday's figures, at the start of your day.",
    pCurrent: "Current password (to change it)", pNew: "New password",
    pNewHint: "Leave both empty to keep your password.", pNeedsCurrent: "Give your current password too.",
    pRoleMayNot: "Your role may not change this.", pSaved: "Your profile is saved.",
    no_bad_credentials: "The current password is wrong.", no_invalid_timezone: "Not a timezone (e.g. Europe/Berlin).",
    no_invalid_avatar_url: "An https address, or empty.",
  },
  de: {
    profile: "Ihr Profil", profileOf: "Ihr Profil: {x}", pAccount: "Angemeldet als",
    pHours: "Empfangszeiten", pAlways: "Immer (keine Zeiten gesetzt)", pHoursIn: "{x}, in {m}",
    pAvatar: "Avatar (eine https-Adresse; leer: Ihre Initialen)", pTimezone: "Ihre Zeitzone",
    pTimezoneHint: "Für Ihre Empfangszeiten und Ihren Tagesbericht.", pMail: "E-Mail an mich",
    pMail_tickets: "Neue Tickets", pMail_missed: "Verpasste Chats", pMail_daily: "Tagesbericht",
    pMailHint: "Neue Tickets Ihrer Abteilungen; der Tagesbericht: die Zahlen von gestern, zu Beginn Ihres Tages.",
    pCurrent: "Aktuelles Passwort (zum Ändern)", pNew: "Neues Passwort",
    pNewHint: "Beide leer lassen, um Ihr Passwort zu behalten.", pNeedsCurrent: "Geben Sie auch Ihr aktuelles Passwort an.",
    pRoleMayNot: "Ihre Rolle darf das nicht ändern.", pSaved: "Ihr Profil ist gespeichert.",
    no_bad_credentials: "Das aktuelle Passwort ist falsch.", no_invalid_timezone: "Keine Zeitzone (z. B. Europe/Berlin).",
    no_invalid_avatar_url: "Eine https-Adresse oder leer.",
  },
});

/** The reception hours as the operator reads them. */
export function hours(me) {
  if (!me.schedule) return t("pAlways");
  return t("pHoursIn", {x: me.schedule, m: me.timezone || "UTC"});
}

/**
 * Open the profile dialog. ``app``: state(), call(method, input, request,
 * output), saved(operator) once it is stored.
 */
export function profileDialog(app) {
  const state = app.state();
  const me = state && state.me.profile;
  if (!me) return;
  const mayName = state.can("change_display_name");
  const mayAccept = state.can("auto_accept");
  const original = {
    ...me, account: me.email + " · " + me.role, hours: hours(me), current_password: "", new_password: "",
  };
  const specs = [
    {name: "account", label: t("pAccount"), type: "info"},
    {name: "hours", label: t("pHours"), type: "info"},
    {name: "display_name", label: t("fDisplayName"), required: mayName, disabled: !mayName,
      hint: mayName ? null : t("pRoleMayNot")},
    {name: "internal_name", label: t("fInternalName")},
    {name: "avatar_url", label: t("pAvatar"), type: "url"},
    {name: "auto_accept", label: t("fAutoAccept"), type: "checkbox", disabled: !mayAccept,
      hint: mayAccept ? null : t("pRoleMayNot")},
    {name: "timezone", label: t("pTimezone"), suggest: zones, hint: t("pTimezoneHint")},
    {name: "mail_notifications", label: t("pMail"), type: "checks", hint: t("pMailHint"),
      options: () => TOPICS.map((topic) => ({value: topic, label: t("pMail_" + topic)}))},
    {name: "current_password", label: t("pCurrent"), type: "password"},
    {name: "new_password", label: t("pNew"), type: "password", hint: t("pNewHint")},
  ];
  formDialog(t("profileOf", {x: me.display_name}), specs, original, async (values, changed) => {
    if (values.new_password && !values.current_password) {
      throw {reason: "needs_current", field: "current_password", message: t("pNeedsCurrent")};
    }
    let saved = me;
    const fields = changed.filter((f) => f !== "current_password" && f !== "new_password");
    if (fields.length) {
      const operator = {};
      for (const f of fields) operator[f] = values[f];
      saved = await app.call(A + "UpdateMe", "parley.v1.UpdateMeRequest",
        {operator, update_mask: {paths: fields}}, "parley.v1.Operator");
      app.saved(saved);  // kept even if the password below is refused
    }
    if (values.new_password) {
      try {
        await app.call(A + "ChangePassword", "parley.v1.ChangePasswordRequest",
          {current_password: values.current_password, new_password: values.new_password}, null);
      } catch (err) {
        if (!err.field) err.field = String(err.reason).toLowerCase() === "bad_credentials" ? "current_password" : "new_password";
        throw err;
      }
    }
    return saved;
  }, (saved) => app.saved(saved, t("pSaved")));
}
