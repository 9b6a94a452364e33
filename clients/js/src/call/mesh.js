// The room's call in the browser, mesh mode (protocol/SPEC.md section 14): one
// RTCPeerConnection per other participant, signaled over the room connection.
//
// Joining asks for the camera and/or microphone (getUserMedia), then sends `call.join`;
// the server's `call` roster says who is in the call in join order, and of two
// participants the one that joined later sends the offer. ICE servers come from
// `welcome.ice`; candidates trickle as `signal candidate` (`""` = end of candidates);
// leaving sends `bye` to every peer and `call.leave`. Mute and camera switch the local
// tracks on or off (no renegotiation) and go to the room as `call.state`; a WebAudio level
// meter on the local microphone sends `speaking` (throttled). When the server asks for its
// relay (`call {mode: relay}`) and this build has no path to it, the existing peer
// connections are kept and the state says so. All browser APIs come from `env` (tests).

import { call } from "../core/protocol.js";
import { SpeakingDetector, Throttle, callStatus, iceServers, mediaError } from "./status.js";

// The level is the loudest ~10 ms block of the last ~85 ms (4096 samples at 48 kHz), read
// every 80 ms: windows overlap, so a short sound (a word's onset, Chromium's 20 ms fake
// beep) is never missed between two reads, as it was with one 10 ms window every 100 ms.
const LEVEL_EVERY_MS = 80;
const LEVEL_WINDOW = 4096;
const LEVEL_BLOCK = 512;
const SPEAKING_MIN_MS = 500; // at most two `speaking` changes a second
// A peer not connected this long is unreachable: with no usable candidate pair (a relay
// needed and none configured) ICE may stay "checking" for ever instead of failing.
const CONNECT_TIMEOUT_MS = 20000;

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
    this.relayAvailable = false; // the server's relay (aiortc) has no client path yet
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
    this.peers = new Map(); // member -> {member, pc, state, stream, remoteSet, queued, chain, tracksAdded}
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
    return callStatus({ phase: this.phase, mode: this.mode, ice: this.conn.ice, peers, relayAvailable: this.relayAvailable });
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
      this._close(peer);
    }
    this.peers.clear();
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
        this._close(peer);
        this.peers.delete(member);
      }
    }
    // in relay mode without a relay, keep the connections there are, open no new ones
    if (this.mode === "mesh" && mine >= 0) {
      this.members.forEach((member, i) => {
        if (member === me || this.peers.has(member)) return;
        const peer = this._makePeer(member);
        if (mine > i) this._enqueue(peer, () => this._offer(peer)); // the later joiner offers
      });
    }
    this._changed();
  }

  // ---- peer connections -----------------------------------------------------------------

  _makePeer(member) {
    const pc = new this._PC({ iceServers: iceServers(this.conn.ice) });
    const peer = { member, pc, state: "connecting", stream: null, remoteSet: false, queued: [], chain: Promise.resolve(), tracksAdded: false };
    this.peers.set(member, peer);
    peer.timer = setTimeout(() => {
      peer.timedOut = true;
      update();
    }, this._connectTimeout);
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (this.peers.get(member) !== peer) return;
      if (c && c.candidate) this.conn.sendSignal(call.candidate(member, c.candidate, c.sdpMid, c.sdpMLineIndex));
      else if (!c) this.conn.sendSignal(call.candidate(member, ""));
    };
    pc.ontrack = (ev) => {
      if (!peer.stream) peer.stream = ev.streams && ev.streams[0] ? ev.streams[0] : new this._MediaStream();
      if (!peer.stream.getTracks().includes(ev.track)) peer.stream.addTrack(ev.track);
      this._changed();
    };
    const update = () => {
      const c = pc.connectionState;
      const ice = pc.iceConnectionState;
      let state = c === "failed" || ice === "failed" ? "failed" : c === "connected" || ice === "connected" || ice === "completed" ? "connected" : "connecting";
      if (state === "connecting" && peer.timedOut) state = "failed"; // it may still connect later
      if (state !== peer.state && this.peers.get(member) === peer) {
        peer.state = state;
        this._changed();
      }
    };
    pc.onconnectionstatechange = update;
    pc.oniceconnectionstatechange = update;
    return peer;
  }

  _addTracks(peer) {
    if (peer.tracksAdded || !this.local) return;
    peer.tracksAdded = true;
    for (const track of this.local.getTracks()) peer.pc.addTrack(track, this.local);
  }

  async _offer(peer) {
    const pc = peer.pc;
    this._addTracks(peer);
    // receive what we do not send, so an audio-only caller still gets the others' video
    if (!this.audio) pc.addTransceiver("audio", { direction: "recvonly" });
    if (!this.video) pc.addTransceiver("video", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    this.conn.sendSignal(call.offer(peer.member, pc.localDescription.sdp));
  }

  /** Run `step` after the peer's earlier signals (an answer before its candidates). */
  _enqueue(peer, step) {
    peer.chain = peer.chain.then(step).catch((err) => {
      if (this.peers.get(peer.member) !== peer) return;
      console.warn("cosession call: signaling with", peer.member, "failed", err);
      peer.state = "failed";
      this._changed();
    });
  }

  _onSignal(msg) {
    if (this.phase !== "joined" || !msg.from) return; // "" is the relay: no path to it here
    let peer = this.peers.get(msg.from);
    if (msg.kind === "bye") {
      if (peer) {
        this._close(peer);
        this.peers.delete(msg.from);
        this._changed();
      }
      return;
    }
    if (msg.kind === "offer" && peer && peer.pc.signalingState === "have-local-offer" && this.conn.member < msg.from) {
      return; // both offered (a cluster's nodes ordered two joins differently): the smaller id's offer wins
    }
    if (msg.kind === "offer" && peer && (peer.remoteSet || peer.pc.signalingState !== "stable")) {
      this._close(peer); // a fresh offer (the peer started over, or won a glare): a fresh connection
      this.peers.delete(msg.from);
      peer = null;
    }
    if (!peer && msg.kind === "offer") peer = this._makePeer(msg.from);
    if (!peer) return;
    this._enqueue(peer, () => this._handle(peer, msg));
  }

  async _handle(peer, msg) {
    const pc = peer.pc;
    if (msg.kind === "offer") {
      await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      peer.remoteSet = true;
      this._addTracks(peer); // after the offer: our tracks take its transceivers
      await pc.setLocalDescription(await pc.createAnswer());
      this.conn.sendSignal(call.answer(peer.member, pc.localDescription.sdp));
      await this._flushCandidates(peer);
    } else if (msg.kind === "answer") {
      if (pc.signalingState !== "have-local-offer") return;
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      peer.remoteSet = true;
      await this._flushCandidates(peer);
    } else if (msg.kind === "candidate") {
      if (peer.remoteSet) await this._candidate(pc, msg);
      else peer.queued.push(msg);
    }
  }

  async _flushCandidates(peer) {
    const queued = peer.queued;
    peer.queued = [];
    for (const msg of queued) await this._candidate(peer.pc, msg);
  }

  async _candidate(pc, msg) {
    try {
      if (!msg.candidate) await pc.addIceCandidate();
      else {
        const mline = msg.mline ?? (msg.mid == null ? 0 : null);
        await pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.mid ?? null, sdpMLineIndex: mline });
      }
    } catch (err) {
      console.warn("cosession call: candidate refused", err); // one bad candidate is not fatal
    }
  }

  _close(peer) {
    clearTimeout(peer.timer);
    const pc = peer.pc;
    pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
    try {
      pc.close();
    } catch {
      // already closed
    }
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
