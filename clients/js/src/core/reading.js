// Read cursor and unread counts (protocol/SPEC.md section 15), as the client sees them:
// pure bookkeeping, the same as the Python client's reading.py. The welcome brings the
// stored cursor and the counts after it ("since you were here"); later events are counted
// as they come; mark() moves the cursor when events were shown; a `read` from another
// device of the member moves it too. countUnread() is protocol/unread.py's count.

const MESSAGE_TYPES = new Set(["chat"]);
const CART_TYPES = new Set(["cart.add", "cart.qty", "cart.remove", "cart.revalidate"]);
const LIVE_KEEP = 10000;

/** "messages" | "cart" | null: what an event by `by` with body type `t` counts as for `member`. */
export function kindOf(by, t, member) {
  if (by === member) return null;
  if (MESSAGE_TYPES.has(t)) return "messages";
  if (CART_TYPES.has(t)) return "cart";
  return null;
}

export const zeroUnread = () => ({ messages: 0, cart: 0, questions: 0, mentions: 0 });

/** The counts of `events` (the tail after the member's cursor) for `member`. */
export function countUnread(events, member) {
  const out = zeroUnread();
  for (const e of events) {
    const kind = kindOf(e.by, e.op && e.op.t, member);
    if (kind) out[kind] += 1;
    if (kind === "messages" && Array.isArray(e.op.mentions) && e.op.mentions.includes(member)) out.mentions += 1;
  }
  return out;
}

export function unreadTotal(u) {
  return u ? (u.messages || 0) + (u.cart || 0) + (u.questions || 0) + (u.mentions || 0) : 0;
}

export class ReadTracker {
  constructor() {
    this.member = "";
    this.cursor = 0;
    this.since = zeroUnread(); // the welcome's counts: "since you were here"
    this.welcomeSeq = 0;
    this.welcomeRead = 0;
    this._live = []; // [seq, kind] of counted events after the welcome
  }

  welcome(w) {
    this.member = w.member;
    this.welcomeRead = w.read || 0;
    this.cursor = Math.min(Math.max(this.cursor, this.welcomeRead), w.seq);
    this.since = { ...zeroUnread(), ...(w.unread || {}) };
    this.welcomeSeq = w.seq;
    this._live = [];
  }

  event(e) {
    const kind = kindOf(e.by, e.op && e.op.t, this.member);
    if (!(e.seq > this.welcomeSeq)) return;
    if (kind) this._live.push([e.seq, kind]);
    const op = e.op || {};
    if (kind === "messages" && Array.isArray(op.mentions) && op.mentions.includes(this.member)) this._live.push([e.seq, "mentions"]);
    if (this._live.length > LIVE_KEEP) this._live.splice(0, this._live.length - LIVE_KEEP);
  }

  /** Events up to `seq` were shown: whether the cursor moved. */
  mark(seq) {
    if (seq <= this.cursor) return false;
    this.cursor = seq;
    return true;
  }

  /** Another connection of the member moved the cursor (server `read`). */
  heard(seq) {
    if (seq <= this.cursor) return false;
    this.cursor = seq;
    return true;
  }

  /** What is unread now. */
  get unread() {
    const out = this.cursor < this.welcomeSeq ? { ...this.since } : { ...zeroUnread(), questions: this.since.questions };
    const after = Math.max(this.cursor, this.welcomeSeq);
    for (const [seq, kind] of this._live) if (seq > after) out[kind] += 1;
    return out;
  }
}
