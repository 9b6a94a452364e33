// One RTCPeerConnection of the call, and the steps both topologies share (mesh.js: one per
// other participant; relay.js: one to the server's relay, address ""): trickled ICE
// candidates go out as `signal candidate` (`""` = end of candidates), signaling steps run
// in order on a per-peer chain, candidates wait until the remote description is set, and
// the connection's state ("connecting" | "connected" | "failed") has a connect timeout.

import { call } from "../core/protocol.js";
import { iceServers } from "./status.js";

// A peer not connected this long is unreachable: with no usable candidate pair (a relay
// needed and none configured) ICE may stay "checking" for ever instead of failing.
export const CONNECT_TIMEOUT_MS = 20000;

/**
 * @param {object} host  the call: {conn, _PC, _connectTimeout, _changed()}
 * @param {string} to  where this peer's signals go (a member id, or "" for the relay)
 * @param {object} hooks  {current(peer) -> bool, track(peer, ev), state(peer)?}
 */
export function openPeer(host, to, hooks) {
  const pc = new host._PC({ iceServers: iceServers(host.conn.ice) });
  const peer = { member: to, pc, state: "connecting", stream: null, remoteSet: false, queued: [], chain: Promise.resolve(), tracksAdded: false, timedOut: false };
  const update = () => {
    const c = pc.connectionState;
    const ice = pc.iceConnectionState;
    let state = c === "failed" || c === "closed" || ice === "failed" ? "failed" : c === "connected" || ice === "connected" || ice === "completed" ? "connected" : "connecting";
    if (state === "connecting" && peer.timedOut) state = "failed"; // it may still connect later
    if (state !== peer.state && hooks.current(peer)) {
      peer.state = state;
      if (hooks.state) hooks.state(peer);
      host._changed();
    }
  };
  peer.timer = setTimeout(() => {
    peer.timedOut = true;
    update();
  }, host._connectTimeout || CONNECT_TIMEOUT_MS);
  pc.onicecandidate = (ev) => {
    const c = ev.candidate;
    if (!hooks.current(peer)) return;
    if (c && c.candidate) host.conn.sendSignal(call.candidate(to, c.candidate, c.sdpMid, c.sdpMLineIndex));
    else if (!c) host.conn.sendSignal(call.candidate(to, ""));
  };
  pc.ontrack = (ev) => {
    if (hooks.current(peer)) hooks.track(peer, ev);
  };
  pc.onconnectionstatechange = update;
  pc.oniceconnectionstatechange = update;
  return peer;
}

/** Run `step` after the peer's earlier signals (an answer before its candidates); `failed(err)`
 * when it throws. */
export function enqueue(peer, step, failed) {
  peer.chain = peer.chain.then(step).catch(failed);
}

/** Our local tracks on the peer, once (after a remote offer they take its transceivers). */
export function addTracks(peer, local) {
  if (peer.tracksAdded || !local) return;
  peer.tracksAdded = true;
  for (const track of local.getTracks()) peer.pc.addTrack(track, local);
}

/** Apply a remote offer and send the answer (then the candidates that waited for it). */
export async function answerOffer(host, peer, sdp) {
  const pc = peer.pc;
  await pc.setRemoteDescription({ type: "offer", sdp });
  peer.remoteSet = true;
  addTracks(peer, host.local);
  await pc.setLocalDescription(await pc.createAnswer());
  // refused before sending only when invalid: an answer past max_sdp_bytes (a big relay call)
  if (!host.conn.sendSignal(call.answer(peer.member, pc.localDescription.sdp))) throw new Error("answer too large to send");
  await flushCandidates(peer);
}

/** A remote candidate: applied, or queued until the remote description is set. */
export async function remoteCandidate(peer, msg) {
  if (!peer.remoteSet) {
    peer.queued.push(msg);
    return;
  }
  try {
    if (!msg.candidate) await peer.pc.addIceCandidate();
    else {
      const mline = msg.mline ?? (msg.mid == null ? 0 : null);
      await peer.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.mid ?? null, sdpMLineIndex: mline });
    }
  } catch (err) {
    console.warn("cosession call: candidate refused", err); // one bad candidate is not fatal
  }
}

export async function flushCandidates(peer) {
  const queued = peer.queued;
  peer.queued = [];
  for (const msg of queued) await remoteCandidate(peer, msg);
}

export function closePeer(peer) {
  clearTimeout(peer.timer);
  const pc = peer.pc;
  pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
  try {
    pc.close();
  } catch {
    // already closed
  }
}
