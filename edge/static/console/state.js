// What the console knows, kept from the session's events: the chats (their
// card and view, transcript by seq, pending sends, typing), the offers, the
// operator's own status and capacity. No DOM here: the views read it.
//
// Nothing is shown twice: messages are kept by seq (a replay after a reconnect
// lands on the same keys), and a pending send is matched by its client id when
// its ack (or its replayed message) comes. The resume point of a chat is the
// highest seq that came on the stream as a message, not an ack's: acks could
// run ahead of a colleague's message still on its way. Seqs belong to the epoch
// of the server's data (ready's epoch): told epoch_changed (the data was
// restored), the console drops what it holds of each chat and takes the replay
// that follows, each chat from its start.

export const AUTHOR = {VISITOR: 1, OPERATOR: 2, SYSTEM: 3, NOTE: 4};
// The lists as shown: "hold" is the operator's own chats put on hold, kept
// apart from Mine (the server lists them as mine, with chat_status on_hold).
export const VIEWS = ["mine", "new", "hold", "others", "missed"];

export class Chat {
  constructor(id) {
    this.id = id;
    this.card = null;            // ChatCard from listed, or built from assigned/offered
    this.view = "";              // mine | new | others | missed | "" (not listed)
    this.messages = new Map();   // seq -> ChatMessage
    this.pending = new Map();    // client_msg_id -> {text, whisper, failed}
    this.streamSeq = 0;          // resume point: highest seq the stream sent as a message
    this.lastSeq = 0;            // highest seq known (messages, acks, assigned)
    this.firstLoaded = 0;        // lowest seq held (0: none); older ones come by paging
    this.mine = false;
    this.offer = null;           // {expires_at} while offered to me
    this.closed = false;
    this.typing = null;          // {name, preview} while the visitor types
    this.draft = "";
    this.readSeq = 0;            // what I told the server I read
    this.seenSeq = 0;            // what the visitor has read (its read receipts)
    this.info = null;            // VisitorInfo, once loaded
  }

  get name() { return (this.card && this.card.visitor_name) || (this.offer && this.offer.visitor_name) || this.id.slice(-6); }

  /** Messages in seq order, then the pending sends. */
  ordered() { return [...this.messages.values()].sort((a, b) => a.seq - b.seq); }

  unread() {
    let n = 0;
    for (const m of this.messages.values()) if (m.seq > this.readSeq && m.author_kind === AUTHOR.VISITOR) n += 1;
    return n;
  }

  add(message, fromStream) {
    if (!this.messages.has(message.seq)) this.messages.set(message.seq, message);
    if (message.client_msg_id) this.pending.delete(message.client_msg_id);
    if (fromStream) this.streamSeq = Math.max(this.streamSeq, message.seq);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (!this.firstLoaded || message.seq < this.firstLoaded) this.firstLoaded = message.seq;
  }
}

export class State {
  constructor() {
    this.chats = new Map();
    this.me = {operator_id: "", display_name: "", max_chats: 0, status: "offline"};
    this.role = {name: "", permissions: new Set()};
    this.openId = "";
    this.epoch = "";             // the epoch of the server's data the seqs were seen in
  }

  chat(id) {
    let chat = this.chats.get(id);
    if (!chat) { chat = new Chat(id); this.chats.set(id, chat); }
    return chat;
  }

  can(permission) { return this.role.permissions.has(permission); }

  /** The resume points to say hello with. */
  resume() {
    const out = [];
    for (const chat of this.chats.values()) {
      if (chat.streamSeq > 0) out.push({conversation_id: chat.id, after_seq: chat.streamSeq});
    }
    return out;
  }

  /** Chats of a view, oldest first (New: offers and the waiting pool, longest waiting first). */
  inView(view) {
    const out = [];
    for (const chat of this.chats.values()) {
      const held = chat.view === "mine" && Boolean(chat.card) && chat.card.chat_status === "on_hold";
      const shown = view === "new" ? chat.view === "new" || (chat.offer && !chat.mine)
        : view === "hold" ? held : view === "mine" ? chat.view === "mine" && !held : chat.view === view;
      if (shown) out.push(chat);
    }
    return out.sort((a, b) => started(a) - started(b));
  }

