// The room's call in the browser (protocol/SPEC.md section 14). Mesh mode: one
// RTCPeerConnection per other participant, signaled over the room connection; relay mode
// (`call {mode: relay}`): one connection to the server's relay (relay.js).
//
// Joining asks for the camera and/or microphone (getUserMedia), then sends `call.join`;
// the server's `call` roster says who is in the call in join order, and of two
// participants the one that joined later sends the offer. ICE servers come from
// `welcome.ice`; candidates trickle as `signal candidate` (`""` = end of candidates);
// leaving sends `bye` to every peer and `call.leave`. Mute and camera switch the local
// tracks on or off (no renegotiation) and go to the room as `call.state`; a WebAudio level
// meter on the local microphone sends `speaking` (throttled). A switch between mesh and
// relay keeps the old connections until the new ones are up (relay.js switchPlan). All
// browser APIs come from `env` (tests).

import { call } from "../core/protocol.js";
import { CONNECT_TIMEOUT_MS, addTracks, answerOffer, closePeer, enqueue, flushCandidates, openPeer, remoteCandidate } from "./peer.js";
import { RELAY, RelayLink, switchPlan } from "./relay.js";
import { SpeakingDetector, Throttle, callStatus, mediaError } from "./status.js";

// The level is the loudest ~10 ms block of the last ~85 ms (4096 samples at 48 kHz), read
// every 80 ms: windows overlap, so a short sound (a word's onset, Chromium's 20 ms fake
// beep) is never missed between two reads, as it was with one 10 ms window every 100 ms.
const LEVEL_EVERY_MS = 80;
const LEVEL_WINDOW = 4096;
const LEVEL_BLOCK = 512;
const SPEAKING_MIN_MS = 500; // at most two `speaking` changes a second

export class CallMesh {
  /**
   * @param {import("../core/connection.js").RoomConnection} conn
   * @param {object} [env]  {mediaDevices, RTCPeerConnection, AudioContext, MediaStream,
   *   connectTimeoutMs}
   */
  constructor(conn, env = {}) {
    this.conn = conn;
    const nav = globalThis.navigator;
    this._media = env.mediaDevices !== undefined ? env.mediaDevices : nav && nav.mediaDevices;
    this._PC = env.RTCPeerConnection || globalThis.RTCPeerConnection;
    this._AudioContext = env.AudioContext || globalThis.AudioContext || globalThis.webkitAudioContext;
    this._MediaStream = env.MediaStream || globalThis.MediaStream;
    this._connectTimeout = env.connectTimeoutMs || CONNECT_TIMEOUT_MS;
    this.wanted = { audio: true, video: true }; // what the last join asked for
    this.phase = "idle"; // idle | starting | denied | nodevice | joined
    this.local = null; // MediaStream
    this.audio = false;
    this.video = false;
    this.muted = false;
    this.camera = false;
    this.speaking = false;
    this.level = 0;
    this.mode = "mesh";
    this.members = []; // the roster: member ids in join order
    this.peers = new Map(); // mesh: member -> {member, pc, state, stream, remoteSet, queued, chain, tracksAdded}
    this.relay = new RelayLink(this); // relay mode: the one connection to the server's relay
    this._handlers = new Set();
    this._level = null; // {ctx, analyser, buf, timer}
    this._speak = new SpeakingDetector();
    this._speakSend = new Throttle(SPEAKING_MIN_MS, (speaking) => this.conn.setCallState({ speaking }));
    this._unsubs = [
      conn.on("call", (info) => this._onCall(info)),
      conn.on("signal", (msg) => this._onSignal(msg)),
      conn.on("closed", () => this.leave()),
    ];
  }

  /** Subscribe to any change (phase, roster, a peer's state or stream, speaking). */
  onChange(fn) {
    this._handlers.add(fn);
    return () => this._handlers.delete(fn);
  }

  _changed() {
    for (const fn of [...this._handlers]) {
      try {
        fn(this);
      } catch (err) {
        console.error("cosession call: change handler failed", err);
      }
    }
  }

  /** {state, failed}: see status.js callStatus. */
  get status() {
    const peers = [...this.peers.values()].map((p) => ({ member: p.member, state: p.state }));
    const others = this.members.filter((m) => m !== this.conn.member).length;
    return callStatus({ phase: this.phase, mode: this.mode, ice: this.conn.ice, peers, relay: this.relay.state, others });
  }

  /** A participant's media and link: through the relay once it carries them (or when no
   * mesh connection to them is left), else through the mesh connection. */
  remote(member) {
    const peer = this.peers.get(member);
    const relay = this.relay;
    if (relay.peer && (!peer || (relay.state === "connected" && relay.streams.has(member)))) {
      return { stream: relay.streams.get(member) || null, state: relay.state };
    }
    if (peer) return { stream: peer.stream, state: peer.state };
    return { stream: null, state: this.mode === "relay" && relay.state === "failed" ? "failed" : "connecting" };
  }

