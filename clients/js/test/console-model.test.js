// The associate console's pure parts: the queue folded from snapshot and stream events
// (order: escalated first, then longest waiting; a request claimed by someone else
// leaves), wait times in the shop's locale, request details, quick replies, the SSE
// parser, the reconnecting stream (Last-Event-ID, refusal), and login error keys.
import { describe, expect, it } from "vitest";
import { loginErrorKey, looksLikeAssociateToken } from "../src/console/api.js";
import { QueueModel, compareItems, createdMs, detailLines, formatWait, productMessage, quickReplies } from "../src/console/model.js";
import { QueueStream, SseParser, backoffDelay } from "../src/console/stream.js";
import { ApiError } from "../src/core/rest.js";
import { createI18n } from "../src/i18n/index.js";

const nb = (s) => s.replace(/[\u00a0\u202f]/g, " ");
const item = (id, extra = {}) => ({ id, room: id.split(":")[0], room_name: `Room ${id}`, where: "online", created_at: 1000, state: "open", level: 0, cart_lines: 0, ...extra });

describe("queue order", () => {
  it("puts escalated requests first, then the longest waiting, then by id", () => {
    const list = [item("a:1", { created_at: 3000 }), item("b:1", { created_at: 1000 }), item("c:1", { created_at: 5000, level: 2 }), item("d:1", { created_at: 1000 }), item("e:1", { created_at: 9000, level: 1 })];
    expect(list.sort(compareItems).map((i) => i.id)).toEqual(["c:1", "e:1", "b:1", "d:1", "a:1"]);
  });
  it("reads created_at as ms, seconds or ISO", () => {
    expect(createdMs({ created_at: 1_700_000_000_123 })).toBe(1_700_000_000_123);
    expect(createdMs({ created_at: 1_700_000_000.5 })).toBe(1_700_000_000_500);
    expect(createdMs({ created_at: "2026-12-03T16:00:00Z" })).toBe(Date.UTC(2026, 11, 3, 16));
    expect(createdMs({})).toBeNaN();
  });
});

describe("QueueModel", () => {
  it("folds the snapshot and the stream's request, update and removed events", () => {
    const m = new QueueModel("as_me");
    expect(m.reset([item("r1:4"), item("r2:9", { created_at: 500 })]).added).toEqual(["r1:4", "r2:9"]);
    expect(m.waiting().map((i) => i.id)).toEqual(["r2:9", "r1:4"]);
    expect(m.apply("request", item("r3:2", { created_at: 100 }))).toEqual({ added: ["r3:2"] });
    expect(m.waiting()[0].id).toBe("r3:2");
    expect(m.apply("update", { id: "r1:4", level: 1 })).toEqual({});
    expect(m.waiting()[0].id).toBe("r1:4"); // escalated: first
    expect(m.apply("update", { id: "r1:4", state: "claimed", associate: "as_other" })).toEqual({ taken: ["r1:4"] });
    expect(m.waiting().map((i) => i.id)).toEqual(["r3:2", "r2:9"]);
    expect(m.apply("update", { id: "r2:9", state: "claimed", associate: "as_me" })).toEqual({});
    expect(m.mine().map((i) => i.id)).toEqual(["r2:9"]);
    expect(m.apply("removed", { id: "r3:2" })).toEqual({ removed: ["r3:2"] });
    expect(m.apply("removed", { id: "r3:2" })).toEqual({});
    expect(m.waiting()).toEqual([]);
  });
  it("ignores events without an id and unknown kinds", () => {
    const m = new QueueModel("me");
    expect(m.apply("request", null)).toEqual({});
    expect(m.apply("request", { id: 5 })).toEqual({});
    expect(m.apply("bogus", item("x:1"))).toEqual({});
    expect(m.waiting()).toEqual([]);
  });
  it("a repeated request event (a resumed stream replaying) does not add twice", () => {
    const m = new QueueModel("me");
    m.apply("request", item("x:1"));
    expect(m.apply("request", item("x:1"))).toEqual({});
    expect(m.waiting()).toHaveLength(1);
  });
});

describe("wait times in the shop's locale", () => {
  it("uses seconds, minutes, then hours and minutes", () => {
    expect(nb(formatWait(45_900, "en"))).toBe("45 sec");
    expect(nb(formatWait(3 * 60_000 + 59_000, "en"))).toBe("3 min");
    expect(nb(formatWait(65 * 60_000, "en"))).toBe("1 hr 5 min");
    expect(nb(formatWait(120 * 60_000, "en"))).toBe("2 hr");
    expect(nb(formatWait(-5, "en"))).toBe("0 sec");
  });
  it("speaks German, French, Spanish and Arabic", () => {
    expect(nb(formatWait(45_000, "de"))).toBe("45 Sek.");
    expect(nb(formatWait(3 * 60_000, "fr"))).toBe("3 min");
    expect(nb(formatWait(2 * 60_000, "es"))).toBe("2 min");
    expect(formatWait(3 * 60_000, "ar")).toMatch(/دقائق|د/);
    expect(formatWait(3 * 60_000, "ar-EG")).toMatch(/[٠-٩]/); // Arabic-Indic digits in Egypt
  });
});

