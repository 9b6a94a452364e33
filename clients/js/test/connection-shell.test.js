// The browser shell around the session (src/core/connection.js): what only the shell does —
// the browser's online/offline events, the WebSocket's quirks, the keepalive, leaving.
import { describe, expect, it } from "vitest";
import { RoomConnection } from "../src/core/connection.js";
import { FakeNetwork, FakeTimers, fakeSocketClass } from "./fakes.js";

const LIMITS = { max_frame_bytes: 65536, ops_per_second: 20, ops_burst: 40, max_members: 10, max_chat_chars: 2000, max_cart_lines: 200 };
const SNAPSHOT = { seq: 2, name: "R", owner: "ana", members: { ana: { name: "Ana", role: "owner" }, bo: { name: "Bo", role: "member" } } };

function welcome(extra) {
  return { t: "welcome", room: "r1", member: "bo", role: "member", epoch: "e1", seq: 2, recovered: false, snapshot: SNAPSHOT, presence: [], limits: LIMITS, ...extra };
}

function setup(opts = {}) {
  const sockets = [];
  const timers = new FakeTimers();
  const network = new FakeNetwork();
  const conn = new RoomConnection({
    url: "ws://x/v1/ws",
    token: "tok",
    device: "phone",
    WebSocket: opts.WebSocket || fakeSocketClass(sockets, opts.protocol),
    timers,
    random: () => 1,
    network,
    navigator: network.navigator,
  });
  const statuses = [];
  conn.on("status", (s) => statuses.push(s));
  return { conn, sockets, timers, network, statuses };
}

async function joinLive(ctx) {
  const joined = ctx.conn.join();
  const ws = ctx.sockets.at(-1);
  ws.open();
  ws.deliver(welcome());
  await joined;
  return ws;
}

