// The pure parts of the room view's product Q&A (src/ui/room-qa.js): the timeline items
// (asks as notes, visible answers with the buyer's name), product names, and what the
// announcer reads out.
import { describe, expect, it } from "vitest";

import { emptyState, fold } from "../src/core/reducer.js";
import { createI18n } from "../src/i18n/index.js";
import { productName, qaNews, qaSnapshot, qaTimeline } from "../src/ui/room-qa.js";

const JACKET = { id: "jacket-7", name: "Rain jacket", price: 8900, currency: "EUR" };
const ev = (seq, by, op) => ({ seq, ts: seq * 1000, by, op });
const answer = (n, text) => ({ t: "qa.answer", thread: "qt_1", answer: `qa_${n}`, product_id: JACKET.id, text, name: "Dana" });

function room() {
  return fold([
    ev(1, "", { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" }),
    ev(2, "ana", { t: "qa.ask", product: JACKET, text: "Dry on a bike?" }),
    ev(3, "", answer(1, "Yes.")),
    ev(4, "", answer(2, "rude")),
  ]);
}

describe("product Q&A in the room view", () => {
  it("puts asks and visible answers in the timeline, hidden ones out", () => {
    const s = room();
    const i18n = createI18n("en");
    fold([ev(5, "", { t: "qa.hide", answer: "qa_2" })], s);
    const items = qaTimeline(s, (m) => (m === "ana" ? "Ana" : m), i18n);
    expect(items.map((x) => [x.kind, x.seq])).toEqual([["qa-ask", 2], ["qa-answer", 3]]);
    expect(items[0].text).toBe("Ana asked past buyers about Rain jacket");
    expect(items[0].quote).toBe("Dry on a bike?");
    expect(items[1]).toMatchObject({ name: "Dana", text: "Yes.", about: "about Rain jacket", answer: "qa_1" });
  });

  it("names the product from the asks, else the cart, else by its id", () => {
    const s = emptyState();
    expect(productName(s, "sku-9")).toBe("sku-9");
    expect(productName(room(), JACKET.id)).toBe("Rain jacket");
  });

  it("announces only answers that are new since the last render", () => {
    const i18n = createI18n("de");
    const s = room();
    const before = qaSnapshot(fold([], emptyState()));
    expect(qaNews(before, s, i18n)).toEqual([
      "Dana, verifizierter Käufer, hat zu Rain jacket geantwortet: Yes.",
      "Dana, verifizierter Käufer, hat zu Rain jacket geantwortet: rude",
    ]);
    expect(qaNews(qaSnapshot(s), s, i18n)).toEqual([]);
  });
});

describe("qa.ask in the client core", () => {
  it("builds the op and refuses what the server's decoder would", async () => {
    const { ops, validateOp } = await import("../src/core/protocol.js");
    const op = ops.qaAsk({ ...JACKET, extra: "x" }, "Dry?");
    expect(op).toEqual({ t: "qa.ask", product: JACKET, text: "Dry?" });
    expect(validateOp(op)).toBeNull();
    expect(validateOp(ops.qaAsk(JACKET, ""))).not.toBeNull();
    expect(validateOp(ops.qaAsk(JACKET, "x".repeat(2001)))).not.toBeNull();
    expect(validateOp({ t: "qa.ask", text: "no product" })).not.toBeNull();
  });
});
