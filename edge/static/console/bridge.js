// The console's connection to the server through the web bridge (/v1/console):
// binary BridgeFrames (bridge.proto), the session token in the hello (never in
// the URL or a cookie), unary calls matched by call_id, and reconnection.
//
// A lost socket reconnects by itself with a growing delay (capped at 10 s),
// except for the closes that mean "sign in again" (4401, 4403) or a bad frame
// (4400). When the browser says the network is back (the "online" event) or
// the tab is shown again, a waiting reconnect goes at once rather than after
// the rest of its delay. Each hello carries the resume points the caller keeps (its last seq
// per chat), so the stream replays exactly what was missed.
import {decode, encode} from "./codec.js";

const FRAME = "parley.v1.BridgeFrame";
const FINAL = new Set([4400, 4401, 4403]);

/** A failed unary call: the server's refusal (or the bridge's). */
export class CallError extends Error {
  constructor(error) {
    super(error.message || error.reason);
    this.reason = error.reason;
    this.code = error.code;
    this.field = error.field;
  }
}

function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

/** Email and password for a token, over the login socket; rejects with CallError. */
export function login(email, password) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(socketUrl("/v1/console/login"));
    ws.binaryType = "arraybuffer";
    let done = false;
    ws.onopen = () => {
      const request = encode("parley.v1.LoginRequest", {email, password});
      ws.send(encode(FRAME, {call: {call_id: 1, method: "/parley.v1.Auth/Login", request}}));
    };
    ws.onmessage = (e) => {
      const frame = decode(FRAME, new Uint8Array(e.data));
      done = true;
      if (frame.frame === "reply") resolve(decode("parley.v1.LoginResponse", frame.reply.response));
      else reject(new CallError(frame.error || {reason: "UNAVAILABLE"}));
    };
    ws.onclose = () => { if (!done) reject(new CallError({reason: "UNAVAILABLE", message: "unavailable"})); };
  });
}

export class Bridge {
  /**
   * ``handlers``: resume() -> [{conversation_id, after_seq}], events(list),
   * state(name, detail) with name connecting | ready | reconnecting | ended.
   */
  constructor(token, handlers) {
    this.token = token;
    this.on = handlers;
    this.ws = null;
    this.calls = new Map();
    this.nextCall = 0;
    this.attempt = 0;
    this.ready = false;
    this.stopped = false;
    this.timer = null;
    this.soon = () => this.retryNow();
    addEventListener("online", this.soon);
    document.addEventListener("visibilitychange", this.soon);
  }

  /** A reconnect waiting out its delay goes now (the network is back). */
  retryNow() {
    if (this.stopped || this.ws || this.timer === null || document.hidden) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.start();
  }

  start() {
    this.timer = null;
    if (this.stopped) return;
    this.on.state(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(socketUrl("/v1/console"));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const epoch = this.on.epoch ? this.on.epoch() : "";
      ws.send(encode(FRAME, {hello: {token: this.token, resume: this.on.resume(), epoch}}));
    };
    ws.onmessage = (e) => { if (ws === this.ws) this.arrived(decode(FRAME, new Uint8Array(e.data))); };
    ws.onclose = (e) => { if (ws === this.ws) this.lost(e.code); };
  }

  arrived(frame) {
    switch (frame.frame) {
      case "ready":
        this.ready = true;
        this.attempt = 0;
        this.on.state("ready", frame.ready);
        break;
      case "events": this.on.events(frame.events.events); break;
      case "reply": this.settle(frame.reply.call_id, (p) => p.resolve(frame.reply.response)); break;
      case "error": this.settle(frame.error.call_id, (p) => p.reject(new CallError(frame.error))); break;
      case "closed": this.closedWith = frame.closed; break;
      default: break;
    }
  }

  settle(callId, how) {
    const pending = this.calls.get(callId);
    if (!pending) return;
    this.calls.delete(callId);
    how(pending);
  }

  lost(code) {
    this.ws = null;
    this.ready = false;
    for (const pending of this.calls.values()) pending.reject(new CallError({reason: "UNAVAILABLE", message: "disconnected"}));
    this.calls.clear();
    if (this.stopped) return;
    if (FINAL.has(code)) {
      this.stopped = true;
      this.on.state("ended", {code, reason: this.closedWith ? this.closedWith.reason : ""});
      return;
    }
    this.attempt += 1;
    const delay = Math.min(10000, 250 * 2 ** Math.min(this.attempt - 1, 6)) * (0.75 + Math.random() / 2);
    this.on.state("reconnecting");
    this.timer = setTimeout(() => this.start(), delay);
  }

  /** Close for good (signing out). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener("online", this.soon);
    document.removeEventListener("visibilitychange", this.soon);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  /** Drop the socket now; it reconnects as after any loss. */
  drop() { if (this.ws) this.ws.close(4000); }

  /** Send commands (OperatorCommand objects) in one batch; false when not connected. */
  send(commands) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encode(FRAME, {commands: {commands}}));
    return true;
  }

  /** Call a unary method: ``request`` of type ``input``; resolves to the decoded ``output``. */
  call(method, input, request, output) {
    return new Promise((resolve, reject) => {
      if (!this.ready) { reject(new CallError({reason: "UNAVAILABLE", message: "not connected"})); return; }
      this.nextCall = (this.nextCall % 1000000) + 1;
      const callId = this.nextCall;
      this.calls.set(callId, {resolve: (bytes) => resolve(output ? decode(output, bytes) : null), reject});
      const frame = {call: {call_id: callId, method, request: encode(input, request), timeout_ms: 15000}};
      this.ws.send(encode(FRAME, frame));
    });
  }
}
