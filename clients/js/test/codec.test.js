import { decode as refDecode, encode as refEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../src/core/msgpack.js";
import { decodeMessage, encodeMessage } from "../src/core/protocol.js";
import { bytesToHex, hexToBytes, loadVectors, plain } from "./vectors.js";

const cases = loadVectors("codec.json");

describe("codec vectors (protocol/vectors/codec.json)", () => {
  it("has client and server cases", () => {
    expect(cases.filter((c) => c.direction === "client").length).toBeGreaterThan(10);
    expect(cases.filter((c) => c.direction === "server").length).toBeGreaterThan(10);
  });

  it.each(cases.map((c) => [c.name, c]))("decode %s", (_name, c) => {
    const msg = decodeMessage(hexToBytes(c.msgpack_hex));
    expect(msg).not.toBeNull();
    expect(plain(msg)).toEqual(JSON.parse(c.json));
  });

  // Encoding is deterministic for everything a client sends: the server (msgspec) and we
  // both write map keys in declaration order and integers in their smallest form.
  // Server messages may hold floats (limits) that JSON cannot tell from integers.
  it.each(cases.filter((c) => c.direction === "client").map((c) => [c.name, c]))("encode %s", (_name, c) => {
    expect(bytesToHex(encodeMessage(JSON.parse(c.json)))).toBe(c.msgpack_hex);
  });

  it.each(cases.map((c) => [c.name, c]))("re-encode and decode %s", (_name, c) => {
    const msg = decode(hexToBytes(c.msgpack_hex));
    expect(plain(decode(encode(msg)))).toEqual(JSON.parse(c.json));
  });
});

describe("msgpack against @msgpack/msgpack as an oracle", () => {
  const samples = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1),
    0.5, -1.25, 1e300, true, false, null, "", "a", "x".repeat(31), "x".repeat(32), "é".repeat(200),
    "y".repeat(70000), [], [1, [2, [3]]], new Array(20).fill(7), new Array(70000).fill(1),
    { a: 1, b: [true, null], c: { d: "e" } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    new Uint8Array([1, 2, 3]), new Uint8Array(300),
  ];

  it.each(samples.map((v, i) => [i, v]))("sample %i round-trips both ways", (_i, v) => {
    const ours = encode(v);
    expect(bytesToHex(ours)).toBe(bytesToHex(refEncode(v)));
    expect(plain(refDecode(ours))).toEqual(plain(v));
    expect(plain(decode(refEncode(v)))).toEqual(plain(v));
  });

  it("decodes any map key, __proto__ included, as a plain key", () => {
    // {"__proto__": 1} written by hand: the oracle refuses such keys
    const bytes = hexToBytes("81a95f5f70726f746f5f5f01");
    const out = decode(bytes);
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out)).toBeNull();
  });

  it("refuses truncated, trailing and unsupported input with MsgpackError", () => {
    for (const hex of ["92", "a3616263ff", "c1", "dc0005", "d9"]) {
      expect(() => decode(hexToBytes(hex)), hex).toThrow();
    }
    expect(decodeMessage(hexToBytes("92"))).toBeNull();
    expect(decodeMessage(encode({ no: "type" }))).toBeNull();
    expect(decodeMessage(encode([1, 2]))).toBeNull();
  });

  it("encodes integers above 2^53 as uint64 like msgspec does", () => {
    expect(bytesToHex(encode(2 ** 53))).toBe("cf0020000000000000");
    expect(bytesToHex(encode(2 ** 60))).toBe("cf1000000000000000");
  });

  it("leaves out keys whose value is undefined", () => {
    expect(bytesToHex(encode({ t: "focus", product: undefined }))).toBe(bytesToHex(encode({ t: "focus" })));
  });
});
