// The associate console's view model, pure (no DOM, no network): the queue folded from
// the queue snapshot and the stream's events, its order (most escalated first, then
// longest waiting), the wait time in the shop's locale, what a request card says, and
// the quick replies. test/console-model.test.js covers it.

/** A QueueItem's created_at as epoch milliseconds: a number (ms, or s when small) or an
 * ISO 8601 string; NaN when unreadable. */
export function createdMs(item) {
  const v = item && item.created_at;
  if (typeof v === "number") return v < 1e11 ? v * 1000 : v;
  if (typeof v === "string") return Date.parse(v);
  return NaN;
}

/** The queue order: higher escalation level first, then the longest waiting, then by id. */
export function compareItems(a, b) {
  const la = a.level || 0;
  const lb = b.level || 0;
  if (la !== lb) return lb - la;
  const ta = createdMs(a);
  const tb = createdMs(b);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The queue as one associate sees it: open requests waiting, and the requests this
 * associate claimed ("mine", their rooms). Fed by `reset(items)` (GET queue) and
 * `apply(kind, data)` (stream events `request`, `update`, `removed`); each returns what
 * changed so the view can announce it.
 */
export class QueueModel {
  constructor(me = "") {
    this.me = me;
    this.items = new Map(); // id → QueueItem
  }

  reset(items) {
    const before = new Set(this.items.keys());
    this.items = new Map();
    for (const item of items || []) if (item && typeof item.id === "string") this.items.set(item.id, item);
    return { added: [...this.items.keys()].filter((id) => !before.has(id)) };
  }

  /** One stream event. Returns {added?: [id], taken?: [id], removed?: [id]}. */
  apply(kind, data) {
    if (!data || typeof data.id !== "string") return {};
    const id = data.id;
    const was = this.items.get(id);
    if (kind === "removed") {
      if (!was) return {};
      this.items.delete(id);
      return { removed: [id] };
    }
    if (kind !== "request" && kind !== "update") return {};
    const item = was ? { ...was, ...data } : data;
    this.items.set(id, item);
    if (!was) return item.state === "open" ? { added: [id] } : {};
    if (was.state === "open" && item.state !== "open" && item.associate !== this.me) return { taken: [id] };
    return {};
  }

  /** Open requests in queue order. */
  waiting() {
    return [...this.items.values()].filter((i) => (i.state || "open") === "open").sort(compareItems);
  }

  /** Requests this associate claimed and has not closed. */
  mine() {
    return [...this.items.values()].filter((i) => i.state === "claimed" && this.me && i.associate === this.me);
  }

  get(id) {
    return this.items.get(id) || null;
  }

  delete(id) {
    return this.items.delete(id);
  }
}

const unitCache = new Map();
function unitFormat(locale, unit) {
  const key = `${locale}|${unit}`;
  let f = unitCache.get(key);
  if (!f) unitCache.set(key, (f = new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "short" })));
  return f;
}

/** A wait in the shop's locale: "45 sec", "3 min", "1 hr 5 min" (Intl unit and list
 * formats); whole seconds under a minute, whole minutes under an hour. */
export function formatWait(ms, locale = "en") {
  const s = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  if (s < 60) return unitFormat(locale, "second").format(s);
  const m = Math.floor(s / 60);
  if (m < 60) return unitFormat(locale, "minute").format(m);
  const hours = unitFormat(locale, "hour").format(Math.floor(m / 60));
  if (m % 60 === 0) return hours;
  const minutes = unitFormat(locale, "minute").format(m % 60);
  return new Intl.ListFormat(locale, { style: "narrow", type: "unit" }).format([hours, minutes]);
}

/** The context line of a request card: "In store: Shoes" / "In store" / "Online". */
export function whereText(item, t) {
  if (item.where === "in_store") return item.department ? t("console.inStore", { department: item.department }) : t("console.inStoreOnly");
  return t("console.online");
}

/** The lines under a request's name: where, the note, what the room looks at, the cart. */
export function detailLines(item, i18n) {
  const t = i18n.t;
  const out = [whereText(item, t)];
  if (item.note) out.push(item.note);
  if (item.focus && item.focus.name) out.push(t("console.looking", { product: item.focus.name }));
  let cart = t("console.cartLines", { count: item.cart_lines || 0 });
  if (item.cart_total && typeof item.cart_total.amount === "number") cart += ` · ${i18n.money(item.cart_total.amount, item.cart_total.currency)}`;
  out.push(cart);
  return out;
}

export const QUICK_REPLIES = ["console.reply.hello", "console.reply.coming", "console.reply.checking", "console.reply.anything"];

/** The quick replies, in the console's language, with the associate's name filled in. */
export function quickReplies(t, name) {
  return QUICK_REPLIES.map((key) => ({ key, text: t(key, { name }) }));
}

/** A product card's chat message: the text (the recommendation) and the product. */
export function productMessage(t, product) {
  return { text: t("console.recommend", { product: product.name }), product };
}
