// Unread counting against protocol/vectors/unread.json (the Python suite runs the same),
// and the read tracker: welcome counts, live events, marks, other devices.
import { describe, expect, it } from "vitest";
import { ReadTracker, countUnread, unreadTotal } from "../src/core/reading.js";
import { loadVectors } from "./vectors.js";

const cases = loadVectors("unread.json");

describe("unread.json", () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(countUnread(c.events, c.member)).toEqual({ messages: 0, cart: 0, questions: 0, mentions: 0, ...c.unread });
    });
  }
});

const ev = (seq, by, t) => ({ t: "event", seq, ts: seq, by, op: { t } });

describe("ReadTracker", () => {
  it("adds live events to the welcome's counts and clears them when read", () => {
    const r = new ReadTracker();
    r.welcome({ member: "bo", seq: 50, read: 10, unread: { messages: 3, cart: 2 } });
    expect(r.cursor).toBe(10);
    expect(r.unread).toEqual({ messages: 3, cart: 2, questions: 0, mentions: 0 });
    r.event(ev(51, "ana", "chat"));
    r.event(ev(52, "bo", "chat")); // own
    r.event(ev(53, "", "cart.revalidate"));
    r.event(ev(54, "ana", "vote"));
    expect(r.unread).toEqual({ messages: 4, cart: 3, questions: 0, mentions: 0 });
    expect(r.mark(51)).toBe(true);
    expect(r.unread).toEqual({ messages: 0, cart: 1, questions: 0, mentions: 0 });
    expect(r.mark(40)).toBe(false); // never backwards
    expect(r.heard(54)).toBe(true);
    expect(unreadTotal(r.unread)).toBe(0);
    expect(r.since).toEqual({ messages: 3, cart: 2, questions: 0, mentions: 0 }); // the summary stays
  });
});

describe("live mentions", () => {
  it("counts a chat that mentions me after the welcome as a mention too", () => {
    const r = new ReadTracker();
    r.welcome({ member: "bo", seq: 10, read: 10, unread: { questions: 1 } });
    r.event({ seq: 11, by: "ana", op: { t: "chat", text: "@Bo look", mentions: ["bo"] } });
    r.event({ seq: 12, by: "ana", op: { t: "chat", text: "no one" } });
    r.event({ seq: 13, by: "bo", op: { t: "chat", text: "@Bo me", mentions: ["bo"] } });
    expect(r.unread).toEqual({ messages: 2, cart: 0, questions: 1, mentions: 1 });
    r.mark(11);
    expect(r.unread).toEqual({ messages: 1, cart: 0, questions: 1, mentions: 0 });
  });
});
