// The room session, sans-I/O: the client's whole connection logic as a pure state machine.
//
// Fed inputs (a connection opened, a decoded server message, a connection closed with a
// code, a timer tick, the user's intents), each with the shell's clock `now` in ms, every
// input method returns the outputs, plain objects in the JSON form of
// protocol/vectors/session.json: {do: "open" | "send" | "deliver" | "timer" | "done" |
// "failed" | "drop" | "close" | "final", …}. It owns the folded room state, the un-acked
// ops, gap and duplicate detection, resume, backoff, pacing against `welcome.limits` and
// the close-code table of SPEC §10. No socket, timer, clock or browser API; randomness
// only from the function it is given. docs/client-session.md is its transition table (the
// Python client's too); test/session-vectors.test.js runs the shared vectors against it.
// One input beyond that table, for the browser: `retryNow(now)` (the network is back:
// while backing off, reconnect at once with a fresh backoff). Calls (SPEC section 14) go
// through `signal` too: `call.join` / `call.leave` / `call.state` are remembered (the call
// is joined again, with its mute and camera state, after every welcome), `signal` and
// `call.state` bypass the op pacing (the server counts them in a bucket of their own), and
// the server's `signal` and `call` messages are delivered.

import { FREE_SIGNALS, rejoinFrames, rememberCall } from "./call-memory.js";
import { apply, emptyState, fromWire } from "./reducer.js";
import { Pacer, backoffDelay } from "./ops.js";
import { FINAL_ERRORS } from "./protocol.js";

/** Op refusals that mean "not now": the same ref is re-sent later. */
export const RETRY_OP_ERRORS = new Set(["unavailable", "rate_limited"]);

/** Close codes after which the session reconnects and resumes (SPEC §10; the browser
 * shell feeds a close without a status code, 1005, as 1006). */
export const RETRYABLE_CLOSES = new Set([1001, 1006, 1011, 1012, 4008, 4009, 4029]);

/** Complete settings (times in ms), in the JSON form of session.json's `settings`. */
export function sessionSettings(s) {
  return {
    client: "unknown",
    version: "",
    device: "unknown",
    reconnect: true,
    max_attempts: null,
    backoff_ms: [250, 30000],
    stable_ms: 5000,
    welcome_timeout_ms: 10000,
    ...s,
  };
}

class Lost extends Error {} // the server broke the protocol: drop and resume

export class Session {
  /**
   * @param {object} settings  see sessionSettings(); `token` is required
   * @param {Function} random  a draw in [0, 1) for the backoff jitter
   */
  constructor(settings, random) {
    this.settings = sessionSettings(settings);
    this.random = random;
    this.state = "idle"; // idle | connecting | joining | live | backoff | closed
    this.room = emptyState();
    this.epoch = null;
    this.welcome = null; // the last one accepted
    this.pending = new Map(); // ref -> {ref, body, sent, queued, retries, retryAt}, submission order
    this.awaiting = []; // acked ops whose event is not folded yet: {ref, seq}
    this.myFocus = null;
    this.myFollow = null;
    this.myCall = null; // {audio, video, muted, camera} while this client is in the call
    this.reconnects = 0;
    this.violations = 0;
    this.failures = 0; // consecutive attempts that got no welcome
    this.final = null;
    this._out = [];
    this._outbox = []; // {ref} of a pending op, or {msg} of a signal
    this._bucket = null;
    this._lastError = null;
    this._welcomeBy = null;
    this._retryAt = null;
    this._welcomedAt = 0;
    this._level = 0; // backoff exponent of the next reconnect
    this._timer = null;
  }

  // ---- inputs ------------------------------------------------------------------------

  start(now) {
    if (this.state === "idle") this._open();
    return this._done(now);
  }

  opened(now) {
    if (this.state === "connecting") {
      this.state = "joining";
      this._lastError = null;
      this._welcomeBy = now + this.settings.welcome_timeout_ms;
      const s = this.settings;
      const hello = { t: "hello", token: s.token };
      const resume = this._resume();
      if (resume) hello.resume = resume;
      if (s.client !== "unknown") hello.client = s.client;
      if (s.version !== "") hello.version = s.version;
      if (s.device !== "unknown") hello.device = s.device;
      this._out.push({ do: "send", msg: hello });
    }
    return this._done(now);
  }

  received(now, msg) {
    try {
      if (this.state === "joining") this._joining(now, msg);
      else if (this.state === "live") this._live(now, msg);
    } catch (err) {
      if (!(err instanceof Lost)) throw err;
      this.violations++;
      this._out.push({ do: "drop", reason: err.message });
      this._lost(now, 1006, `protocol violation: ${err.message}`, true, null);
    }
    return this._done(now);
  }

  /** The connection ended (`final`: it can never be opened, e.g. a bad URL). */
  closed(now, code, reason, { final = false } = {}) {
    if (this.state === "connecting" || this.state === "joining" || this.state === "live") {
      const error = this._lastError;
      const retryable = !final && RETRYABLE_CLOSES.has(code) && !(error && FINAL_ERRORS.has(error.code));
      if (error && !reason) reason = error.message;
      this._lost(now, code, reason, retryable, error ? error.code : null);
    }
    return this._done(now);
  }

