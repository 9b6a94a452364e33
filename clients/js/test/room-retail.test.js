// Retail in the room view and the JS core: checkout notes, line flags from cart.revalidate
// (localized, prices in the locale's format), the revalidated price in line prices and
// totals, what the announcer says, the flag colours' contrast, which scope the checkout
// button asks for, and the checkout.request op. (The DOM side — keyed, no duplicates,
// focus kept — runs in Chromium: tests/browser/test_checkout_ui.py.)
import { describe, expect, it } from "vitest";
import { ops, validateOp } from "../src/core/protocol.js";
import { checkRules, fold, fromWire, toWire } from "../src/core/reducer.js";
import { createI18n } from "../src/i18n/index.js";
import { linePrice, unitPrice } from "../src/ui/cart-lines.js";
import { contrast, money } from "../src/ui/dom.js";
import { checkoutNotes, checkoutScope, lineFlags, retailNews, retailSnapshot } from "../src/ui/room-retail.js";
import { FLAG_COLOURS, NOTE_COLOURS } from "../src/ui/styles.js";
import { loadVectors, plain } from "./vectors.js";

const names = { ana: "Ana", bo: "Bo" };
const nameOf = (m) => names[m] || "Someone";
const shirt = { id: "shirt", name: "Shirt", price: 4900, currency: "EUR" };
const ev = (seq, by, op) => ({ t: "event", seq, ts: seq * 1000, by, op });
const room = [
  ev(1, "", { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" }),
  ev(2, "", { t: "member.join", member: "bo", name: "Bo", role: "member" }),
  ev(3, "", { t: "member.join", member: "vic", name: "Vic", role: "viewer" }),
  ev(4, "bo", { t: "cart.add", product: shirt }),
];
const start = (by, scope, lines) => ({
  t: "checkout.start",
  id: `co.r.${by}`,
  room: "r",
  tenant: "",
  scope,
  requested_by: by,
  requested_by_name: nameOf(by),
  lines,
  created_at: 1,
  expires_at: 2,
  sig: "s",
});
const frozen = { line: 4, product: shirt, qty: 1, price: 4900, added_by: "bo", added_by_name: "Bo" };

describe("checkout notes", () => {
  it("say who started each checkout, in order", () => {
    const s = fold([...room, ev(5, "ana", start("ana", "all", [frozen])), ev(6, "bo", start("bo", "mine", [frozen]))]);
    const notes = checkoutNotes(s, nameOf);
    expect(notes.map((n) => n.text)).toEqual(["Checkout started by Ana", "Checkout started by Bo"]);
    expect(notes.map((n) => n.seq)).toEqual([5, 6]);
    expect(notes[0].detail).toBe("the whole cart · 1 line");
    expect(notes[1].detail).toBe("their lines · 1 line");
  });

  it("are localized, with the scope and a plural line count", () => {
    const mine = { ...frozen, line: 5 };
    const s = fold([...room, ev(5, "ana", start("ana", "all", [frozen, mine])), ev(6, "bo", start("bo", "mine", [frozen]))]);
    const de = checkoutNotes(s, nameOf, createI18n("de-DE"), "bo");
    expect(de.map((n) => n.text)).toEqual(["Bezahlvorgang gestartet: Ana", "Bezahlvorgang gestartet: Bo"]);
    expect(de.map((n) => n.detail)).toEqual(["der ganze Warenkorb · 2 Positionen", "Ihre eigenen Positionen · 1 Position"]);
    expect(checkoutNotes(s, nameOf, createI18n("en"), "bo")[1].detail).toBe("your lines · 1 line");
    expect(checkoutNotes(s, nameOf, createI18n("fr"))[0].text).toBe("Commande lancée par Ana");
    expect(checkoutNotes(s, nameOf, createI18n("es"))[0].detail).toBe("todo el carrito · 2 líneas");
    const ar = checkoutNotes(s, nameOf, createI18n("ar"));
    expect(ar.map((n) => n.detail)).toEqual(["السلة كاملة · بندان", "بنوده الخاصة · بند واحد"]);
  });

  it("are absent for refused checkouts (viewer, member asking for all, empty)", () => {
    const s = fold([
      ...room,
      ev(5, "vic", start("vic", "mine", [frozen])),
      ev(6, "bo", start("bo", "all", [frozen])),
      ev(7, "ana", start("ana", "mine", [])),
    ]);
    expect(checkoutNotes(s, nameOf)).toEqual([]);
    expect(s.seq).toBe(7);
  });

  it("survive a snapshot round trip", () => {
    const s = fold([...room, ev(5, "ana", start("ana", "all", [frozen]))]);
    expect(checkoutNotes(fromWire(plain(toWire(s))), nameOf)).toEqual(checkoutNotes(s, nameOf));
  });
});

describe("line flags", () => {
  it("show a changed price and out of stock, from cart.revalidate", () => {
    const s = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 5200, in_stock: false })]);
    const flags = lineFlags(s.cart[0]);
    expect(flags.map((f) => f.kind)).toEqual(["price-up", "out-of-stock"]);
    expect(flags[0].text).toBe(`Price now ${money(5200, "EUR")} (was ${money(4900, "EUR")})`);
  });

  it("clear when the price is back and the line in stock", () => {
    const s = fold([
      ...room,
      ev(5, "", { t: "cart.revalidate", line: 4, price: 3900 }),
      ev(6, "", { t: "cart.revalidate", line: 4, price: 4900 }),
    ]);
    expect(lineFlags(s.cart[0])).toEqual([]);
    const down = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 3900 })]);
    expect(lineFlags(down.cart[0]).map((f) => f.kind)).toEqual(["price-down"]);
  });

  it("are localized, with prices in the locale's format", () => {
    const s = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 123450, in_stock: false })]);
    const nb = (x) => x.replace(/[\u00a0\u202f]/g, " ");
    expect(lineFlags(s.cart[0], createI18n("de")).map((f) => nb(f.text))).toEqual(["Preis jetzt 1.234,50 € (vorher 49,00 €)", "Nicht vorrätig"]);
    expect(lineFlags(s.cart[0], createI18n("fr"))[1].text).toBe("En rupture de stock");
    expect(lineFlags(s.cart[0], createI18n("es"))[1].text).toBe("Agotado");
    expect(lineFlags(s.cart[0], createI18n("ar"))[1].text).toBe("غير متوفر");
  });

  it("keep one key per flag, whichever way the price moved", () => {
    const up = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 5200 })]);
    const down = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 3900, in_stock: false })]);
    expect(lineFlags(up.cart[0]).map((f) => f.key)).toEqual(["price"]);
    expect(lineFlags(down.cart[0]).map((f) => [f.key, f.kind])).toEqual([["price", "price-down"], ["stock", "out-of-stock"]]);
  });

  it("have text and background colours at 4.5:1 or more, like the notes", () => {
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    expect(Object.keys(FLAG_COLOURS).sort()).toEqual(["out-of-stock", "price-down", "price-up"]);
    for (const [kind, [fg, bg]] of Object.entries(FLAG_COLOURS)) expect(contrast(rgb(fg), rgb(bg)), kind).toBeGreaterThanOrEqual(4.5);
    expect(contrast(rgb(NOTE_COLOURS[0]), rgb(NOTE_COLOURS[1]))).toBeGreaterThanOrEqual(4.5);
  });

  it("never come from a member", () => {
    const s = fold([...room, ev(5, "bo", { t: "cart.revalidate", line: 4, in_stock: false })]);
    expect(lineFlags(s.cart[0])).toEqual([]);
  });
});

