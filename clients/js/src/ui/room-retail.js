// Retail notes in the room view: "Checkout started by Ana" in the chat timeline, and the
// catalog's verdict on cart lines (cart.revalidate: price changed, out of stock).
//
// The model functions are pure (test/room-retail.test.js), every string comes from the
// i18n tables, prices from the locale's money formatter. The DOM parts fit the keyed
// rendering: a checkout note is an item of the chat's keyed list (room-chat.js, in seq
// order among the messages), a line's flags are a keyed sub-element of its cart line
// (room-cart.js), both updated in place — never appended again on a render, so nothing
// duplicates and focus stays where it was. Colours live in styles.js.

import { english } from "../i18n/index.js";
import { unitPrice } from "./cart-lines.js";
import { h, setAttr, setText, syncList } from "./dom.js";

/** The checkouts of the room as timeline notes, oldest first: {id, seq, by, text, detail}.
 * `me` is the viewing member (a checkout of their own lines reads "your lines"). */
export function checkoutNotes(state, nameOf, i18n = english, me = "") {
  const t = i18n.t;
  return (state.checkouts || []).map((c) => {
    const scope = c.scope === "all" ? t("retail.scopeAll") : c.by === me ? t("retail.scopeYours") : t("retail.scopeMine");
    return {
      id: c.id,
      seq: c.seq,
      by: c.by,
      text: t("retail.checkoutBy", { name: nameOf(c.by) }),
      detail: `${scope} · ${t("retail.lines", { count: c.lines })}`,
    };
  });
}

/** What a cart line shows about its catalog state: [{key, kind, text}] (empty: nothing).
 * `key` is stable per flag (a price that turns from up to down is the same flag). */
export function lineFlags(line, i18n = english) {
  const out = [];
  const pc = line.price_changed;
  if (pc) {
    const cur = line.product.currency;
    const kind = pc.new > pc.old ? "price-up" : "price-down";
    out.push({ key: "price", kind, text: i18n.t("retail.priceNow", { new: i18n.money(pc.new, cur), old: i18n.money(pc.old, cur) }) });
  }
  if (line.out_of_stock) out.push({ key: "stock", kind: "out-of-stock", text: i18n.t("retail.outOfStock") });
  return out;
}

/** The checkout a member may ask for: the owner the whole cart, others their own lines. */
export function checkoutScope(state, member) {
  return member && member === state.owner ? "all" : "mine";
}

/** What the announcer compares between renders: checkouts seen, each line's price and stock. */
export function retailSnapshot(state) {
  return {
    checkouts: new Set((state.checkouts || []).map((c) => c.seq)),
    lines: new Map(state.cart.map((l) => [l.line, { price: unitPrice(l), out: !!l.out_of_stock }])),
  };
}

/** What to announce politely since snapshot `prev`, as [{kind: "checkout" | "line", text}]:
 * another member started a checkout; a line's price or stock changed (lines present in
 * both only). */
export function retailNews(prev, state, me, i18n = english, nameOf = (m) => m) {
  const t = i18n.t;
  const out = [];
  for (const n of checkoutNotes(state, nameOf, i18n, me)) {
    if (!prev.checkouts.has(n.seq) && n.by !== me) out.push({ kind: "checkout", text: `${n.text} (${n.detail})` });
  }
  for (const l of state.cart) {
    const was = prev.lines.get(l.line);
    if (!was) continue;
    const price = unitPrice(l);
    const product = l.product.name;
    if (price !== was.price) {
      const cur = l.product.currency;
      out.push({ kind: "line", text: t("announce.price", { product, new: i18n.money(price, cur), old: i18n.money(was.price, cur) }) });
    }
    if (!!l.out_of_stock !== was.out) {
      out.push({ kind: "line", text: l.out_of_stock ? t("announce.outOfStock", { product }) : t("announce.inStock", { product }) });
    }
  }
  return out;
}

/** A chat-list item for a checkout note (filled by updateNote). */
export function buildNote() {
  const li = h("li.cs-note", { "data-testid": "checkout-note" });
  li._refs = { text: h("b", { dir: "auto" }), detail: h("span") };
  li.append(li._refs.text, " — ", li._refs.detail);
  return li;
}

export function updateNote(li, note) {
  li.dataset.checkout = note.id;
  li.dataset.seq = note.seq;
  setText(li._refs.text, note.text);
  setText(li._refs.detail, note.detail);
}

/** The flags element of a cart line (hidden while there is nothing to say). */
export function buildLineFlags() {
  return h("div.cs-line-flags", { "data-testid": "line-flags", hidden: true });
}

/** Update line `li`'s flags in place, mark it out of stock, and make the flags part of
 * the accessible description of the line and its controls. */
export function updateLineFlags(v, li, line) {
  const r = li._refs;
  const flags = lineFlags(line, v.i18n);
  const id = `${v.uid}-flags-${line.line}`;
  setAttr(r.flags, "id", id);
  syncList(
    r.flags,
    flags,
    (f) => f.key,
    () => h("span.cs-flag", { "data-testid": "line-flag" }),
    (el, f) => {
      setAttr(el, "data-kind", f.kind);
      setText(el, f.text);
    },
  );
  r.flags.hidden = !flags.length;
  setAttr(li, "data-out-of-stock", line.out_of_stock ? "true" : null);
  const described = flags.length ? id : null;
  for (const el of [li, r.dec, r.inc, r.up, r.down, r.remove]) setAttr(el, "aria-describedby", described);
}