  // ---- joining and leaving --------------------------------------------------------------

  async join({ audio = true, video = true } = {}) {
    if (this.phase === "starting" || this.phase === "joined") return;
    this.wanted = { audio, video };
    this.phase = "starting";
    this._changed();
    let stream;
    try {
      if (!this._media || !this._media.getUserMedia) throw Object.assign(new Error("no media devices"), { name: "NotAllowedError" });
      stream = await this._getMedia(audio, video);
    } catch (err) {
      if (this.phase === "starting") {
        this.phase = mediaError(err);
        this._changed();
      }
      return;
    }
    if (this.phase !== "starting") {
      for (const track of stream.getTracks()) track.stop(); // left while asking
      return;
    }
    this.local = stream;
    this.audio = stream.getAudioTracks().length > 0;
    this.video = stream.getVideoTracks().length > 0;
    this.muted = false;
    this.camera = this.video;
    this.phase = "joined";
    this._startLevel();
    this.conn.joinCall(this.audio, this.video);
    this._changed();
  }

  /** The camera and microphone asked for; with no camera, the microphone alone. */
  async _getMedia(audio, video) {
    const want = { audio, video: video ? { width: { ideal: 640 }, height: { ideal: 480 } } : false };
    try {
      return await this._media.getUserMedia(want);
    } catch (err) {
      if (!(video && audio && mediaError(err) === "nodevice")) throw err;
      return await this._media.getUserMedia({ audio: true, video: false });
    }
  }

  leave() {
    if (this.phase === "idle") return;
    const joined = this.phase === "joined";
    for (const peer of this.peers.values()) {
      if (joined) this.conn.sendSignal(call.bye(peer.member));
      closePeer(peer);
    }
    this.peers.clear();
    this.relay.close(joined && this.mode === "relay");
    this._stopLevel();
    if (this.local) for (const track of this.local.getTracks()) track.stop();
    this.local = null;
    if (joined) this.conn.leaveCall();
    this.phase = "idle";
    this.mode = "mesh";
    this.members = [];
    this.speaking = false;
    this._speakSend.reset();
    this._changed();
  }

  /** Back to idle after a refusal (the UI's "try again" goes through join()). */
  dismiss() {
    if (this.phase === "denied" || this.phase === "nodevice") {
      this.phase = "idle";
      this._changed();
    }
  }

  destroy() {
    this.leave();
    for (const u of this._unsubs) u();
    this._handlers.clear();
  }

  // ---- mute and camera ------------------------------------------------------------------

  setMuted(muted) {
    if (this.phase !== "joined" || !this.audio) return;
    this.muted = !!muted;
    for (const track of this.local.getAudioTracks()) track.enabled = !this.muted;
    const changes = { muted: this.muted };
    if (this.muted && this.speaking) {
      this.speaking = false;
      this._speakSend.sentValue = false;
      changes.speaking = false;
    }
    this.conn.setCallState(changes);
    this._changed();
  }

  setCamera(on) {
    if (this.phase !== "joined" || !this.video) return;
    this.camera = !!on;
    for (const track of this.local.getVideoTracks()) track.enabled = this.camera;
    this.conn.setCallState({ camera: this.camera });
    this._changed();
  }

  // ---- the roster -----------------------------------------------------------------------

  _onCall(info) {
    if (this.phase !== "joined") return;
    this.mode = info.mode;
    this.members = [...info.members];
    const me = this.conn.member;
    const mine = this.members.indexOf(me);
    for (const [member, peer] of [...this.peers]) {
      if (!this.members.includes(member)) {
        closePeer(peer);
        this.peers.delete(member);
      }
    }
    this.relay.prune(this.members);
    // relay mode: the relay offers; the mesh connections stay until its connection is up
    if (this.mode === "relay" && mine >= 0) this.relay.expect();
    if (this.mode === "mesh" && mine >= 0) {
      this.members.forEach((member, i) => {
        if (member === me || this.peers.has(member)) return;
        const peer = this._makePeer(member);
        if (mine > i) this._enqueue(peer, () => this._offer(peer)); // the later joiner offers
      });
    }
    this._settle();
    this._changed();
  }

  /** Close what a switch of topology left behind, once its replacement is up. */
  _settle() {
    if (this.phase !== "joined") return;
    const peers = [...this.peers.values()].map((p) => ({ member: p.member, state: p.state }));
    const others = this.members.filter((m) => m !== this.conn.member);
    const plan = switchPlan({ mode: this.mode, relay: this.relay.state, peers, others, carried: this.relay.carried() });
    for (const member of plan.closeMesh) {
      this.conn.sendSignal(call.bye(member));
      closePeer(this.peers.get(member));
      this.peers.delete(member);
    }
    if (plan.closeRelay) this.relay.close(false); // mesh mode: the relay let us go already
    if (plan.closeMesh.length || plan.closeRelay) this._changed();
  }

