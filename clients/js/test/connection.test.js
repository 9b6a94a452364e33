// The connection's retry/resume state machine against a scripted fake socket and fake
// timers. (Everything that needs a real server is tested in Chromium: tests/browser/.)
import { describe, expect, it } from "vitest";
import { RoomConnection, isRetryable } from "../src/core/connection.js";
import { OpQueue, Pacer, backoffDelay } from "../src/core/ops.js";
import { FakeTimers, fakeSocketClass } from "./fakes.js";

const LIMITS = { max_frame_bytes: 65536, ops_per_second: 20, ops_burst: 40, max_members: 10, max_chat_chars: 2000, max_cart_lines: 200 };
const create = { t: "event", seq: 1, ts: 1, by: "", op: { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" } };
const join = { t: "event", seq: 2, ts: 2, by: "", op: { t: "member.join", member: "bo", name: "Bo", role: "member" } };

function welcome(extra) {
  return { t: "welcome", room: "r1", member: "bo", role: "member", epoch: "e1", seq: 2, recovered: false, presence: [], limits: LIMITS, ...extra };
}

function setup() {
  const sockets = [];
  const timers = new FakeTimers();
  const conn = new RoomConnection({
    url: "ws://x/v1/ws",
    token: "tok",
    device: "phone",
    WebSocket: fakeSocketClass(sockets),
    timers,
    random: () => 1,
    network: null,
    navigator: { onLine: true },
  });
  const statuses = [];
  conn.on("status", (s) => statuses.push(s));
  return { conn, sockets, timers, statuses };
}

async function joinLive(ctx) {
  const joined = ctx.conn.join();
  const ws = ctx.sockets.at(-1);
  ws.open();
  ws.deliver(welcome({ snapshot: { seq: 2, name: "R", owner: "ana", members: { ana: { name: "Ana", role: "owner" }, bo: { name: "Bo", role: "member" } } } }));
  await joined;
  return ws;
}

describe("RoomConnection", () => {
  it("says hello, takes the snapshot and goes live", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    expect(ws.protocols).toEqual(["cosession.v1.msgpack"]);
    expect(ws.sent[0]).toMatchObject({ t: "hello", token: "tok", device: "phone" });
    expect(ws.sent[0].resume).toBeUndefined();
    expect(ctx.conn.state.seq).toBe(2);
    expect(ctx.statuses).toEqual(["connecting", "live"]);
  });

  it("applies own ops only from the server's event, resolving on ack + fold", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    let seq = null;
    const p = ctx.conn.chat("hi").then((s) => (seq = s));
    const op = ws.sent.at(-1);
    expect(op).toMatchObject({ t: "op", op: { t: "chat", text: "hi" } });
    expect(ctx.conn.state.chat).toHaveLength(0);
    ws.deliver({ t: "ack", ref: op.ref, seq: 3 });
    await Promise.resolve();
    expect(seq).toBeNull(); // acked, but not folded yet
    ws.deliver({ t: "event", seq: 3, ts: 3, by: "bo", op: { t: "chat", text: "hi" } });
    await p;
    expect(seq).toBe(3);
    expect(ctx.conn.state.chat[0].text).toBe("hi");
    expect(ctx.conn.pending).toBe(0);
  });

  it("keeps an op the cluster could not sequence and resends it under the same ref", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    const p = ctx.conn.chat("later");
    const ref = ws.sent.at(-1).ref;
    ws.deliver({ t: "error", ref, code: "unavailable", message: "try again" });
    expect(ctx.conn.pending).toBe(1);
    ctx.timers.advance(1000);
    expect(ws.sent.at(-1)).toMatchObject({ t: "op", ref });
    ws.deliver({ t: "ack", ref, seq: 3 });
    ws.deliver({ t: "event", seq: 3, ts: 3, by: "bo", op: { t: "chat", text: "later" } });
    expect(await p).toBe(3);
  });

  it("rejects an op the server refuses", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    const p = ctx.conn.removeLine(99);
    ws.deliver({ t: "error", ref: ws.sent.at(-1).ref, code: "not_found", message: "cart line 99 is gone" });
    await expect(p).rejects.toMatchObject({ code: "not_found" });
  });

  it("queues ops while disconnected, resumes from (epoch, seq) and resends un-acked ops under their original refs", async () => {
    const ctx = setup();
    const ws1 = await joinLive(ctx);
    const inFlight = ctx.conn.chat("in flight");
    const ref1 = ws1.sent.at(-1).ref;
    ws1.drop(1006);
    expect(ctx.conn.status).toBe("reconnecting");
    const queued = ctx.conn.chat("queued");
    expect(ctx.conn.pending).toBe(2);
    expect(ctx.sockets).toHaveLength(1); // nothing sent while down
    ctx.timers.advance(backoffDelay(0, ctx.conn.backoff, () => 1));
    const ws2 = ctx.sockets.at(-1);
    expect(ws2).not.toBe(ws1);
    ws2.open();
    expect(ws2.sent[0].resume).toEqual({ epoch: "e1", seq: 2 });
    // the server had applied the in-flight op as seq 3: it comes back in the replay
    ws2.deliver(welcome({ recovered: true, seq: 3, snapshot: undefined, events: [{ t: "event", seq: 3, ts: 3, by: "bo", op: { t: "chat", text: "in flight" } }] }));
    const resent = ws2.sent.filter((m) => m.t === "op");
    expect(resent.map((m) => m.ref)).toEqual([ref1, expect.any(String)]);
    expect(resent.map((m) => m.op.text)).toEqual(["in flight", "queued"]);
    ws2.deliver({ t: "ack", ref: ref1, seq: 3 }); // the server's answer to the retry
    expect(await inFlight).toBe(3);
    ws2.deliver({ t: "ack", ref: resent[1].ref, seq: 4 });
    ws2.deliver({ t: "event", seq: 4, ts: 4, by: "bo", op: { t: "chat", text: "queued" } });
    expect(await queued).toBe(4);
    expect(ctx.conn.state.chat.map((m) => m.text)).toEqual(["in flight", "queued"]);
    expect(ctx.statuses).toEqual(["connecting", "live", "reconnecting", "live"]);
    expect(ctx.conn.reconnects).toBe(1);
  });

  it("backs off exponentially and says offline after repeated failures", async () => {
    const ctx = setup();
    await joinLive(ctx);
    ctx.sockets.at(-1).drop(1006);
    const delays = [];
    for (let i = 0; i < 4; i++) {
      const before = ctx.timers.t;
      const count = ctx.sockets.length;
      while (ctx.sockets.length === count) ctx.timers.advance(50);
      delays.push(ctx.timers.t - before);
      ctx.sockets.at(-1).drop(1006); // fails before any welcome
    }
    expect(delays[1]).toBeGreaterThan(delays[0]);
    expect(delays[2]).toBeGreaterThan(delays[1]);
    expect(ctx.conn.status).toBe("offline");
  });

  it("reconnects and resumes after a gap, and stops for good on a final close", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    ws.deliver({ t: "event", seq: 5, ts: 5, by: "", op: { t: "room.rename", name: "X" } }); // 3 and 4 missing
    expect(ctx.conn.violations).toBe(1);
    expect(ws.closed).toBe(true);
    ctx.timers.advance(10_000);
    const ws2 = ctx.sockets.at(-1);
    ws2.open();
    ws2.deliver({ t: "error", code: "kicked", message: "you were removed from this room" });
    const pending = ctx.conn.chat("too late");
    ws2.drop(4003);
    await expect(pending).rejects.toMatchObject({ code: "kicked" });
    expect(ctx.conn.status).toBe("closed");
    ctx.timers.advance(60_000);
    expect(ctx.sockets).toHaveLength(2); // no more attempts
  });

  it("re-sends focus and follow after a reconnect", async () => {
    const ctx = setup();
    const ws1 = await joinLive(ctx);
    ctx.conn.setFocus({ id: "p1", name: "Shoe", price: 100, currency: "EUR" });
    ctx.conn.follow("ana");
    ws1.drop(1001);
    ctx.timers.advance(10_000);
    const ws2 = ctx.sockets.at(-1);
    ws2.open();
    ws2.deliver(welcome({ recovered: true, events: [] }));
    expect(ws2.sent.slice(1).map((m) => m.t)).toEqual(["focus", "follow"]);
    expect(ws2.sent[1].product).toEqual({ id: "p1", name: "Shoe", price: 100, currency: "EUR" });
  });
});

