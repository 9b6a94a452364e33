// The call through the server's relay (protocol/SPEC.md section 14.6, `relay` mode): ONE
// RTCPeerConnection to the relay (signal address ""). The relay always offers; we answer
// with our microphone and camera and trickle our candidates. Each further m-line forwards
// one track of another participant, labelled by its msid: stream id = that member's id.
//
// The relay re-offers when the roster changes. An offer whose DTLS certificate
// (`a=fingerprint`) equals that of its previous offer on our current relay connection
// continues that connection: it is applied in place (setRemoteDescription + answer), and
// the others' media keeps flowing. Any other offer is a new connection: the old one is
// closed (no `bye`: the relay closed it already) and the offer answered on a new one.
//
// Switching topology never drops the call: on mesh -> relay the mesh connection to a
// member stays until that member's media arrives through the relay (then both ends of it
// are on the relay: closing it cuts nobody off), on relay -> mesh the relay connection
// stays until every mesh connection is up (`switchPlan`, pure).

import { call } from "../core/protocol.js";
import { answerOffer, closePeer, enqueue, openPeer, remoteCandidate } from "./peer.js";

export const RELAY = "";

/** The DTLS certificate fingerprints of an SDP (`a=fingerprint:` lines, session or media
 * level), normalised and sorted: equal for two offers of one peer connection. */
export function sdpFingerprint(sdp) {
  const found = new Set();
  for (const line of String(sdp || "").split(/\r?\n/)) {
    const m = /^a=fingerprint:\s*(\S+)\s+(\S+)/i.exec(line.trim());
    if (m) found.add(`${m[1].toLowerCase()} ${m[2].toUpperCase()}`);
  }
  return [...found].sort().join(",");
}

/** Whether an offer continues the connection whose last offer had `previous` fingerprints. */
export function sameConnection(previous, sdp) {
  const now = sdpFingerprint(sdp);
  return !!previous && now === previous;
}

/** mid -> member id, from the `a=msid:<stream id> <track id>` of each m-line of an SDP. */
export function msidMembers(sdp) {
  const out = new Map();
  for (const section of String(sdp || "").split(/\r?\nm=/).slice(1)) {
    const mid = /^a=mid:(\S+)/m.exec(section);
    const msid = /^a=msid:(\S+)/m.exec(section);
    if (mid && msid && msid[1] !== "-") out.set(mid[1], msid[1]);
  }
  return out;
}

/** Whose media a relayed track is: its stream id, else its m-line's msid. */
export function trackMember(ev, mids) {
  const stream = ev.streams && ev.streams[0];
  if (stream && stream.id && stream.id !== "-") return stream.id;
  const mid = ev.transceiver && ev.transceiver.mid;
  return (mid != null && mids.get(mid)) || null;
}

/**
 * What to close after a change, so a switch of topology does not drop the call.
 * @param {object} f  {mode, relay: relay state or null, peers: [{member, state}], others: member ids,
 *   carried: the members whose media arrives through the relay}
 * @returns {{closeMesh: string[], closeRelay: boolean}}
 */
export function switchPlan(f) {
  if (f.mode === "relay") {
    const closeMesh = f.relay === "connected" ? f.peers.map((p) => p.member).filter((m) => f.carried.includes(m)) : [];
    return { closeMesh, closeRelay: false };
  }
  const meshUp = f.others.every((m) => f.peers.some((p) => p.member === m && p.state === "connected"));
  return { closeMesh: [], closeRelay: f.relay != null && (meshUp || f.relay === "failed") };
}

/** Our connection to the relay, for a CallMesh (`host`). */
export class RelayLink {
  constructor(host) {
    this.host = host;
    this.peer = null;
    this.fingerprint = "";
    this.mids = new Map(); // mid -> member, from the current offer
    this.streams = new Map(); // member -> MediaStream of their relayed tracks
    this._wait = null; // the connect timeout while no offer came yet
    this._noOffer = false;
  }

  /** null (none), or the peer's state; "failed" when no offer came within the timeout. */
  get state() {
    return this.peer ? this.peer.state : this._noOffer ? "failed" : null;
  }

  get pc() {
    return this.peer && this.peer.pc;
  }

  /** The members whose media arrives through the relay (a track of theirs got packets:
   * remote tracks start muted and unmute at the first RTP packet). */
  carried() {
    const out = [];
    for (const [member, stream] of this.streams) if (stream.getTracks().some((t) => t.muted === false)) out.push(member);
    return out;
  }

  /** The call is in relay mode: the relay's offer should come. */
  expect() {
    if (this.peer || this._wait || this._noOffer) return;
    this._wait = setTimeout(() => {
      this._wait = null;
      this._noOffer = true;
      this.host._changed();
    }, this.host._connectTimeout);
  }

  /** A signal from the relay. */
  signal(msg) {
    if (msg.kind === "offer") this._offer(msg.sdp);
    else if (msg.kind === "bye") {
      this.close(false);
      this.host._changed();
    } else if (msg.kind === "candidate" && this.peer) {
      const peer = this.peer;
      enqueue(peer, () => remoteCandidate(peer, msg), (err) => this._failed(peer, err));
    }
  }

  _offer(sdp) {
    if (!(this.peer && sameConnection(this.fingerprint, sdp))) {
      this.close(false);
      this.peer = openPeer(this.host, RELAY, {
        current: (p) => this.peer === p,
        track: (p, ev) => this._track(ev),
        state: () => this.host._settle(),
      });
    }
    clearTimeout(this._wait);
    this._wait = null;
    this.fingerprint = sdpFingerprint(sdp);
    const peer = this.peer;
    enqueue(
      peer,
      async () => {
        this.mids = msidMembers(sdp);
        await answerOffer(this.host, peer, sdp);
      },
      (err) => this._failed(peer, err),
    );
  }

  _track(ev) {
    const member = trackMember(ev, this.mids);
    if (member == null) return;
    let stream = this.streams.get(member);
    const given = ev.streams && ev.streams[0];
    if (!stream) {
      stream = given || new this.host._MediaStream();
      this.streams.set(member, stream);
    }
    if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
    ev.track.onunmute = () => {
      this.host._settle();
      this.host._changed();
    };
    this.host._changed();
  }

  _failed(peer, err) {
    if (this.peer !== peer) return;
    console.warn("cosession call: signaling with the relay failed", err);
    peer.state = "failed";
    this.host._changed();
  }

  /** Forget the media of members who left the roster. */
  prune(members) {
    for (const member of [...this.streams.keys()]) if (!members.includes(member)) this.streams.delete(member);
  }

  /** Close the relay connection (`bye` tells the relay, while it still serves us). */
  close(bye) {
    clearTimeout(this._wait);
    this._wait = null;
    this._noOffer = false;
    const peer = this.peer;
    this.peer = null;
    this.fingerprint = "";
    this.streams.clear();
    this.mids = new Map();
    if (!peer) return;
    if (bye) this.host.conn.sendSignal(call.bye(RELAY));
    closePeer(peer);
  }
}
