// Pure bookkeeping of a member's ops (no sockets, no timers): what to (re)send on a
// connection, and which promises an ack, an error or the folded state settles.
//
// An op keeps its `ref` for life. After a reconnect every op not yet acknowledged is sent
// again under that same ref; the server remembers (member, ref) and answers a retry with
// the original ack, so an op is applied once however often it is sent.

export class OpQueue {
  constructor(prefix) {
    this.prefix = prefix;
    this.count = 0;
    this.entries = new Map(); // ref -> entry, in submission order
  }

  /** A new op; `sentGen` -1 means never sent. */
  add(body, callbacks = {}) {
    const ref = `${this.prefix}-${++this.count}`;
    const entry = { ref, body, sentGen: -1, seq: null, resolve: callbacks.resolve, reject: callbacks.reject };
    this.entries.set(ref, entry);
    return entry;
  }

  /** Ops to send on connection generation `gen`, oldest first: not acked, not sent on it yet. */
  toSend(gen) {
    const out = [];
    for (const e of this.entries.values()) if (e.seq === null && e.sentGen !== gen) out.push(e);
    return out;
  }

  /** The server acknowledged `ref` as event `seq`. Returns the entry (null: unknown ref). */
  ack(ref, seq) {
    const e = this.entries.get(ref);
    if (!e) return null;
    e.seq = seq;
    return e;
  }

  /** The server refused `ref`: forget it and return it (null: unknown ref). */
  fail(ref) {
    const e = this.entries.get(ref);
    if (!e) return null;
    this.entries.delete(ref);
    return e;
  }

  /** Acked ops whose event is folded into a state at `stateSeq` (all acked ops when
   * `stateSeq` is Infinity: after a snapshot of a new epoch the old seqs mean nothing). */
  settle(stateSeq) {
    const done = [];
    for (const e of this.entries.values()) {
      if (e.seq !== null && e.seq <= stateSeq) done.push(e);
    }
    for (const e of done) this.entries.delete(e.ref);
    return done;
  }

  /** Every op, removed (the connection ended for good). */
  drain() {
    const all = [...this.entries.values()];
    this.entries.clear();
    return all;
  }

  /** Ops waiting for their ack (queued offline or in flight). */
  get unacked() {
    let n = 0;
    for (const e of this.entries.values()) if (e.seq === null) n++;
    return n;
  }

  get size() {
    return this.entries.size;
  }
}

/** Reconnect delay in ms at backoff level `failures`: exponential with a cap, jittered to
 * 50–100 % so a room's clients do not reconnect in lockstep. The session's jitter()
 * (docs/client-session.md), the same expression as the Python client's. */
export function backoffDelay(failures, { base = 250, cap = 8000 } = {}, random = Math.random) {
  const raw = Math.min(cap, base * 2 ** Math.min(30, Math.max(0, failures)));
  return Math.floor(raw * (0.5 + 0.5 * random()));
}

/** Token bucket mirroring the server's per-connection frame limit (with a margin). The
 * session paces with it (docs/client-session.md, "Pacing"): these exact expressions, in
 * this order, so the JS and Python clients agree bit for bit. */
export class Pacer {
  constructor(limits, now) {
    const rate = limits ? limits.ops_per_second : 0;
    this.rate = rate * 0.9; // per second
    // a quarter second's worth (at least 2) of the server's burst is left unused: frames a
    // busy server reads late arrive together, and this is how much they may bunch
    this.burst = limits ? Math.max(1, limits.ops_burst - Math.max(2, Math.ceil(rate / 4))) : 1;
    this.tokens = this.burst;
    this.updated = now;
  }

  refill(now) {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) * this.rate) / 1000);
    this.updated = now;
  }

  /** When the next token is there (after a refill at `now`, with tokens < 1). */
  wakeAt(now) {
    return now + Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }

  /** 0 if a frame may go now (and takes the token), else ms to wait. */
  take(now) {
    if (this.rate <= 0) return 0;
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return this.wakeAt(now) - now;
  }
}
