// Polls (SPEC 17) in the JS client: the op builders and the client-side schema check
// (a bad poll is never sent), the tally/winner rule, and what the room view announces.
import { describe, expect, it } from "vitest";
import { tally, winner } from "../src/core/polls.js";
import { ops, validateOp } from "../src/core/protocol.js";
import { createI18n } from "../src/i18n/index.js";
import { pollNews, pollSnapshot, resultText } from "../src/ui/room-polls.js";

const DEADLINE = 1_767_225_600_000;

describe("poll ops", () => {
  it("builds poll.create and poll.vote as the server decodes them", () => {
    const op = ops.pollCreate("Which?", [{ line: 5, label: "" }, { product: { id: "p", name: "P", price: 1, currency: "EUR", extra: 1 } }], DEADLINE);
    expect(op).toEqual({ t: "poll.create", question: "Which?", options: [{ line: 5 }, { product: { id: "p", name: "P", price: 1, currency: "EUR" } }], deadline: DEADLINE, outcome: "keep_winner" });
    expect(validateOp(op)).toBeNull();
    expect(ops.pollVote(8, 1)).toEqual({ t: "poll.vote", poll: 8, option: 1 });
    expect(ops.pollVote(8, null)).toEqual({ t: "poll.vote", poll: 8 });
  });

  it.each([
    ["one option", { options: [{ line: 1 }] }],
    ["seven options", { options: [1, 2, 3, 4, 5, 6, 7].map((line) => ({ line })) }],
    ["the same line twice", { options: [{ line: 1 }, { line: 1 }] }],
    ["an option with neither line nor product", { options: [{ line: 1 }, { label: "x" }] }],
    ["an empty question", { question: "" }],
    ["a question over 300", { question: "q".repeat(301) }],
    ["a bad outcome", { outcome: "keep_all" }],
    ["a negative deadline", { deadline: -1 }],
  ])("refuses %s", (_name, change) => {
    const op = { t: "poll.create", question: "Q", options: [{ line: 1 }, { line: 2 }], deadline: DEADLINE, outcome: "post_result", ...change };
    expect(validateOp(op)).not.toBeNull();
  });

  it("refuses a vote out of range", () => {
    expect(validateOp({ t: "poll.vote", poll: 3, option: 6 })).not.toBeNull();
    expect(validateOp({ t: "poll.vote", poll: 0, option: 0 })).not.toBeNull();
  });
});

describe("tally and winner", () => {
  it("counts votes; a tie or no vote has no winner", () => {
    const poll = { options: [{}, {}, {}], votes: { a: 1, b: 1, c: 0 } };
    expect(tally(poll)).toEqual([1, 2, 0]);
    expect(winner([1, 2, 0])).toBe(1);
    expect(winner([2, 2, 0])).toBeNull();
    expect(winner([0, 0])).toBeNull();
  });
});

describe("poll announcements", () => {
  const i18n = createI18n("en");
  const view = (polls) => ({
    t: i18n.t,
    i18n,
    conn: { member: "ana", state: { cart: [{ line: 5, product: { name: "Rain jacket" } }], polls } },
    _name: (m) => ({ ana: "you", bo: "Bo" })[m],
    _lineNames: new Map([[6, "Wool jacket"]]),
  });
  const open = { id: 9, by: "bo", question: "Which one?", options: [{ line: 5 }, { line: 6 }], votes: { ana: 0 }, closed: false, tally: [], winner: null, removed: [] };

  it("announces others' new polls and every result, not my own polls", () => {
    expect(pollNews(view([open]), new Map())).toEqual(["Bo asks: Which one?"]);
    expect(pollNews(view([{ ...open, by: "ana" }]), new Map())).toEqual([]);
    expect(pollNews(view([open]), null)).toEqual([]); // the first render says nothing
    const closed = { ...open, closed: true, tally: [1, 0], winner: 0, removed: [6] };
    const v = view([closed]);
    expect(pollNews(v, pollSnapshot(view([open]).conn.state))).toEqual([
      "Poll closed: Which one? Rain jacket won. 1 other item was removed from the cart.",
    ]);
    expect(resultText(v, { ...closed, winner: null, votes: {} }, [])).toBe("No winner: nobody voted.");
  });
});
