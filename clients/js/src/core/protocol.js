// Wire constants and message builders (protocol/messages.py, protocol/errors.py).

import { decode, encode } from "./msgpack.js";

export const SUBPROTOCOL = "cosession.v1.msgpack";
export const CLIENT_NAME = "cosession-js";
export const VERSION = "0.1.0";

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006, // no close frame: the network went away
  INVALID_PAYLOAD: 1007, // a text frame that is not UTF-8
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  RESTART: 1012,
  PROTOCOL_ERROR: 4000,
  UNAUTHORIZED: 4001,
  TOKEN_EXPIRED: 4002,
  FORBIDDEN: 4003,
  ROOM_NOT_FOUND: 4004,
  ROOM_FULL: 4005,
  HELLO_TIMEOUT: 4006,
  SLOW_CONSUMER: 4008,
  RESYNC: 4009,
  TOO_MANY_CONNECTIONS: 4010,
  RATE_LIMITED: 4029,
});

// Close codes after which a client reconnects and resumes; every other code is final.
// (protocol/SPEC.md section 10, plus 1005: a browser's "closed without a status code".)
export const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 4008, 4009, 4029]);

// Error codes that mean this token will never get in: stop reconnecting.
export const FINAL_ERRORS = new Set([
  "unauthorized",
  "token_expired",
  "forbidden",
  "kicked",
  "room_not_found",
  "room_full",
  "too_many_members",
  "too_many_connections",
  "room_closed",
]);

/** Encode a client message for the wire. */
export function encodeMessage(msg) {
  return encode(msg);
}

/** Decode a server frame; returns null for anything that is not a map with a string `t`. */
export function decodeMessage(data) {
  let msg;
  try {
    msg = decode(data);
  } catch {
    return null;
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg) || typeof msg.t !== "string") return null;
  return msg;
}

/** Whether any string in `value` (keys included) holds U+0000, which no client message
 * may carry (protocol/SPEC.md section 1: the server answers `invalid_field`). */
export function containsNul(value) {
  if (typeof value === "string") return value.includes("\u0000");
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(containsNul);
  for (const key of Object.keys(value)) {
    if (key.includes("\u0000") || containsNul(value[key])) return true;
  }
  return false;
}

/** The error code the server's decoder would answer a client message with because of
 * what this client checks before sending (so it is never sent), or null. */
export function clientMessageProblem(msg) {
  return containsNul(msg) ? "invalid_field" : null;
}

/** A product for the wire: only the known fields, integers where the schema wants them. */
export function cleanProduct(p) {
  if (!p) return undefined;
  const out = {
    id: String(p.id),
    name: String(p.name),
    price: Math.max(0, Math.round(Number(p.price) || 0)),
    currency: String(p.currency || "EUR").toUpperCase(),
  };
  if (p.image) out.image = String(p.image);
  if (p.url) out.url = String(p.url);
  if (p.variant) out.variant = String(p.variant);
  return out;
}

export const ops = {
  cartAdd: (product, qty = 1) => ({ t: "cart.add", product: cleanProduct(product), qty }),
  cartQty: (line, qty) => ({ t: "cart.qty", line, qty }),
  cartRemove: (line) => ({ t: "cart.remove", line }),
  vote: (line, value) => ({ t: "vote", line, value }),
  chat: (text, product, replyTo, mentions) => ({
    t: "chat",
    text,
    product: cleanProduct(product),
    reply_to: replyTo ?? undefined,
    mentions: mentions && mentions.length ? [...mentions] : undefined,
  }),
  react: (msg, emoji, on = true) => ({ t: "react", msg, emoji, on }),
  rename: (name) => ({ t: "room.rename", name }),
  lock: (locked) => ({ t: "room.lock", locked }),
  kick: (member) => ({ t: "member.kick", member }),
  checkoutRequest: (scope) => ({ t: "checkout.request", scope }),
  /** A poll (SPEC 17): options are {line} or {product}, each with an optional label. */
  pollCreate: (question, options, deadline, outcome = "keep_winner") => ({
    t: "poll.create",
    question,
    options: options.map((o) => {
      const out = o.line != null ? { line: o.line } : { product: cleanProduct(o.product) };
      if (o.label) out.label = o.label;
      return out;
    }),
    deadline,
    outcome,
  }),
  /** `option` null clears the vote. */
  pollVote: (poll, option) => (option == null ? { t: "poll.vote", poll } : { t: "poll.vote", poll, option }),
  /** Ask the tenant's past buyers about a product (SPEC section 19). */
  qaAsk: (product, text) => ({ t: "qa.ask", product: cleanProduct(product), text }),
  // mentions and questions (protocol/SPEC.md section 16)
  questionAsk: (to, text, product, line) => ({
    t: "question.ask",
    to: Array.isArray(to) ? [...to] : [to],
    text,
    product: cleanProduct(product),
    line: line ?? undefined,
  }),
  questionAnswer: (question, text) => ({ t: "question.answer", question, text }),
  questionClose: (question) => ({ t: "question.close", question }),
  /** Ask a store associate for help (SPEC 21): where "in_store" | "online", optional department and note. */
  helpRequest: (where = "online", department, note) => ({
    t: "help.request",
    where,
    department: department || undefined,
    note: note || undefined,
  }),
};