  tick(now) {
    if (this.state === "joining" && this._welcomeBy !== null && now >= this._welcomeBy) {
      this._out.push({ do: "drop", reason: "no welcome in time" });
      this._lost(now, 1006, "no welcome in time", true, null);
    } else if (this.state === "backoff" && this._retryAt !== null && now >= this._retryAt) {
      this._open();
    } else if (this.state === "live") {
      for (const op of this.pending.values()) {
        if (op.retryAt !== null && op.retryAt <= now) {
          op.retryAt = null;
          this._queue(op);
        }
      }
    }
    return this._done(now);
  }

  submit(now, ref, body) {
    if (this.final === null && !this.pending.has(ref)) {
      const op = { ref, body, sent: false, queued: false, retries: 0, retryAt: null };
      this.pending.set(ref, op);
      if (this.state === "live") this._queue(op);
    }
    return this._done(now);
  }

  /** An ephemeral signal (focus, typing, follow, ping): sent when live, else dropped.
   * Focus and follow are also remembered and re-sent after every welcome. */
  signal(now, msg) {
    if (msg.t === "focus") this.myFocus = msg.product != null ? msg : null;
    else if (msg.t === "follow") this.myFollow = msg.member != null ? msg : null;
    else if (msg.t.startsWith("call.")) this.myCall = rememberCall(this.myCall, msg);
    if (this.state === "live") this._outbox.push({ msg, free: FREE_SIGNALS.has(msg.t) });
    return this._done(now);
  }

  /** The caller gave up on `ref`: forget it if its frame never went out. */
  abandon(now, ref) {
    const op = this.pending.get(ref);
    if (op && !op.sent) this.pending.delete(ref);
    return this._done(now);
  }

  close(now) {
    if (this.final === null) {
      if (this.state === "connecting" || this.state === "joining" || this.state === "live") {
        this._out.push({ do: "close", code: 1000, reason: "bye" });
      }
      this._finish(1000, "closed by the client", null);
    }
    return this._done(now);
  }

  /** (Browser extension.) The network is back: while backing off, reconnect now, with the
   * backoff and the failure count started afresh. */
  retryNow(now) {
    if (this.state === "backoff") {
      this.failures = 0;
      this._level = 0;
      this._open();
    }
    return this._done(now);
  }

  // ---- reading -----------------------------------------------------------------------

  _joining(now, msg) {
    if (msg.t === "error") this._lastError = msg; // the close that follows says whether to retry
    else if (msg.t === "welcome") this._accept(now, msg);
    else throw new Lost(`expected welcome, got ${msg.t}`);
  }

  _accept(now, w) {
    if (w.recovered) {
      if (w.epoch !== this.epoch) throw new Lost(`recovered welcome for epoch ${w.epoch}, ours is ${this.epoch}`);
      for (const ev of w.events || []) this._event(ev);
      if (this.room.seq !== w.seq) throw new Lost(`replay ended at ${this.room.seq}, welcome says ${w.seq}`);
    } else {
      if (w.snapshot == null) throw new Lost("welcome has neither events nor a snapshot");
      const newEpoch = this.epoch !== null && this.epoch !== w.epoch;
      this.epoch = w.epoch;
      this.room = fromWire(w.snapshot);
      this.room.seq = w.seq;
      this._settle(newEpoch); // a new epoch: old seqs mean nothing now; those ops are in
    }
    if (this.welcome !== null) this.reconnects++;
    this.welcome = w;
    this.state = "live";
    this._welcomeBy = null;
    this._welcomedAt = now;
    this.failures = 0;
    this._bucket = w.limits && w.limits.ops_per_second > 0 ? new Pacer(w.limits, now) : null;
    this._out.push({ do: "deliver", msg: { t: "resynced", recovered: !!w.recovered, epoch: w.epoch, seq: w.seq } });
    this._outbox = [];
    for (const msg of [this.myFocus, this.myFollow]) if (msg) this._outbox.push({ msg });
    for (const msg of rejoinFrames(this.myCall)) this._outbox.push({ msg, free: FREE_SIGNALS.has(msg.t) });
    for (const op of this.pending.values()) {
      op.queued = false;
      op.retryAt = null;
      this._queue(op);
    }
  }