describe("browser shell", () => {
  it("offline: drops the socket at once, keeps edits, waits for the online event, then resumes", async () => {
    const ctx = setup();
    const ws1 = await joinLive(ctx);
    ctx.network.set(false);
    expect(ws1.closed).toBe(true);
    expect(ctx.conn.status).toBe("offline");
    const edit = ctx.conn.chat("on the train");
    ctx.timers.advance(20_000); // the backoff timer would have fired long ago
    expect(ctx.sockets).toHaveLength(1);
    expect(ctx.conn.status).toBe("offline");
    ctx.network.set(true);
    expect(ctx.sockets).toHaveLength(2); // at once
    expect(ctx.conn.status).toBe("reconnecting");
    const ws2 = ctx.sockets[1];
    ws2.open();
    expect(ws2.sent[0].resume).toEqual({ epoch: "e1", seq: 2 });
    ws2.deliver(welcome({ recovered: true, snapshot: undefined, events: [] }));
    const op = ws2.sent.find((m) => m.t === "op");
    expect(op.op.text).toBe("on the train");
    ws2.deliver({ t: "ack", ref: op.ref, seq: 3 });
    ws2.deliver({ t: "event", seq: 3, ts: 3, by: "bo", op: { t: "chat", text: "on the train" } });
    expect(await edit).toBe(3);
    expect(ctx.statuses).toEqual(["connecting", "live", "offline", "reconnecting", "live"]);
  });

  it("offline with no online event ever: a slow retry still comes", () => {
    const ctx = setup();
    ctx.conn.join().catch(() => {});
    ctx.network.set(false);
    expect(ctx.sockets[0].closed).toBe(true);
    ctx.timers.advance(29_000);
    expect(ctx.sockets).toHaveLength(1);
    ctx.timers.advance(2_000);
    expect(ctx.sockets).toHaveLength(2);
  });

  it("a close without a status code (1005) is retried like a lost network", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    ws.drop(1005);
    expect(ctx.conn.status).toBe("reconnecting");
    ctx.timers.advance(250);
    expect(ctx.sockets).toHaveLength(2);
  });

  it("a server that picks another subprotocol is final", async () => {
    const ctx = setup({ protocol: "cosession.v1.json" });
    const joined = ctx.conn.join();
    ctx.sockets[0].open();
    await expect(joined).rejects.toMatchObject({ closeCode: 1006, message: "server chose cosession.v1.json" });
    expect(ctx.sockets[0].sent).toEqual([]);
    ctx.timers.advance(60_000);
    expect(ctx.sockets).toHaveLength(1);
  });

  it("a URL the browser refuses is final", async () => {
    const ctx = setup({
      WebSocket: class {
        constructor() {
          throw new SyntaxError("bad URL");
        }
      },
    });
    await expect(ctx.conn.join()).rejects.toMatchObject({ code: "closed", closeCode: 1006 });
    expect(ctx.conn.status).toBe("closed");
  });

  it("an op refused as rate_limited is re-sent under the same ref, not rejected", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    const p = ctx.conn.chat("busy");
    const ref = ws.sent.at(-1).ref;
    ws.deliver({ t: "error", ref, code: "rate_limited", message: "slow down" });
    expect(ctx.conn.pending).toBe(1);
    ctx.timers.advance(1000);
    expect(ws.sent.filter((m) => m.t === "op").map((m) => m.ref)).toEqual([ref, ref]);
    ws.deliver({ t: "ack", ref, seq: 3 });
    ws.deliver({ t: "event", seq: 3, ts: 3, by: "bo", op: { t: "chat", text: "busy" } });
    expect(await p).toBe(3);
  });

  it("pings while live, and gives up on a server that stopped answering", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    ctx.timers.advance(20_000);
    expect(ws.sent.at(-1)).toMatchObject({ t: "ping" });
    ws.deliver({ t: "pong" }); // the last answer, at 20 s
    ctx.timers.advance(40_000); // pings at 40 s and 60 s: 40 s of silence is not dead yet
    expect(ws.closed).toBe(false);
    ctx.timers.advance(20_000); // at 80 s: 60 s of silence (> 45 s)
    expect(ws.closed).toBe(true);
    expect(ctx.conn.status).toBe("reconnecting");
  });

  it("no welcome in time: drops the socket and tries again", () => {
    const ctx = setup();
    ctx.conn.join().catch(() => {});
    ctx.sockets[0].open();
    ctx.timers.advance(10_000);
    expect(ctx.sockets[0].closed).toBe(true);
    ctx.timers.advance(250);
    expect(ctx.sockets).toHaveLength(2);
  });

  it("close(): says bye, rejects what waits, never reconnects", async () => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    const p = ctx.conn.chat("never answered");
    let closed = null;
    ctx.conn.on("closed", (err) => (closed = err));
    ctx.conn.close();
    expect(ws.closeArgs).toEqual([1000, "bye"]);
    await expect(p).rejects.toMatchObject({ code: "closed", closeCode: 1000 });
    expect(closed).toMatchObject({ code: "closed" });
    expect(ctx.conn.status).toBe("closed");
    expect(ctx.network.listeners.size).toBe(0);
    await expect(ctx.conn.chat("later")).rejects.toBe(closed);
    await expect(ctx.conn.join()).rejects.toBe(closed);
    ctx.timers.advance(60_000);
    expect(ctx.sockets).toHaveLength(1);
  });

  it("presence, focus, follow and typing from the welcome and the signals", async () => {
    const ctx = setup();
    const joined = ctx.conn.join();
    ctx.conn.setFocus({ id: "p1", name: "Shoe", price: 100, currency: "EUR" }); // before the welcome: sent after it
    const ws = ctx.sockets[0];
    ws.open();
    ws.deliver(welcome({ presence: [{ member: "ana", name: "Ana", role: "owner", focus: { id: "p2", name: "Hat", price: 5, currency: "EUR" } }] }));
    await joined;
    expect(ws.sent.slice(1)).toEqual([{ t: "focus", product: { id: "p1", name: "Shoe", price: 100, currency: "EUR" } }]);
    expect(ctx.conn.presence.get("ana")).toMatchObject({ focus: { id: "p2" }, following: null });
    const joinedMembers = [];
    ctx.conn.on("member-joined", (m) => joinedMembers.push(m.member));
    ws.deliver({ t: "presence", kind: "join", member: { member: "cy", name: "Cy", role: "member" } });
    ws.deliver({ t: "follow", member: "cy", target: "ana" });
    ws.deliver({ t: "typing", member: "cy", on: true });
    expect(joinedMembers).toEqual(["cy"]);
    expect(ctx.conn.presence.get("cy").following).toBe("ana");
    expect([...ctx.conn.typing]).toEqual(["cy"]);
    ws.deliver({ t: "presence", kind: "leave", member: { member: "cy", name: "Cy", role: "member" } });
    expect(ctx.conn.presence.has("cy")).toBe(false);
    expect(ctx.conn.typing.size).toBe(0);
    ctx.conn.follow("ana");
    expect(ctx.conn.following).toBe("ana");
    ctx.conn.follow(null);
    expect(ws.sent.slice(-2)).toEqual([{ t: "follow", member: "ana" }, { t: "follow" }]);
    expect(ctx.conn.following).toBeNull();
  });
});