describe("revalidated prices", () => {
  it("count in the line's price and total", () => {
    const s = fold([...room, ev(5, "bo", { t: "cart.qty", line: 4, qty: 2 }), ev(6, "", { t: "cart.revalidate", line: 4, price: 5200 })]);
    expect(unitPrice(s.cart[0])).toBe(5200);
    expect(linePrice(s.cart[0])).toEqual({ unit: money(5200, "EUR"), qty: 2, total: money(10400, "EUR") });
    expect(unitPrice(fold(room).cart[0])).toBe(4900);
  });
});

describe("announcements", () => {
  const de = createI18n("de");
  it("tell of another member's checkout, not of one's own", () => {
    const before = retailSnapshot(fold(room));
    const s = fold([...room, ev(5, "ana", start("ana", "all", [frozen])), ev(6, "bo", start("bo", "mine", [frozen]))]);
    expect(retailNews(before, s, "bo", de, nameOf)).toEqual([
      { kind: "checkout", text: "Bezahlvorgang gestartet: Ana (der ganze Warenkorb · 1 Position)" },
    ]);
    expect(retailNews(retailSnapshot(s), s, "bo", de, nameOf)).toEqual([]);
  });

  it("tell of a line's new price and stock, and of its return", () => {
    const before = retailSnapshot(fold(room));
    const changed = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 5200, in_stock: false })]);
    const nb = (x) => x.replace(/[\u00a0\u202f]/g, " ");
    expect(retailNews(before, changed, "bo", de).map((n) => nb(n.text))).toEqual([
      "Shirt: Preis jetzt 52,00 € (vorher 49,00 €)",
      "Shirt ist nicht mehr vorrätig",
    ]);
    const back = fold([...room, ev(5, "", { t: "cart.revalidate", line: 4, price: 5200, in_stock: false }), ev(6, "", { t: "cart.revalidate", line: 4, price: 4900 })]);
    expect(retailNews(retailSnapshot(changed), back, "bo").map((n) => n.text)).toEqual([
      `Shirt: price now ${money(4900, "EUR")} (was ${money(5200, "EUR")})`,
      "Shirt is back in stock",
    ]);
    // a line added since the last snapshot is news of its own (announce.added), not here
    expect(retailNews(retailSnapshot(fold(room.slice(0, 3))), changed, "ana")).toEqual([]);
  });
});

describe("checkout request", () => {
  it("asks for the whole cart as owner, for own lines otherwise", () => {
    const s = fold(room);
    expect(checkoutScope(s, "ana")).toBe("all");
    expect(checkoutScope(s, "bo")).toBe("mine");
    expect(checkoutScope(s, "")).toBe("mine");
  });

  it("builds and validates the op", () => {
    expect(ops.checkoutRequest("mine")).toEqual({ t: "checkout.request", scope: "mine" });
    expect(validateOp(ops.checkoutRequest("all"))).toBeNull();
    expect(validateOp(ops.checkoutRequest("everything"))).toMatch(/scope/);
  });

  it("applies the scope rules like the server", () => {
    const s = fold(room);
    expect(checkRules(s, "bo", ops.checkoutRequest("all")).code).toBe("forbidden");
    expect(checkRules(s, "vic", ops.checkoutRequest("mine")).code).toBe("forbidden");
    expect(checkRules(s, "ana", ops.checkoutRequest("mine")).code).toBe("empty_checkout");
    expect(checkRules(s, "bo", ops.checkoutRequest("mine"))).toBeNull();
    expect(checkRules(s, "ana", ops.checkoutRequest("all"))).toBeNull();
  });

  it("has codec vectors for every new op body", () => {
    const names = loadVectors("codec.json").map((c) => c.name);
    for (const n of ["client/op/checkout.request/all", "server/event/checkout.start", "server/event/cart.revalidate/full"]) {
      expect(names).toContain(n);
    }
  });
});
