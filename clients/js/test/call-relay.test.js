// The browser's relay mode (SPEC 14.6, CONTRACT-11 C), pure parts: the DTLS fingerprint
// rule that tells an in-place re-offer from a new connection, the msid -> member mapping of
// relayed tracks, and the decisions that keep the call up while the topology switches.
import { describe, expect, it, vi } from "vitest";
import { RelayLink, msidMembers, sameConnection, sdpFingerprint, switchPlan, trackMember } from "../src/call/relay.js";

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

  it("keeps a mesh connection until the relay connection is up and carries that member's media", () => {
    const all = ["ana", "bo"];
    for (const relay of [null, "connecting", "failed"]) expect(switchPlan({ mode: "relay", relay, peers, others: all, carried: all })).toEqual({ closeMesh: [], closeRelay: false });
    expect(switchPlan({ mode: "relay", relay: "connected", peers, others: [...all, "cy"], carried: [] })).toEqual({ closeMesh: [], closeRelay: false });
    expect(switchPlan({ mode: "relay", relay: "connected", peers, others: [...all, "cy"], carried: ["bo", "cy"] })).toEqual({ closeMesh: ["bo"], closeRelay: false });
    expect(switchPlan({ mode: "relay", relay: "connected", peers, others: [...all, "cy"], carried: [...all, "cy"] })).toEqual({ closeMesh: all, closeRelay: false });
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

// ---- RelayLink with a fake RTCPeerConnection -------------------------------------------

class FakePC {
  constructor(config) {
    this.config = config;
    this.remote = [];
    this.tracks = [];
    this.closed = false;
    this.connectionState = "new";
    this.iceConnectionState = "new";
    this.signalingState = "stable";
    FakePC.made.push(this);
  }
  async setRemoteDescription(d) {
    this.remote.push(d.sdp);
    this.signalingState = "have-remote-offer";
  }
  addTrack(track) {
    this.tracks.push(track);
  }
  async createAnswer() {
    return { type: "answer", sdp: `answer ${this.remote.length}` };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
    this.signalingState = "stable";
  }
  async addIceCandidate(c) {
    this.candidates = [...(this.candidates || []), c];
  }
  close() {
    this.closed = true;
  }
}
FakePC.made = [];

function relayHost() {
  const sent = [];
  const local = { getTracks: () => ["mic", "cam"] };
  class Stream {
    constructor() {
      this.tracks = [];
    }
    getTracks() {
      return this.tracks;
    }
    addTrack(t) {
      this.tracks.push(t);
    }
  }
  const host = { conn: { ice: [], sendSignal: (m) => m.sdp !== "too big" && sent.push(m) > 0 }, _PC: FakePC, _MediaStream: Stream, _connectTimeout: 60000, local, changes: 0 };
  host._changed = () => host.changes++;
  host.settled = 0;
  host._settle = () => host.settled++;
  return { host, sent, link: new RelayLink(host) };
}

const settled = (link) => link.peer.chain;

describe("RelayLink", () => {
  it("answers the first offer on a new connection with the local tracks", async () => {
    FakePC.made = [];
    const { link, sent } = relayHost();
    link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"], ["1", null, "video"]]) });
    await settled(link);
    expect(FakePC.made).toHaveLength(1);
    expect(FakePC.made[0].tracks).toEqual(["mic", "cam"]);
    expect(sent).toEqual([{ t: "signal", to: "", kind: "answer", sdp: "answer 1" }]);
  });

  it("applies a re-offer with the same fingerprint in place, a new one on a new connection", async () => {
    FakePC.made = [];
    const { link, sent } = relayHost();
    link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"], ["1", null, "video"]]) });
    link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"], ["1", null, "video"], ["2", "cy cy:audio"]]) });
    await settled(link);
    expect(FakePC.made).toHaveLength(1); // in place: same connection, tracks added once
    const pc = FakePC.made[0];
    expect(pc.remote).toHaveLength(2);
    expect(pc.tracks).toEqual(["mic", "cam"]);
    expect(link.mids.get("2")).toBe("cy");
    expect(sent.map((m) => m.sdp)).toEqual(["answer 1", "answer 2"]);

    link.signal({ from: "", kind: "offer", sdp: offer(FP2, [["0"], ["1", null, "video"], ["2", "cy cy:audio"]]) });
    await settled(link);
    expect(FakePC.made).toHaveLength(2); // another certificate: the relay started over
    expect(pc.closed).toBe(true);
    expect(FakePC.made[1].tracks).toEqual(["mic", "cam"]);
    expect(sent.filter((m) => m.kind === "bye")).toEqual([]); // the relay closed the old one itself
  });

  it("shows relayed tracks per member by msid, and forgets members who left the roster", async () => {
    FakePC.made = [];
    const { link, host } = relayHost();
    link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"], ["1", null, "video"], ["2", "ana ana:audio"], ["3", "bo bo:audio"]]) });
    await settled(link);
    const pc = FakePC.made[0];
    const anaStream = { id: "ana", tracks: [], getTracks() { return this.tracks; }, addTrack(t) { this.tracks.push(t); } };
    const a1 = { muted: true };
    const b1 = { muted: true };
    pc.ontrack({ track: a1, streams: [anaStream], transceiver: { mid: "2" } });
    pc.ontrack({ track: b1, streams: [], transceiver: { mid: "3" } }); // no stream: by the m-line's msid
    expect(link.streams.get("ana")).toBe(anaStream);
    expect(anaStream.tracks).toEqual([a1]);
    expect(link.streams.get("bo").getTracks()).toEqual([b1]);
    expect(link.carried()).toEqual([]); // no packets yet: remote tracks start muted
    b1.muted = false;
    b1.onunmute();
    expect(link.carried()).toEqual(["bo"]);
    expect(host.settled).toBe(1);
    expect(host.changes).toBeGreaterThan(0);
    link.prune(["ana", "me"]);
    expect([...link.streams.keys()]).toEqual(["ana"]);
  });

  it("queues the relay's candidates until its offer is applied, and a bye closes the connection", async () => {
    FakePC.made = [];
    const { link } = relayHost();
    link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"]]) });
    link.signal({ from: "", kind: "candidate", candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", mid: "0", mline: 0 });
    await settled(link);
    expect(FakePC.made[0].candidates).toEqual([{ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 }]);
    link.signal({ from: "", kind: "bye" });
    expect(FakePC.made[0].closed).toBe(true);
    expect(link.state).toBeNull();
  });

  it("fails the relay connection when its answer cannot be sent (past max_sdp_bytes)", async () => {
    FakePC.made = [];
    const { link } = relayHost();
    const createAnswer = FakePC.prototype.createAnswer;
    FakePC.prototype.createAnswer = async () => ({ type: "answer", sdp: "too big" });
    try {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      link.signal({ from: "", kind: "offer", sdp: offer(FP1, [["0"]]) });
      await settled(link);
      expect(link.state).toBe("failed");
      expect(warn).toHaveBeenCalled();
      warn.mockRestore();
    } finally {
      FakePC.prototype.createAnswer = createAnswer;
    }
  });

  it("says failed when relay mode waits for an offer that never comes", () => {
    vi.useFakeTimers();
    try {
      const { link } = relayHost();
      link.expect();
      expect(link.state).toBeNull();
      vi.advanceTimersByTime(60000);
      expect(link.state).toBe("failed");
      link.close(false);
      expect(link.state).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
