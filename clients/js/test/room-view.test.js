// The room view's cart logic: the Cart tab badge counts lines, and a line shows its unit
// price (and for several pieces, quantity and total).
import { describe, expect, it } from "vitest";
import { cartBadgeCount, cartBadgeLabel, linePrice, linePriceText } from "../src/ui/cart-lines.js";
import { money } from "../src/ui/dom.js";

const line = (id, price, qty, currency = "EUR") => ({
  line: id,
  product: { id: `p${id}`, name: `Product ${id}`, price, currency },
  qty,
  added_by: "m1",
  votes: {},
});

describe("Cart tab badge", () => {
  it("counts lines, not pieces", () => {
    const cart = [line(4, 199, 3), line(7, 8990, 1), line(9, 500, 12)];
    expect(cartBadgeCount(cart)).toBe(3);
    expect(cartBadgeLabel(cart)).toBe("3 lines in the cart");
    expect(cartBadgeLabel([line(4, 199, 5)])).toBe("1 line in the cart");
    expect(cartBadgeCount([])).toBe(0);
  });
});

describe("line price", () => {
  it("shows the unit price, the quantity and the total", () => {
    const p = linePrice(line(4, 199, 3));
    expect(p).toEqual({ unit: money(199, "EUR"), qty: 3, total: money(597, "EUR") });
    expect(p.unit).toContain("1.99");
    expect(p.total).toContain("5.97");
    expect(linePriceText(line(4, 199, 3))).toBe(`${money(199, "EUR")} × 3 = ${money(597, "EUR")}`);
  });

  it("shows just the price for a single piece", () => {
    expect(linePriceText(line(7, 8990, 1))).toBe(money(8990, "EUR"));
  });

  it("uses the currency's own decimals", () => {
    const p = linePrice(line(1, 1500, 2, "JPY"));
    expect(p.unit).toMatch(/1\D?500/); // "¥1,500" (no minor units), not "¥15.00"
    expect(p.total).toMatch(/3\D?000/);
  });
});
