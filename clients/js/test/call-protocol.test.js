// Call messages (protocol/SPEC.md section 14): the JS checks agree with the Python decoder
// on every call vector of protocol/vectors/codec.json and invalid.json.
import { describe, expect, it } from "vitest";
import { decode } from "../src/core/msgpack.js";
import { call, encodeMessage, validateCallMessage } from "../src/core/protocol.js";
import { bytesToHex, hexToBytes, loadVectors } from "./vectors.js";

const CALL_TYPES = new Set(["call.join", "call.leave", "call.state", "signal"]);
const codec = loadVectors("codec.json").filter((c) => c.direction === "client" && CALL_TYPES.has(JSON.parse(c.json).t));
const frame = (c) => (c.format === "json" ? JSON.parse(c.frame) : decode(hexToBytes(c.frame)));
const invalid = loadVectors("invalid.json").filter((c) => {
  try {
    return CALL_TYPES.has(frame(c)?.t);
  } catch {
    return false;
  }
});

describe("call vectors", () => {
  it("has call cases", () => {
    expect(codec.length).toBeGreaterThanOrEqual(10);
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });

  it.each(codec.map((c) => [c.name, c]))("accepts %s", (_name, c) => {
    expect(validateCallMessage(JSON.parse(c.json))).toBeNull();
  });

  it.each(invalid.map((c) => [c.name, c]))("refuses %s", (_name, c) => {
    expect(validateCallMessage(frame(c))).toBe(c.code);
  });
});

describe("call message builders", () => {
  it("build exactly the vector frames", () => {
    const byName = Object.fromEntries(codec.map((c) => [c.name, c.msgpack_hex]));
    expect(bytesToHex(encodeMessage(call.join(true, false)))).toBe(byName["client/call.join/audio"]);
    expect(bytesToHex(encodeMessage(call.leave()))).toBe(byName["client/call.leave"]);
    expect(bytesToHex(encodeMessage(call.state({ muted: true })))).toBe(byName["client/call.state/muted"]);
    expect(bytesToHex(encodeMessage(call.bye("bo")))).toBe(byName["client/signal/bye"]);
    expect(bytesToHex(encodeMessage(call.candidate("bo", "")))).toBe(byName["client/signal/end-of-candidates"]);
  });
});

describe("call messages reach the application", () => {
  it("emits signal and call from delivered messages", async () => {
    const { applySignal } = await import("../src/core/presence.js");
    const presence = new Map();
    const typing = new Set();
    const sig = { t: "signal", from: "ana", kind: "bye" };
    expect(applySignal(presence, typing, sig)).toEqual([["signal", sig]]);
    expect(applySignal(presence, typing, { t: "call", mode: "mesh" })).toEqual([["call", { mode: "mesh", members: [] }]]);
  });
});

describe("the session delivers call messages", () => {
  it("passes signal and call on to the connection once live", async () => {
    const { Session } = await import("../src/core/session.js");
    const session = new Session({ token: "t" }, () => 0.5);
    session.start(0);
    session.opened(1);
    session.received(2, { t: "welcome", room: "r", member: "bo", role: "member", epoch: "e", seq: 0, recovered: false, snapshot: {} });
    const sig = { t: "signal", from: "ana", kind: "offer", sdp: "v=0" };
    const info = { t: "call", mode: "mesh", members: ["ana", "bo"] };
    const delivered = [...session.received(3, sig), ...session.received(4, info)].filter((o) => o.do === "deliver");
    expect(delivered.map((o) => o.msg)).toEqual([sig, info]);
  });
});
