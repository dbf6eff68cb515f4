// Parley visitor widget, the panel (protocol v1), loaded by the embed (widget.js)
// only when it is needed: the visitor opens the widget, an invitation, a message or
// a chat in progress arrives, or a chat is active on page load. It is a module whose
// default export the embed calls with what it has: its script tag (the data-*
// settings), the shadow root it drew the launcher in, and its socket with the
// frames received on it so far, which the panel takes over and reads again, so the
// visitor's session goes on without a second hello.
//
// The site's look, words and pre-chat form are set on the server (parley site
// update) and come in the welcome frame; they are kept (localStorage) so the next
// page paints them before the socket opens. Optional on the tag, for what the
// site leaves unset: data-color, data-position (right|left), data-title,
// data-greeting; and data-department, data-lang (else the browser's language).
//
// Everything lives in a shadow root styled by a constructed stylesheet: the host
// page's CSS cannot reach in, and a strict Content-Security-Policy (no inline
// styles, no Trusted-Types-unsafe sinks) has nothing to block: every node is made
// with DOM APIs and anything a person wrote goes in as textContent.
//
// What is kept (localStorage, per site): the visitor token, name and email, and
// the conversation on screen keyed by seq (with messages not yet acknowledged);
// the panel's open state per tab (sessionStorage). A page load draws the kept
// conversation at once, then says hello so the server replays the
// open conversation after the last seq kept, naming the conversation that seq is
// of: a chat that closed while the page was away comes back with what was missed
// and its close; another open chat comes from its start. A message replayed that
// is already on screen (same seq) is not drawn twice. A reconnect in the same page
// resumes from the last seq seen. Unacknowledged messages are resent
// with their id, which the server stores once. The seqs are kept with the epoch
// of the server's data they were seen in (the welcome's); when the server says
// epoch_changed (its data was restored) the kept messages are dropped and the
// replay that follows draws the chat again.
export default function (boot) {
  var script = boot.script;
  function attr(n) { return (script && script.getAttribute("data-" + n)) || ""; }
  var site = attr("site");
  if (!site) { console.error("parley: data-site is missing"); return; }
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host +
    "/v1/visitor?site=" + encodeURIComponent(site);

  // -- words ------------------------------------------------------------------------
  var WORDS = {
    en: {title: "Chat with us", greeting: "Hi! Ask us anything, we are happy to help.",
      open: "Open chat", dismiss: "Dismiss", hide: "Minimise chat", online: "We are online", offline: "Offline",
      connecting: "Connecting…", lost: "Connection lost. Reconnecting in {n} s…",
      unreachable: "We cannot reach the chat right now. Trying again in {n} s.",
      retry: "Try now", blocked: "Chat is not available to you on this site.",
      refused: "This chat cannot be opened from this page.", here: "{n} is here",
      queued: "You are number {n} in line", eta: "about {n} min", waitNote: "Someone will be with you shortly.",
      typing: "{n} is typing…", placeholder: "Write a message…", again: "Write to start a new chat…", send: "Send",
      sending: "Sending…", sent: "Sent", read: "Read", failed: "Not sent. Tap to retry.",
      you: "You", pick: "Who would you like to talk to?", region: "Region", anyRegion: "Any region",
      isOnline: "online", isOffline: "offline",
      offlineIntro: "Nobody can chat right now. Leave a message and the team will see it when they are back.",
      name: "Your name", email: "Email", message: "Message", leave: "Leave a message",
      saved: "Thank you. Your message is with the team; they will see it when they are back.",
      end: "End chat", endAsk: "End this chat?", endYes: "End chat", endNo: "Keep chatting",
      ended: "The chat has ended.", tooLate: "Nobody could answer in time.",
      rateQ: "How was this chat?", star: "{n} of 5", comment: "Anything to add? (optional)",
      rateSend: "Send rating", thanks: "Thank you for your rating.", download: "Download transcript", mail: "Email me this conversation",
      newChat: "New chat", unread: "{n} unread", messages: "Messages", from: "{n} says: {t}",
      slow: "You are sending too fast. Wait a moment.", inv: "{n} invites you to chat", noThanks: "No, thanks",
      pre: "Before we start, tell us who you are.", question: "How can we help?", start: "Start chat",
      opt: "(optional)", need: "Please fill this in.",
      nJoined: "{n} joined the chat", nLeft: "{n} left the chat", finding: "Finding someone to help you…",
      hold: "{n} put the chat on hold", back: "{n} is back", closedBy: "{n} ended the chat", youEnded: "You ended the chat",
      attach: "Attach a file", up: "Sending the file… {n}%",
      svc: "Reconnecting… What you write will be sent when the chat is back.", eType: "This kind of file cannot be sent.",
      eBig: "This file is too large to send.", eFull: "There is no room for more files right now.",
      eMail: "Please enter a valid email address.", eNoMail: "Email cannot be sent right now.",
      eMany: "Too many emails for now. Please try later.", eTickets: "You have left several messages already; the team will see them.",
      eCheck: "Please check what you entered.", oops: "Something went wrong. Please try again."},
    de: {title: "Chatten Sie mit uns", greeting: "Hallo! Fragen Sie uns gern, wir helfen Ihnen.",
      open: "Chat öffnen", dismiss: "Ausblenden", hide: "Chat minimieren", online: "Wir sind online", offline: "Offline",
      connecting: "Verbinde…", lost: "Verbindung unterbrochen. Neuer Versuch in {n} s…",
      unreachable: "Der Chat ist gerade nicht erreichbar. Neuer Versuch in {n} s.",
      retry: "Jetzt versuchen", blocked: "Der Chat steht Ihnen auf dieser Website nicht zur Verfügung.",
      refused: "Dieser Chat kann auf dieser Seite nicht geöffnet werden.", here: "{n} ist da",
      queued: "Sie sind Nummer {n} in der Warteschlange", eta: "etwa {n} Min.", waitNote: "Gleich ist jemand für Sie da.",
      typing: "{n} schreibt…", placeholder: "Nachricht schreiben…", again: "Schreiben Sie, um einen neuen Chat zu beginnen…", send: "Senden",
      sending: "Wird gesendet…", sent: "Gesendet", read: "Gelesen", failed: "Nicht gesendet. Erneut versuchen.",
      you: "Sie", pick: "Mit wem möchten Sie sprechen?", region: "Region", anyRegion: "Beliebige Region",
      isOnline: "online", isOffline: "offline",
      offlineIntro: "Gerade ist niemand erreichbar. Hinterlassen Sie eine Nachricht; das Team sieht sie, sobald es zurück ist.",
      name: "Ihr Name", email: "E-Mail", message: "Nachricht", leave: "Nachricht hinterlassen",
      saved: "Danke. Ihre Nachricht liegt beim Team; es sieht sie, sobald es zurück ist.",
      end: "Chat beenden", endAsk: "Diesen Chat beenden?", endYes: "Chat beenden", endNo: "Weiter chatten",
      ended: "Der Chat ist beendet.", tooLate: "Leider konnte niemand rechtzeitig antworten.",
      rateQ: "Wie war dieser Chat?", star: "{n} von 5", comment: "Möchten Sie etwas ergänzen? (optional)",
      rateSend: "Bewertung senden", thanks: "Danke für Ihre Bewertung.", download: "Verlauf herunterladen", mail: "Verlauf per E-Mail",
      newChat: "Neuer Chat", unread: "{n} ungelesen", messages: "Nachrichten", from: "{n} schreibt: {t}",
      slow: "Sie senden zu schnell. Bitte kurz warten.", inv: "{n} lädt Sie zum Chat ein", noThanks: "Nein, danke",
      pre: "Bevor es losgeht: Wer sind Sie?", question: "Wie können wir helfen?", start: "Chat starten",
      opt: "(optional)", need: "Bitte ausfüllen.",
      nJoined: "{n} ist dem Chat beigetreten", nLeft: "{n} hat den Chat verlassen", finding: "Wir suchen jemanden, der Ihnen hilft…",
      hold: "{n} hat den Chat pausiert", back: "{n} ist wieder da", closedBy: "{n} hat den Chat beendet", youEnded: "Sie haben den Chat beendet",
      attach: "Datei anhängen", up: "Datei wird gesendet… {n} %",
      svc: "Verbindung wird wiederhergestellt… Was Sie schreiben, wird danach gesendet.", eType: "Diese Art von Datei kann nicht gesendet werden.",
      eBig: "Diese Datei ist zu groß.", eFull: "Gerade ist kein Platz für weitere Dateien.",
      eMail: "Bitte geben Sie eine gültige E-Mail-Adresse ein.", eNoMail: "E-Mails können gerade nicht gesendet werden.",
      eMany: "Zu viele E-Mails. Bitte später erneut versuchen.", eTickets: "Sie haben schon mehrere Nachrichten hinterlassen; das Team sieht sie.",
      eCheck: "Bitte prüfen Sie Ihre Eingaben.", oops: "Etwas ist schiefgegangen. Bitte erneut versuchen."},
    fr: {title: "Discutons", greeting: "Bonjour ! Posez-nous vos questions, nous sommes là pour vous aider.",
      open: "Ouvrir le chat", dismiss: "Masquer", hide: "Réduire le chat", online: "Nous sommes en ligne", offline: "Hors ligne",
      connecting: "Connexion…", lost: "Connexion perdue. Nouvel essai dans {n} s…",
      unreachable: "Le chat est injoignable pour le moment. Nouvel essai dans {n} s.",
      retry: "Réessayer", blocked: "Le chat ne vous est pas accessible sur ce site.",
      refused: "Ce chat ne peut pas s’ouvrir depuis cette page.", here: "{n} est là",
      queued: "Vous êtes numéro {n} dans la file", eta: "environ {n} min", waitNote: "Quelqu’un va vous répondre.",
      typing: "{n} écrit…", placeholder: "Écrivez un message…", again: "Écrivez pour commencer un nouveau chat…", send: "Envoyer",
      sending: "Envoi…", sent: "Envoyé", read: "Lu", failed: "Non envoyé. Touchez pour réessayer.",
      you: "Vous", pick: "À qui souhaitez-vous parler ?", region: "Région", anyRegion: "Toute région",
      isOnline: "en ligne", isOffline: "hors ligne",
      offlineIntro: "Personne n’est disponible pour le moment. Laissez un message : l’équipe le verra à son retour.",
      name: "Votre nom", email: "E-mail", message: "Message", leave: "Laisser un message",
      saved: "Merci. Votre message est transmis à l’équipe ; elle le verra à son retour.",
      end: "Terminer le chat", endAsk: "Terminer ce chat ?", endYes: "Terminer", endNo: "Continuer",
      ended: "Le chat est terminé.", tooLate: "Personne n’a pu répondre à temps.",
      rateQ: "Comment s’est passé ce chat ?", star: "{n} sur 5", comment: "Un commentaire ? (facultatif)",
      rateSend: "Envoyer la note", thanks: "Merci pour votre note.", download: "Télécharger la conversation", mail: "Recevoir par e-mail",
      newChat: "Nouveau chat", unread: "{n} non lus", messages: "Messages", from: "{n} écrit : {t}",
      slow: "Vous envoyez trop vite. Patientez un instant.", inv: "{n} vous invite à discuter", noThanks: "Non merci",
      pre: "Avant de commencer, dites-nous qui vous êtes.", question: "Comment pouvons-nous aider ?",
      start: "Démarrer le chat", opt: "(facultatif)", need: "Merci de remplir ce champ.",
      nJoined: "{n} a rejoint le chat", nLeft: "{n} a quitté le chat", finding: "Nous cherchons quelqu’un pour vous aider…",
      hold: "{n} a mis le chat en attente", back: "{n} est de retour", closedBy: "{n} a terminé le chat", youEnded: "Vous avez terminé le chat",
      attach: "Joindre un fichier", up: "Envoi du fichier… {n} %",
      svc: "Reconnexion… Ce que vous écrivez partira dès le retour du chat.", eType: "Ce type de fichier ne peut pas être envoyé.",
      eBig: "Ce fichier est trop volumineux.", eFull: "Plus de place pour des fichiers pour le moment.",
      eMail: "Saisissez une adresse e-mail valide.", eNoMail: "Impossible d’envoyer un e-mail pour le moment.",
      eMany: "Trop d’e-mails pour le moment. Réessayez plus tard.", eTickets: "Vous avez déjà laissé plusieurs messages ; l’équipe les verra.",
      eCheck: "Vérifiez votre saisie.", oops: "Un problème est survenu. Réessayez."},
    es: {title: "Chatea con nosotros", greeting: "¡Hola! Pregúntanos lo que quieras, te ayudamos con gusto.",
      open: "Abrir chat", dismiss: "Ocultar", hide: "Minimizar chat", online: "Estamos en línea", offline: "Sin conexión",
      connecting: "Conectando…", lost: "Conexión perdida. Reintentando en {n} s…",
      unreachable: "No podemos conectar con el chat ahora. Reintentando en {n} s.",
      retry: "Reintentar", blocked: "El chat no está disponible para ti en este sitio.",
      refused: "Este chat no se puede abrir desde esta página.", here: "{n} está aquí",
      queued: "Eres el número {n} en la cola", eta: "unos {n} min", waitNote: "Alguien te atenderá en breve.",
      typing: "{n} está escribiendo…", placeholder: "Escribe un mensaje…", again: "Escribe para empezar un chat nuevo…", send: "Enviar",
      sending: "Enviando…", sent: "Enviado", read: "Leído", failed: "No enviado. Toca para reintentar.",
      you: "Tú", pick: "¿Con quién quieres hablar?", region: "Región", anyRegion: "Cualquier región",
      isOnline: "en línea", isOffline: "sin conexión",
      offlineIntro: "Ahora no hay nadie para chatear. Deja un mensaje y el equipo lo verá cuando vuelva.",
      name: "Tu nombre", email: "Correo electrónico", message: "Mensaje", leave: "Dejar un mensaje",
      saved: "Gracias. Tu mensaje está con el equipo; lo verá cuando vuelva.",
      end: "Terminar chat", endAsk: "¿Terminar este chat?", endYes: "Terminar", endNo: "Seguir",
      ended: "El chat ha terminado.", tooLate: "Nadie pudo responder a tiempo.",
      rateQ: "¿Qué tal fue este chat?", star: "{n} de 5", comment: "¿Algo que añadir? (opcional)",
      rateSend: "Enviar valoración", thanks: "Gracias por tu valoración.", download: "Descargar conversación", mail: "Enviármela por correo",
      newChat: "Chat nuevo", unread: "{n} sin leer", messages: "Mensajes", from: "{n} dice: {t}",
      slow: "Estás enviando demasiado rápido. Espera un momento.", inv: "{n} te invita a chatear", noThanks: "No, gracias",
      pre: "Antes de empezar, dinos quién eres.", question: "¿En qué podemos ayudarte?", start: "Empezar chat",
      opt: "(opcional)", need: "Rellena este campo.",
      nJoined: "{n} se unió al chat", nLeft: "{n} salió del chat", finding: "Buscando a alguien que te ayude…",
      hold: "{n} puso el chat en espera", back: "{n} ha vuelto", closedBy: "{n} terminó el chat", youEnded: "Terminaste el chat",
      attach: "Adjuntar archivo", up: "Enviando el archivo… {n} %",
      svc: "Reconectando… Lo que escribas se enviará cuando vuelva el chat.", eType: "Este tipo de archivo no se puede enviar.",
      eBig: "Este archivo es demasiado grande.", eFull: "Ahora no hay espacio para más archivos.",
      eMail: "Escribe un correo electrónico válido.", eNoMail: "Ahora no se pueden enviar correos.",
      eMany: "Demasiados correos por ahora. Inténtalo más tarde.", eTickets: "Ya dejaste varios mensajes; el equipo los verá.",
      eCheck: "Revisa lo que escribiste.", oops: "Algo salió mal. Inténtalo de nuevo."},
    ja: {title: "チャットで相談", greeting: "こんにちは！何でもお気軽にご質問ください。",
      open: "チャットを開く", dismiss: "閉じる", hide: "チャットを最小化", online: "オンライン対応中", offline: "オフライン",
      connecting: "接続中…", lost: "接続が切れました。{n} 秒後に再接続します…",
      unreachable: "現在チャットに接続できません。{n} 秒後に再試行します。",
      retry: "今すぐ再試行", blocked: "このサイトではチャットをご利用いただけません。",
      refused: "このページからはチャットを開けません。", here: "{n} が対応中",
      queued: "順番待ち：{n} 番目", eta: "約 {n} 分", waitNote: "まもなく担当者が対応します。",
      typing: "{n} が入力中…", placeholder: "メッセージを入力…", again: "入力して新しいチャットを開始…", send: "送信",
      sending: "送信中…", sent: "送信済み", read: "既読", failed: "送信できませんでした。タップして再送。",
      you: "あなた", pick: "どの窓口に相談しますか？", region: "地域", anyRegion: "指定なし",
      isOnline: "対応中", isOffline: "対応時間外",
      offlineIntro: "ただいま対応できる担当者がいません。メッセージを残していただければ、担当者が戻り次第確認します。",
      name: "お名前", email: "メールアドレス", message: "メッセージ", leave: "メッセージを残す",
      saved: "ありがとうございます。メッセージは担当チームに届きました。戻り次第確認します。",
      end: "チャットを終了", endAsk: "このチャットを終了しますか？", endYes: "終了する", endNo: "続ける",
      ended: "チャットは終了しました。", tooLate: "時間内に対応できる担当者がいませんでした。",
      rateQ: "このチャットはいかがでしたか？", star: "5 段階中 {n}", comment: "ご意見（任意）",
      rateSend: "評価を送信", thanks: "ご評価ありがとうございました。", download: "会話をダウンロード", mail: "メールで受け取る",
      newChat: "新しいチャット", unread: "未読 {n} 件", messages: "メッセージ", from: "{n}：{t}",
      slow: "送信が速すぎます。少しお待ちください。", inv: "{n} からチャットのご案内", noThanks: "結構です",
      pre: "はじめに、お名前などをお知らせください。", question: "ご用件をお聞かせください", start: "チャットを開始",
      opt: "（任意）", need: "入力してください。",
      nJoined: "{n} が参加しました", nLeft: "{n} が退出しました", finding: "担当者を探しています…",
      hold: "{n} がチャットを保留にしました", back: "{n} が戻りました", closedBy: "{n} がチャットを終了しました", youEnded: "チャットを終了しました",
      attach: "ファイルを添付", up: "ファイルを送信中… {n}%",
      svc: "再接続中… 入力した内容は接続が戻り次第送信されます。", eType: "この種類のファイルは送信できません。",
      eBig: "ファイルが大きすぎます。", eFull: "現在、これ以上ファイルを保存できません。",
      eMail: "有効なメールアドレスを入力してください。", eNoMail: "現在メールを送信できません。",
      eMany: "メールの送信回数が多すぎます。後でお試しください。", eTickets: "すでに複数のメッセージをお預かりしています。担当者が確認します。",
      eCheck: "入力内容をご確認ください。", oops: "問題が発生しました。もう一度お試しください。"},
    ar: {title: "تحدث معنا", greeting: "مرحبًا! اسألنا عن أي شيء، يسعدنا مساعدتك.",
      open: "افتح المحادثة", dismiss: "إخفاء", hide: "تصغير المحادثة", online: "نحن متصلون", offline: "غير متصل",
      connecting: "جارٍ الاتصال…", lost: "انقطع الاتصال. إعادة المحاولة خلال {n} ث…",
      unreachable: "لا يمكن الوصول إلى المحادثة الآن. إعادة المحاولة خلال {n} ث.",
      retry: "حاول الآن", blocked: "المحادثة غير متاحة لك على هذا الموقع.",
      refused: "لا يمكن فتح هذه المحادثة من هذه الصفحة.", here: "{n} هنا",
      queued: "ترتيبك {n} في الانتظار", eta: "حوالي {n} د", waitNote: "سيتواصل معك أحد قريبًا.",
      typing: "{n} يكتب…", placeholder: "اكتب رسالة…", again: "اكتب لبدء محادثة جديدة…", send: "إرسال",
      sending: "جارٍ الإرسال…", sent: "أُرسلت", read: "قُرئت", failed: "لم تُرسل. انقر لإعادة المحاولة.",
      you: "أنت", pick: "مع من تريد التحدث؟", region: "المنطقة", anyRegion: "أي منطقة",
      isOnline: "متصل", isOffline: "غير متصل",
      offlineIntro: "لا أحد متاح الآن. اترك رسالة وسيراها الفريق عند عودته.",
      name: "اسمك", email: "البريد الإلكتروني", message: "الرسالة", leave: "اترك رسالة",
      saved: "شكرًا. رسالتك لدى الفريق وسيراها عند عودته.",
      end: "إنهاء المحادثة", endAsk: "إنهاء هذه المحادثة؟", endYes: "إنهاء", endNo: "متابعة",
      ended: "انتهت المحادثة.", tooLate: "لم يتمكن أحد من الرد في الوقت المناسب.",
      rateQ: "كيف كانت هذه المحادثة؟", star: "{n} من 5", comment: "هل من إضافة؟ (اختياري)",
      rateSend: "إرسال التقييم", thanks: "شكرًا على تقييمك.", download: "تنزيل المحادثة", mail: "أرسلها إلى بريدي",
      newChat: "محادثة جديدة", unread: "{n} غير مقروءة", messages: "الرسائل", from: "{n}: {t}",
      slow: "أنت ترسل بسرعة كبيرة. انتظر لحظة.", inv: "{n} يدعوك إلى المحادثة", noThanks: "لا، شكرًا",
      pre: "قبل أن نبدأ، عرّفنا بنفسك.", question: "كيف يمكننا المساعدة؟", start: "ابدأ المحادثة",
      opt: "(اختياري)", need: "يرجى ملء هذا الحقل.",
      nJoined: "انضم {n} إلى المحادثة", nLeft: "غادر {n} المحادثة", finding: "نبحث عن شخص لمساعدتك…",
      hold: "أوقف {n} المحادثة مؤقتًا", back: "عاد {n}", closedBy: "أنهى {n} المحادثة", youEnded: "أنهيت المحادثة",
      attach: "إرفاق ملف", up: "جارٍ إرسال الملف… {n}%",
      svc: "جارٍ إعادة الاتصال… سنرسل ما تكتبه عند عودة المحادثة.", eType: "لا يمكن إرسال هذا النوع من الملفات.",
      eBig: "هذا الملف كبير جدًا.", eFull: "لا توجد مساحة لملفات أخرى الآن.",
      eMail: "أدخل بريدًا إلكترونيًا صالحًا.", eNoMail: "لا يمكن إرسال البريد الآن.",
      eMany: "رسائل بريد كثيرة حاليًا. حاول لاحقًا.", eTickets: "تركت عدة رسائل بالفعل، وسيراها الفريق.",
      eCheck: "تحقق مما أدخلته.", oops: "حدث خطأ ما. حاول مرة أخرى."}
  };
  var wanted = (attr("lang") || navigator.language || "en").toLowerCase().split("-")[0];
  var lang = WORDS[wanted] ? wanted : "en";
  var RTL = /^(ar|he|fa|ur|yi|ps|dv|ckb)$/; // laid out right to left
  function t(k, n, x) {
    var s = WORDS[lang][k] || WORDS.en[k];
    return s.replace("{n}", n === undefined ? "" : n).replace("{t}", x || "");
  }
  var clock = new Intl.DateTimeFormat(lang, {hour: "numeric", minute: "2-digit"});
  var stamp = new Intl.DateTimeFormat(lang, {dateStyle: "medium", timeStyle: "short"});

  // -- storage: refused storage (privacy settings, sandboxes) means page-long memory --
  function box(kind) { try { var s = window[kind]; s.getItem("x"); return s; } catch (e) { return null; } }
  var local = box("localStorage"), tab = box("sessionStorage");
  var KEY = "parley:" + site;
  function load(s, k) { try { return JSON.parse((s && s.getItem(k)) || "{}") || {}; } catch (e) { return {}; } }
  function keep(s, k, v) { try { if (s) s.setItem(k, JSON.stringify(v)); } catch (e) { /* full: page memory */ } }
  var me = load(local, KEY); // {token, name, email}
  var kept = load(local, KEY + ":c"); // {conv, op, closed, rated, read, mine, msgs, pend}
  var ui = load(tab, KEY + ":ui"); // {open}

  // -- state ------------------------------------------------------------------------
  var token = me.token || "", dept = attr("department") || me.dept || "", region = me.region || "", depts = [], offline = false;
  var conv = kept.conv || "", opName = kept.op || "", closed = !!kept.closed, rated = !!kept.rated;
  var lastSeq = 0, readTo = kept.read || 0, mineRead = kept.mine || 0, epoch = kept.epoch || "";
  var msgs = {}, log = [], pend = {}, ws = null, ready = false, conn = "connecting", avs = kept.avs || {};
  var svc = false, tries = 0, timer = 0, welcomed = false, isOpen = !!ui.open, unread = 0, queue = null, invite = null;

  // -- DOM helpers: elements only, text only --------------------------------------
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      var v = props[k];
      if (k === "text") el.textContent = v;
      else if (k === "cls") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else if (v !== false && v != null) el.setAttribute(k, v);
    }
    (kids || []).forEach(function (c) { if (c) el.append(c); });
    return el;
  }
  function icon(d, size) {
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", size || 24);
    svg.setAttribute("height", size || 24); svg.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(NS, "path"); p.setAttribute("d", d); svg.append(p);
    return svg;
  }
  var I_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var I_DOWN = "M6 9l6 6 6-6", I_SEND = "M3 20l18-8L3 4v6l12 2-12 2z", I_X = "M6 6l12 12M18 6L6 18";
  var I_CLIP = "M21 11l-9 9a5 5 0 0 1-7-7l9-9a3 3 0 0 1 4 4l-9 9a1 1 0 0 1-2-2l8-8";

  // The site's settings, as last welcomed (kept), until the welcome says them again.
  var cfg = load(local, KEY + ":s"); // {color, position, avatars, prechat: {name, email, question}, texts}
  function said(k, tag, builtIn) {
    // The site's words for the visitor's language, else for every language, else
    // the tag's, else the built-in ones.
    var x = cfg.texts || {};
    return (x[lang] || {})[k] || (x["*"] || {})[k] || attr(tag) || t(builtIn);
  }
  var title = said("title", "title", "title");

  // The embed's element and shadow root: its launcher gives way to this one at once.
  var host = boot.host, root = boot.root;
  var CSS_TEXT =
    ":host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483000!important;" +
    "inset:auto auto 0 0!important;width:0!important;height:0!important;visibility:visible!important;opacity:1!important}" +
    ".w{--c:#2f54eb;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans JP',sans-serif;color:#1f2328;-webkit-text-size-adjust:100%}" +
    ".w *{box-sizing:border-box;font:inherit;color:inherit;margin:0}" +
    "[hidden]{display:none!important}button{cursor:pointer;border:0;background:none;padding:0}" +
    ":focus-visible{outline:2px solid var(--c);outline-offset:2px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".la{position:fixed;bottom:20px;right:20px;width:58px;height:58px;border-radius:50%;background:var(--c);color:var(--fg);" +
    "display:grid;place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.22);transition:transform .15s}" +
    ".la:hover{transform:scale(1.06)}.la svg{fill:currentColor;stroke:currentColor;stroke-width:0}.la .x{fill:none;stroke-width:2.4}" +
    ".left .la,.left .p{right:auto;left:20px}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d92d20;" +
    "color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}" +
    ".pk{position:fixed;bottom:92px;right:20px;width:min(290px,calc(100vw - 40px));background:#fff;border-radius:14px;" +
    "box-shadow:0 10px 30px rgba(15,23,42,.2),0 0 0 1px rgba(15,23,42,.06)}.left .pk{right:auto;left:20px}" +
    ".pk>button:first-child{display:block;width:100%;text-align:start;padding:12px 34px 12px 14px}" +
    ".pk b{display:block;font-size:12px;font-weight:650;color:#4b5563}.pk .tx{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}" +
    ".pk .x{position:absolute;top:6px;right:6px;width:26px;height:26px;border-radius:50%;display:grid;place-items:center;color:#5b6270}" +
    ".pk .x svg{fill:none;stroke:currentColor;stroke-width:2.4}" +
    ".p{position:fixed;bottom:92px;right:20px;width:380px;height:min(640px,calc(100vh - 116px));background:#fff;border-radius:18px;" +
    "box-shadow:0 16px 48px rgba(15,23,42,.22),0 0 0 1px rgba(15,23,42,.06);display:flex;flex-direction:column;overflow:hidden}" +
    ".hd{background:var(--c);color:var(--fg);padding:14px 12px 14px 16px;display:flex;align-items:center;gap:12px}" +
    ".hd .tt{flex:1;min-width:0}.hd h2{font-size:16px;font-weight:650;line-height:1.25;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
    ".st{font-size:13px;opacity:.9;display:flex;align-items:center;gap:6px}" +
    ".dot{width:8px;height:8px;border-radius:50%;background:#9aa1ad;flex:none}.dot.on{background:#3ccf6e;box-shadow:0 0 0 2px rgba(255,255,255,.5)}" +
    ".ib{width:36px;height:36px;border-radius:10px;display:grid;place-items:center;color:var(--fg)}.ib:hover{background:rgba(255,255,255,.16)}" +
    ".ib svg{fill:none;stroke:currentColor;stroke-width:2.2}" +
    ".av{width:36px;height:36px;border-radius:50%;flex:none;display:grid;place-items:center;font-weight:700;font-size:14px;" +
    "background:rgba(255,255,255,.22);color:var(--fg)}" +
    ".bn{background:#eef2ff;color:#29324a;font-size:13px;padding:9px 16px;border-bottom:1px solid #e3e7f3;display:flex;gap:10px;align-items:center}" +
    ".bn.bad{background:#fff4e5;color:#5c3b00;border-color:#f6e2c0}.bn button{margin-inline-start:auto;font-weight:600;text-decoration:underline}" +
    ".bd{flex:1;overflow-y:auto;scrollbar-width:thin;background:#f6f7f9;padding:16px 14px 8px;overscroll-behavior:contain}" +
    ".card{background:#fff;border:1px solid #e5e7eb;border-radius:14px;padding:14px;margin:0 0 12px}" +
    ".card p{color:#374151}form p{margin-bottom:4px}.card h3{font-size:14px;font-weight:650;margin-bottom:10px}" +
    "ol{list-style:none;padding:0;display:flex;flex-direction:column;gap:2px}" +
    ".m{display:flex;gap:8px;align-items:flex-end;max-width:86%;margin-top:6px}" +
    ".m.me{align-self:flex-end;flex-direction:row-reverse}" +
    ".m .av{width:28px;height:28px;font-size:12px;background:#dfe4f2;color:#29324a}.cont .av{visibility:hidden}.cont .who{display:none}.m.cont{margin-top:0}" +
    ".b{background:#fff;border:1px solid #e5e7eb;border-radius:16px 16px 16px 4px;padding:8px 12px;min-width:0}" +
    ".me .b{background:var(--c);color:var(--fg);border-color:transparent;border-radius:16px 16px 4px 16px}" +
    ".tx{white-space:pre-wrap;overflow-wrap:anywhere}.tx a{text-decoration:underline;color:inherit}" +
    ".who{font-size:12px;font-weight:650;color:#4b5563;margin-bottom:2px}" +
    ".mt{font-size:11px;color:#5b6270;margin:2px 4px 0}.me .mt{text-align:end}" +
    ".col{display:flex;flex-direction:column;min-width:0}.me .col{align-items:flex-end}" +
    ".m.fail .b{opacity:.65}.m.fail .mt{color:#b42318;cursor:pointer}" +
    ".sys{align-self:center;text-align:center;font-size:12px;color:#5b6270;margin:10px 0;max-width:90%}" +
    ".div{align-self:stretch;text-align:center;font-size:12px;color:#5b6270;border-top:1px solid #e5e7eb;margin:14px 0 4px;padding-top:6px}" +
    ".ty{font-size:12px;color:#5b6270;min-height:18px;padding:2px 16px 0;background:#f6f7f9}" +
    ".opts{display:flex;flex-direction:column;gap:8px}" +
    ".opt{display:flex;align-items:center;gap:10px;width:100%;text-align:start;padding:10px 12px;border:1px solid #d6dae3;border-radius:12px;background:#fff}" +
    ".opt:hover{border-color:var(--c)}.opt[aria-pressed=true]{border-color:var(--c);box-shadow:inset 0 0 0 1px var(--c)}" +
    ".opt .nm{flex:1;font-weight:600}.opt .s{font-size:12px;color:#5b6270}.opt .dot.on{box-shadow:none}" +
    "label{display:block;font-size:12px;font-weight:600;color:#374151;margin:8px 0 4px}" +
    "input,select,textarea{width:100%;border:1px solid #cfd4dd;border-radius:10px;padding:9px 11px;background:#fff;font-size:14px}" +
    "textarea{resize:none}.pri{margin-top:12px;width:100%;padding:10px;border-radius:10px;background:var(--c);color:var(--fg);font-weight:650}" +
    ".pri:disabled{opacity:.55;cursor:default}.ok{color:#0f6b3a;font-weight:600;margin-top:8px}" +
    ".stars{display:flex;gap:4px;border:0;padding:0;margin-bottom:6px}.stars input{position:absolute;opacity:0;width:1px;height:1px}" +
    ".stars label{margin:0;font-size:30px;line-height:1;color:#c9ced8;cursor:pointer;padding:2px}" +
    ".stars label.on{color:#f5a524}.stars input:focus-visible+label{outline:2px solid var(--c);border-radius:6px}" +
    ".fi img{display:block;max-width:100%}.cp .ib{color:#5b6270}.up{font-size:12px;color:#5b6270;padding:0 16px;background:#f6f7f9}" +
    ".cp{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 10px 14px;border-top:1px solid #e5e7eb;background:#fff}" +
    ".cp textarea{border:0;padding:8px 0;max-height:120px;min-height:38px;line-height:1.4}.cp textarea:focus{outline:none}" +
    ".cp:focus-within{box-shadow:inset 0 2px 0 var(--c)}" +
    ".sd{width:38px;height:38px;border-radius:50%;background:var(--c);color:var(--fg);display:grid;place-items:center;flex:none}" +
    ".sd svg{fill:currentColor}.sd:disabled{opacity:.4}" +
    ".ft{display:flex;justify-content:center;gap:6px;padding:6px 10px 9px;font-size:12px;background:#fff;color:#5b6270}" +
    ".ft button{text-decoration:underline;color:#4b5563}.ft button:hover{color:#111827}" +
    ".end{display:flex;gap:8px;align-items:center;justify-content:center;padding:8px;background:#fff;border-top:1px solid #e5e7eb;font-size:13px}" +
    ".end button{padding:6px 12px;border-radius:8px;border:1px solid #cfd4dd;font-weight:600}.end .dg{background:#b42318;color:#fff;border-color:#b42318}" +
    ".msg{padding:24px 20px;text-align:center;color:#374151}" +
    ".inv .m{max-width:100%;margin:0 0 8px}img.av{object-fit:cover;padding:0}.inv .no{text-decoration:underline;color:#4b5563;font-size:13px}" +
    ".fa{display:contents}.card .er{color:#b42318;font-weight:600;margin-top:8px}[aria-invalid=true]{border-color:#b42318}" +
    "[dir=rtl] .b{border-radius:16px 16px 4px 16px}[dir=rtl] .me .b{border-radius:16px 16px 16px 4px}" +
    "@media (max-width:480px){.p{inset:0!important;width:auto;height:100%;border-radius:0}.open .la{display:none}" +
    ".hd{padding-top:max(14px,env(safe-area-inset-top))}.cp{padding-bottom:max(10px,env(safe-area-inset-bottom))}}" +
    "@media (prefers-reduced-motion:reduce){.la{transition:none}}";

  var wrap = h("div", {cls: "w", lang: lang, dir: RTL.test(lang) ? "rtl" : "ltr"});
  var sheet = null;
  try { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS_TEXT); root.adoptedStyleSheets = [sheet]; } catch (e) {
    root.append(h("style", {text: CSS_TEXT})); // older browsers: a CSP may need 'unsafe-inline' here
  }
  root.replaceChildren(wrap);
  function look() {
    // The accent colour (the server's is #rgb/#rrggbb; the tag's must be a CSS
    // colour), set through the CSSOM, which a strict style-src allows; text on it
    // dark on light colours, white otherwise.
    var color = cfg.color || attr("color");
    if (!(color && window.CSS && CSS.supports("color", color))) color = "#2f54eb";
    wrap.style.setProperty("--c", color);
    var probe = h("i"); wrap.append(probe); probe.style.color = color;
    var rgb = (getComputedStyle(probe).color.match(/[\d.]+/g) || [0, 0, 0]).map(Number); probe.remove();
    wrap.style.setProperty("--fg", (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) > 170 ? "#111827" : "#fff");
    wrap.classList.toggle("left", (cfg.position || attr("position")) === "left");
    title = said("title", "title", "title");
    head.querySelector("h2").textContent = title;
    greeting.firstChild.textContent = said("greeting", "greeting", "greeting");
    offlineForm.firstChild.textContent = said("offline", "offline-text", "offlineIntro");
  }

  // -- the parts ---------------------------------------------------------------------
  var badge = h("span", {cls: "badge", hidden: true, "aria-hidden": "true"});
  var launcher = h("button", {cls: "la", type: "button", "aria-controls": "pw-panel",
    onclick: function () { setOpen(!isOpen); }}, [icon(I_CHAT, 28), badge]);
  var avatar = h("span", {cls: "fa"});
  var dot = h("span", {cls: "dot"}), statusText = h("span");
  var hide = h("button", {cls: "ib", type: "button", "aria-label": t("hide"),
    onclick: function () { setOpen(false); }}, [icon(I_DOWN, 22)]);
  var head = h("div", {cls: "hd"}, [avatar, h("div", {cls: "tt"}, [h("h2", {text: title, dir: "auto", id: "pw-title"}),
    h("div", {cls: "st"}, [dot, statusText])]), hide]);
  var banner = h("div", {cls: "bn", hidden: true, role: "status"});
  var list = h("ol", {"aria-label": t("messages")});
  var greeting = h("div", {cls: "card"}, [h("p", {dir: "auto"})]);
  var picker = h("div", {cls: "card pick", hidden: true}), offlineCard = h("div", {cls: "card off", hidden: true});
  var preCard = h("div", {cls: "card pre", hidden: true});
  var rating = h("div", {cls: "card rate", hidden: true}), notice = h("div", {cls: "msg", hidden: true});
  var inviteCard = h("div", {cls: "card inv", hidden: true, role: "group"});
  var body = h("div", {cls: "bd"}, [notice, greeting, inviteCard, list, picker, preCard, offlineCard, rating]);
  var typingLine = h("div", {cls: "ty", "aria-hidden": "true"});
  var input = h("textarea", {rows: 1, maxlength: 4000, placeholder: t("placeholder"), "aria-label": t("message"),
    autocomplete: "off", dir: "auto"});
  var sendBtn = h("button", {cls: "sd", type: "submit", "aria-label": t("send")}, [icon(I_SEND, 20)]);
  var fileIn = h("input", {type: "file", hidden: true, onchange: function () { var f = fileIn.files[0]; fileIn.value = ""; if (f) upload(f); }});
  var clip = h("button", {cls: "ib", type: "button", "aria-label": t("attach"), onclick: function () { fileIn.click(); }}, [icon(I_CLIP, 20)]);
  var upNote = h("div", {cls: "up", role: "status"});
  var composer = h("form", {cls: "cp"}, [clip, fileIn, input, sendBtn]);
  var endBtn = h("button", {type: "button", text: t("end"), onclick: function () { confirmEnd(true); }});
  var dlBtn = h("button", {type: "button", text: t("download"), onclick: download});
  var sep = h("span", {text: "·", "aria-hidden": "true"});
  var foot = h("div", {cls: "ft"}, [endBtn, sep, dlBtn]);
  // "Email me this conversation", after a chat, when the welcome says the server can
  // email (the address the visitor gave is filled in); the answer shows in the field.
  var mailOk = false, mTo = h("input", {type: "email", required: true, maxlength: 254, autocomplete: "email", "aria-label": t("email")});
  var mailAsk = h("form", {cls: "end", onsubmit: function (ev) { ev.preventDefault(); send({type: "email_transcript", email: mTo.value}); }},
    [mTo, h("button", {type: "submit", text: t("mail")})]);
  var endNo = h("button", {type: "button", text: t("endNo"), onclick: function () { confirmEnd(false); endBtn.focus(); }});
  var endAsk = h("div", {cls: "end", hidden: true, role: "group", "aria-label": t("endAsk")}, [h("span", {text: t("endAsk")}),
    h("button", {cls: "dg", type: "button", text: t("endYes"), onclick: function () { confirmEnd(false); send({type: "close"}); }}), endNo]);
  var live = h("div", {cls: "sr", "aria-live": "polite"});
  var panel = h("div", {cls: "p", id: "pw-panel", role: "dialog", "aria-labelledby": "pw-title", hidden: true,
    onkeydown: function (ev) { if (ev.key === "Escape") { setOpen(false); launcher.focus(); } }},
    [head, banner, body, typingLine, upNote, endAsk, composer, foot, mailAsk, live]);
  // A new answer while the panel is shut: a small card above the launcher, once.
  var peekText = h("span", {cls: "tx", dir: "auto"}), peekWho = h("b", {dir: "auto"});
  var peekX = h("button", {cls: "x", type: "button", "aria-label": t("dismiss"), onclick: function () { peek.hidden = true; }}, [icon(I_X, 14)]);
  var peek = h("div", {cls: "pk", hidden: true}, [h("button", {type: "button", onclick: function () { setOpen(true); }},
    [peekWho, peekText]), peekX]);
  wrap.append(panel, peek, launcher);

  function save() {
    keep(local, KEY, {token: token, name: me.name, email: me.email, dept: dept, region: region, pre: me.pre});
    var p = [];
    for (var c in pend) p.push([c, pend[c].text, pend[c].ts]);
    keep(local, KEY + ":c", {conv: conv, op: opName, closed: closed, rated: rated, read: readTo, mine: mineRead,
      msgs: log.slice(-200), pend: p, epoch: epoch, avs: avs});
  }
  function say(text) { live.textContent = ""; setTimeout(function () { live.textContent = text; }, 50); }
  function initials(n) { return (n || "?").trim().split(/\s+/).slice(0, 2).map(function (w) { return w[0]; }).join("").toUpperCase(); }
  function face(n, url) {
    // An operator's picture when the site shows them: only https or this host's
    // own paths, loaded without a referrer; else the initials.
    // A picture that cannot load (gone, or refused by the page's img-src) gives
    // way to the initials.
    url = url === undefined ? cfg.avatars !== false && avs[n] : url;
    var mark = h("span", {cls: "av", text: initials(n), "aria-hidden": "true"});
    return url && /^(https:\/\/|\/(?!\/))/.test(url) ? h("img", {cls: "av", src: new URL(url, base).href, alt: "",
      referrerpolicy: "no-referrer", onerror: function (ev) { ev.target.replaceWith(mark); }}) : mark;
  }

  // -- opening and closing the panel -------------------------------------------------
  function setOpen(v, quiet) {
    isOpen = v; ui.open = v; keep(tab, KEY + ":ui", ui);
    panel.hidden = !v;
    if (v) peek.hidden = true;
    wrap.classList.toggle("open", v);
    launcher.setAttribute("aria-expanded", v);
    launcher.setAttribute("aria-label", v ? t("hide") : t("open"));
    launcher.replaceChildren(v ? xIcon() : icon(I_CHAT, 28), badge);
    if (v) {
      unread = 0; paintBadge(); markRead(); scrollDown();
      if (quiet) return;
      var first = composer.hidden ? panel.querySelector(".card:not([hidden]) button, .card:not([hidden]) input") : input;
      (first || hide).focus();
    }
  }
  function xIcon() { var s = icon(I_X, 24); s.setAttribute("class", "x"); return s; }
  function paintBadge() {
    badge.hidden = !unread; badge.textContent = unread > 9 ? "9+" : unread;
    launcher.setAttribute("aria-label", (isOpen ? t("hide") : t("open")) + (unread ? ", " + t("unread", unread) : ""));
  }
  function scrollDown() { body.scrollTop = body.scrollHeight; }

  // -- messages ----------------------------------------------------------------------
  var LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
  function linked(text) {
    // Only http(s) links become anchors, built as elements; everything else is text.
    var out = h("div", {cls: "tx", dir: "auto"}), at = 0, m;
    LINK.lastIndex = 0;
    while ((m = LINK.exec(text))) {
      var url = m[0].replace(/[.,;:!?)\]]+$/, ""), ok = null;
      try { ok = new URL(url); } catch (e) { ok = null; }
      if (!ok || (ok.protocol !== "http:" && ok.protocol !== "https:")) continue;
      out.append(text.slice(at, m.index), h("a", {href: ok.href, target: "_blank", rel: "noopener noreferrer", text: url}));
      at = m.index + url.length; LINK.lastIndex = at;
    }
    out.append(text.slice(at));
    return out;
  }
  function section() {
    // The list of the current conversation; a new chat starts a new list.
    if (!list.lastElementChild || list.lastElementChild.dataset.c !== conv) {
      if (list.lastElementChild) list.append(h("li", {cls: "div", text: t("newChat")}));
      var ol = h("li", {"data-c": conv}, [h("ol")]);
      list.append(ol);
    }
    return list.lastElementChild.firstChild;
  }
  // A notice comes as a code and names, said here in the visitor's language (its
  // text is the operators' English, shown only for a code this widget does not know).
  var NOTICE = {joined: ["nJoined", 0], invited: ["nJoined", 1], transferred: ["nJoined", 1], took_over: ["nJoined", 1],
    left: ["nLeft", 0], moved: ["finding"], requeued: ["finding"], on_hold: ["hold", 0], active: ["back", 0],
    closed_by_operator: ["closedBy", 0], closed_by_visitor: ["youEnded"]};
  function noticeText(m) {
    var w = NOTICE[m.o], a = m.g || [];
    if (m.o === "closed") return t(a[0] === "no_operator" ? "tooLate" : "ended");
    return w ? t(w[0], a[w[1]]) : m.x;
  }
  // m: {s: seq (0 while sending), f: from, n: name, x: text, ts, c: cid, a: file, o: notice code, g: its names}
  function draw(m) {
    var ol = section(), li;
    if (m.f === "system") {
      li = h("li", {cls: "sys"}, [h("span", {text: noticeText(m), dir: "auto"}), h("span", {text: " · " + clock.format(m.ts)})]);
    } else {
      var mine = m.f === "visitor";
      var col = h("div", {cls: "col"}, [h("div", {cls: "b"}, [
        mine ? null : h("div", {cls: "who", text: m.n, dir: "auto"}), m.a ? fileNode(m.a) : linked(m.x)]),
        h("div", {cls: "mt"}, [h("time", {text: clock.format(m.ts), datetime: new Date(m.ts).toISOString()}),
          mine ? h("span", {cls: "ds"}) : null])]);
      li = h("li", {cls: "m" + (mine ? " me" : "")}, [mine ? null : face(m.n), col]);
      li.dataset.n = m.n;
    }
    li.dataset.f = m.f;
    if (m.s) li.dataset.s = m.s;
    if (m.c) li.dataset.cid = m.c;
    // In seq order; messages still sending stay last.
    var before = null;
    if (m.s) {
      for (var el = ol.lastElementChild; el && (!el.dataset.s || +el.dataset.s > m.s); el = el.previousElementSibling) before = el;
    }
    ol.insertBefore(li, before);
    // A run of messages by the same person shows the name and face once.
    [li, li.nextElementSibling].forEach(function (x) {
      var prev = x && x.previousElementSibling;
      if (x) x.classList.toggle("cont", !!prev && prev.dataset.f === x.dataset.f && prev.dataset.n === x.dataset.n);
    });
    return li;
  }
  function stateOf(li) {
    var s = +li.dataset.s, ds = li.querySelector(".ds");
    if (!ds) return;
    ds.textContent = " · " + (li.classList.contains("fail") ? t("failed") : !s ? t("sending") : s <= mineRead ? t("read") : t("sent"));
  }
  function paintStates() { list.querySelectorAll(".me").forEach(stateOf); }
  function shown(m, fresh) {
    // A stored message: drawn once per (conversation, seq).
    if (msgs[m.s]) return;
    if (m.f === "visitor") m.n = ""; // the visitor is "you" on screen, whatever the server calls it
    var p = m.c && m.f === "visitor" && pend[m.c];
    var li;
    if (p) { li = p.el; li.dataset.s = m.s; delete pend[m.c]; stateOf(li); } else li = draw(m);
    msgs[m.s] = li; log.push(m); lastSeq = Math.max(lastSeq, m.s);
    stateOf(li);
    if (fresh && m.f !== "visitor") {
      if (m.f === "operator") { opName = m.n || opName; typingLine.textContent = ""; }
      if (!isOpen || document.visibilityState === "hidden") { unread++; paintBadge(); }
      if (!isOpen && m.f === "operator") { peekWho.textContent = m.n; peekText.textContent = m.x; peek.hidden = false; }
      say(m.f === "operator" ? t("from", m.n, m.x) : noticeText(m));
    }
    scrollDown();
  }
  function newConversation(id) {
    var last = list.lastElementChild; // the list drawn before the chat had its id
    if (last && last.dataset.c === "") last.dataset.c = id;
    conv = id; lastSeq = 0; msgs = {}; log = []; readTo = 0; mineRead = 0; closed = false; rated = false;
    queue = null; opName = ""; rating.hidden = true;
  }
  function markRead() {
    if (!ready || !conv || closed || !isOpen || document.visibilityState === "hidden") return;
    if (lastSeq > readTo) { readTo = lastSeq; send({type: "read", seq: lastSeq}); save(); }
  }

  // -- what is shown where -----------------------------------------------------------
  function paint() {
    var dead = conn === "blocked" || conn === "refused";
    var chosen = null;
    wrap.dataset.state = conn; // connecting, open, retry, blocked, refused
    depts.forEach(function (d) { if (d.id === dept) chosen = d; });
    var needPick = !invite && welcomed && !conv && (depts.length > 1 || !!(chosen && chosen.regions && chosen.regions.length));
    var useOffline = !invite && welcomed && !dead && offline && (!conv || closed) && !!dept;
    var usePre = welcomed && !dead && !useOffline && (!conv || closed) && !(needPick && !chosen) && needForm();
    preCard.hidden = !usePre;
    notice.hidden = !dead;
    notice.textContent = conn === "blocked" ? t("blocked") : conn === "refused" ? t("refused") : "";
    greeting.hidden = dead || log.length > 0 || !!conv || !!invite;
    inviteCard.hidden = dead || !invite;
    picker.hidden = dead || !needPick;
    offlineCard.hidden = !useOffline;
    composer.hidden = dead || !welcomed && !log.length || useOffline || needPick && !chosen || usePre;
    foot.hidden = dead || !log.length;
    input.placeholder = closed && log.length ? t("again") : t("placeholder");
    endBtn.hidden = sep.hidden = !conv || closed;
    mailAsk.hidden = !mailOk || foot.hidden || !closed;
    if (dead || !closed) rating.hidden = true;
    // Header: who is here, else the line's state.
    var status, on = false;
    if (dead) status = t("offline");
    else if (!welcomed || !ready || svc) status = t("connecting");
    else if (conv && !closed && opName) { status = t("here", opName); on = true; }
    else if (useOffline || offline && !conv && (dept || !depts.some(function (d) { return d.online; }))) status = t("offline");
    else { status = t("online"); on = true; }
    statusText.textContent = status; dot.className = "dot" + (on ? " on" : "");
    var who = conv && !closed && opName ? opName + "|" + (cfg.avatars !== false && avs[opName] || "") : "";
    if (avatar.dataset.who !== who) { avatar.dataset.who = who; avatar.replaceChildren(who ? face(opName) : ""); }
    avatar.hidden = !who;
    // The banner: the line's trouble first, then the queue.
    var b = "";
    banner.className = "bn";
    banner.replaceChildren();
    if (!dead && conn === "retry") {
      banner.classList.add("bad");
      b = t(welcomed || log.length ? "lost" : "unreachable", Math.round(wait / 1000));
      banner.append(h("span", {text: b}), h("button", {type: "button", text: t("retry"), onclick: function () { clearTimeout(timer); connect(); }}));
    } else if (!dead && svc) {
      banner.classList.add("bad");
      banner.append(h("span", {text: b = t("svc")}));
    } else if (!dead && ready && queue && conv && !closed && !opName) {
      b = t("queued", queue.position) + (queue.eta ? " · " + t("eta", Math.max(1, Math.round(queue.eta / 60))) : "") + ". " + t("waitNote");
      banner.append(h("span", {text: b}));
    }
    banner.hidden = !b;
  }

  // -- department choice, offline form, rating ---------------------------------------
  function paintPicker() {
    var chosen = null;
    picker.replaceChildren(h("h3", {text: t("pick"), id: "pw-pick"}));
    var opts = h("div", {cls: "opts", role: "group", "aria-labelledby": "pw-pick"});
    depts.forEach(function (d) {
      if (d.id === dept) chosen = d;
      if (depts.length > 1) opts.append(h("button", {cls: "opt", type: "button", "aria-pressed": d.id === dept ? "true" : "false",
        onclick: function () { region = ""; send({type: "choose", department: d.id}); }},
        [h("span", {cls: "dot" + (d.online ? " on" : "")}), h("span", {cls: "nm", text: d.name, dir: "auto"}),
          h("span", {cls: "s", text: d.online ? t("isOnline") : t("isOffline")})]));
    });
    picker.append(opts);
    if (chosen && chosen.regions && chosen.regions.length) {
      var sel = h("select", {id: "pw-region", onchange: function () {
        region = sel.value; send({type: "choose", department: dept, region: region}); }},
        [h("option", {value: "", text: t("anyRegion")})]);
      chosen.regions.forEach(function (r) {
        sel.append(h("option", {value: r.id, text: r.name + " (" + (r.online ? t("isOnline") : t("isOffline")) + ")"}));
      });
      sel.value = region;
      picker.append(h("label", {"for": "pw-region", text: t("region")}), sel);
    }
  }
  var fName = h("input", {id: "pw-name", maxlength: 100, autocomplete: "name", value: me.name || ""});
  var fMail = h("input", {id: "pw-email", type: "email", required: true, maxlength: 254, autocomplete: "email", value: me.email || ""});
  var fText = h("textarea", {id: "pw-text", required: true, maxlength: 4000, rows: 4, dir: "auto"});
  var fBtn = h("button", {cls: "pri", type: "submit", text: t("leave")});
  var fDone = h("p", {cls: "ok", role: "status", hidden: true});
  var offlineForm = h("form", {onsubmit: function (ev) {
    ev.preventDefault();
    if (fBtn.disabled) return;
    me.name = fName.value.trim(); me.email = fMail.value.trim(); save();
    fDone.hidden = true;
    fBtn.disabled = send({type: "ticket", name: me.name, email: me.email, text: fText.value});
  }}, [h("p", {text: t("offlineIntro")}), h("label", {"for": "pw-name", text: t("name")}), fName,
    h("label", {"for": "pw-email", text: t("email")}), fMail, h("label", {"for": "pw-text", text: t("message")}), fText, fBtn, fDone]);
  offlineCard.append(offlineForm);

  // -- the pre-chat form: the site's fields, each off, optional or required; the
  // server checks them too. The question becomes the chat's first message.
  var pName = h("input", {id: "pw-pname", maxlength: 100, autocomplete: "name", value: me.name || ""});
  var pMail = h("input", {id: "pw-pmail", type: "email", maxlength: 254, autocomplete: "email", value: me.email || ""});
  var pQ = h("textarea", {id: "pw-pq", maxlength: 4000, rows: 3, dir: "auto"});
  var pErr = h("p", {cls: "er", role: "alert", hidden: true});
  var pBtn = h("button", {cls: "pri", type: "submit", text: t("start")});
  var FIELDS = {name: pName, email: pMail, question: pQ};
  var preForm = h("form", {novalidate: true, onsubmit: function (ev) {
    ev.preventDefault();
    if (pBtn.disabled || !ready) return;
    for (var k in FIELDS) {
      if (FIELDS[k].required && !FIELDS[k].value.trim()) { preError(k, t("need")); return; }
    }
    var q = mode("question") !== "off" ? pQ.value.trim() : "", cid = q ? newCid() : "";
    pErr.hidden = true; pBtn.disabled = true;
    if (q) { pQ.value = ""; post(q, cid, Date.now()); pend[cid].out = 1; invite = null; paint(); }
    send({type: "prechat", name: pName.value.trim(), email: pMail.value.trim(), question: q, cid: cid});
  }});
  preCard.append(preForm);
  function mode(k) { return (cfg.prechat || {})[k] || "off"; }
  function needForm() { return !me.pre && !!(cfg.prechat && (mode("name") + mode("email") + mode("question")) !== "offoffoff"); }
  function paintPre() {
    preForm.replaceChildren(h("p", {text: t("pre")}));
    [["name", t("name")], ["email", t("email")], ["question", t("question")]].forEach(function (f) {
      var m = mode(f[0]), el = FIELDS[f[0]];
      el.required = m === "required";
      if (m !== "off") preForm.append(h("label", {"for": el.id, text: f[1] + (m === "optional" ? " " + t("opt") : "")}), el);
    });
    preForm.append(pErr, pBtn);
  }
  function preError(k, text) {
    pErr.textContent = text; pErr.hidden = false; pBtn.disabled = false;
    var el = FIELDS[k];
    if (el) { el.setAttribute("aria-invalid", "true"); el.focus(); }
  }
  for (var fk in FIELDS) FIELDS[fk].addEventListener("input", function (ev) { ev.target.removeAttribute("aria-invalid"); });

  var score = 0, stars = [];
  var starBox = h("fieldset", {cls: "stars"}, [h("legend", {cls: "sr", text: t("rateQ")})]);
  [1, 2, 3, 4, 5].forEach(function (n) {
    var id = "pw-star" + n;
    var r = h("input", {type: "radio", name: "pw-score", id: id, value: n, onchange: function () { score = n; paintStars(); }});
    var l = h("label", {"for": id, title: t("star", n)}, [h("span", {"aria-hidden": "true", text: "★"}), h("span", {cls: "sr", text: t("star", n)})]);
    stars.push(l); starBox.append(r, l);
  });
  function paintStars() { stars.forEach(function (l, i) { l.classList.toggle("on", i < score); }); rBtn.disabled = !score; }
  var rComment = h("textarea", {id: "pw-comment", maxlength: 1000, rows: 2, dir: "auto"});
  var rBtn = h("button", {cls: "pri", type: "submit", text: t("rateSend"), disabled: true});
  var rForm = h("form", {onsubmit: function (ev) {
    ev.preventDefault();
    if (!score || rBtn.disabled) return;
    rBtn.disabled = true;
    send({type: "rate", score: score, comment: rComment.value.slice(0, 1000)});
  }}, [h("h3", {text: t("rateQ")}), starBox, h("label", {"for": "pw-comment", text: t("comment")}), rComment, rBtn]);
  var rThanks = h("p", {cls: "ok", text: t("thanks"), hidden: true});
  rating.append(h("p", {text: t("ended")}), rForm, rThanks);
  function showRating() {
    rating.hidden = false; rForm.hidden = rated; rThanks.hidden = !rated;
  }
  function confirmEnd(v) { endAsk.hidden = !v; if (v) endNo.focus(); }

  function download() {
    var lines = [title + " — " + stamp.format(new Date()), ""];
    list.querySelectorAll("li[data-f], li.div").forEach(function (li) {
      if (li.classList.contains("div")) { lines.push("", "— " + li.textContent + " —"); return; }
      var time = li.querySelector("time"), tx = li.querySelector(".tx");
      var who = li.dataset.f === "visitor" ? t("you") : li.dataset.n;
      if (li.dataset.f === "system") lines.push("[" + li.lastChild.textContent.slice(3) + "] " + li.firstChild.textContent);
      else lines.push("[" + time.textContent + "] " + who + ": " + tx.textContent);
    });
    var a = h("a", {href: URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/plain;charset=utf-8"})),
      download: "chat-" + new Date().toISOString().slice(0, 10) + ".txt"});
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }

  // -- the connection ----------------------------------------------------------------
  function send(frame) {
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(frame)); return true;
  }
  var wait = 0;
  function retry(ms) {
    ready = false; conn = "retry"; wait = ms; paint();
    clearTimeout(timer); timer = setTimeout(connect, ms);
  }
  function connect() {
    clearTimeout(timer);
    if (conn === "blocked" || conn === "refused") return;
    conn = "connecting"; svc = false; paint();
    try { attach(new WebSocket(wsUrl)); } catch (e) { conn = "refused"; paint(); }
  }
  function attach(sock) {
    ws = sock;
    ws.onopen = function () {
      // The seqs on screen are of conv: the server replays what came after them
      // (and the close, if the chat ended while the page was away).
      var on = conv && !closed;
      send({type: "hello", v: 1, department: dept, region: dept ? region : "", token: token,
        conversation: on ? conv : "", last_seq: on ? lastSeq : 0, epoch: epoch,
        name: (me.name || "").slice(0, 100), email: (me.email || "").slice(0, 254),
        page: location.href.slice(0, 2000), language: navigator.language || "",
        title: document.title.slice(0, 300), referrer: document.referrer.slice(0, 2000),
        tz: -new Date().getTimezoneOffset()});
    };
    ws.onmessage = function (ev) { if (sock === ws) frame(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (sock !== ws) return;
      ready = false; typingLine.textContent = "";
      if (conn === "blocked" || ev.code === 4403) { conn = conn === "blocked" ? "blocked" : "refused"; paint(); return; }
      tries++;
      // Backoff with jitter: 1, 2, 4 ... 30 s (a flood refusal waits longest).
      var ms = ev.code === 4429 ? 30000 : Math.min(30000, 1000 * Math.pow(2, tries - 1));
      retry(Math.round(ms * (0.8 + Math.random() * 0.4)));
    };
  }
  function frame(f) {
    var type = f.type;
    if (type === "msg") {
      if (f.conversation !== conv) newConversation(f.conversation);
      if (f.file) f.file.c = f.conversation;
      shown({s: f.seq, f: f.from, n: f.name || "", x: f.text, ts: f.ts, c: f.cid, a: f.file, o: f.notice, g: f.args}, true);
      markRead(); save(); paint();
    } else if (type === "ack") {
      if (f.conversation !== conv) { newConversation(f.conversation); }
      var p = pend[f.cid];
      if (p) { shown({s: f.seq, f: "visitor", n: "", x: p.text, ts: p.ts, c: f.cid}, false); }
      save(); paint();
    } else if (type === "epoch_changed") {
      // The server's data was restored: the seqs on screen may name other messages.
      // Drop them; the replay that follows draws the chat from its start.
      for (var s in msgs) msgs[s].remove();
      msgs = {}; log = []; lastSeq = 0; readTo = 0; mineRead = 0; epoch = f.epoch; save(); paint();
    } else if (type === "welcome") {
      welcomed = true; ready = true; conn = "open"; svc = false; tries = 0; fBtn.disabled = false; pBtn.disabled = false; epoch = f.epoch || epoch;
      mailOk = f.email_transcripts; mTo.value = mTo.value || me.email || "";
      if (f.site) { cfg = f.site; keep(local, KEY + ":s", cfg); look(); paintPre(); }
      if (f.token !== token) { token = f.token; }
      if (!f.conversation && conv && !closed) {
        // The chat ended while this page was away.
        closed = true;
      }
      if (f.conversation && f.conversation !== conv) newConversation(f.conversation);
      showDepartments(f);
      // A new session (a reconnect, or the service back in split mode): everything
      // not acknowledged goes again, with its cid, which the server stores once.
      for (var c in pend) pend[c].out = 0;
      flush();
      if (closed && log.length) showRating();
      markRead(); save(); paint();
    } else if (type === "service") {
      // Split mode: the edge keeps this socket while it cannot reach the engine
      // (messages are refused "reconnecting" meanwhile and kept here), then
      // welcomes again with what was missed and says "connected".
      svc = f.state === "reconnecting"; flush(); paint();
    } else if (type === "departments") {
      showDepartments(f); paint();
    } else if (type === "queued") {
      if (!conv) newConversation(f.conversation);
      if (f.conversation === conv) { queue = {position: f.position, eta: f.eta}; save(); paint(); }
    } else if (type === "joined") {
      opName = f.operator; queue = null;
      if (f.avatar) avs[opName] = f.avatar; else delete avs[opName];
      save(); say(t("here", opName)); paint();
    } else if (type === "typing") {
      typingLine.textContent = f.active && f.from !== "visitor" ? t("typing", f.name) : "";
    } else if (type === "read") {
      if (f.from === "operator" && f.conversation === conv && f.seq > mineRead) { mineRead = f.seq; paintStates(); save(); }
    } else if (type === "closed") {
      if (f.conversation === conv) {
        closed = true; queue = null; typingLine.textContent = ""; confirmEnd(false);
        if (f.reason === "no_operator") offline = true; // the close's notice said why
        showRating(); say(t("ended")); save(); paint();
      }
    } else if (type === "rated") {
      rated = true; showRating(); save(); paint();
    } else if (type === "invitation") {
      invite = {id: f.invitation, op: f.operator || "", av: f.avatar || "", text: f.text || ""};
      paintInvite(); setOpen(true); say(t("inv", invite.op) + ": " + invite.text); paint(); input.focus();
    } else if (type === "invitation_ended") {
      if (invite && invite.id === f.invitation) { invite = null; paint(); }
    } else if (type === "prechat_saved") {
      me.pre = 1; me.name = f.name || me.name; me.email = f.email || me.email; save(); pBtn.disabled = false; paint();
      if (!composer.hidden) input.focus();
    } else if (type === "transcript_sent") {
      mTo.value = ""; say(mTo.placeholder = "\u2713 " + f.email);
    } else if (type === "ticket_saved") {
      fText.value = ""; fBtn.disabled = false; fDone.textContent = t("saved"); fDone.hidden = false;
    } else if (type === "error") {
      error(f);
    }
  }
  function showDepartments(f) {
    depts = f.departments || [];
    dept = f.department || "";
    save();
    offline = !!f.offline;
    paintPicker();
  }
  // Refusals are said by their code in the visitor's language; the server's
  // English message is for logs and other front ends.
  var WHY = {attachment_type_refused: "eType", attachment_too_large: "eBig", attachment_quota_full: "eFull",
    quota_exceeded: "eFull", invalid_email: "eMail", invalid_address: "eMail", no_email: "eNoMail", mail_not_set: "eNoMail",
    mail_failed: "eNoMail", too_many_transcripts: "eMany", too_many_tickets: "eTickets", invalid_argument: "eCheck",
    rate_limited: "slow", name_required: "need", email_required: "need", question_required: "need"};
  function why(code) { return t(WHY[code] || "oops"); }
  function error(f) {
    var code = f.code, p = f.cid && pend[f.cid];
    if (code === "blocked") { conn = "blocked"; ready = false; if (ws) ws.close(1000); paint(); return; }
    if (!welcomed && (code === "unknown_department" || code === "unknown_region")) { dept = ""; if (ws) ws.close(1000); return; }
    if (code === "already_rated") { rated = true; showRating(); save(); paint(); return; }
    if (/transcript|address|no_email|mail_not/.test(code)) { mTo.value = ""; say(mTo.placeholder = why(code)); return; }
    var field = {name_required: "name", email_required: "email", question_required: "question", invalid_email: "email"}[code];
    if (field) {
      // The server wants the form (its fields changed, or it was never sent): the
      // words go back into it, with the field named.
      me.pre = 0; save();
      if (p) { pQ.value = p.text; p.el.remove(); delete pend[f.cid]; }
      paint(); preError(field, why(code)); return;
    }
    if (!rating.hidden && (code === "not_closed" || code === "no_conversation")) rBtn.disabled = false;
    if (code === "too_many_tickets" || code === "invalid_argument" && !fBtn.hidden && fBtn.disabled) {
      fBtn.disabled = false; fDone.textContent = why(code); fDone.hidden = false; return;
    }
    if (p) {
      if (code === "offline" || code === "department_required") {
        // Nobody can take the chat, or a department is to be chosen first: the
        // words go back, into the offline form or the composer.
        if (code === "offline") { fText.value = p.text; offline = true; } else { input.value = p.text; dept = ""; }
        p.el.remove(); delete pend[f.cid];
        save(); paint(); return;
      }
      // Refused before it was stored (the service reconnecting, a full queue, a
      // busy server): sent again after the hint, with the same cid; a refusal
      // that cannot pass by waiting leaves it to be tapped to retry.
      if (f.retryable) { p.out = 0; setTimeout(flush, f.retry_after_ms || 1000); } else { p.el.classList.add("fail"); stateOf(p.el); }
      if (code === "rate_limited") say(t("slow"));
    }
  }

  // -- an operator's invitation: its words, who wrote them, and a way to say no -------
  function paintInvite() {
    var av = face(invite.op, invite.av);
    inviteCard.replaceChildren(h("div", {cls: "m"}, [av, h("div", {cls: "col"}, [h("div", {cls: "who", text: t("inv", invite.op), dir: "auto"}),
      h("div", {cls: "b"}, [h("div", {cls: "tx", text: invite.text, dir: "auto"})])])]),
      h("button", {cls: "no", type: "button", text: t("noThanks"), onclick: function () {
        send({type: "decline_invitation"}); invite = null; paint(); setOpen(false); }}));
    inviteCard.setAttribute("aria-label", t("inv", invite.op));
  }

  // -- writing -----------------------------------------------------------------------
  var lastTyping = 0;
  input.addEventListener("input", function () {
    input.style.height = "auto"; input.style.height = Math.min(120, input.scrollHeight) + "px";
    var draft = input.value, now = Date.now();
    if (!draft) { lastTyping = 0; send({type: "typing", active: false}); return; }
    if (now - lastTyping > 2000) { lastTyping = now; send({type: "typing", active: true, text: draft.slice(0, 4000)}); }
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); composer.requestSubmit(); }
  });
  // Sends what waits (typed offline, while the service reconnects, or refused with
  // a retry hint) once the line is up; each message once per session.
  function flush() {
    if (!ready || svc) return;
    for (var c in pend) if (!pend[c].out && !pend[c].el.classList.contains("fail")) { pend[c].out = 1; send({type: "msg", cid: c, text: pend[c].text}); }
  }
  function newCid() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 8); }
  function post(text, cid, ts) {
    if (closed) { newConversation(""); }
    var li = draw({s: 0, f: "visitor", n: "", x: text, ts: ts, c: cid});
    pend[cid] = {text: text, el: li, ts: ts};
    li.addEventListener("click", function () {
      if (li.classList.contains("fail")) { li.classList.remove("fail"); stateOf(li); pend[cid].out = 0; flush(); }
    });
    stateOf(li);
    return li;
  }
  composer.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = ""; input.style.height = ""; lastTyping = 0;
    var cid = newCid();
    post(text, cid, Date.now());
    invite = null; // the answer accepts it: the chat starts with the inviter
    flush();
    save(); paint(); scrollDown();
  });

  // -- files (README "Attachments"): sent over /v1/upload, read with the token ----------
  function getFile(a, inline) {
    return fetch(base.origin + "/v1/files/" + a.c + "/" + a.sha256 + (inline ? "?inline=1" : ""), {headers: {"X-Parley-Visitor": token}})
      .then(function (r) { if (!r.ok) throw r.status; return r.blob(); }).then(URL.createObjectURL);
  }
  function fileNode(a) {
    var el = h("a", {cls: "tx fi", href: "#", text: a.name, dir: "auto", onclick: function (ev) {
      ev.preventDefault(); getFile(a).then(function (u) { h("a", {href: u, download: a.name}).click(); });
    }});
    if (/^image\//.test(a.type)) getFile(a, 1).then(function (u) { el.prepend(h("img", {src: u, alt: a.name})); scrollDown(); }, function () {});
    return el;
  }
  function upload(file) {
    if (!conv || closed) return;
    var u = new WebSocket(wsUrl.replace(/visitor\?.*/, "upload"));
    u.onopen = function () {
      u.send(JSON.stringify({token: token, as: "visitor", conversation: conv, name: file.name, size: file.size, cid: "f" + Date.now().toString(36)}));
    };
    u.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "ready") file.arrayBuffer().then(function (b) { for (var at = 0; at < b.byteLength; at += 61440) u.send(b.slice(at, at + 61440)); });
      upNote.textContent = f.type === "error" ? why(f.code) : f.type === "progress" && f.received < file.size ? t("up", Math.floor(100 * f.received / file.size)) : "";
    };
  }

  // Pages that change without a reload (history navigation) are reported too.
  var lastPage = location.href;
  function pageChanged() {
    if (location.href === lastPage) return;
    lastPage = location.href;
    if (ready) send({type: "page", url: lastPage.slice(0, 2000), title: document.title.slice(0, 300)});
  }
  window.addEventListener("popstate", pageChanged);
  window.addEventListener("hashchange", pageChanged);
  document.addEventListener("visibilitychange", markRead);

  // -- start: draw what was kept, then connect -------------------------------------------
  look(); paintPre();
  (kept.msgs || []).forEach(function (m) { shown(m, false); });
  (kept.pend || []).forEach(function (p) { post(p[1], p[0], p[2]); });
  if (closed && log.length) showRating();
  paintBadge();
  if (!host.isConnected) (document.body || document.documentElement).append(host);
  isOpen = isOpen || !!boot.opening;
  setOpen(isOpen, !boot.opening);
  paint();
  // The embed's socket, when it has one, is taken over with what it read so far (a
  // welcome and what came with it); else a socket of our own.
  var sock = boot.ws;
  if (sock && sock.readyState < 2) {
    attach(sock);
    if (sock.readyState === 1) boot.frames.forEach(frame);
  } else connect();
}
