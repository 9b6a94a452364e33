// The browser's relay mode (SPEC 14.6, CONTRACT-11 C), pure parts: the DTLS fingerprint
// rule that tells an in-place re-offer from a new connection, the msid -> member mapping of
// relayed tracks, and the decisions that keep the call up while the topology switches.
import { describe, expect, it } from "vitest";
import { msidMembers, sameConnection, sdpFingerprint, switchPlan, trackMember } from "../src/call/relay.js";

const FP1 = "sha-256 AA:BB:CC:DD";
const FP2 = "sha-256 11:22:33:44";

function offer(fingerprint, sections) {
  const media = sections.map(
    ([mid, msid, kind = "audio"]) =>
      `m=${kind} 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\n` + (msid ? `a=msid:${msid}\r\n` : "") + `a=fingerprint:${fingerprint}\r\na=setup:actpass\r\n`,
  );
  return `v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE ${sections.map((s) => s[0]).join(" ")}\r\n` + media.join("");
}

describe("relay offers: in place or new (fingerprint rule)", () => {
  it("reads and normalises the fingerprints of an SDP", () => {
    const sdp = offer(FP1, [["0"], ["1", null, "video"]]);
    expect(sdpFingerprint(sdp)).toBe("sha-256 AA:BB:CC:DD");
    expect(sdpFingerprint(sdp.replace(/AA:BB:CC:DD/g, "aa:bb:cc:dd").replace(/sha-256/g, "SHA-256"))).toBe("sha-256 AA:BB:CC:DD");
    expect(sdpFingerprint("v=0\r\n")).toBe("");
    expect(sdpFingerprint(undefined)).toBe("");
    // a session-level fingerprint counts like a media-level one
    expect(sdpFingerprint(`v=0\na=fingerprint:${FP2}\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n`)).toBe("sha-256 11:22:33:44");
  });

  it("applies an offer with the previous certificate in place, anything else is new", () => {
    const first = offer(FP1, [["0"], ["1", null, "video"]]);
    const grown = offer(FP1, [["0"], ["1", null, "video"], ["2", "cy cy:audio"]]);
    const fresh = offer(FP2, [["0"], ["1", null, "video"], ["2", "cy cy:audio"]]);
    expect(sameConnection(sdpFingerprint(first), grown)).toBe(true);
    expect(sameConnection(sdpFingerprint(first), fresh)).toBe(false);
    expect(sameConnection("", first)).toBe(false); // no relay connection yet
    expect(sameConnection("", "v=0\r\n")).toBe(false); // no fingerprint is never "the same"
  });
});

describe("relayed tracks by member (msid stream id)", () => {
  const sdp = offer(FP1, [["0"], ["1", null, "video"], ["2", "ana ana:audio"], ["3", "ana ana:video", "video"], ["4", "bo-7 bo-7:audio"], ["5", "- x"]]);

  it("maps each forwarded m-line to its member", () => {
    expect([...msidMembers(sdp)]).toEqual([
      ["2", "ana"],
      ["3", "ana"],
      ["4", "bo-7"],
    ]);
    expect(msidMembers("").size).toBe(0);
  });

  it("names a track by its stream, else by its m-line", () => {
    const mids = msidMembers(sdp);
    expect(trackMember({ streams: [{ id: "cy" }], transceiver: { mid: "2" } }, mids)).toBe("cy");
    expect(trackMember({ streams: [], transceiver: { mid: "4" } }, mids)).toBe("bo-7");
    expect(trackMember({ streams: [{ id: "-" }], transceiver: { mid: "3" } }, mids)).toBe("ana");
    expect(trackMember({ streams: [], transceiver: { mid: "0" } }, mids)).toBeNull(); // our own upstream m-line
  });
});

describe("switching topology without dropping the call", () => {
  const peers = [
    { member: "ana", state: "connected" },
    { member: "bo", state: "connecting" },
  ];

  it("keeps mesh connections until the relay connection is up, then closes them all", () => {
    for (const relay of [null, "connecting", "failed"]) expect(switchPlan({ mode: "relay", relay, peers, others: ["ana", "bo"] })).toEqual({ closeMesh: [], closeRelay: false });
    expect(switchPlan({ mode: "relay", relay: "connected", peers, others: ["ana", "bo", "cy"] })).toEqual({ closeMesh: ["ana", "bo"], closeRelay: false });
  });

  it("keeps the relay connection until every mesh connection is up (or it failed)", () => {
    expect(switchPlan({ mode: "mesh", relay: "connected", peers, others: ["ana", "bo"] })).toEqual({ closeMesh: [], closeRelay: false });
    const up = peers.map((p) => ({ ...p, state: "connected" }));
    expect(switchPlan({ mode: "mesh", relay: "connected", peers: up, others: ["ana", "bo"] })).toEqual({ closeMesh: [], closeRelay: true });
    expect(switchPlan({ mode: "mesh", relay: "failed", peers, others: ["ana", "bo"] }).closeRelay).toBe(true);
    expect(switchPlan({ mode: "mesh", relay: "connected", peers: [], others: [] }).closeRelay).toBe(true); // alone
    expect(switchPlan({ mode: "mesh", relay: null, peers: up, others: ["ana", "bo"] }).closeRelay).toBe(false); // nothing to close
  });
});
