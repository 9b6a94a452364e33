// U+0000 in any string of a client message is `invalid_field` (protocol/SPEC.md section 1).
// The client checks it before sending, against the same golden vectors the server decodes
// (protocol/vectors/invalid.json, the `nul-in-*` cases), and never puts such a frame on the wire.
import { describe, expect, it } from "vitest";
import { RoomConnection } from "../src/core/connection.js";
import { decode } from "../src/core/msgpack.js";
import { clientMessageProblem, containsNul, decodeMessage, encodeMessage, validateOp } from "../src/core/protocol.js";
import { hexToBytes, loadVectors } from "./vectors.js";

const invalid = loadVectors("invalid.json");
const nulCases = invalid.filter((c) => c.name.includes("/nul-in-"));

function frameValue(c) {
  return c.format === "json" ? JSON.parse(c.frame) : decode(hexToBytes(c.frame));
}

describe("U+0000 vectors (protocol/vectors/invalid.json)", () => {
  it("has nul cases in both formats", () => {
    expect(nulCases.filter((c) => c.format === "json").length).toBeGreaterThanOrEqual(10);
    expect(nulCases.filter((c) => c.format === "msgpack").length).toBeGreaterThanOrEqual(5);
  });

  it.each(nulCases.map((c) => [c.name, c]))("refuses %s as the server does", (_name, c) => {
    const msg = frameValue(c);
    expect(clientMessageProblem(msg)).toBe(c.code);
    if (msg.t === "op") expect(containsNul(msg.op) || containsNul(msg.ref)).toBe(true);
    if (msg.t === "op" && containsNul(msg.op)) expect(validateOp(msg.op)).not.toBeNull();
  });

  it("lets every other invalid vector through this check (the server judges those)", () => {
    for (const c of invalid.filter((x) => !x.name.includes("/nul-in-"))) {
      let msg;
      try {
        msg = frameValue(c);
      } catch {
        continue; // not decodable at all
      }
      expect(clientMessageProblem(msg)).toBeNull();
    }
  });

  it("tells an escaped backslash from a NUL", () => {
    expect(containsNul(JSON.parse('"C:\\\\u0000"'))).toBe(false);
    expect(containsNul(JSON.parse('"a\\u0000"'))).toBe(true);
    expect(containsNul({ ["k\u0000"]: 1 })).toBe(true);
  });
});

describe("RoomConnection never sends U+0000", () => {
  function setup() {
    const sockets = [];
    class FakeSocket {
      constructor(url, protocols) {
        this.protocol = protocols[0];
        this.sent = [];
        sockets.push(this);
      }
      send(data) {
        this.sent.push(decodeMessage(data));
      }
      close() {}
    }
    const timers = { setTimeout: () => 0, clearTimeout: () => {}, now: () => 0 };
    const conn = new RoomConnection({
      url: "ws://x/v1/ws",
      token: "tok",
      WebSocket: FakeSocket,
      timers,
      random: () => 1,
      network: null,
      navigator: { onLine: true },
    });
    return { conn, sockets };
  }

  it("refuses an op, a focus and a follow holding U+0000", async () => {
    const { conn, sockets } = setup();
    const joined = conn.join();
    const ws = sockets.at(-1);
    ws.onopen();
    const limits = { max_frame_bytes: 65536, ops_per_second: 20, ops_burst: 40, max_members: 10, max_chat_chars: 2000, max_cart_lines: 200 };
    const snapshot = { seq: 1, name: "R", owner: "bo", members: { bo: { name: "Bo", role: "owner" } } };
    const welcome = { t: "welcome", room: "r1", member: "bo", role: "owner", epoch: "e1", seq: 1, recovered: false, snapshot, presence: [], limits };
    ws.onmessage({ data: encodeMessage(welcome).buffer });
    await joined;
    const sentBefore = ws.sent.length;
    await expect(conn.chat("hi\u0000there")).rejects.toMatchObject({ code: "invalid_field" });
    await expect(conn.rename("R\u0000")).rejects.toMatchObject({ code: "invalid_field" });
    conn.setFocus({ id: "sku\u0000", name: "Shirt", price: 1, currency: "EUR" });
    conn.follow("m_\u0000");
    expect(ws.sent.length).toBe(sentBefore);
    conn.setTyping(true);
    expect(ws.sent.at(-1)).toMatchObject({ t: "typing", on: true });
  });
});