const memberIds = (ids, lo, hi) =>
  Array.isArray(ids) && ids.length >= lo && ids.length <= hi && ids.every((m) => typeof m === "string" && m.length >= 1 && m.length <= 64);

/** Reasons an op would be refused by the server's decoder (so it is never sent). */
export function validateOp(op) {
  const int = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
  if (containsNul(op)) return "text must not contain the NUL character (U+0000)";
  switch (op.t) {
    case "cart.add": {
      const p = op.product;
      if (!p || !p.id || !p.name || p.id.length > 128 || p.name.length > 200) return "a product needs an id and a name";
      if (!/^[A-Z]{3}$/.test(p.currency)) return "currency must be three capital letters";
      return int(op.qty, 1, 999) ? null : "quantity must be 1 to 999";
    }
    case "cart.qty":
      return int(op.line, 1, 2 ** 53) && int(op.qty, 1, 999) ? null : "quantity must be 1 to 999";
    case "cart.remove":
      return int(op.line, 1, 2 ** 53) ? null : "bad line";
    case "vote":
      return int(op.line, 1, 2 ** 53) && ["up", "down", "clear"].includes(op.value) ? null : "bad vote";
    case "chat":
      if (op.mentions != null && !memberIds(op.mentions, 0, 20)) return "at most 20 member ids may be mentioned";
      return typeof op.text === "string" && op.text.length >= 1 && op.text.length <= 16000 ? null : "empty message";
    case "question.ask":
      if (!memberIds(op.to, 1, 10)) return "ask 1 to 10 members";
      if (op.line != null && !int(op.line, 1, 2 ** 53)) return "bad line";
      return typeof op.text === "string" && op.text.length >= 1 && op.text.length <= 2000 ? null : "a question needs 1 to 2000 characters";
    case "question.answer":
      if (!int(op.question, 1, 2 ** 53)) return "bad question";
      return typeof op.text === "string" && op.text.length >= 1 && op.text.length <= 2000 ? null : "an answer needs 1 to 2000 characters";
    case "question.close":
      return int(op.question, 1, 2 ** 53) ? null : "bad question";
    case "react":
      return int(op.msg, 1, 2 ** 53) && typeof op.emoji === "string" && op.emoji.length >= 1 ? null : "bad reaction";
    case "checkout.request":
      return op.scope === "all" || op.scope === "mine" ? null : 'checkout scope must be "all" or "mine"';
    case "poll.create": {
      if (typeof op.question !== "string" || op.question.length < 1 || op.question.length > 300) return "a poll needs a question (1 to 300 characters)";
      if (!Array.isArray(op.options) || op.options.length < 2 || op.options.length > 6) return "a poll has 2 to 6 options";
      const lines = op.options.filter((o) => o.line != null).map((o) => o.line);
      if (new Set(lines).size !== lines.length) return "a cart line appears twice among the options";
      if (op.options.some((o) => (o.line == null) === (o.product == null) || (o.label != null && o.label.length > 100))) return "bad poll option";
      if (!int(op.deadline, 0, 2 ** 53)) return "bad deadline";
      return op.outcome === "keep_winner" || op.outcome === "post_result" ? null : "bad poll outcome";
    }
    case "poll.vote":
      return int(op.poll, 1, 2 ** 53) && (op.option == null || int(op.option, 0, 5)) ? null : "bad poll vote";
    case "qa.ask":
      if (!op.product || !op.product.id || !op.product.name) return "a product needs an id and a name";
      return typeof op.text === "string" && op.text.length >= 1 && op.text.length <= 2000 ? null : "a question is 1 to 2000 characters";
    case "help.request":
      if (op.where !== undefined && op.where !== "in_store" && op.where !== "online") return 'where must be "in_store" or "online"';
      if (op.department != null && (typeof op.department !== "string" || [...op.department].length > 100)) {
        return "the department is at most 100 characters";
      }
      if (op.note != null && (typeof op.note !== "string" || [...op.note].length > 500)) return "the note is at most 500 characters";
      return null;
    default:
      return null;
  }
}

