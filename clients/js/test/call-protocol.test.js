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
