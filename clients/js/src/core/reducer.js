// The room reducer: `apply(state, event)`, the same fold as protocol/reducer.py.
//
// Checked against protocol/vectors/reducer.json by test/reducer.test.js. Like the Python
// one it mutates `state` in place and returns it; an op that breaks the rules at its
// position is a no-op that still consumes its seq. Room limits (cart size, chat length)
// are checked by the server's sequencer only, never here.

export const CHAT_KEEP = 500;
export const MAX_QTY = 999;
export const MAX_REACTIONS_PER_MESSAGE = 32;
export const ERASED_TEXT = "[erased]"; // member.erase: the text of the erased member's chat messages
export const CHECKOUTS_KEEP = 20;
export const HELP_CLOSED_KEEP = 5; // closed help requests kept in the state (SPEC 21)

const CART_OPS = new Set(["cart.add", "cart.qty", "cart.remove"]);
const OWNER_OPS = new Set(["room.rename", "room.lock", "member.kick"]);

// Maps keyed by member ids or emoji have no prototype: a key such as "__proto__" is a key.
export const dict = (entries) => Object.assign(Object.create(null), entries);

/** A fresh, empty room state. */
export function emptyState() {
  return { seq: 0, name: "", owner: "", locked: false, closed: false, members: dict(), cart: [], chat: [], checkouts: [], call: null, help: [] };
}

/** A state from a wire snapshot (defaults omitted on the wire are filled in). */
export function fromWire(snapshot) {
  const s = snapshot || {};
  const members = dict();
  for (const [id, m] of Object.entries(s.members || {})) {
    members[id] = { name: m.name, role: m.role, kicked: !!m.kicked, erased: !!m.erased };
  }
  return {
    seq: s.seq || 0,
    name: s.name || "",
    owner: s.owner || "",
    locked: !!s.locked,
    closed: !!s.closed,
    members,
    cart: (s.cart || []).map((l) => ({
      line: l.line,
      product: l.product,
      qty: l.qty,
      added_by: l.added_by,
      votes: dict(l.votes),
      price_changed: l.price_changed ? { old: l.price_changed.old, new: l.price_changed.new } : null,
      out_of_stock: !!l.out_of_stock,
    })),
    chat: (s.chat || []).map((m) => ({
      id: m.id,
      by: m.by,
      ts: m.ts,
      text: m.text,
      product: m.product ?? null,
      reply_to: m.reply_to ?? null,
      reactions: dict(Object.fromEntries(Object.entries(m.reactions || {}).map(([k, v]) => [k, [...v]]))),
    })),
    checkouts: (s.checkouts || []).map((c) => ({ ...c })),
    call: s.call ? { since: s.call.since, by: s.call.by } : null,
    help: (s.help || []).map(helpFromWire),
  };
}

function helpFromWire(h) {
  return {
    id: h.id,
    by: h.by,
    ts: h.ts,
    where: h.where,
    state: h.state || "open",
    department: h.department ?? null,
    note: h.note ?? null,
    associate: h.associate ?? null,
    associate_name: h.associate_name ?? null,
    level: h.level || 0,
  };
}

function helpToWire(h) {
  const out = { id: h.id, by: h.by, ts: h.ts, where: h.where };
  if (h.state !== "open") out.state = h.state;
  if (h.department != null) out.department = h.department;
  if (h.note != null) out.note = h.note;
  if (h.associate != null) out.associate = h.associate;
  if (h.associate_name != null) out.associate_name = h.associate_name;
  if (h.level) out.level = h.level;
  return out;
}

