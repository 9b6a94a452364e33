// Mentions and questions in the JS core (protocol/SPEC.md section 16): op builders and the
// client-side checks agree with the decoder's bounds; open questions for a member; the
// room view's order (open for me first) and the announcer's news.
import { describe, expect, it } from "vitest";
import { ops, validateOp } from "../src/core/protocol.js";
import { openQuestionsFor } from "../src/core/questions.js";
import { fold } from "../src/core/reducer.js";
import { orderedQuestions, questionNews, questionSnapshot } from "../src/ui/room-questions.js";

const ev = (seq, by, op) => ({ t: "event", seq, ts: seq * 1000, by, op });
const room = [
  ev(1, "", { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" }),
  ev(2, "", { t: "member.join", member: "ben", name: "Ben", role: "member" }),
  ev(3, "", { t: "member.join", member: "cy", name: "Cy", role: "member" }),
  ev(4, "ana", { t: "cart.add", product: { id: "j", name: "Jacket", price: 1, currency: "EUR" } }),
];

describe("question ops", () => {
  it("build the wire shapes", () => {
    expect(ops.questionAsk("ben", "M or L?", null, 4)).toEqual({ t: "question.ask", to: ["ben"], text: "M or L?", product: undefined, line: 4 });
    expect(ops.questionAnswer(5, "M")).toEqual({ t: "question.answer", question: 5, text: "M" });
    expect(ops.questionClose(5)).toEqual({ t: "question.close", question: 5 });
    expect(ops.chat("hi @Ben", null, null, ["ben"]).mentions).toEqual(["ben"]);
    expect(ops.chat("hi", null, null, []).mentions).toBeUndefined();
  });

  it("are checked before sending like the decoder does", () => {
    expect(validateOp(ops.questionAsk([], "?"))).not.toBeNull();
    expect(validateOp(ops.questionAsk(Array.from({ length: 11 }, (_, i) => `m${i}`), "?"))).not.toBeNull();
    expect(validateOp(ops.questionAsk("ben", "x".repeat(2001)))).not.toBeNull();
    expect(validateOp(ops.questionAsk("ben", "?", null, 0))).not.toBeNull();
    expect(validateOp(ops.questionAsk("ben", "?"))).toBeNull();
    expect(validateOp(ops.questionAnswer(0, "y"))).not.toBeNull();
    expect(validateOp(ops.questionAnswer(3, ""))).not.toBeNull();
    expect(validateOp(ops.questionClose(3))).toBeNull();
    expect(validateOp(ops.chat("hi", null, null, Array.from({ length: 21 }, (_, i) => `m${i}`)))).not.toBeNull();
  });
});

describe("open questions", () => {
  const state = fold([
    ...room,
    ev(5, "ana", { t: "question.ask", to: ["ben"], text: "first?" }),
    ev(6, "cy", { t: "question.ask", to: ["ana"], text: "for Ana" }),
    ev(7, "ana", { t: "question.ask", to: ["ben", "cy"], text: "M or L?", line: 4 }),
    ev(8, "cy", { t: "question.answer", question: 7, text: "L" }),
    ev(9, "ana", { t: "question.ask", to: ["ben"], text: "closed" }),
    ev(10, "ana", { t: "question.close", question: 9 }),
  ]);

  it("are the ones to me, not closed, not answered by me, oldest first", () => {
    expect(openQuestionsFor(state, "ben").map((q) => q.id)).toEqual([5, 7]);
    expect(openQuestionsFor(state, "cy").map((q) => q.id)).toEqual([]);
    expect(openQuestionsFor(state, "ana").map((q) => q.id)).toEqual([6]);
  });

  it("come first in the view, then the others newest first", () => {
    expect(orderedQuestions(state, "ben").map((q) => q.id)).toEqual([5, 7, 9, 6]);
  });

  it("are announced: how many wait at first, then new questions to me and answers", () => {
    const t = (key, vars) => `${key} ${JSON.stringify(vars)}`;
    const name = (m) => m.toUpperCase();
    expect(questionNews(null, state, "ben", name, t)).toEqual([`announce.openForYou {"count":2}`]);
    const before = questionSnapshot(state);
    fold([ev(11, "cy", { t: "question.ask", to: ["ben"], text: "new" }), ev(12, "cy", { t: "question.answer", question: 5, text: "me too" })], state);
    expect(questionNews(before, state, "ben", name, t)).toEqual([
      `announce.answered {"name":"CY","text":"me too"}`,
      `announce.asked {"name":"CY","text":"new"}`,
    ]);
  });
});