describe("pure pieces", () => {
  it("classifies close codes", () => {
    expect(isRetryable(1006)).toBe(true);
    expect(isRetryable(4008)).toBe(true);
    expect(isRetryable(4001)).toBe(false);
    expect(isRetryable(4003)).toBe(false);
    expect(isRetryable(1011, "kicked")).toBe(false);
    expect(isRetryable(4009)).toBe(true);
    expect(isRetryable(4006)).toBe(false);
  });

  it("caps and jitters the backoff", () => {
    expect(backoffDelay(0, { base: 100, cap: 1000 }, () => 1)).toBe(100);
    expect(backoffDelay(3, { base: 100, cap: 1000 }, () => 1)).toBe(800);
    expect(backoffDelay(10, { base: 100, cap: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelay(10, { base: 100, cap: 1000 }, () => 0)).toBe(500);
  });

  it("keeps refs and order in the op queue", () => {
    const q = new OpQueue("x");
    const a = q.add({ t: "chat", text: "a" });
    const b = q.add({ t: "chat", text: "b" });
    a.sentGen = 1;
    expect(q.toSend(1)).toEqual([b]);
    expect(q.toSend(2)).toEqual([a, b]);
    q.ack(a.ref, 7);
    expect(q.toSend(2)).toEqual([b]);
    expect(q.settle(6)).toEqual([]);
    expect(q.settle(7)).toEqual([a]);
    expect(q.fail(b.ref)).toBe(b);
    expect(q.size).toBe(0);
  });

  it("paces frames like the server's token bucket", () => {
    const p = new Pacer({ ops_per_second: 10, ops_burst: 4 }, 0);
    expect(p.take(0)).toBe(0); // burst 4 − max(2, ceil(10 / 4)) = 1
    expect(p.take(0)).toBeGreaterThan(0);
    expect(p.take(1000)).toBe(0);
  });
});
