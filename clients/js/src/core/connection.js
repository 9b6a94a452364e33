// RoomConnection: one member's live connection to a room.
//
// The local state changes only from server events (own ops are never applied early), so
// every member folds the same log to the same state. A lost connection is retried with
// exponential backoff and resumed from (epoch, seq): the server replays exactly the
// missed events or sends a snapshot. Ops made while disconnected are queued and sent,
// with every op not yet acknowledged, under their original ref once welcomed again.
//
// Connection states (event "status"): "idle" → "connecting" → "live"; after a loss
// "reconnecting", or "offline" when the browser says so or attempts keep failing;
// "closed" is final (token refused, kicked, close()).

import { apply, emptyState, fromWire } from "./reducer.js";
import { OpQueue, Pacer, backoffDelay } from "./ops.js";
import {
  CLIENT_NAME,
  FINAL_ERRORS,
  RETRYABLE_CLOSE_CODES,
  SUBPROTOCOL,
  VERSION,
  cleanProduct,
  clientMessageProblem,
  decodeMessage,
  encodeMessage,
  ops,
  validateOp,
} from "./protocol.js";

/** Retry interval while the browser reports no network (the "online" event comes first). */
const OFFLINE_RETRY_MS = 30000;

export class OpError extends Error {
  constructor(code, message, ref) {
    super(message);
    this.name = "OpError";
    this.code = code;
    this.ref = ref;
  }
}

export class ClosedError extends Error {
  constructor(code, reason, error) {
    super(reason || `connection closed (${code})`);
    this.name = "ClosedError";
    this.closeCode = code;
    this.code = error || "closed";
  }
}

/** Is this close final? (`error`: the code of an error frame that came just before it.) */
export function isRetryable(closeCode, error) {
  return RETRYABLE_CLOSE_CODES.has(closeCode) && !(error && FINAL_ERRORS.has(error));
}

export function guessDevice(nav = globalThis.navigator, win = globalThis.window) {
  const ua = (nav && nav.userAgent) || "";
  if (/iPad|Tablet/i.test(ua)) return "tablet";
  if (/Mobi|Android|iPhone/i.test(ua)) return "phone";
  try {
    if (win && win.matchMedia && win.matchMedia("(pointer: coarse)").matches) {
      return Math.min(win.screen.width, win.screen.height) < 600 ? "phone" : "tablet";
    }
  } catch {
    // no media queries here
  }
  return win ? "desktop" : "unknown";
}

