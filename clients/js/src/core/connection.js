// RoomConnection: one member's live connection to a room, the browser shell around the
// pure room session (session.js, docs/client-session.md).
//
// The session decides everything: when to open, what to send, what to deliver, when the
// timer is due, which close is final. This shell does the I/O: the WebSocket, one timer,
// the keepalive ping, the browser's online/offline events, the promises of join() and
// submit(), presence bookkeeping, and the events listeners subscribe to with on().
//
// The local state changes only from server events (own ops are never applied early), so
// every member folds the same log to the same state. A lost connection is retried with
// backoff and resumed from (epoch, seq); ops made while disconnected are kept and sent,
// with every op not yet acknowledged, under their original ref once welcomed again.
// While the browser reports offline, the shell waits for its "online" event (which
// retries at once) instead of the backoff timer; a slow retry stays as a fallback.
//
// Connection states (event "status"): "idle" → "connecting" → "live"; after a loss
// "reconnecting", or "offline" when the browser says so or attempts keep failing;
// "closed" is final (token refused, kicked, close()).

import { guessDevice, randomPrefix } from "./device.js";
import { ClosedError, OpError } from "./errors.js";
import { applySignal, presenceFrom } from "./presence.js";
import { ReadTracker } from "./reading.js";
import { CLIENT_NAME, SUBPROTOCOL, VERSION, clientMessageProblem, decodeMessage, encodeMessage, validateOp } from "./protocol.js";
import { RoomApi } from "./room-api.js";
import { Session } from "./session.js";

export { guessDevice } from "./device.js";
export { ClosedError, OpError, isRetryable } from "./errors.js";

/** Retry interval while the browser reports no network (the "online" event comes first). */
const OFFLINE_RETRY_MS = 30000;

export class RoomConnection extends RoomApi {
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
    super();
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
    this._network = opts.network === undefined ? (typeof window !== "undefined" ? window : null) : opts.network;
    this._navigator = opts.navigator === undefined ? globalThis.navigator : opts.navigator;
    this._session = new Session(
      {
        token: this.token,
        client: CLIENT_NAME,
        version: VERSION,
        device: this.device,
        backoff_ms: [this.backoff.base, this.backoff.cap],
        stable_ms: opts.stableMs || 5000,
        welcome_timeout_ms: opts.welcomeTimeout || 10000,
      },
      opts.random || Math.random,
    );

    this.presence = new Map(); // member -> {member, name, role, device, connections, focus, following}
    this.typing = new Set();
    this.reads = new ReadTracker(); // read cursor and unread counts (SPEC section 15)
    this.isAway = false; // setAway(true): this tab is in the background
    this.readInterval = opts.readInterval || 250; // at most one `read` frame per this many ms
    this._readSent = 0;
    this._readTimer = null;
    this.call = null; // the last `call` message: {mode, members} (SPEC section 14), or null
    this.status = "idle";
    this.closedBy = null; // ClosedError once final

