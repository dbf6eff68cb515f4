// The console's words in English and German, chosen by the browser's language
// (as the widget does); a word missing in one language falls back to English.
const WORDS = {
  en: {
    title: "Parley console", signIn: "Sign in", email: "Email", password: "Password",
    signOut: "Sign out", badLogin: "Wrong email or password.", loginFailed: "Could not sign in: {x}",
    mine: "Mine", new: "New", others: "Others'", missed: "Missed", offers: "Offers",
    chats: "Chats", capacity: "{n} of {m} chats", noChats: "Nothing here",
    online: "Online", away: "Away", offline: "Offline", status: "Your status",
    connecting: "Connecting…", reconnecting: "Reconnecting…", synced: "Synced",
    sessionEnded: "Your session ended: sign in again.",
    accept: "Accept", decline: "Decline", take: "Take", close: "Close chat",
    transfer: "Transfer", transferTo: "Transfer to department", whisper: "Note (operators only)",
    send: "Send", compose: "Write a reply", composeNote: "Write a note only operators see",
    pickChat: "Pick a chat from the list.", typing: "{x} is typing…", waiting: "waiting {x}",
    closedChat: "This chat is closed.", older: "Loading older messages…",
    visitor: "Visitor", name: "Name", page: "Current page", trail: "Pages visited",
    browser: "Browser", language: "Language", localTime: "Local time", visits: "Visits",
    referrer: "Referrer", noInfo: "No details yet.", you: "You", note: "Note",
    offerFor: "Offered to you", failed: "Not sent: {x}", retry: "Retry",
    listLabel: "Chat lists", chatLabel: "Open chat", visitorLabel: "Visitor details",
    transcript: "Messages", unread: "{n} unread",
    history: "History", tickets: "Tickets", pagesLabel: "Pages",
    notifyEnable: "Enable sound and notifications", notNow: "Not now",
    searchWords: "Words", searchHint: "Search the messages", from: "From", to: "To",
    statusFilter: "Status", any: "Any", status_new: "New", status_active: "Active", status_queued: "Waiting",
    closedStatus: "Closed", operator: "Operator", rating: "Rating", notRated: "Not rated",
    search: "Search", more: "More", backToList: "Back to the list", site: "Site",
    cmdPalette: "Commands", paletteHint: "Type a command or a chat", cmdShortcuts: "Keyboard shortcuts",
    done: "Done", noMatch: "Nothing matches", cmdNext: "Next chat", cmdPrevious: "Previous chat",
    cmdNth: "Chat {n} in the lists", cmdReply: "Write a reply", cmdWhisper: "Note on or off",
    cmdAccept: "Accept or take the chat", goOnline: "Go online", goAway: "Go away",
    openChat: "Open {x}", noHistory: "No chats found.", loadFailed: "Could not load: {x}",
    messages: "{n} messages", noTickets: "No tickets.", received: "Received",
    notifyOffer: "A chat is offered to you", notifyWaiting: "A visitor is waiting",
    notifyStillWaiting: "Still waiting for an operator", colleague: "A colleague",
  },
  de: {
    title: "Parley-Konsole", signIn: "Anmelden", email: "E-Mail", password: "Passwort",
    signOut: "Abmelden", badLogin: "E-Mail oder Passwort falsch.", loginFailed: "Anmeldung fehlgeschlagen: {x}",
    mine: "Meine", new: "Neu", others: "Andere", missed: "Verpasst", offers: "Angebote",
    chats: "Chats", capacity: "{n} von {m} Chats", noChats: "Nichts hier",
    online: "Online", away: "Abwesend", offline: "Offline", status: "Ihr Status",
    connecting: "Verbinde…", reconnecting: "Verbindung wird wiederhergestellt…", synced: "Synchronisiert",
    sessionEnded: "Ihre Sitzung ist beendet: bitte neu anmelden.",
    accept: "Annehmen", decline: "Ablehnen", take: "Übernehmen", close: "Chat schließen",
    transfer: "Weiterleiten", transferTo: "An Abteilung weiterleiten", whisper: "Notiz (nur Operatoren)",
    send: "Senden", compose: "Antwort schreiben", composeNote: "Notiz nur für Operatoren",
    pickChat: "Wählen Sie einen Chat aus der Liste.", typing: "{x} schreibt…", waiting: "wartet {x}",
    closedChat: "Dieser Chat ist geschlossen.", older: "Ältere Nachrichten werden geladen…",
    visitor: "Besucher", name: "Name", page: "Aktuelle Seite", trail: "Besuchte Seiten",
    browser: "Browser", language: "Sprache", localTime: "Ortszeit", visits: "Besuche",
    referrer: "Verweis", noInfo: "Noch keine Angaben.", you: "Sie", note: "Notiz",
    offerFor: "Ihnen angeboten", failed: "Nicht gesendet: {x}", retry: "Erneut",
    listLabel: "Chatlisten", chatLabel: "Offener Chat", visitorLabel: "Besucherdetails",
    transcript: "Nachrichten", unread: "{n} ungelesen",
    history: "Verlauf", tickets: "Tickets", pagesLabel: "Seiten",
    notifyEnable: "Ton und Benachrichtigungen einschalten", notNow: "Nicht jetzt",
    searchWords: "Wörter", searchHint: "In den Nachrichten suchen", from: "Von", to: "Bis",
    statusFilter: "Status", any: "Alle", status_new: "Neu", status_active: "Aktiv", status_queued: "Wartend",
    closedStatus: "Geschlossen", operator: "Operator", rating: "Bewertung", notRated: "Nicht bewertet",
    search: "Suchen", more: "Mehr", backToList: "Zurück zur Liste", site: "Website",
    cmdPalette: "Befehle", paletteHint: "Befehl oder Chat eingeben", cmdShortcuts: "Tastenkürzel",
    done: "Fertig", noMatch: "Nichts gefunden", cmdNext: "Nächster Chat", cmdPrevious: "Vorheriger Chat",
    cmdNth: "Chat {n} der Listen", cmdReply: "Antwort schreiben", cmdWhisper: "Notiz an oder aus",
    cmdAccept: "Chat annehmen oder übernehmen", goOnline: "Online gehen", goAway: "Abwesend gehen",
    openChat: "{x} öffnen", noHistory: "Keine Chats gefunden.", loadFailed: "Laden fehlgeschlagen: {x}",
    messages: "{n} Nachrichten", noTickets: "Keine Tickets.", received: "Eingegangen",
    notifyOffer: "Ihnen wird ein Chat angeboten", notifyWaiting: "Ein Besucher wartet",
    notifyStillWaiting: "Wartet noch auf einen Operator", colleague: "Ein Kollege",
  },
};

const wanted = (document.documentElement.dataset.lang || navigator.language || "en").toLowerCase().split("-")[0];
export const lang = WORDS[wanted] ? wanted : "en";

/** The word ``key`` in the console's language, with {n}, {m}, {x} filled in. */
export function t(key, values) {
  const s = WORDS[lang][key] || WORDS.en[key] || key;
  return s.replace(/\{(\w)\}/g, (_, k) => (values && k in values ? String(values[k]) : ""));
}

export const clock = new Intl.DateTimeFormat(lang, {hour: "numeric", minute: "2-digit"});
export const stamp = new Intl.DateTimeFormat(lang, {dateStyle: "medium", timeStyle: "short"});

/** A wait as people read it: 45 s, 3 min, 2 h. */
export function since(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h";
}
