// Calls in the room session and its browser shell (protocol/SPEC.md section 14): call
// frames go out when live, `signal`/`call.state` skip the op pacing, the call is joined
// again (mute and camera restored) after a reconnect, and the server's `signal` and `call`
// messages of the golden vectors reach the application.
import { describe, expect, it } from "vitest";
import { RoomConnection } from "../src/core/connection.js";
import { decode } from "../src/core/msgpack.js";
import { Session } from "../src/core/session.js";
import { FakeTimers, fakeSocketClass } from "./fakes.js";
import { hexToBytes, loadVectors } from "./vectors.js";

const LIMITS = { max_frame_bytes: 65536, ops_per_second: 1, ops_burst: 1, max_members: 10, max_chat_chars: 2000, max_cart_lines: 200 };
const SNAPSHOT = { seq: 2, name: "R", owner: "ana", members: { ana: { name: "Ana", role: "owner" }, bo: { name: "Bo", role: "member" } } };

function welcome(extra) {
  return { t: "welcome", room: "r1", member: "bo", role: "member", epoch: "e1", seq: 2, recovered: false, snapshot: SNAPSHOT, presence: [], limits: LIMITS, ...extra };
}

const sent = (outs) => outs.filter((o) => o.do === "send").map((o) => o.msg);

function liveSession() {
  const s = new Session({ token: "t" }, () => 0.5);
  s.start(0);
  s.opened(0);
  s.received(0, welcome());
  return s;
}

describe("session: call frames", () => {
  it("sends call.join through the op pacing, signals and call.state past it", () => {
    const s = liveSession();
    // the bucket (burst 1) is spent by the join; a signal and a state change still go out
    expect(sent(s.signal(1, { t: "call.join", audio: true, video: true }))).toEqual([{ t: "call.join", audio: true, video: true }]);
    const offer = { t: "signal", to: "ana", kind: "offer", sdp: "v=0" };
    expect(sent(s.signal(2, offer))).toEqual([offer]);
    expect(sent(s.signal(3, { t: "call.state", muted: true }))).toEqual([{ t: "call.state", muted: true }]);
    // a chat op waits for a token; call.leave queues behind it (the op bucket), in order
    s.submit(4, "r1", { t: "chat", text: "hi" });
    expect(sent(s.signal(5, { t: "call.leave" }))).toEqual([]);
    expect(sent(s.tick(2000)).map((m) => m.t)).toEqual(["op"]);
    expect(sent(s.tick(4000)).map((m) => m.t)).toEqual(["call.leave"]);
  });

  it("drops call frames while not live, but remembers being in the call", () => {
    const s = new Session({ token: "t" }, () => 0.5);
    s.start(0);
    expect(sent(s.signal(1, { t: "call.join", audio: true, video: false }))).toEqual([]);
    expect(sent(s.signal(1, { t: "signal", to: "ana", kind: "bye" }))).toEqual([]);
    s.opened(2);
    const outs = sent(s.received(3, welcome()));
    expect(outs).toEqual([{ t: "call.join", audio: true, video: false }]);
  });

  it("joins the call again after a reconnect, restoring mute and camera", () => {
    const s = liveSession();
    s.signal(1, { t: "call.join", audio: true, video: true });
    s.signal(2, { t: "call.state", muted: true });
    s.signal(3, { t: "call.state", camera: false, speaking: true });
    expect(s.myCall).toEqual({ audio: true, video: true, muted: true, camera: false });
    s.closed(4, 1006, "lost");
    s.tick(100000);
    s.opened(100001);
    const outs = sent(s.received(100002, welcome({ recovered: true, events: [], snapshot: undefined })));
    expect(outs).toEqual([
      { t: "call.join", audio: true, video: true },
      { t: "call.state", muted: true, camera: false },
    ]);
  });

  it("forgets the call after call.leave and after a final close", () => {
    const s = liveSession();
    s.signal(1, { t: "call.join", audio: true, video: false });
    s.signal(2, { t: "call.leave" });
    expect(s.myCall).toBeNull();
    s.signal(3, { t: "call.join", audio: true, video: false });
    s.close(4);
    expect(s.myCall).toBeNull();
  });

  it("delivers signal and call messages (unknown types are still dropped)", () => {
    const s = liveSession();
    const relay = { t: "signal", from: "ana", kind: "candidate", candidate: "" };
    const info = { t: "call", mode: "mesh", members: ["ana", "bo"] };
    const delivered = (outs) => outs.filter((o) => o.do === "deliver").map((o) => o.msg);
    expect(delivered(s.received(1, relay))).toEqual([relay]);
    expect(delivered(s.received(2, info))).toEqual([info]);
    expect(delivered(s.received(3, { t: "brand.new" }))).toEqual([]);
  });
});