  /** The chats held against the limit: one's own open ones, not those on hold
      (putting a chat on hold frees its slot). */
  mineCount() {
    let n = 0;
    for (const chat of this.chats.values()) {
      if (chat.mine && !chat.closed && !(chat.card && chat.card.chat_status === "on_hold")) n += 1;
    }
    return n;
  }

  /** Apply one OperatorEvent; returns the id of the chat it touched, if any. */
  apply(event, now) {
    const e = event[event.event];
    switch (event.event) {
      case "ready":
        Object.assign(this.me, e);
        this.epoch = e.epoch || this.epoch;
        return "";
      case "epoch_changed":
        for (const chat of this.chats.values()) {
          chat.messages.clear();
          chat.streamSeq = chat.lastSeq = chat.firstLoaded = chat.readSeq = chat.seenSeq = 0;
        }
        this.epoch = e.epoch;
        return "";
      case "assigned": {
        const chat = this.chat(e.conversation_id);
        chat.mine = true;
        chat.closed = false;
        chat.offer = null;
        chat.lastSeq = Math.max(chat.lastSeq, e.last_seq);
        chat.card = chat.card || {visitor_name: e.visitor_name, department_id: e.department_id, started_ms: now, site_id: e.site_id};
        if (!chat.view) chat.view = "mine";
        return chat.id;
      }
      case "message": {
        const chat = this.chat(e.conversation_id);
        chat.add(e, true);
        return chat.id;
      }
      case "ack": {
        const chat = this.chat(e.conversation_id);
        const sent = chat.pending.get(e.client_msg_id);
        if (sent) {
          chat.add({
            conversation_id: chat.id, seq: e.seq, text: sent.text, client_msg_id: e.client_msg_id,
            author_kind: sent.whisper ? AUTHOR.NOTE : AUTHOR.OPERATOR, author_id: this.me.operator_id,
            author_name: this.me.display_name, sent_at_ms: now,
          }, false);
        }
        return chat.id;
      }
      case "error": {
        const chat = e.conversation_id ? this.chats.get(e.conversation_id) : null;
        const sent = chat && chat.pending.get(e.client_msg_id);
        // The server is busy: sent again (same client id) after its hint.
        const wait = e.retryable ? Number(e.retry_after_ms || 0) : 0;
        if (sent && wait > 0) sent.retryIn = wait;
        else if (sent) sent.failed = e.code;
        return chat ? chat.id : "";
      }
      case "read": {
        if (e.reader_kind !== AUTHOR.VISITOR) return e.conversation_id;
        const chat = this.chat(e.conversation_id);
        chat.seenSeq = Math.max(chat.seenSeq, Number(e.seq));
        return chat.id;
      }
      case "closed": {
        const chat = this.chat(e.conversation_id);
        chat.closed = true;
        chat.offer = null;
        chat.typing = null;
        return chat.id;
      }
      case "typing": {
        if (e.author_kind !== AUTHOR.VISITOR) return e.conversation_id;
        const chat = this.chat(e.conversation_id);
        chat.typing = e.active ? {name: e.author_name, preview: e.preview} : null;
        return chat.id;
      }
      case "offered": {
        const chat = this.chat(e.conversation_id);
        chat.offer = {...e, expires_at: now + e.expires_in_seconds * 1000};
        chat.card = chat.card || {visitor_name: e.visitor_name, department_id: e.department_id, started_ms: now, site_id: e.site_id};
        return chat.id;
      }
      case "withdrawn": {
        const chat = this.chats.get(e.conversation_id);
        if (chat) chat.offer = null;
        return e.conversation_id;
      }
      case "presence":
        if (e.operator_id === this.me.operator_id) this.me.status = e.status;
        return "";
      case "listed": {
        const chat = this.chat(e.card.conversation_id);
        chat.card = e.card;
        chat.view = e.view;
        chat.mine = e.view === "mine";
        if (e.card.status === "closed") chat.closed = true;
        return chat.id;
      }
      case "unlisted": {
        const chat = this.chats.get(e.conversation_id);
        if (chat) { chat.view = ""; chat.mine = false; }
        return e.conversation_id;
      }
      default:
        return "";
    }
  }
}

function started(chat) { return (chat.card && chat.card.started_ms) || 0; }
