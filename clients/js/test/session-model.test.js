// The pure session against a model server, many seeded random runs (the Python side does
// the same with hypothesis): random frame timing, duplicates, acks before or after their
// event, dropped connections with every retryable close code, refused connects, new
// epochs, snapshots instead of replays. Whatever happens, the folded state is a prefix
// of the server's log, events are delivered once and in order, every op is applied once
// and settled once, and once the network calms down nothing is left pending.
import { describe, expect, it } from "vitest";
import { fold, toWire } from "../src/core/reducer.js";
import { Session } from "../src/core/session.js";

const LIMITS = { max_frame_bytes: 65536, ops_per_second: 20, ops_burst: 6, max_members: 10, max_chat_chars: 2000, max_cart_lines: 200 };
const RETRYABLE = [1001, 1006, 1011, 1012, 4008, 4029];

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(seed, steps) {
  const rnd = mulberry32(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const log = [
    { t: "event", seq: 1, ts: 1, by: "", op: { t: "room.create", name: "R", owner: "ana", owner_name: "Ana" } },
    { t: "event", seq: 2, ts: 2, by: "", op: { t: "member.join", member: "bo", name: "Bo", role: "member" } },
  ];
  const committed = new Map(); // ref -> seq
  let epoch = "e1";
  let conn = null; // {queue, welcomed, sentUpTo}
  let now = 0;
  let timerAt = null;
  let delivered = 0; // seq of the last event delivered to the application
  const done = new Map();
  const submitted = [];
  const session = new Session({ token: "t", client: "test", version: "1", device: "bot", backoff_ms: [100, 2000] }, rnd);
  const inbox = [];

  const append = (by, op) => {
    const ev = { t: "event", seq: log.length + 1, ts: now, by, op };
    log.push(ev);
    if (conn && conn.welcomed) conn.queue.push(ev);
    return ev.seq;
  };

  const serve = (msg) => {
    if (msg.t === "hello") {
      const r = msg.resume;
      if (r && r.epoch === epoch && r.seq <= log.length && rnd() < 0.8) {
        conn.queue.push({ t: "welcome", room: "r", member: "bo", role: "member", epoch, seq: log.length, recovered: true, events: log.slice(r.seq), limits: LIMITS });
      } else {
        conn.queue.push({ t: "welcome", room: "r", member: "bo", role: "member", epoch, seq: log.length, recovered: false, snapshot: toWire(fold(log)), limits: rnd() < 0.5 ? LIMITS : undefined });
      }
      conn.welcomed = true;
    } else if (msg.t === "op") {
      if (committed.has(msg.ref)) {
        conn.queue.push({ t: "ack", ref: msg.ref, seq: committed.get(msg.ref) });
        return;
      }
      const ackFirst = rnd() < 0.3;
      const ack = { t: "ack", ref: msg.ref, seq: log.length + 1 };
      if (ackFirst) conn.queue.push(ack);
      committed.set(msg.ref, append("bo", msg.op));
      if (!ackFirst) conn.queue.push(ack);
    }
  };

  const check = (outs) => {
    for (const o of outs) {
      switch (o.do) {
        case "open":
          inbox.push(() => (rnd() < 0.15 ? session.closed(now, 1006, "refused") : ((conn = { queue: [], welcomed: false }), session.opened(now))));
          break;
        case "send":
          expect(conn, `frame sent without a connection: ${JSON.stringify(o.msg)}`).not.toBeNull();
          serve(o.msg);
          break;
        case "timer":
          timerAt = o.at;
          break;
        case "deliver":
          if (o.msg.t === "event") {
            expect(o.msg.seq, "events in order, once").toBe(delivered + 1);
            delivered = o.msg.seq;
          } else if (o.msg.t === "resynced" && !o.msg.recovered) {
            delivered = o.msg.seq;
          }
          break;
        case "done":
          expect(done.has(o.ref), `${o.ref} settled twice`).toBe(false);
          expect(committed.get(o.ref)).toBe(o.seq);
          expect(o.seq).toBeLessThanOrEqual(session.room.seq);
          done.set(o.ref, o.seq);
          break;
        case "drop":
        case "close":
          conn = null;
          break;
        default:
          throw new Error(`unexpected output ${JSON.stringify(o)}`);
      }
    }
  };

  const feed = (fn) => {
    inbox.push(fn);
    while (inbox.length) {
      check(inbox.shift()());
      expect(toWire(session.room)).toEqual(toWire(fold(log.slice(0, session.room.seq))));
    }
  };

  const step = (calm) => {
    const r = rnd();
    if (!calm && r < 0.12) {
      const ref = `c-${submitted.length + 1}`;
      submitted.push(ref);
      feed(() => session.submit(now, ref, { t: "chat", text: ref }));
    } else if (!calm && r < 0.25) {
      append("ana", { t: "chat", text: `ana ${log.length}` });
    } else if (r < 0.6 && conn && conn.queue.length) {
      const msg = conn.queue.shift();
      feed(() => session.received(now, structuredClone(msg)));
      if (!calm && msg.t === "event" && rnd() < 0.15) feed(() => session.received(now, structuredClone(pick(log.slice(0, msg.seq)))));
    } else if (!calm && r < 0.66 && conn) {
      conn = null;
      feed(() => session.closed(now, pick(RETRYABLE), ""));
    } else if (!calm && r < 0.68) {
      epoch = `e${Number(epoch.slice(1)) + 1}`; // history lost: open connections get 4009
      if (conn) {
        conn = null;
        feed(() => session.closed(now, 4009, "resync"));
      }
    } else if (r < 0.85 && timerAt !== null) {
      now = Math.max(now, timerAt);
      feed(() => session.tick(now));
    } else {
      now += Math.floor(rnd() * 50);
    }
  };

  feed(() => session.start(now));
  for (let i = 0; i < steps; i++) step(false);
  for (let i = 0; i < 5000 && (session.pending.size || session.awaiting.length || !conn || conn.queue.length || session.state !== "live"); i++) step(true);

  expect(session.state).toBe("live");
  expect(session.final).toBeNull();
  expect(session.violations, "a duplicate or a legal welcome is no violation").toBe(0);
  expect([...session.pending.keys()]).toEqual([]);
  expect([...done.keys()].sort()).toEqual([...submitted].sort()); // every op settled once
  expect([...committed.keys()].sort()).toEqual([...submitted].sort()); // and applied once
  expect(session.room.seq).toBe(log.length);
  expect(toWire(session.room)).toEqual(toWire(fold(log)));
  return { events: log.length, ops: submitted.length, reconnects: session.reconnects };
}

describe("session against a model server", () => {
  it("keeps its promises over 200 random runs", () => {
    let total = { events: 0, ops: 0, reconnects: 0 };
    for (let seed = 1; seed <= 200; seed++) {
      const r = run(seed, 150);
      total = { events: total.events + r.events, ops: total.ops + r.ops, reconnects: total.reconnects + r.reconnects };
    }
    expect(total.ops).toBeGreaterThan(700);
    expect(total.reconnects).toBeGreaterThan(200);
  }, 60_000); // 200 seeded runs: ~2 s alone, ~9 s on a loaded 2-core machine
});
