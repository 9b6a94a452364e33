// What the room UI shows about cart lines (pure: no DOM, no connection).
//
// The Cart tab's badge counts lines (two pairs of the same sock are one line), the same
// number the list below it shows. A line shows its unit price, and for more than one
// piece the quantity and the line's total: "€1.99 × 3 = €5.97".

import { money } from "./dom.js";

/** The Cart tab badge: how many lines the cart has. */
export function cartBadgeCount(cart) {
  return cart.length;
}

/** "1 line" / "3 lines": the badge's accessible label. */
export function cartBadgeLabel(cart) {
  const n = cartBadgeCount(cart);
  return `${n} ${n === 1 ? "line" : "lines"} in the cart`;
}

/** A line's price parts: unit price, quantity, and total, each formatted. */
export function linePrice(line) {
  const p = line.product;
  return {
    unit: money(p.price, p.currency),
    qty: line.qty,
    total: money(p.price * line.qty, p.currency),
  };
}

/** "€1.99 × 3 = €5.97"; just "€89.90" for a single piece. */
export function linePriceText(line) {
  const { unit, qty, total } = linePrice(line);
  return qty === 1 ? unit : `${unit} × ${qty} = ${total}`;
}
