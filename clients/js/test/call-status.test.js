// The call's UI state (pure): permission refusals, relay mode, an unreachable peer with and
// without TURN in welcome.ice, and the speaking detector and its throttle.
import { describe, expect, it } from "vitest";
import { SpeakingDetector, Throttle, callStatus, hasTurn, iceServers, mediaError } from "../src/call/status.js";
import { loudestBlock } from "../src/call/mesh.js";

const STUN = [{ urls: ["stun:127.0.0.1:3478"] }];
const TURN = [...STUN, { urls: ["turn:127.0.0.1:3478?transport=udp"], username: "9:bo", credential: "c2VjcmV0" }];
const joined = (extra) => ({ phase: "joined", mode: "mesh", ice: STUN, peers: [], relay: null, others: 0, ...extra });

describe("call status", () => {
  it("maps getUserMedia errors", () => {
    expect(mediaError({ name: "NotAllowedError" })).toBe("denied");
    expect(mediaError({ name: "SecurityError" })).toBe("denied");
    expect(mediaError({ name: "NotFoundError" })).toBe("nodevice");
    expect(mediaError({ name: "NotReadableError" })).toBe("nodevice");
  });

  it("passes the phase through before joining", () => {
    for (const phase of ["idle", "starting", "denied", "nodevice"]) expect(callStatus({ phase }).state).toBe(phase);
  });

  it("says TURN is needed when a peer failed and welcome.ice has no TURN", () => {
    const peers = [{ member: "ana", state: "failed" }, { member: "cy", state: "connected" }];
    expect(callStatus(joined({ peers }))).toEqual({ state: "turn-needed", failed: ["ana"] });
    expect(callStatus(joined({ peers, ice: [] }))).toEqual({ state: "turn-needed", failed: ["ana"] });
    expect(callStatus(joined({ peers, ice: TURN }))).toEqual({ state: "unreachable", failed: ["ana"] });
  });

  it("follows the relay connection in relay mode", () => {
    const relay = (extra) => callStatus(joined({ mode: "relay", others: 2, ...extra })).state;
    expect(callStatus(joined({ mode: "relay" })).state).toBe("waiting"); // alone with the relay
    expect(relay({ relay: null })).toBe("connecting"); // its offer has not come yet
    expect(relay({ relay: "connecting" })).toBe("connecting");
    expect(relay({ relay: "connected" })).toBe("connected");
    expect(relay({ relay: "failed" })).toBe("relay-failed");
    // switching from mesh: the mesh connections still carry the call
    expect(relay({ relay: "connecting", peers: [{ member: "ana", state: "connected" }] })).toBe("connected");
  });

  it("waits, connects, and is connected", () => {
    expect(callStatus(joined()).state).toBe("waiting");
    expect(callStatus(joined({ peers: [{ member: "ana", state: "connecting" }] })).state).toBe("connecting");
    expect(callStatus(joined({ peers: [{ member: "ana", state: "connected" }] })).state).toBe("connected");
  });

  it("builds RTCIceServers from welcome.ice", () => {
    expect(iceServers(TURN)).toEqual([{ urls: ["stun:127.0.0.1:3478"] }, { urls: ["turn:127.0.0.1:3478?transport=udp"], username: "9:bo", credential: "c2VjcmV0" }]);
    expect(iceServers(undefined)).toEqual([]);
    expect(hasTurn(TURN)).toBe(true);
    expect(hasTurn([{ urls: ["turns:relay.example:5349"] }])).toBe(true);
    expect(hasTurn(STUN)).toBe(false);
  });
});

describe("speaking", () => {
  it("holds speaking for a while after the level drops", () => {
    const d = new SpeakingDetector({ threshold: 0.1, holdMs: 500 });
    expect(d.update(0.01, 0)).toBe(false);
    expect(d.update(0.3, 100)).toBe(true);
    expect(d.update(0.0, 400)).toBe(true);
    expect(d.update(0.0, 700)).toBe(false);
  });

  it("sends at most one change per interval, the latest value winning", () => {
    const sent = [];
    const th = new Throttle(500, (v) => sent.push(v));
    expect(th.offer(true, 0)).toBeNull();
    expect(th.offer(false, 100)).toBe(400);
    expect(th.offer(true, 200)).toBeNull(); // back to what was sent: nothing to send
    expect(th.offer(false, 600)).toBeNull();
    expect(sent).toEqual([true, false]);
  });
});

describe("loudestBlock", () => {
  it("finds a 20 ms beep inside an 85 ms window that a whole-window RMS would dilute", () => {
    const buf = new Float32Array(4096);
    for (let i = 2000; i < 2000 + 960; i++) buf[i] = 0.05 * Math.sin(i); // 20 ms at 48 kHz
    let whole = 0;
    for (const x of buf) whole += x * x;
    expect(Math.sqrt(whole / buf.length)).toBeLessThan(0.02);
    expect(loudestBlock(buf)).toBeGreaterThan(0.03);
  });
  it("is 0 for silence and handles a short last block", () => {
    expect(loudestBlock(new Float32Array(4096))).toBe(0);
    const odd = new Float32Array(600);
    odd[599] = 1;
    expect(loudestBlock(odd)).toBeCloseTo(Math.sqrt(1 / 88), 6);
  });
});
