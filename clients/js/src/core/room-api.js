// The public API of a room connection over its session (`_session`, session.js): event
// subscription, what the session holds, ops built for submit(), and ephemeral signals for
// signal(). The subclass (connection.js, the browser shell) provides submit and signal.

import { OpError } from "./errors.js";
import { call, cleanProduct, ops, validateCallMessage } from "./protocol.js";
import { activeHelp } from "./reducer.js";
import { httpBaseFor, rest } from "./rest.js";

export class RoomApi {
  constructor() {
    this._handlers = new Map();
  }

  // ---- events ------------------------------------------------------------------------

  /** Subscribe: "status", "state", "event", "presence", "focus", "typing", "follow",
   * "welcome", "error" (ref-less error frames), "member-joined", "closed", and for calls
   * "call" ({mode, members}) and "signal" (a relayed offer/answer/candidate/bye).
   * Returns an unsubscribe function. */
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

  // ---- what the session holds --------------------------------------------------------

  get state() {
    return this._session.room;
  }
  get epoch() {
    return this._session.epoch;
  }
  get room() {
    return this._session.welcome ? this._session.welcome.room : "";
  }
  get member() {
    return this._session.welcome ? this._session.welcome.member : "";
  }
  get role() {
    return this._session.welcome ? this._session.welcome.role : "";
  }
  get limits() {
    return (this._session.welcome && this._session.welcome.limits) || null;
  }
  get reconnects() {
    return this._session.reconnects;
  }
  get violations() {
    return this._session.violations;
  }
  get live() {
    return this._session.state === "live";
  }
  /** Ops not acknowledged yet: queued while offline or in flight. */
  get pending() {
    return this._session.pending.size;
  }
  /** The bodies of those ops, oldest first (to show "not sent yet" in a UI). */
  pendingOps() {
    return [...this._session.pending.values()].map((op) => op.body);
  }
  /** The ICE servers of the last welcome (STUN, TURN with this member's credentials). */
  get ice() {
    return (this._session.welcome && this._session.welcome.ice) || [];
  }
  /** This client's call membership: {audio, video, muted, camera}, or null. */
  get myCall() {
    return this._session.myCall;
  }
  get following() {
    const f = this._session.myFollow;
    return f ? f.member : null;
  }

