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
    actions: "Actions", actionsOf: "Actions: {x}", dialogClose: "Close", cancel: "Cancel",
    aTransfer: "Transfer…", aInvite: "Invite a colleague…", aJoin: "Join", aJoinInvisible: "Join invisibly",
    aTakeOver: "Take over", aLeave: "Leave", aHold: "Put on hold", aNotWaiting: "Visitor not waiting",
    aActive: "Back to active", aClose: "Close chat", aBlock: "Block visitor",
    wTransfer: "transfer chats", wInvite: "invite colleagues", wJoin: "join chats",
    wJoinInvisible: "join chats invisibly", wTakeOver: "take chats over", wStatus: "change a chat's status",
    wBlock: "block visitors", roleMayNot: "Your role may not {x}.",
    whyClosed: "The chat is closed.", whyNotIn: "You are not in this chat.", whyIn: "You are in this chat already.",
    whyWaiting: "The chat waits for an operator: take it instead.", whyNoOwner: "Nobody has this chat.",
    whyNoVisitor: "The visitor is not known yet.", whyOffline: "{x}", whyFull: "At their limit",
    whyInChat: "In this chat", load: "{n} of {m} chats",
    no_conversation_closed: "The chat is closed.", no_not_participant: "You are not in this chat.",
    no_already_in_chat: "Already in this chat.", no_permission_denied: "Your role does not allow this.",
    no_operator_unavailable: "That colleague is not online or has no free slot.",
    no_owner_changed: "The chat moved meanwhile: look again.",
    no_waiting: "The chat waits for an operator: take it instead.", no_unknown_conversation: "No such chat.",
    no_at_capacity: "You are at your chat limit.", no_unknown_department: "No such department.",
    no_unknown_operator: "No such colleague.", refused: "Not done: {x}",
    transferChat: "Transfer {x}", pickTarget: "Colleague or department", pickColleague: "Colleague",
    departments: "Departments", typeToFilter: "Type to filter", noMatch: "No match",
    transferredTo: "Transferring to {x}…", invited: "Inviting {x}…", blocked: "{x} is blocked.",
    blockVisitor: "Block {x}", blockWhat: "The visitor cannot start chats while blocked.", blockReason: "Reason",
    colleagues: "Colleagues", colleaguesUnread: "Colleagues, {n} unread", allColleagues: "All colleagues",
    noColleagues: "No colleagues yet.", noDirect: "No messages yet.", writeColleague: "Write to your colleague",
    quickReplies: "Quick replies", noQuick: "No quick reply matches",
    history: "History", tickets: "Tickets", pagesLabel: "Pages",
    notifyEnable: "Enable sound and notifications", notNow: "Not now",
    searchWords: "Words", searchHint: "Search the messages", from: "From", to: "To",
    statusFilter: "Status", any: "Any", status_new: "New", status_active: "Active", status_queued: "Waiting",
    closedStatus: "Closed", operator: "Operator", rating: "Rating", notRated: "Not rated",
    search: "Search", more: "More", backToList: "Back to the list", site: "Site",
    cmdPalette: "Commands", paletteHint: "Type a command or a chat", cmdShortcuts: "Keyboard shortcuts",
    done: "Done", cmdNext: "Next chat", cmdPrevious: "Previous chat",
    cmdNth: "Chat {n} in the lists", cmdReply: "Write a reply", cmdWhisper: "Note on or off",
    cmdAccept: "Accept or take the chat", goOnline: "Go online", goAway: "Go away",
    openChat: "Open {x}", noHistory: "No chats found.", loadFailed: "Could not load: {x}",
    messages: "{n} messages", noTickets: "No tickets.", received: "Received",
    notifyOffer: "A chat is offered to you", notifyWaiting: "A visitor is waiting",
    notifyStillWaiting: "Still waiting for an operator", colleague: "A colleague",
    visitorsPage: "Visitors", visitorsNow: "{n} on the site now", noVisitors: "Nobody is on the site now.",
    newVisitor: "New", returning: "Returning", inChat: "In a chat", invitedAlready: "Invited",
    cameFrom: "from {x}", invite: "Invite", inviteWho: "Invite {x} to chat", inviteWords: "Your words",
    inviteDefault: "Hello! Can I help you with anything?", inviteNotAllowed: "Your role may not invite visitors",
    whyInviteInChat: "Already in a chat: no invitation needed.", whyInviteInvited: "Already invited: waiting for the answer.",
    menu: "Menu", menuNew: "something new",
    invitationSent: "{x} is invited.", invitation_accepted: "Your invitation was accepted: the chat is yours.",
    invitation_declined: "Your invitation was declined.", invitation_expired: "Your invitation expired unanswered.",
    invitation_left: "The visitor left before answering.",
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
    actions: "Aktionen", actionsOf: "Aktionen: {x}", dialogClose: "Schließen", cancel: "Abbrechen",
    aTransfer: "Weiterleiten…", aInvite: "Kollegen einladen…", aJoin: "Beitreten", aJoinInvisible: "Unsichtbar beitreten",
    aTakeOver: "Übernehmen", aLeave: "Verlassen", aHold: "Halten", aNotWaiting: "Besucher wartet nicht",
    aActive: "Wieder aktiv", aClose: "Chat schließen", aBlock: "Besucher sperren",
    wTransfer: "Chats weiterleiten", wInvite: "Kollegen einladen", wJoin: "Chats beitreten",
    wJoinInvisible: "Chats unsichtbar beitreten", wTakeOver: "Chats übernehmen", wStatus: "den Chatstatus ändern",
    wBlock: "Besucher sperren", roleMayNot: "Ihre Rolle darf nicht: {x}.",
    whyClosed: "Der Chat ist geschlossen.", whyNotIn: "Sie sind nicht in diesem Chat.", whyIn: "Sie sind bereits in diesem Chat.",
    whyWaiting: "Der Chat wartet auf einen Operator: übernehmen Sie ihn.", whyNoOwner: "Niemand hat diesen Chat.",
    whyNoVisitor: "Der Besucher ist noch nicht bekannt.", whyOffline: "{x}", whyFull: "Am Limit",
    whyInChat: "In diesem Chat", load: "{n} von {m} Chats",
    no_conversation_closed: "Der Chat ist geschlossen.", no_not_participant: "Sie sind nicht in diesem Chat.",
    no_already_in_chat: "Bereits in diesem Chat.", no_permission_denied: "Ihre Rolle erlaubt das nicht.",
    no_operator_unavailable: "Die Kollegin oder der Kollege ist nicht online oder hat keinen freien Platz.",
    no_owner_changed: "Der Chat hat sich inzwischen bewegt: bitte neu ansehen.",
    no_waiting: "Der Chat wartet auf einen Operator: übernehmen Sie ihn.", no_unknown_conversation: "Diesen Chat gibt es nicht.",
    no_at_capacity: "Sie sind an Ihrem Chat-Limit.", no_unknown_department: "Diese Abteilung gibt es nicht.",
    no_unknown_operator: "Diese Person gibt es nicht.", refused: "Nicht ausgeführt: {x}",
    transferChat: "{x} weiterleiten", pickTarget: "Kollege oder Abteilung", pickColleague: "Kollege",
    departments: "Abteilungen", typeToFilter: "Zum Filtern tippen", noMatch: "Kein Treffer",
    transferredTo: "Wird an {x} weitergeleitet…", invited: "{x} wird eingeladen…", blocked: "{x} ist gesperrt.",
    blockVisitor: "{x} sperren", blockWhat: "Gesperrte Besucher können keine Chats beginnen.", blockReason: "Grund",
    colleagues: "Kollegen", colleaguesUnread: "Kollegen, {n} ungelesen", allColleagues: "Alle Kollegen",
    noColleagues: "Noch keine Kollegen.", noDirect: "Noch keine Nachrichten.", writeColleague: "An Ihre Kollegin oder Ihren Kollegen schreiben",
    quickReplies: "Schnellantworten", noQuick: "Keine passende Schnellantwort",
    history: "Verlauf", tickets: "Tickets", pagesLabel: "Seiten",
    notifyEnable: "Ton und Benachrichtigungen einschalten", notNow: "Nicht jetzt",
    searchWords: "Wörter", searchHint: "In den Nachrichten suchen", from: "Von", to: "Bis",
    statusFilter: "Status", any: "Alle", status_new: "Neu", status_active: "Aktiv", status_queued: "Wartend",
    closedStatus: "Geschlossen", operator: "Operator", rating: "Bewertung", notRated: "Nicht bewertet",
    search: "Suchen", more: "Mehr", backToList: "Zurück zur Liste", site: "Website",
    cmdPalette: "Befehle", paletteHint: "Befehl oder Chat eingeben", cmdShortcuts: "Tastenkürzel",
    done: "Fertig", cmdNext: "Nächster Chat", cmdPrevious: "Vorheriger Chat",
    cmdNth: "Chat {n} der Listen", cmdReply: "Antwort schreiben", cmdWhisper: "Notiz an oder aus",
    cmdAccept: "Chat annehmen oder übernehmen", goOnline: "Online gehen", goAway: "Abwesend gehen",
    openChat: "{x} öffnen", noHistory: "Keine Chats gefunden.", loadFailed: "Laden fehlgeschlagen: {x}",
    messages: "{n} Nachrichten", noTickets: "Keine Tickets.", received: "Eingegangen",
    notifyOffer: "Ihnen wird ein Chat angeboten", notifyWaiting: "Ein Besucher wartet",
    notifyStillWaiting: "Wartet noch auf einen Operator", colleague: "Ein Kollege",
    visitorsPage: "Besucher", visitorsNow: "{n} gerade auf der Website", noVisitors: "Gerade ist niemand auf der Website.",
    newVisitor: "Neu", returning: "Wiederkehrend", inChat: "Im Chat", invitedAlready: "Eingeladen",
    cameFrom: "von {x}", invite: "Einladen", inviteWho: "{x} zum Chat einladen", inviteWords: "Ihre Worte",
    inviteDefault: "Hallo! Kann ich Ihnen helfen?", inviteNotAllowed: "Ihre Rolle darf keine Besucher einladen",
    whyInviteInChat: "Schon in einem Chat: keine Einladung nötig.", whyInviteInvited: "Schon eingeladen: die Antwort steht aus.",
    menu: "Menü", menuNew: "etwas Neues",
    invitationSent: "{x} ist eingeladen.", invitation_accepted: "Ihre Einladung wurde angenommen: der Chat gehört Ihnen.",
    invitation_declined: "Ihre Einladung wurde abgelehnt.", invitation_expired: "Ihre Einladung ist unbeantwortet abgelaufen.",
    invitation_left: "Der Besucher ist gegangen, bevor er antwortete.",
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

/** A page's own words, added by its module at load: {en: {...}, de: {...}}. */
export function addWords(more) {
  for (const [language, words] of Object.entries(more)) Object.assign(WORDS[language] || (WORDS[language] = {}), words);
}

/** Whether ``key`` has words (in the console's language or English). */
export function hasWord(key) { return Boolean(WORDS[lang][key] || WORDS.en[key]); }
