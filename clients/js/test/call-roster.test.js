// The call roster order (protocol/SPEC.md 14.2/14.3): presence carries each participant's
// `CallState.joined` (unix ms, beyond 2^32) intact through decoding and the presence map;
// the mesh offer rule reads the server's `members` order as it comes.
import { describe, expect, it } from "vitest";
import { applySignal, presenceFrom } from "../src/core/presence.js";
import { decodeMessage } from "../src/core/protocol.js";
import { hexToBytes, loadVectors } from "./vectors.js";

const vector = loadVectors("codec.json").find((c) => c.name === "server/presence/update-in-call-joined");

describe("CallState.joined in presence", () => {
  it("decodes exactly from msgpack", () => {
    const msg = decodeMessage(hexToBytes(vector.msgpack_hex));
    expect(msg.member.call).toEqual({ audio: true, video: false, joined: JSON.parse(vector.json).member.call.joined });
    expect(msg.member.call.joined).toBeGreaterThan(2 ** 32);
    expect(Number.isSafeInteger(msg.member.call.joined)).toBe(true);
  });

  it("stays on the member's presence entry, from a welcome and from an update", () => {
    const msg = decodeMessage(hexToBytes(vector.msgpack_hex));
    const joined = msg.member.call.joined;
    const presence = presenceFrom([{ ...msg.member, call: { ...msg.member.call, muted: true } }]);
    expect(presence.get("bo").call).toMatchObject({ joined, muted: true });
    const fresh = new Map();
    applySignal(fresh, new Set(), msg);
    expect(fresh.get("bo").call.joined).toBe(joined);
  });
});