// ---- the shell, with the server messages of the golden vectors ----------------------------

const server = loadVectors("codec.json").filter((c) => c.direction === "server");
const serverCalls = server.filter((c) => ["signal", "call"].includes(JSON.parse(c.json).t));

function setup() {
  const sockets = [];
  const conn = new RoomConnection({
    url: "ws://x/v1/ws",
    token: "tok",
    WebSocket: fakeSocketClass(sockets),
    timers: new FakeTimers(),
    random: () => 1,
    network: null,
    navigator: { onLine: true },
  });
  return { conn, sockets };
}

async function joinLive(ctx, extra) {
  const joined = ctx.conn.join();
  const ws = ctx.sockets.at(-1);
  ws.open();
  ws.deliver(welcome({ limits: { ...LIMITS, ops_per_second: 20, ops_burst: 40 }, ...extra }));
  await joined;
  return ws;
}

describe("shell: calls", () => {
  it("has the server's call vectors", () => {
    expect(serverCalls.length).toBeGreaterThanOrEqual(3);
  });

  it.each(serverCalls.map((c) => [c.name, c]))("emits %s", async (_name, c) => {
    const ctx = setup();
    const ws = await joinLive(ctx);
    const seen = [];
    ctx.conn.on("signal", (m) => seen.push(m));
    ctx.conn.on("call", (m) => seen.push({ t: "call", ...m }));
    const msg = decode(hexToBytes(c.msgpack_hex));
    ws.deliver(msg);
    expect(seen).toHaveLength(1);
    if (msg.t === "call") {
      expect(seen[0]).toEqual({ t: "call", mode: msg.mode, members: msg.members || [] });
      expect(ctx.conn.call).toEqual({ mode: msg.mode, members: msg.members || [] });
    } else expect(seen[0]).toEqual(msg);
  });

  it("keeps presence call state from welcome and presence updates", async () => {
    const ctx = setup();
    const ana = { member: "ana", name: "Ana", role: "owner", connections: 1, call: { audio: true, video: true, camera: true } };
    const ws = await joinLive(ctx, { presence: [ana] });
    expect(ctx.conn.presence.get("ana").call).toEqual({ audio: true, video: true, camera: true });
    ws.deliver({ t: "presence", kind: "update", member: { ...ana, call: { audio: true, video: true, camera: true, muted: true } } });
    expect(ctx.conn.presence.get("ana").call.muted).toBe(true);
    ws.deliver({ t: "presence", kind: "update", member: { member: "ana", name: "Ana", role: "owner", connections: 1 } });
    expect(ctx.conn.presence.get("ana").call).toBeUndefined();
  });

  it("sends valid call frames, refuses invalid ones, and exposes welcome.ice", async () => {
    const ctx = setup();
    const ice = [{ urls: ["stun:127.0.0.1:3478"] }, { urls: ["turn:127.0.0.1:3478"], username: "1:bo", credential: "x" }];
    const ws = await joinLive(ctx, { ice });
    expect(ctx.conn.ice).toEqual(ice);
    ctx.conn.joinCall(true, true);
    ctx.conn.setCallState({ muted: true });
    ctx.conn.setCallState({}); // nothing changed: nothing sent
    expect(ctx.conn.sendSignal({ t: "signal", to: "ana", kind: "candidate", candidate: "candidate:1", mid: "0", mline: 0 })).toBe(true);
    expect(ctx.conn.sendSignal({ t: "signal", to: "ana", kind: "offer", sdp: "x".repeat(49153) })).toBe(false);
    expect(ctx.conn.sendSignal({ t: "signal", to: "ana", kind: "candidate", candidate: null, mid: undefined })).toBe(false);
    ctx.conn.leaveCall();
    expect(ws.sent.slice(1).map((m) => m.t)).toEqual(["call.join", "call.state", "signal", "call.leave"]);
    expect(ws.sent[3]).toEqual({ t: "signal", to: "ana", kind: "candidate", candidate: "candidate:1", mid: "0", mline: 0 });
  });
});
