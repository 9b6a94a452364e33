// Retail in the room view and the JS core: checkout notes, line flags from cart.revalidate,
// which scope the checkout button asks for, and the checkout.request op.
import { describe, expect, it } from "vitest";
import { ops, validateOp } from "../src/core/protocol.js";
import { checkRules, fold, fromWire, toWire } from "../src/core/reducer.js";
import { money } from "../src/ui/dom.js";
import { checkoutNotes, checkoutScope, lineFlags } from "../src/ui/room-retail.js";
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

  it("never come from a member", () => {
    const s = fold([...room, ev(5, "bo", { t: "cart.revalidate", line: 4, in_stock: false })]);
    expect(lineFlags(s.cart[0])).toEqual([]);
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