/** The wire form of a state: defaults omitted, exactly as the server encodes it. */
export function toWire(state) {
  const out = {};
  if (state.seq) out.seq = state.seq;
  if (state.name) out.name = state.name;
  if (state.owner) out.owner = state.owner;
  if (state.locked) out.locked = true;
  if (state.closed) out.closed = true;
  const ids = Object.keys(state.members);
  if (ids.length) {
    out.members = dict();
    for (const id of ids) {
      const m = state.members[id];
      const info = { name: m.name, role: m.role };
      if (m.kicked) info.kicked = true;
      if (m.erased) info.erased = true;
      out.members[id] = info;
    }
  }
  if (state.cart.length) {
    out.cart = state.cart.map((l) => {
      const line = { line: l.line, product: l.product, qty: l.qty, added_by: l.added_by };
      if (Object.keys(l.votes).length) line.votes = dict(l.votes);
      if (l.price_changed) line.price_changed = { old: l.price_changed.old, new: l.price_changed.new };
      if (l.out_of_stock) line.out_of_stock = true;
      return line;
    });
  }
  if (state.chat.length) {
    out.chat = state.chat.map((m) => {
      const msg = { id: m.id, by: m.by, ts: m.ts, text: m.text };
      if (m.product != null) msg.product = m.product;
      if (m.reply_to != null) msg.reply_to = m.reply_to;
      if (Object.keys(m.reactions).length) msg.reactions = m.reactions;
      return msg;
    });
  }
  if (state.checkouts.length) out.checkouts = state.checkouts.map((c) => ({ ...c }));
  if (state.call) out.call = { since: state.call.since, by: state.call.by };
  if (state.help && state.help.length) out.help = state.help.map(helpToWire);
  return out;
}

export function findLine(state, line) {
  for (const item of state.cart) if (item.line === line) return item;
  return null;
}