  // ---- peer connections -----------------------------------------------------------------

  _makePeer(member) {
    const peer = openPeer(this, member, {
      current: (p) => this.peers.get(member) === p,
      track: (p, ev) => {
        if (!p.stream) p.stream = ev.streams && ev.streams[0] ? ev.streams[0] : new this._MediaStream();
        if (!p.stream.getTracks().includes(ev.track)) p.stream.addTrack(ev.track);
        this._changed();
      },
      state: () => this._settle(),
    });
    this.peers.set(member, peer);
    return peer;
  }

  async _offer(peer) {
    const pc = peer.pc;
    addTracks(peer, this.local);
    // receive what we do not send, so an audio-only caller still gets the others' video
    if (!this.audio) pc.addTransceiver("audio", { direction: "recvonly" });
    if (!this.video) pc.addTransceiver("video", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    this.conn.sendSignal(call.offer(peer.member, pc.localDescription.sdp));
  }

  /** Run `step` after the peer's earlier signals (an answer before its candidates). */
  _enqueue(peer, step) {
    enqueue(peer, step, (err) => {
      if (this.peers.get(peer.member) !== peer) return;
      console.warn("cosession call: signaling with", peer.member, "failed", err);
      peer.state = "failed";
      this._changed();
    });
  }

  _onSignal(msg) {
    if (this.phase !== "joined") return;
    if (msg.from === RELAY) {
      this.relay.signal(msg);
      return;
    }
    let peer = this.peers.get(msg.from);
    if (msg.kind === "bye") {
      if (peer) {
        closePeer(peer);
        this.peers.delete(msg.from);
        this._changed();
      }
      return;
    }
    if (msg.kind === "offer" && peer && peer.pc.signalingState === "have-local-offer" && this.conn.member < msg.from) {
      return; // both offered (a cluster's nodes ordered two joins differently): the smaller id's offer wins
    }
    if (msg.kind === "offer" && peer && (peer.remoteSet || peer.pc.signalingState !== "stable")) {
      closePeer(peer); // a fresh offer (the peer started over, or won a glare): a fresh connection
      this.peers.delete(msg.from);
      peer = null;
    }
    if (!peer && msg.kind === "offer") peer = this._makePeer(msg.from);
    if (!peer) return;
    this._enqueue(peer, () => this._handle(peer, msg));
  }

  async _handle(peer, msg) {
    const pc = peer.pc;
    if (msg.kind === "offer") await answerOffer(this, peer, msg.sdp);
    else if (msg.kind === "answer") {
      if (pc.signalingState !== "have-local-offer") return;
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      peer.remoteSet = true;
      await flushCandidates(peer);
    } else if (msg.kind === "candidate") await remoteCandidate(peer, msg);
  }

  // ---- speaking -------------------------------------------------------------------------

  _startLevel() {
    const track = this.local && this.local.getAudioTracks()[0];
    if (!track || !this._AudioContext) return;
    try {
      const ctx = new this._AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = LEVEL_WINDOW;
      ctx.createMediaStreamSource(new this._MediaStream([track])).connect(analyser);
      if (ctx.state === "suspended" && ctx.resume) ctx.resume().catch(() => {});
      const buf = new Float32Array(analyser.fftSize);
      const timer = setInterval(() => this._measure(), LEVEL_EVERY_MS);
      this._level = { ctx, analyser, buf, timer };
    } catch (err) {
      console.warn("cosession call: no level meter", err); // the call works without it
    }
  }

  _measure() {
    const m = this._level;
    if (!m) return;
    m.analyser.getFloatTimeDomainData(m.buf);
    this.level = loudestBlock(m.buf);
    const now = Date.now();
    const speaking = !this.muted && this._speak.update(this.level, now);
    if (speaking !== this.speaking) {
      this.speaking = speaking;
      this._changed();
    }
    this._speakSend.offer(speaking, now); // held back now: offered again on the next tick
  }

  _stopLevel() {
    const m = this._level;
    this._level = null;
    if (!m) return;
    clearInterval(m.timer);
    m.ctx.close().catch(() => {});
  }
}

/** RMS of the loudest LEVEL_BLOCK-sample block of `buf` (0..1). */
export function loudestBlock(buf) {
  let loudest = 0;
  for (let start = 0; start < buf.length; start += LEVEL_BLOCK) {
    const end = Math.min(buf.length, start + LEVEL_BLOCK);
    let sum = 0;
    for (let i = start; i < end; i++) sum += buf[i] * buf[i];
    loudest = Math.max(loudest, Math.sqrt(sum / (end - start)));
  }
  return loudest;
}