function randomPrefix() {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class RoomConnection {
  /**
   * @param {object} opts
   * @param {string} opts.url            the server's WebSocket URL (…/v1/ws)
   * @param {string} [opts.token]        join token (or pass it to join())
   * @param {string} [opts.device]       phone | tablet | desktop (guessed)
   * @param {object} [opts.backoff]      {base, cap} in ms
   * @param {number} [opts.maxPending]   ops waiting for an ack before submit() refuses
   * @param {Function} [opts.WebSocket]  constructor (tests)
   * @param {object} [opts.timers]       {setTimeout, clearTimeout, now} (tests)
   * @param {EventTarget|null} [opts.network] where "online"/"offline" events come from (window)
   */
  constructor(opts) {
    this.url = opts.url;
    this.token = opts.token || null;
    this.device = opts.device || guessDevice();
    this.backoff = opts.backoff || { base: 250, cap: 8000 };
    this.maxPending = opts.maxPending || 500;
    this.pingEvery = opts.pingEvery || 20000;
    this.deadAfter = opts.deadAfter || 45000;
    this.offlineAfter = opts.offlineAfter || 3;
    this._WebSocket = opts.WebSocket || globalThis.WebSocket;
    const t = opts.timers || {};
    this._setTimeout = t.setTimeout || ((fn, ms) => setTimeout(fn, ms));
    this._clearTimeout = t.clearTimeout || ((id) => clearTimeout(id));
    this._now = t.now || (() => Date.now());
    this._random = opts.random || Math.random;
    this._network = opts.network === undefined ? (typeof window !== "undefined" ? window : null) : opts.network;
    this._navigator = opts.navigator === undefined ? globalThis.navigator : opts.navigator;

    this.state = emptyState();
    this.epoch = null;
    this.room = "";
    this.member = "";
    this.role = "";
    this.limits = null;
    this.presence = new Map(); // member -> {member, name, role, device, connections, focus, following}
    this.typing = new Set();
    this.status = "idle";
    this.closedBy = null; // ClosedError once final
    this.reconnects = 0;
    this.violations = 0;

    this._ops = new OpQueue(randomPrefix());
    this._handlers = new Map();
    this._ws = null;
    this._gen = 0;
    this._live = false;
    this._failures = 0;
    this._retryTimer = null;
    this._pingTimer = null;
    this._lastRx = 0;
    this._lastError = null;
    this._pacer = null;
    this._out = [];
    this._pumpTimer = null;
    this._myFocus = undefined;
    this._myFollow = undefined;
    this._joinWaiters = [];
    this._closing = false;
    this._onOffline = () => this._browserOffline();
    this._onOnline = () => this._wentOnline();
  }

  // ---- events ------------------------------------------------------------------------

  /** Subscribe: "status", "state", "event", "presence", "focus", "typing", "follow",
   * "welcome", "error" (ref-less error frames), "closed". Returns an unsubscribe function. */
  on(name, fn) {
    let set = this._handlers.get(name);
    if (!set) this._handlers.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  _emit(name, arg) {
    const set = this._handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        console.error("cosession: handler for", name, "failed", err);
      }
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emit("status", status);
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /** Connect with `token`; resolves once welcomed, rejects (ClosedError) if refused. */
  join(token) {
    if (token) this.token = token;
    if (!this.token) return Promise.reject(new Error("join needs a token"));
    if (this._closing) return Promise.reject(this.closedBy || new ClosedError(1000, "closed"));
    const p = new Promise((resolve, reject) => this._joinWaiters.push({ resolve, reject }));
    if (this.status === "idle") {
      if (this._network) {
        this._network.addEventListener("offline", this._onOffline);
        this._network.addEventListener("online", this._onOnline);
      }
      this._setStatus("connecting");
      this._open();
    } else if (this._live) {
      this._settleJoin(null);
    }
    return p;
  }

  /** Leave for good: close the socket, stop reconnecting, reject pending ops. */
  close() {
    this._final(new ClosedError(1000, "closed by the client"));
  }

  /** Test hook: drop the socket as a network loss would (the client reconnects). */
  dropConnection() {
    const ws = this._ws;
    if (ws) this._lost(ws, 1006, "dropped", null);
  }

  get live() {
    return this._live;
  }

  /** Ops not acknowledged yet: queued while offline or in flight. */
  get pending() {
    return this._ops.unacked;
  }

  /** The bodies of those ops, oldest first (to show "not sent yet" in a UI). */
  pendingOps() {
    return this._ops.toSend(-2).map((e) => e.body);
  }

  _browserOnline() {
    return !this._navigator || this._navigator.onLine !== false;
  }

  _browserOffline() {
    // Do not wait for a dead socket to time out: edits go to the queue from now on.
    if (this._closing) return;
    const ws = this._ws;
    if (ws) this._lost(ws, 1006, "the browser went offline", null);
    this._setStatus("offline");
  }

  _wentOnline() {
    // Back online: try now instead of waiting for the backoff timer.
    if (this._closing || this._ws) return;
    this._failures = 0;
    this._setStatus(this.epoch === null ? "connecting" : "reconnecting");
    this._open();
  }

  _open() {
    if (this._closing) return;
    this._cancelRetry();
    let ws;
    try {
      ws = new this._WebSocket(this.url, [SUBPROTOCOL]);
    } catch (err) {
      this._final(new ClosedError(1006, `cannot open ${this.url}: ${err}`));
      return;
    }
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    this._lastError = null;
    this._welcomed = false;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      if (ws.protocol && ws.protocol !== SUBPROTOCOL) {
        this._lost(ws, 1006, `server chose ${ws.protocol}`, null, false);
        return;
      }
      const hello = { t: "hello", token: this.token, client: CLIENT_NAME, version: VERSION, device: this.device };
      if (this.epoch !== null) hello.resume = { epoch: this.epoch, seq: this.state.seq };
      ws.send(encodeMessage(hello));
    };
    ws.onmessage = (ev) => {
      if (ws !== this._ws) return;
      this._lastRx = this._now();
      const msg = decodeMessage(ev.data);
      if (msg) this._onMessage(ws, msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._lost(ws, ev.code || 1006, ev.reason || "", this._lastError);
    };
    ws.onerror = () => {
      // a close event follows
    };
  }

  _lost(ws, code, reason, error, retryable = isRetryable(code, error && error.code)) {
    if (ws !== this._ws) return;
    this._ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close();
    } catch {
      // already closed
    }
    const wasLive = this._live;
    this._live = false;
    this._out = [];
    this._cancelPump();
    this._cancelPing();
    this.typing.clear();
    if (this._closing) return;
    if (!retryable) {
      const why = error ? error.message : reason;
      this._final(new ClosedError(code, why || `closed (${code})`, error && error.code));
      return;
    }
    if (!wasLive) this._failures++;
    else this._failures = 0;
    const offline = !this._browserOnline() || this._failures >= this.offlineAfter;
    this._setStatus(offline ? "offline" : this.epoch === null ? "connecting" : "reconnecting");
    this._emit("state", this.state); // listeners re-read `pending` / `status`
    this._scheduleRetry();
  }

  _scheduleRetry() {
    this._cancelRetry();
    // While the browser says it is offline, wait for its "online" event (which retries at
    // once); a slow retry stays as a fallback for browsers that never send it.
    const delay = this._browserOnline()
      ? backoffDelay(this._failures, this.backoff, this._random)
      : OFFLINE_RETRY_MS;
    this._retryTimer = this._setTimeout(() => {
      this._retryTimer = null;
      this._open();
    }, delay);
  }

  _cancelRetry() {
    if (this._retryTimer !== null) {
      this._clearTimeout(this._retryTimer);
      this._retryTimer = null;
    }
  }

  _final(err) {
    if (this._closing) return;
    this._closing = true;
    this.closedBy = err;
    this._cancelRetry();
    const ws = this._ws;
    if (ws) {
      this._ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "bye");
      } catch {
        // already closed
      }
    }
    this._live = false;
    this._cancelPump();
    this._cancelPing();
    if (this._network) {
      this._network.removeEventListener("offline", this._onOffline);
      this._network.removeEventListener("online", this._onOnline);
    }
    for (const e of this._ops.drain()) if (e.reject) e.reject(err);
    this._settleJoin(err);
    this._setStatus("closed");
    this._emit("closed", err);
  }

  _settleJoin(err) {
    const waiters = this._joinWaiters;
    this._joinWaiters = [];
    for (const w of waiters) (err ? w.reject : w.resolve)(err || this);
  }

  // ---- incoming ----------------------------------------------------------------------

  _onMessage(ws, msg) {
    switch (msg.t) {
      case "welcome":
        this._onWelcome(ws, msg);
        return;
      case "event":
        if (!this._applyEvent(msg)) this._violation(ws, `gap: got ${msg.seq} after ${this.state.seq}`);
        else this._emit("state", this.state);
        return;
      case "ack": {
        const e = this._ops.ack(msg.ref, msg.seq);
        if (e) {
          this._settleOps();
          this._emit("state", this.state); // `pending` changed
        }
        return;
      }
      case "error":
        if (msg.ref != null && msg.code === "unavailable") {
          // the cluster could not sequence it now: keep it, resend later under the same ref
          const e = this._ops.entries.get(msg.ref);
          if (e) {
            e.sentGen = -1;
            this._setTimeout(() => this._live && this._flush(), 1000);
          }
        } else if (msg.ref != null) {
          const e = this._ops.fail(msg.ref);
          if (e && e.reject) e.reject(new OpError(msg.code, msg.message, msg.ref));
          this._emit("state", this.state);
        } else {
          this._lastError = msg;
          this._emit("error", msg);
        }
        return;
      case "presence":
        this._onPresence(msg);
        return;
      case "focus": {
        const p = this.presence.get(msg.member);
        if (p) p.focus = msg.product || null;
        this._emit("focus", { member: msg.member, product: msg.product || null });
        this._emit("presence", this.presence);
        return;
      }
      case "typing":
        if (msg.on) this.typing.add(msg.member);
        else this.typing.delete(msg.member);
        this._emit("typing", this.typing);
        return;
      case "follow": {
        const p = this.presence.get(msg.member);
        if (p) p.following = msg.target || null;
        this._emit("follow", { member: msg.member, target: msg.target || null });
        this._emit("presence", this.presence);
        return;
      }
      default:
        return; // pong, or a type this client does not know
    }
  }

  _onPresence(msg) {
    const m = msg.member;
    if (msg.kind === "leave") {
      this.presence.delete(m.member);
      this.typing.delete(m.member);
    } else {
      const before = this.presence.get(m.member);
      this.presence.set(m.member, { ...m, focus: m.focus || null, following: m.following || null });
      if (!before && msg.kind === "join") this._emit("member-joined", m);
    }
    this._emit("presence", this.presence);
  }

  /** Fold a live or replayed event: true if applied or a duplicate, false on a gap. */
  _applyEvent(ev) {
    if (ev.seq <= this.state.seq) return true; // already folded
    if (ev.seq !== this.state.seq + 1) return false;
    apply(this.state, ev);
    this._emit("event", ev);
    this._settleOps();
    return true;
  }

  _settleOps(everything = false) {
    for (const e of this._ops.settle(everything ? Infinity : this.state.seq)) if (e.resolve) e.resolve(e.seq);
  }

  _violation(ws, why) {
    this.violations++;
    console.warn("cosession: protocol violation, resuming:", why);
    this._lost(ws, 1006, why, null, true);
  }

  _onWelcome(ws, w) {
    this.room = w.room;
    this.member = w.member;
    this.role = w.role;
    this.limits = w.limits || null;
    this.presence = new Map(
      (w.presence || []).map((p) => [p.member, { ...p, focus: p.focus || null, following: p.following || null }]),
    );
    if (w.recovered) {
      if (w.epoch !== this.epoch) {
        this.epoch = null; // ask for a snapshot next time
        this._violation(ws, "recovered welcome for another epoch");
        return;
      }
      for (const ev of w.events || []) {
        if (!this._applyEvent(ev)) {
          this._violation(ws, "gap in the replay");
          return;
        }
      }
      if (this.state.seq !== w.seq) {
        this.epoch = null;
        this._violation(ws, `replay ended at ${this.state.seq}, welcome says ${w.seq}`);
        return;
      }
    } else {
      const newEpoch = this.epoch !== null && this.epoch !== w.epoch;
      this.epoch = w.epoch;
      this.state = fromWire(w.snapshot);
      this.state.seq = w.seq;
      this._settleOps(newEpoch);
      this._settleOps();
    }
    if (this._gen > 0) this.reconnects++;
    this._gen++;
    this._failures = 0;
    this._live = true;
    this._pacer = new Pacer(this.limits, this._now());
    this._lastRx = this._now();
    if (this._myFocus !== undefined) this._send({ t: "focus", product: this._myFocus || undefined });
    if (this._myFollow !== undefined) this._send({ t: "follow", member: this._myFollow || undefined });
    this._flush();
    this._schedulePing();
    this._setStatus("live");
    this._emit("welcome", w);
    this._emit("presence", this.presence);
    this._emit("state", this.state);
    this._settleJoin(null);
  }

  // ---- outgoing ----------------------------------------------------------------------

  _flush() {
    for (const e of this._ops.toSend(this._gen)) {
      e.sentGen = this._gen;
      this._send({ t: "op", ref: e.ref, op: e.body });
    }
  }

  _send(msg) {
    if (!this._live || !this._ws) return false;
    if (clientMessageProblem(msg) !== null) return false; // the server would refuse it: never sent
    this._out.push(encodeMessage(msg));
    this._pump();
    return true;
  }

  _pump() {
    this._cancelPump();
    const ws = this._ws;
    while (this._out.length && ws && this._live) {
      const wait = this._pacer.take(this._now());
      if (wait > 0) {
        this._pumpTimer = this._setTimeout(() => {
          this._pumpTimer = null;
          this._pump();
        }, wait);
        return;
      }
      try {
        ws.send(this._out.shift());
      } catch {
        return; // the close event follows
      }
    }
  }

  _cancelPump() {
    if (this._pumpTimer !== null) {
      this._clearTimeout(this._pumpTimer);
      this._pumpTimer = null;
    }
  }

  _schedulePing() {
    this._cancelPing();
    this._pingTimer = this._setTimeout(() => {
      this._pingTimer = null;
      const ws = this._ws;
      if (!ws || !this._live) return;
      if (this._now() - this._lastRx > this.deadAfter) {
        this._lost(ws, 1006, "no answer from the server", null);
        return;
      }
      this._send({ t: "ping", nonce: 0 });
      this._schedulePing();
    }, this.pingEvery);
  }

  _cancelPing() {
    if (this._pingTimer !== null) {
      this._clearTimeout(this._pingTimer);
      this._pingTimer = null;
    }
  }

  // ---- durable ops -------------------------------------------------------------------

  /** Send an op; resolves with its seq once acknowledged AND folded into `state`;
   * rejects with OpError (refused) or ClosedError. Queued while disconnected. */
  submit(body) {
    if (this._closing) return Promise.reject(this.closedBy);
    const invalid = validateOp(body);
    if (invalid) return Promise.reject(new OpError("invalid_field", invalid));
    if (this._ops.size >= this.maxPending) {
      return Promise.reject(new OpError("too_many_pending", `${this._ops.size} edits are waiting`));
    }
    return new Promise((resolve, reject) => {
      const e = this._ops.add(body, { resolve, reject });
      if (this._live) {
        e.sentGen = this._gen;
        this._send({ t: "op", ref: e.ref, op: body });
      }
      this._emit("state", this.state); // `pending` changed
    });
  }

  addToCart(product, qty = 1) {
    return this.submit(ops.cartAdd(product, qty));
  }

  setQuantity(line, qty) {
    return this.submit(ops.cartQty(line, qty));
  }

  removeLine(line) {
    return this.submit(ops.cartRemove(line));
  }

  vote(line, value) {
    return this.submit(ops.vote(line, value));
  }

  chat(text, product, replyTo) {
    return this.submit(ops.chat(text, product, replyTo));
  }

  react(msg, emoji, on = true) {
    return this.submit(ops.react(msg, emoji, on));
  }

  rename(name) {
    return this.submit(ops.rename(name));
  }

  lock(locked = true) {
    return this.submit(ops.lock(locked));
  }

  kick(member) {
    return this.submit(ops.kick(member));
  }

  // ---- ephemeral signals (dropped while disconnected; focus and follow are re-sent) ----

  setFocus(product) {
    this._myFocus = product ? cleanProduct(product) : null;
    this._send({ t: "focus", product: this._myFocus || undefined });
  }

  setTyping(on) {
    this._send({ t: "typing", on: !!on });
  }

  follow(member) {
    this._myFollow = member || null;
    this._send({ t: "follow", member: member || undefined });
  }

  get following() {
    return this._myFollow || null;
  }
}