export function findChat(state, id) {
  // chat is ordered by id (= seq): binary search
  const chat = state.chat;
  let lo = 0;
  let hi = chat.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (chat[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < chat.length && chat[lo].id === id ? chat[lo] : null;
}

function mergeTarget(state, product) {
  const variant = product.variant ?? null;
  for (const item of state.cart) {
    if (item.product.id === product.id && (item.product.variant ?? null) === variant) return item;
  }
  return null;
}

/** The cart lines a checkout of `scope` by `by` takes: all, or the ones `by` added. */
export function checkoutLines(state, by, scope) {
  return state.cart.filter((item) => scope === "all" || item.added_by === by);
}

function checkCheckout(state, by, op) {
  if (op.scope === "all" && by !== state.owner) {
    return { code: "forbidden", message: "only the room owner can check out the whole cart" };
  }
  if (op.t === "checkout.start") {
    if (op.requested_by !== by) return { code: "forbidden", message: "checkout.start names another requester" };
    if (!op.lines || !op.lines.length) return { code: "empty_checkout", message: "the checkout holds no line" };
  } else if (!checkoutLines(state, by, op.scope).length) {
    return { code: "empty_checkout", message: "no cart line to check out" };
  }
  return null;
}

export function findHelp(state, request) {
  for (const item of state.help) if (item.id === request) return item;
  return null;
}

const HELP_SERVER_OPS = new Set(["help.claim", "help.escalate", "help.close"]);

function checkHelp(state, by, op) {
  if (by !== "") return { code: "forbidden", message: `${op.t} is a server event` };
  const item = findHelp(state, op.request);
  if (!item) return { code: "not_found", message: `help request ${op.request} is gone` };
  if (op.t === "help.claim") {
    return item.state === "open" ? null : { code: "already_claimed", message: "this help request is already taken" };
  }
  if (op.t === "help.escalate") {
    if (item.state !== "open" || op.level <= item.level) {
      return { code: "not_found", message: "this help request is not waiting at a lower level" };
    }
    return null;
  }
  return item.state !== "closed" ? null : { code: "not_found", message: "this help request is closed" };
}

/** The room's help request that is open or claimed, or null (SPEC 21). */
export function activeHelp(state) {
  for (const item of state.help || []) if (item.state !== "closed") return item;
  return null;
}

/** Why `by` may not do `op` against `state` ({code, message}), or null if it may. */
export function checkRules(state, by, op) {
  const t = op.t;
  if (t === "room.create") {
    return state.seq === 0 && !state.owner ? null : { code: "forbidden", message: "room exists" };
  }
  if (t === "log.gap") return by === "" ? null : { code: "forbidden", message: "log.gap is a server event" };
  if (t === "member.erase") {
    // allowed in a closed room too: erasure must always work
    if (by !== "") return { code: "forbidden", message: "member.erase is a server event" };
    if (!Object.hasOwn(state.members, op.member)) return { code: "not_found", message: `member ${op.member} is not in the room` };
    return null;
  }
  if (state.closed) return { code: "room_closed", message: "the room is closed" };
  if (t === "room.close") return by === "" ? null : { code: "forbidden", message: "room.close is a server event" };
  if (t === "member.join") {
    if (by !== "") return { code: "forbidden", message: "member.join is a server event" };
    const existing = state.members[op.member];
    if (existing && existing.kicked) return { code: "kicked", message: "member was kicked" };
    return null;
  }
  if (t === "cart.revalidate") {
    if (by !== "") return { code: "forbidden", message: "cart.revalidate is a server event" };
    return findLine(state, op.line) ? null : { code: "not_found", message: "line is gone" };
  }
  if (t === "call.start" || t === "call.end") {
    // server events (SPEC section 14): a start needs an idle call, an end an active one
    if (by !== "") return { code: "forbidden", message: `${t} is a server event` };
    if (t === "call.start") return state.call ? { code: "forbidden", message: "a call is already active" } : null;
    return state.call ? null : { code: "not_found", message: "no call is active" };
  }
  if (HELP_SERVER_OPS.has(t)) return checkHelp(state, by, op);
  const member = Object.hasOwn(state.members, by) ? state.members[by] : null;
  if (!member) return { code: "forbidden", message: "not a member of this room" };
  if (member.kicked) return { code: "kicked", message: "you were removed from this room" };
  if (member.role === "viewer") return { code: "forbidden", message: "viewers cannot change the room" };
  const isOwner = by === state.owner;
  if (OWNER_OPS.has(t) && !isOwner) return { code: "forbidden", message: "only the room owner can do this" };
  if (CART_OPS.has(t) && state.locked && !isOwner) {
    return { code: "room_locked", message: "the room is locked by its owner" };
  }
  if (t === "cart.qty" || t === "cart.remove" || t === "vote") {
    if (!findLine(state, op.line)) return { code: "not_found", message: `cart line ${op.line} is gone` };
  } else if (t === "chat") {
    if (op.reply_to != null && !findChat(state, op.reply_to)) {
      return { code: "not_found", message: `chat message ${op.reply_to} is gone` };
    }
  } else if (t === "react") {
    const msg = findChat(state, op.msg);
    if (!msg) return { code: "not_found", message: `chat message ${op.msg} is gone` };
    const on = op.on ?? true;
    if (on && !Object.hasOwn(msg.reactions, op.emoji) && Object.keys(msg.reactions).length >= MAX_REACTIONS_PER_MESSAGE) {
      return { code: "forbidden", message: "too many different reactions on this message" };
    }
  } else if (t === "member.kick") {
    const target = Object.hasOwn(state.members, op.member) ? state.members[op.member] : null;
    if (!target || target.kicked) return { code: "not_found", message: `member ${op.member} is not in the room` };
    if (op.member === state.owner) return { code: "forbidden", message: "the owner cannot be kicked" };
  } else if (t === "checkout.request" || t === "checkout.start") {
    return checkCheckout(state, by, op);
  } else if (t === "help.request") {
    if (activeHelp(state)) return { code: "help_pending", message: "this room already has a help request open" };
  }
  return null;
}

/** Fold one event into `state` (in place) and return it. Never throws for a well-typed event. */
export function apply(state, event) {
  const op = event.op;
  const by = event.by;
  const rejected = checkRules(state, by, op) !== null;
  state.seq = event.seq;
  if (rejected) return state;
  switch (op.t) {
    case "cart.add": {
      const qty = op.qty ?? 1;
      const target = mergeTarget(state, op.product);
      if (!target) {
        state.cart.push({
          line: event.seq,
          product: op.product,
          qty,
          added_by: by,
          votes: dict(),
          price_changed: null,
          out_of_stock: false,
        });
      }
      else target.qty = Math.min(MAX_QTY, target.qty + qty);
      break;
    }
    case "cart.qty":
      findLine(state, op.line).qty = op.qty;
      break;
    case "cart.remove":
      state.cart = state.cart.filter((item) => item.line !== op.line);
      break;
    case "vote": {
      const line = findLine(state, op.line);
      if (op.value === "clear") delete line.votes[by];
      else line.votes[by] = op.value === "up" ? 1 : -1;
      break;
    }
    case "chat":
      state.chat.push({
        id: event.seq,
        by,
        ts: event.ts,
        text: op.text,
        product: op.product ?? null,
        reply_to: op.reply_to ?? null,
        reactions: dict(),
      });
      if (state.chat.length > CHAT_KEEP) state.chat.splice(0, state.chat.length - CHAT_KEEP);
      break;
    case "react": {
      const msg = findChat(state, op.msg);
      const on = op.on ?? true;
      const who = Object.hasOwn(msg.reactions, op.emoji) ? msg.reactions[op.emoji] : [];
      if (on && !who.includes(by)) {
        msg.reactions[op.emoji] = [...who, by];
      } else if (!on && who.includes(by)) {
        const rest = who.filter((m) => m !== by);
        if (rest.length) msg.reactions[op.emoji] = rest;
        else delete msg.reactions[op.emoji];
      }
      break;
    }
    case "room.rename":
      state.name = op.name;
      break;
    case "room.lock":
      state.locked = op.locked;
      break;
    case "member.kick":
      state.members[op.member].kicked = true;
      break;
    case "room.create":
      state.name = op.name;
      state.owner = op.owner;
      state.members[op.owner] = { name: op.owner_name, role: "owner", kicked: false, erased: false };
      break;
    case "member.join":
      state.members[op.member] = { name: op.name, role: op.role, kicked: false, erased: false };
      break;
    case "room.close":
      state.closed = true;
      break;
    case "member.erase":
      eraseMember(state, op.member);
      break;
    case "cart.revalidate": {
      const line = findLine(state, op.line);
      if (op.price != null) {
        const old = line.product.price;
        line.price_changed = op.price === old ? null : { old, new: op.price };
      }
      line.out_of_stock = !(op.in_stock ?? true);
      break;
    }
    case "checkout.start":
      state.checkouts.push({
        id: op.id,
        seq: event.seq,
        by,
        scope: op.scope,
        ts: op.created_at,
        expires_at: op.expires_at,
        lines: op.lines.length,
      });
      if (state.checkouts.length > CHECKOUTS_KEEP) state.checkouts.splice(0, state.checkouts.length - CHECKOUTS_KEEP);
      break;
    case "call.start":
      state.call = { since: event.ts, by: op.member };
      break;
    case "call.end":
      state.call = null;
      break;
    case "help.request":
      state.help.push(
        helpFromWire({ id: event.seq, by, ts: event.ts, where: op.where || "online", department: op.department, note: op.note }),
      );
      break;
    case "help.claim": {
      const item = findHelp(state, op.request);
      item.state = "claimed";
      item.associate = op.associate;
      item.associate_name = op.name;
      break;
    }
    case "help.escalate":
      findHelp(state, op.request).level = op.level;
      break;
    case "help.close": {
      findHelp(state, op.request).state = "closed";
      const closed = state.help.filter((h) => h.state === "closed");
      if (closed.length > HELP_CLOSED_KEEP) {
        const dropped = new Set(closed.slice(0, closed.length - HELP_CLOSED_KEEP).map((h) => h.id));
        state.help = state.help.filter((h) => !dropped.has(h.id));
      }
      break;
    }
    default:
      // an op type this client does not know: its seq is consumed, nothing else changes
      break;
  }
  return state;
}

/** member.erase: the member's name, chat text and cart authorship become tombstones. */
export function eraseMember(state, member) {
  const info = Object.hasOwn(state.members, member) ? state.members[member] : null;
  if (info) {
    info.name = "";
    info.kicked = true;
    info.erased = true;
  }
  for (const msg of state.chat) {
    if (msg.by === member) {
      msg.text = ERASED_TEXT;
      msg.product = null;
    }
  }
  for (const line of state.cart) if (line.added_by === member) line.added_by = "";
  for (const item of state.help || []) if (item.by === member) item.note = null;
}

export function fold(events, state = emptyState()) {
  for (const event of events) apply(state, event);
  return state;
}
