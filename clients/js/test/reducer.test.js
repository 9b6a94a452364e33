import { describe, expect, it } from "vitest";
import { apply, emptyState, fold, fromWire, toWire } from "../src/core/reducer.js";
import { loadVectors, plain } from "./vectors.js";

const cases = loadVectors("reducer.json");

describe("reducer vectors (protocol/vectors/reducer.json)", () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases.map((c) => [c.name, c]))("%s", (_name, c) => {
    const state = fold(c.events.map((e) => structuredClone(e)));
    expect(plain(toWire(state))).toEqual(c.state);
  });

  it.each(cases.map((c) => [c.name, c]))("%s: one event at a time through a snapshot round trip", (_name, c) => {
    // fromWire(toWire(s)) is what a client holds after a snapshot: folding on from it
    // must give the same state as folding from scratch.
    let state = emptyState();
    for (const e of c.events) {
      state = fromWire(plain(toWire(apply(state, structuredClone(e)))));
    }
    expect(plain(toWire(state))).toEqual(c.state);
  });
});

describe("reducer edge cases", () => {
  const create = { t: "event", seq: 1, ts: 1, by: "", op: { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" } };

  it("treats __proto__ as an ordinary reaction key", () => {
    const s = fold([
      create,
      { t: "event", seq: 2, ts: 2, by: "ana", op: { t: "chat", text: "hi" } },
      { t: "event", seq: 3, ts: 3, by: "ana", op: { t: "react", msg: 2, emoji: "__proto__" } },
    ]);
    expect(Object.keys(s.chat[0].reactions)).toEqual(["__proto__"]);
    expect(s.chat[0].reactions.__proto__).toEqual(["ana"]);
    expect({}.ana).toBeUndefined();
  });

  it("advances seq on an unknown op type without changing anything else", () => {
    const s = fold([create, { t: "event", seq: 2, ts: 2, by: "ana", op: { t: "future.op", x: 1 } }]);
    expect(s.seq).toBe(2);
    expect(s.cart).toEqual([]);
  });
});