describe("request details and replies", () => {
  it("says where, the note, the focus and the cart with its total in the shop's money", () => {
    const de = createI18n("de-DE");
    const lines = detailLines(item("r:1", { where: "in_store", department: "Schuhe", note: "Größe 42?", focus: { id: "p", name: "Trail" }, cart_lines: 2, cart_total: { amount: 12990, currency: "EUR" } }), de);
    expect(lines.map(nb)).toEqual(["Im Geschäft: Schuhe", "Größe 42?", "Sieht sich Trail an", "2 Positionen im Warenkorb · 129,90 €"]);
    const en = createI18n("en");
    expect(detailLines(item("r:2", { where: "in_store" }), en)).toEqual(["In store", "0 lines in the cart"]);
    expect(detailLines(item("r:3"), en)[0]).toBe("Online");
  });
  it("quick replies carry the associate's name, in the console's language", () => {
    const replies = quickReplies(createI18n("fr").t, "Inès");
    expect(replies).toHaveLength(4);
    expect(replies[0].text).toBe("Bonjour, je suis Inès du magasin. Comment puis-je vous aider ?");
    const msg = productMessage(createI18n("en").t, { id: "p1", name: "Trail shoe" });
    expect(msg).toEqual({ text: "I recommend: Trail shoe", product: { id: "p1", name: "Trail shoe" } });
  });
});

describe("login errors", () => {
  it("maps refusals to messages", () => {
    expect(loginErrorKey(new ApiError(401, "unauthorized", "x"))).toBe("console.login.revoked");
    expect(loginErrorKey(new ApiError(401, "token_expired", "x"))).toBe("console.login.revoked");
    expect(loginErrorKey(new ApiError(0, "network", "x"))).toBe("console.login.network");
    expect(loginErrorKey(new ApiError(500, "internal", "x"))).toBe("error.generic");
    expect(looksLikeAssociateToken("at_abcdefgh1234")).toBe(true);
    expect(looksLikeAssociateToken("sk_abcdefgh1234")).toBe(false);
    expect(looksLikeAssociateToken("at_<script>")).toBe(false);
  });
});

describe("SseParser", () => {
  it("parses events split anywhere, with ids, comments and CRLF", () => {
    const p = new SseParser();
    const text = ': hello\r\n\r\nid: 7\r\nevent: request\r\ndata: {"id":"a:1"}\r\n\r\nid: 8\nevent: removed\ndata: {"id":\ndata: "a:1"}\n\n';
    const out = [];
    for (let i = 0; i < text.length; i += 3) out.push(...p.feed(text.slice(i, i + 3)));
    expect(out).toEqual([
      { event: "request", data: '{"id":"a:1"}', id: "7" },
      { event: "removed", data: '{"id":\n"a:1"}', id: "8" },
    ]);
  });
  it("keeps the last id for later events and reads retry", () => {
    const p = new SseParser();
    expect(p.feed("retry: 1500\nid: 3\ndata: 1\n\ndata: 2\n\n")).toEqual([
      { event: "message", data: "1", id: "3" },
      { event: "message", data: "2", id: "3" },
    ]);
    expect(p.retry).toBe(1500);
  });
});

function streamBody(chunks) {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctrl) {
      for (const c of chunks) ctrl.enqueue(enc.encode(c));
      ctrl.close();
    },
  });
}

describe("QueueStream", () => {
  it("reconnects after the stream ends, sending Last-Event-ID, with bounded backoff", async () => {
    const calls = [];
    const events = [];
    let resolveSecond;
    const second = new Promise((r) => (resolveSecond = r));
    const fetch = async (url, init) => {
      calls.push(init.headers["last-event-id"] || null);
      if (calls.length === 1) return new Response(streamBody(['id: 41\nevent: request\ndata: {"id":"a:1"}\n\n']), { status: 200 });
      resolveSecond();
      return new Response(streamBody([": hb\n\n"]), { status: 200 });
    };
    const s = new QueueStream({ url: "/s", token: "at_x", lastEventId: "40", fetch, onEvent: (k, d, id) => events.push([k, d.id, id]), backoff: { base: 1, cap: 2 } });
    s.start();
    await second;
    s.stop();
    expect(calls.slice(0, 2)).toEqual(["40", "41"]);
    expect(events).toEqual([["request", "a:1", "41"]]);
    expect(s.status).toBe("stopped");
  });
  it("stops for good when the token is refused", async () => {
    const refused = [];
    let n = 0;
    const fetch = async () => {
      n++;
      return new Response(JSON.stringify({ error: { code: "unauthorized", message: "revoked" } }), { status: 401 });
    };
    const s = new QueueStream({ url: "/s", token: "at_x", fetch, onRefused: (status, code) => refused.push([status, code]), backoff: { base: 1, cap: 1 } });
    s.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(refused).toEqual([[401, "unauthorized"]]);
    expect(n).toBe(1);
    expect(s.status).toBe("stopped");
  });
  it("backs off exponentially up to the cap, with jitter", () => {
    expect(backoffDelay(0, { base: 250, cap: 5000 }, () => 0)).toBe(125);
    expect(backoffDelay(3, { base: 250, cap: 5000 }, () => 1)).toBe(2000);
    expect(backoffDelay(30, { base: 250, cap: 5000 }, () => 1)).toBe(5000);
  });
});