    this._prefix = randomPrefix();
    this._count = 0;
    this._waiters = new Map(); // ref -> {resolve, reject}
    this._joinWaiters = [];
    this._ws = null;
    this._inbox = [];
    this._busy = false;
    this._changed = false; // "state" is emitted once the inputs in hand are processed
    this._timerId = null;
    this._timerAt = null; // the session's deadline
    this._pingTimer = null;
    this._lastRx = 0;
    this._saysOffline = false;
    this._onOffline = () => this._browserOffline();
    this._onOnline = () => this._browserOnlineAgain();
  }

  // ---- events ------------------------------------------------------------------------

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emit("status", status);
  }

  _syncStatus() {
    const s = this._session;
    if (s.state === "idle" || s.state === "live" || s.state === "closed") this._setStatus(s.state);
    else if (!this._browserOnline() || s.failures >= this.offlineAfter) this._setStatus("offline");
    else this._setStatus(s.epoch === null ? "connecting" : "reconnecting");
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /** Connect with `token`; resolves once welcomed, rejects (ClosedError) if refused. */
  join(token) {
    if (token) this.token = token;
    if (!this.token) return Promise.reject(new Error("join needs a token"));
    if (this.closedBy) return Promise.reject(this.closedBy);
    const p = new Promise((resolve, reject) => this._joinWaiters.push({ resolve, reject }));
    if (this._session.state === "idle") {
      if (this._network) {
        this._network.addEventListener("offline", this._onOffline);
        this._network.addEventListener("online", this._onOnline);
      }
      this._session.settings.token = this.token;
      this._input((now) => this._session.start(now));
    } else if (this.live) {
      this._settleJoin(null);
    }
    return p;
  }

  /** Leave for good: close the socket, stop reconnecting, reject pending ops. */
  close() {
    this._input((now) => this._session.close(now));
  }

  /** Test hook: drop the socket as a network loss would (the client reconnects). */
  dropConnection() {
    this._loseSocket("dropped");
  }

  _browserOnline() {
    return !this._saysOffline && (!this._navigator || this._navigator.onLine !== false);
  }

  _browserOffline() {
    // Do not wait for a dead socket to time out: edits are kept for the next connection.
    this._saysOffline = true;
    if (this._ws) this._loseSocket("the browser went offline");
    else this._arm(this._timerAt); // wait for "online" rather than the backoff timer
    this._syncStatus();
  }

  _browserOnlineAgain() {
    // Back online: try now instead of waiting for the backoff timer.
    this._saysOffline = false;
    if (!this._ws) this._input((now) => this._session.retryNow(now));
  }

  // ---- feeding the session -----------------------------------------------------------

  /** Run `step(now)` on the session and carry out its outputs. Inputs that arrive while
   * outputs are being carried out wait their turn, so outputs keep their order. */
  _input(step) {
    this._inbox.push(step);
    if (this._busy) return;
    this._busy = true;
    try {
      while (this._inbox.length) {
        for (const out of this._inbox.shift()(this._now())) this._do(out);
      }
    } finally {
      this._busy = false;
    }
    if (this._timerId === null && this._timerAt !== null) this._arm(this._timerAt); // a tick came early
    this._syncStatus();
    if (this._changed) {
      this._changed = false;
      this._emit("state", this.state);
    }
  }

  _do(out) {
    switch (out.do) {
      case "open":
        this._openSocket();
        return;
      case "send":
        try {
          // a message the server would refuse (U+0000 in a string) is never sent
          if (this._ws && clientMessageProblem(out.msg) === null) this._ws.send(encodeMessage(out.msg));
        } catch {
          // the close event follows
        }
        return;
      case "deliver":
        this._deliver(out.msg);
        return;
      case "timer":
        this._timerAt = out.at;
        this._arm(out.at);
        return;
      case "done":
      case "failed": {
        const w = this._waiters.get(out.ref);
        this._waiters.delete(out.ref);
        if (w) out.do === "done" ? w.resolve(out.seq) : w.reject(new OpError(out.code, out.message, out.ref));
        this._changed = true;
        return;
      }
      case "drop":
        this._closeSocket();
        return;
      case "close":
        this._closeSocket(out.code, out.reason);
        return;
      case "final":
        this._final(new ClosedError(out.code, out.reason, out.error));
        return;
      default:
        return;
    }
  }

  _arm(at) {
    if (this._timerId !== null) this._clearTimeout(this._timerId);
    this._timerId = null;
    if (at === null) return;
    const now = this._now();
    const fireAt = this._session.state === "backoff" && !this._browserOnline() ? Math.max(at, now + OFFLINE_RETRY_MS) : at;
    this._timerId = this._setTimeout(() => {
      this._timerId = null;
      this._input((t) => this._session.tick(t));
    }, Math.max(1, fireAt - now));
  }

  // ---- the socket --------------------------------------------------------------------

  _openSocket() {
    let ws;
    try {
      ws = new this._WebSocket(this.url, [SUBPROTOCOL]);
    } catch (err) {
      this._input((now) => this._session.closed(now, 1006, `cannot open ${this.url}: ${err}`, { final: true }));
      return;
    }
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      if (ws.protocol && ws.protocol !== SUBPROTOCOL) {
        this._closeSocket();
        this._input((now) => this._session.closed(now, 1006, `server chose ${ws.protocol}`, { final: true }));
        return;
      }
      this._lastRx = this._now();
      this._input((now) => this._session.opened(now));
    };
    ws.onmessage = (ev) => {
      if (ws !== this._ws) return;
      this._lastRx = this._now();
      const msg = decodeMessage(ev.data);
      if (msg) this._input((now) => this._session.received(now, msg));
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._closeSocket();
      const code = !ev.code || ev.code === 1005 ? 1006 : ev.code; // 1005: closed without a code
      this._input((now) => this._session.closed(now, code, ev.reason || ""));
    };
    ws.onerror = () => {
      // a close event follows
    };
  }

  /** Forget the socket (nothing more from it reaches the session) and close it. */
  _closeSocket(code, reason) {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      if (code) ws.close(code, reason);
      else ws.close();
    } catch {
      // already closed
    }
  }

  /** The shell decided the connection is gone (test hook, offline, no answer). */
  _loseSocket(reason) {
    if (!this._ws) return;
    this._closeSocket();
    this._input((now) => this._session.closed(now, 1006, reason));
  }

  _schedulePing() {
    if (this._pingTimer !== null) this._clearTimeout(this._pingTimer);
    this._pingTimer = this._setTimeout(() => {
      this._pingTimer = null;
      if (!this.live || !this._ws) return;
      if (this._now() - this._lastRx > this.deadAfter) {
        this._loseSocket("no answer from the server");
        return;
      }
      this._input((now) => this._session.signal(now, { t: "ping" }));
      this._schedulePing();
    }, this.pingEvery);
  }

  _cancelPing() {
    if (this._pingTimer !== null) this._clearTimeout(this._pingTimer);
    this._pingTimer = null;
  }

  // ---- what the session delivers -----------------------------------------------------

  _deliver(msg) {
    switch (msg.t) {
      case "event":
        this.reads.event(msg);
        this._emit("event", msg);
        this._changed = true;
        return;
      case "read": // another connection of ours moved the read cursor
        if (this.reads.heard(msg.seq)) this._emit("read", this.reads.cursor);
        this._readSent = Math.max(this._readSent, msg.seq);
        return;
      case "resynced": {
        const w = this._session.welcome;
        this.presence = presenceFrom(w.presence);
        this._welcomedReads(w);
        this._lastRx = this._now();
        this._schedulePing();
        this._syncStatus();
        this._emit("welcome", w);
        this._emit("presence", this.presence);
        this._changed = true;
        this._settleJoin(null);
        return;
      }
      case "disconnected":
        this._cancelPing();
        this.typing.clear();
        this._changed = true; // listeners re-read `pending` / `status`
        return;
      case "ack":
        this._changed = true;
        return;
      case "error":
        if (msg.ref == null) this._emit("error", msg);
        this._changed = true;
        return;
      case "signal":
        this._emit("signal", msg);
        return;
      case "call":
        this.call = { mode: msg.mode, members: msg.members || [] };
        this._emit("call", this.call);
        return;
      default:
        for (const [name, arg] of applySignal(this.presence, this.typing, msg)) this._emit(name, arg);
    }
  }

  _final(err) {
    this.closedBy = err;
    this._closeSocket();
    this._cancelPing();
    if (this._timerId !== null) this._clearTimeout(this._timerId);
    this._timerId = this._timerAt = null;
    if (this._network) {
      this._network.removeEventListener("offline", this._onOffline);
      this._network.removeEventListener("online", this._onOnline);
    }
    const waiters = [...this._waiters.values()];
    this._waiters.clear();
    for (const w of waiters) w.reject(err);
    this._settleJoin(err);
    this._setStatus("closed");
    this._emit("closed", err);
  }

  _settleJoin(err) {
    const waiters = this._joinWaiters;
    this._joinWaiters = [];
    for (const w of waiters) (err ? w.reject : w.resolve)(err || this);
  }

  // ---- durable ops -------------------------------------------------------------------

  /** Send an op; resolves with its seq once acknowledged AND folded into `state`;
   * rejects with OpError (refused) or ClosedError. Kept while disconnected. */
  submit(body) {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const invalid = validateOp(body);
    if (invalid) return Promise.reject(new OpError("invalid_field", invalid));
    const size = this._session.pending.size + this._session.awaiting.length;
    if (size >= this.maxPending) return Promise.reject(new OpError("too_many_pending", `${size} edits are waiting`));
    return new Promise((resolve, reject) => {
      const ref = `${this._prefix}-${++this._count}`;
      this._waiters.set(ref, { resolve, reject });
      this._changed = true; // `pending` changed
      this._input((now) => this._session.submit(now, ref, body));
    });
  }

  /** An ephemeral signal ({t: "focus" | "typing" | "follow" | "ping", …}). */
  signal(msg) {
    this._input((now) => this._session.signal(now, msg));
  }
}
