// Polls with deadlines (SPEC section 17): the same rules, tally and outcome as
// protocol/polls.py. reducer.js calls pollRule from checkRules and foldPoll from apply.

export const MAX_OPEN_POLLS = 10;
export const POLLS_KEEP = 20;

// Maps keyed by member ids have no prototype: a key such as "__proto__" is a key.
const dict = (entries) => Object.assign(Object.create(null), entries);

export function findPoll(state, id) {
  for (const poll of state.polls) if (poll.id === id) return poll;
  return null;
}

/** The state rules of poll.create / poll.vote / poll.close ({code, message} or null). */
export function pollRule(state, by, op, isOwner) {
  if (op.t === "poll.close") {
    if (by !== "") return { code: "forbidden", message: "poll.close is a server event" };
    const poll = findPoll(state, op.poll);
    if (!poll) return { code: "not_found", message: `poll ${op.poll} is gone` };
    return poll.closed ? { code: "poll_closed", message: "the poll is closed" } : null;
  }
  if (op.t === "poll.create") {
    if (op.outcome === "keep_winner" && state.locked && !isOwner) {
      return { code: "room_locked", message: "the room is locked by its owner" };
    }
    const cart = new Set(state.cart.map((item) => item.line));
    for (const option of op.options) {
      if (option.line != null && !cart.has(option.line)) return { code: "not_found", message: `cart line ${option.line} is gone` };
    }
    if (state.polls.filter((p) => !p.closed).length >= MAX_OPEN_POLLS) {
      return { code: "forbidden", message: `a room has at most ${MAX_OPEN_POLLS} open polls` };
    }
    return null;
  }
  const poll = findPoll(state, op.poll);
  if (!poll) return { code: "not_found", message: `poll ${op.poll} is gone` };
  if (poll.closed) return { code: "poll_closed", message: "the poll is closed" };
  if (op.option != null && op.option >= poll.options.length) {
    return { code: "invalid_field", message: `the poll has ${poll.options.length} options` };
  }
  return null;
}

/** Votes per option. */
export function tally(poll) {
  const counts = poll.options.map(() => 0);
  for (const option of Object.values(poll.votes)) counts[option] += 1;
  return counts;
}

/** The single most-voted option; null when nobody voted or the top is a tie. */
export function winner(counts) {
  const best = counts.length ? Math.max(...counts) : 0;
  if (best === 0 || counts.filter((c) => c === best).length !== 1) return null;
  return counts.indexOf(best);
}

function option(o) {
  const out = {};
  if (o.line != null) out.line = o.line;
  if (o.product != null) out.product = o.product;
  if (o.label != null) out.label = o.label;
  return out;
}

/** Apply an accepted poll op to `state`. */
export function foldPoll(state, event, op) {
  if (op.t === "poll.create") {
    state.polls.push({
      id: event.seq,
      by: event.by,
      ts: event.ts,
      question: op.question,
      options: op.options.map(option),
      deadline: op.deadline,
      outcome: op.outcome,
      votes: dict(),
      closed: false,
      tally: [],
      winner: null,
      removed: [],
    });
    if (state.polls.length > POLLS_KEEP) state.polls.splice(state.polls.findIndex((p) => p.closed), 1);
    return;
  }
  const poll = findPoll(state, op.poll);
  if (op.t === "poll.vote") {
    if (op.option == null) delete poll.votes[event.by];
    else poll.votes[event.by] = op.option;
    return;
  }
  // poll.close: the result comes from the votes folded so far
  const counts = tally(poll);
  poll.closed = true;
  poll.tally = counts;
  poll.winner = winner(counts);
  if (poll.outcome === "keep_winner" && poll.winner !== null) {
    const losers = new Set(poll.options.filter((o, i) => i !== poll.winner && o.line != null).map((o) => o.line));
    poll.removed = state.cart.filter((item) => losers.has(item.line)).map((item) => item.line);
    if (poll.removed.length) state.cart = state.cart.filter((item) => !losers.has(item.line));
  }
}

/** A poll from a wire snapshot (defaults filled in). */
export function pollFromWire(p) {
  return {
    id: p.id,
    by: p.by,
    ts: p.ts,
    question: p.question,
    options: p.options.map(option),
    deadline: p.deadline,
    outcome: p.outcome,
    votes: dict(p.votes),
    closed: !!p.closed,
    tally: [...(p.tally || [])],
    winner: p.winner ?? null,
    removed: [...(p.removed || [])],
  };
}

/** The wire form of a poll: defaults omitted. */
export function pollToWire(p) {
  const out = { id: p.id, by: p.by, ts: p.ts, question: p.question, options: p.options.map(option), deadline: p.deadline, outcome: p.outcome };
  if (Object.keys(p.votes).length) out.votes = dict(p.votes);
  if (p.closed) out.closed = true;
  if (p.tally.length) out.tally = [...p.tally];
  if (p.winner != null) out.winner = p.winner;
  if (p.removed.length) out.removed = [...p.removed];
  return out;
}

/** member.erase: the question and labels of the member's polls become tombstones. */
export function scrubPolls(state, member, erasedText) {
  for (const poll of state.polls) {
    if (poll.by === member) {
      poll.question = erasedText;
      poll.options = poll.options.map((o) => {
        const { label: _label, ...rest } = o;
        return rest;
      });
    }
  }
}