  // ---- ops ---------------------------------------------------------------------------

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
  chat(text, product, replyTo, mentions) {
    return this.submit(ops.chat(text, product, replyTo, mentions));
  }
  /** Ask `to` (a member id or ids) a question, optionally about a product or a cart line;
   * resolves to the question's id (its seq). */
  ask(to, text, { product, line } = {}) {
    return this.submit(ops.questionAsk(to, text, product, line));
  }
  answer(question, text) {
    return this.submit(ops.questionAnswer(question, text));
  }
  closeQuestion(question) {
    return this.submit(ops.questionClose(question));
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
  /** A "which one?" poll (SPEC 17); resolves with the poll's id (its seq). */
  createPoll(question, options, deadline, outcome = "keep_winner") {
    return this.submit(ops.pollCreate(question, options, deadline, outcome));
  }
  /** Vote for option `option` (0-based) of poll `poll`; null clears the vote. */
  votePoll(poll, option) {
    return this.submit(ops.pollVote(poll, option));
  }
  /** Post a question about `product` to the shop's public Q&A (SPEC section 19); verified
   * buyers' answers arrive later in `state.qa`. Rejects with `qa_unavailable` in a room
   * without a tenant. */
  askPastBuyers(product, text) {
    return this.submit(ops.qaAsk(product, text));
  }
  /** Ask for a signed checkout snapshot: scope "all" (owner only) or "mine" (the lines
   * this member added). Resolves with the `checkout.start` map, exactly as received, so
   * its `sig` verifies (docs/checkout.md); rejects with an OpError (`forbidden`,
   * `empty_checkout`, …). */
  requestCheckout(scope) {
    const seen = new Map();
    const off = this.on("event", (e) => {
      if (e.op && e.op.t === "checkout.start") seen.set(e.seq, e.op);
    });
    return this.submit(ops.checkoutRequest(scope)).then(
      (seq) => {
        off();
        const snapshot = seen.get(seq);
        if (!snapshot) throw new OpError("internal", "the checkout arrived while reconnecting: fetch it by id");
        return snapshot;
      },
      (err) => {
        off();
        throw err;
      },
    );
  }

  // ---- read cursor, unread and away (SPEC section 15) ----------------------------------

  /** The member's read cursor: the last seq shown on any of its devices. */
  get readCursor() {
    return this.reads.cursor;
  }
  /** What is unread now: {messages, cart, questions, mentions}. */
  get unread() {
    return this.reads.unread;
  }
  /** The last welcome's counts: what changed while the member was away. */
  get sinceLastVisit() {
    return this.reads.since;
  }

  /** Events up to `seq` (default: the head) were shown: move the cursor; `read` is sent
   * at most every `readInterval` ms (the latest cursor wins); other devices follow. */
  markRead(seq) {
    const head = this.state.seq;
    if (!this.reads.mark(Math.min(seq === undefined ? head : seq, head))) return;
    this._emit("read", this.reads.cursor);
    if (this._readTimer === null) this._flushRead();
  }

  _flushRead() {
    this._readTimer = null;
    if (this.reads.cursor <= this._readSent || !this.live) return;
    this._readSent = this.reads.cursor;
    this.signal({ t: "read", seq: this.reads.cursor });
    this._readTimer = this._setTimeout(() => this._flushRead(), this.readInterval);
  }

  /** This tab went to the background (true) or came back: others see the member "away"
   * while all its connections are. Re-sent after a reconnect. */
  setAway(on) {
    this.isAway = !!on;
    this.signal({ t: "away", on: this.isAway });
  }

  _welcomedReads(w) {
    this.reads.welcome(w);
    this._readSent = w.read || 0;
    if (this.reads.cursor > this._readSent) this._input((now) => this._session.signal(now, { t: "read", seq: this.reads.cursor }));
    if (this.isAway) this._input((now) => this._session.signal(now, { t: "away", on: true }));
    this._emit("read", this.reads.cursor);
  }

  /** Ask the store's associates for help (SPEC 21): where "in_store" | "online", an
   * optional department and note. Resolves with the request id (its seq); rejects with an
   * OpError `help_pending` while the room's last request is still open or claimed. */
  askForHelp(where = "online", department, note) {
    return this.submit(ops.helpRequest(where, department, note));
  }
  /** The room's help request that is open or claimed ({id, state, associate_name, …}), or null. */
  get helpRequest() {
    return activeHelp(this.state);
  }
  /** Close the room's help request (default: the open one) through REST; resolves once
   * the server took it (the room's `help.close` event follows). */
  closeHelp(request) {
    const id = request ?? (this.helpRequest && this.helpRequest.id);
    if (id == null) return Promise.resolve(null);
    return rest.closeHelp(httpBaseFor(this.url), this.token, this.room, id);
  }

  // ephemeral: dropped while disconnected; focus and follow are re-sent after a reconnect

  setFocus(product) {
    const p = product ? cleanProduct(product) : null;
    this.signal(p ? { t: "focus", product: p } : { t: "focus" });
  }
  setTyping(on) {
    this.signal({ t: "typing", on: !!on });
  }
  follow(member) {
    this.signal(member ? { t: "follow", member } : { t: "follow" });
  }

  // calls (SPEC section 14): ephemeral too; the call is joined again after a reconnect

  joinCall(audio = true, video = false) {
    this.signal(call.join(audio, video));
  }
  leaveCall() {
    this.signal(call.leave());
  }
  /** Only what changed: {muted?, camera?, speaking?}. */
  setCallState(changes) {
    const msg = call.state(changes);
    if (Object.keys(msg).length > 1) this.signal(msg);
  }
  /** A `signal` frame ({t: "signal", to, kind, …}, see protocol.js `call`); false (and not
   * sent) when the server would refuse it (e.g. an SDP over 16 KiB). */
  sendSignal(msg) {
    const clean = Object.fromEntries(Object.entries(msg).filter(([, v]) => v !== undefined && v !== null));
    if (validateCallMessage(clean) !== null) return false;
    this.signal(clean);
    return true;
  }
}
