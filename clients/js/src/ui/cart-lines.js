// What the room UI shows about cart lines (pure: no DOM, no connection).
//
// The Cart tab's badge counts lines (two pairs of the same sock are one line), the same
// number the list below it shows. A line shows its unit price, and for more than one
// piece the quantity and the line's total: "€1.99 × 3 = €5.97" (in the shop's locale:
// "1,99 € × 3 = 5,97 €" in German); a price the catalog revalidated counts at its new
// value. `i18n` is a translator from ../i18n (English if absent).

import { english } from "../i18n/index.js";

/** The Cart tab badge: how many lines the cart has. */
export function cartBadgeCount(cart) {
  return cart.length;
}

/** "1 line" / "3 lines": the badge's accessible label. */
export function cartBadgeLabel(cart, i18n = english) {
  return i18n.t("cart.badge", { count: cartBadgeCount(cart) });
}

/** A line's unit price in minor units: the catalog's revalidated price when it changed
 * (cart.revalidate → `price_changed.new`), else the price it was added at. */
export function unitPrice(line) {
  return line.price_changed ? line.price_changed.new : line.product.price;
}

/** A line's price parts: unit price, quantity, and total, each formatted. */
export function linePrice(line, i18n = english) {
  const p = line.product;
  const unit = unitPrice(line);
  return {
    unit: i18n.money(unit, p.currency),
    qty: line.qty,
    total: i18n.money(unit * line.qty, p.currency),
  };
}

/** "€1.99 × 3 = €5.97"; just "€89.90" for a single piece. */
export function linePriceText(line, i18n = english) {
  const { unit, qty, total } = linePrice(line, i18n);
  return qty === 1 ? unit : `${unit} × ${i18n.number(qty)} = ${total}`;
}