  _live(now, msg) {
    switch (msg.t) {
      case "event":
        this._event(msg);
        return;
      case "welcome":
        throw new Lost("second welcome on one connection");
      case "ack": {
        this._out.push({ do: "deliver", msg });
        const op = this.pending.get(msg.ref);
        if (op) {
          this.pending.delete(msg.ref);
          this.awaiting.push({ ref: op.ref, seq: msg.seq });
          this._settle(false);
        }
        return;
      }
      case "error": {
        this._out.push({ do: "deliver", msg });
        const op = msg.ref ? this.pending.get(msg.ref) : undefined;
        if (!msg.ref) {
          this._lastError = msg; // the close that follows says whether to retry
        } else if (!op) {
          // about an op already answered: nothing to do
        } else if (RETRY_OP_ERRORS.has(msg.code)) {
          op.retries++;
          op.retryAt = now + this._jitter(op.retries);
        } else {
          this.pending.delete(op.ref);
          this._out.push({ do: "failed", ref: op.ref, code: msg.code, message: msg.message });
        }
        return;
      }
      case "presence":
      case "focus":
      case "typing":
      case "follow":
      case "pong":
      case "signal": // calls (protocol/SPEC.md section 14)
      case "call":
        this._out.push({ do: "deliver", msg });
        return;
      default:
        return; // a type this client does not know
    }
  }

  /** Fold one event and deliver it; drop a duplicate; a gap loses the connection. */
  _event(ev) {
    const current = this.room.seq;
    if (ev.seq <= current) return;
    if (ev.seq !== current + 1) throw new Lost(`gap: event ${ev.seq} after ${current}`);
    apply(this.room, ev);
    this._out.push({ do: "deliver", msg: ev });
    this._settle(false);
  }

  _settle(everything) {
    const keep = [];
    for (const a of this.awaiting) {
      if (everything || a.seq <= this.room.seq) this._out.push({ do: "done", ref: a.ref, seq: a.seq });
      else keep.push(a);
    }
    this.awaiting = keep;
  }

  // ---- connection lifecycle ----------------------------------------------------------

  _resume() {
    return this.epoch === null ? null : { epoch: this.epoch, seq: this.room.seq };
  }

  _open() {
    this.state = "connecting";
    this._retryAt = null;
    this._out.push({ do: "open", resume: this._resume() });
  }

  _lost(now, code, reason, retryable, error) {
    const wasLive = this.state === "live";
    this.state = "backoff";
    this._welcomeBy = null;
    this._bucket = null;
    this._outbox = [];
    for (const op of this.pending.values()) {
      op.queued = false;
      op.retryAt = null;
    }
    const retrying = retryable && this.settings.reconnect;
    if (wasLive) this._out.push({ do: "deliver", msg: { t: "disconnected", code, reason, retrying } });
    if (!retrying) {
      this._finish(code, reason, error);
      return;
    }
    if (wasLive) {
      if (now - this._welcomedAt >= this.settings.stable_ms) this._level = 0;
    } else {
      this.failures++;
      const limit = this.settings.max_attempts;
      if (limit !== null && limit !== undefined && this.failures >= limit) {
        this._finish(code, `gave up after ${this.failures} attempts: ${reason}`, error);
        return;
      }
    }
    this._retryAt = now + this._jitter(this._level);
    this._level++;
  }

  _jitter(level) {
    const [base, cap] = this.settings.backoff_ms;
    return backoffDelay(level, { base, cap }, this.random);
  }

  _finish(code, reason, error) {
    const refs = [...this.pending.keys(), ...this.awaiting.map((a) => a.ref)];
    this.pending.clear();
    this.awaiting = [];
    this._outbox = [];
    this.myCall = null;
    this.state = "closed";
    this._retryAt = this._welcomeBy = null;
    this.final = { do: "final", code, reason, error, refs };
    this._out.push(this.final);
  }

  // ---- sending -----------------------------------------------------------------------

  _queue(op) {
    if (!op.queued) {
      op.queued = true;
      this._outbox.push({ ref: op.ref });
    }
  }

  _flush(now) {
    const bucket = this._bucket;
    if (bucket) bucket.refill(now);
    let i = 0;
    const box = this._outbox;
    for (; i < box.length; i++) {
      const entry = box[i];
      const op = entry.ref !== undefined ? this.pending.get(entry.ref) : null;
      if (entry.ref !== undefined && !(op && op.queued)) continue; // acked or abandoned meanwhile
      if (bucket && !entry.free) {
        if (bucket.tokens < 1) break;
        bucket.tokens -= 1;
      }
      if (op) {
        op.queued = false;
        op.sent = true;
        this._out.push({ do: "send", msg: { t: "op", ref: op.ref, op: op.body } });
      } else {
        this._out.push({ do: "send", msg: entry.msg });
      }
    }
    if (i) this._outbox = box.slice(i);
  }

  _deadline(now) {
    const times = [];
    if (this.state === "joining" && this._welcomeBy !== null) times.push(this._welcomeBy);
    else if (this.state === "backoff" && this._retryAt !== null) times.push(this._retryAt);
    else if (this.state === "live") {
      for (const op of this.pending.values()) if (op.retryAt !== null) times.push(op.retryAt);
      if (this._outbox.length && this._bucket) times.push(this._bucket.wakeAt(now));
    }
    return times.length ? Math.min(...times) : null;
  }

  _done(now) {
    if (this.state === "live") this._flush(now);
    const deadline = this._deadline(now);
    if (deadline !== this._timer) {
      this._timer = deadline;
      this._out.push({ do: "timer", at: deadline });
    }
    const out = this._out;
    this._out = [];
    return out;
  }
}