// ---- calls (protocol/SPEC.md section 14) -------------------------------------------------

export const MAX_SDP_CHARS = 49152;
export const MAX_CANDIDATE_CHARS = 1024;
const SIGNAL_KINDS = new Set(["offer", "answer", "candidate", "bye"]);
const CALL_FIELDS = {
  "call.join": ["audio", "video"],
  "call.leave": [],
  "call.state": ["muted", "camera", "speaking"],
  signal: ["to", "kind", "sdp", "candidate", "mid", "mline"],
};

export const call = {
  join: (audio = true, video = false) => ({ t: "call.join", audio: !!audio, video: !!video }),
  leave: () => ({ t: "call.leave" }),
  /** Only the fields that changed, e.g. `{ muted: true }`. */
  state: (changes) => {
    const out = { t: "call.state" };
    for (const key of ["muted", "camera", "speaking"]) if (changes[key] != null) out[key] = !!changes[key];
    return out;
  },
  /** `to`: a member id, or "" for the server's relay. */
  offer: (to, sdp) => ({ t: "signal", to, kind: "offer", sdp }),
  answer: (to, sdp) => ({ t: "signal", to, kind: "answer", sdp }),
  candidate: (to, candidate, mid, mline) => ({
    t: "signal",
    to,
    kind: "candidate",
    candidate: candidate ?? "",
    mid: mid ?? undefined,
    mline: mline ?? undefined,
  }),
  bye: (to) => ({ t: "signal", to, kind: "bye" }),
};

/** The error code the server's decoder answers a call message (`call.join`, `call.leave`,
 * `call.state`, `signal`) with, or null when it is well formed. Same rules as
 * protocol/messages.py; checked against the call cases of protocol/vectors/invalid.json. */
export function validateCallMessage(msg) {
  const allowed = CALL_FIELDS[msg?.t];
  if (!allowed) return "unknown_type";
  if (containsNul(msg)) return "invalid_field";
  for (const key of Object.keys(msg)) if (key !== "t" && !allowed.includes(key)) return "invalid_field";
  const isBool = (v) => typeof v === "boolean";
  const isStr = (v, lo, hi) => typeof v === "string" && v.length >= lo && v.length <= hi;
  const absent = (v) => v === undefined || v === null;
  switch (msg.t) {
    case "call.join":
      return isBool(msg.audio) && isBool(msg.video) ? null : "invalid_field";
    case "call.leave":
      return null;
    case "call.state":
      return ["muted", "camera", "speaking"].every((k) => absent(msg[k]) || isBool(msg[k])) ? null : "invalid_field";
    default: {
      // JS counts UTF-16 units; SDP and candidates are ASCII, where units are code points
      if (!isStr(msg.to, 0, 64) || !SIGNAL_KINDS.has(msg.kind)) return "invalid_field";
      if (!absent(msg.sdp) && !isStr(msg.sdp, 1, MAX_SDP_CHARS)) return "invalid_field";
      if (!absent(msg.candidate) && !isStr(msg.candidate, 0, MAX_CANDIDATE_CHARS)) return "invalid_field";
      if (!absent(msg.mid) && !isStr(msg.mid, 0, 64)) return "invalid_field";
      if (!absent(msg.mline) && !(Number.isInteger(msg.mline) && msg.mline >= 0 && msg.mline <= 1023)) {
        return "invalid_field";
      }
      const hasSdp = !absent(msg.sdp);
      const hasCandidate = !absent(msg.candidate);
      if (msg.kind === "offer" || msg.kind === "answer") return hasSdp && !hasCandidate ? null : "invalid_field";
      if (msg.kind === "candidate") return hasCandidate && !hasSdp ? null : "invalid_field";
      return hasSdp || hasCandidate ? "invalid_field" : null;
    }
  }
}
