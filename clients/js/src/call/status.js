// What the call UI should say, derived from the call's facts (pure: no browser API), and
// the ICE configuration built from `welcome.ice` (SPEC section 14.7).

/** RTCIceServer list from `welcome.ice` ([{urls, username?, credential?}]). */
export function iceServers(ice) {
  return (ice || []).map((s) => {
    const out = { urls: [...s.urls] };
    if (s.username != null) out.username = s.username;
    if (s.credential != null) out.credential = s.credential;
    return out;
  });
}

/** Whether `welcome.ice` offers a TURN relay (turn: or turns: URL). */
export function hasTurn(ice) {
  return (ice || []).some((s) => (s.urls || []).some((u) => /^turns?:/i.test(u)));
}

/** Why getUserMedia failed, as a state: "denied" (the user or the browser's policy said no,
 * or the page is not a secure context) or "nodevice" (no camera or microphone). */
export function mediaError(err) {
  const name = err && err.name;
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "nodevice";
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "nodevice";
  return "denied";
}

/**
 * The call's state for the UI, in order of importance:
 *   phase "idle" | "starting" | "denied" | "nodevice" | "joined";
 *   when joined: "relay-failed" (relay mode, and the connection to the server's relay failed
 *   or its offer never came), "turn-needed" (a peer failed and no TURN server is
 *   configured), "unreachable" (a peer failed though TURN is there), "connecting" (some
 *   peer, or the relay, not up yet), "connected", "waiting" (nobody else in the call).
 * @param {object} f  {phase, mode, ice, peers: [{member, state}], relay: state | null,
 *   others: how many others are in the call}
 * @returns {{state: string, failed: string[]}}  failed: the members that could not be reached
 */
export function callStatus(f) {
  if (f.phase !== "joined") return { state: f.phase, failed: [] };
  if (f.mode === "relay") {
    if (f.relay === "failed") return { state: "relay-failed", failed: [] };
    // while switching from mesh, the mesh connections still carry the call
    const up = f.relay === "connected" || (f.peers.length > 0 && f.peers.every((p) => p.state === "connected"));
    const state = !f.others ? "waiting" : up ? "connected" : "connecting";
    return { state, failed: [] };
  }
  const failed = f.peers.filter((p) => p.state === "failed").map((p) => p.member);
  if (failed.length) return { state: hasTurn(f.ice) ? "unreachable" : "turn-needed", failed };
  if (f.peers.some((p) => p.state !== "connected")) return { state: "connecting", failed };
  return { state: f.peers.length ? "connected" : "waiting", failed };
}

/** Speaking detection with a hangover: `update(level, now)` returns true/false while the
 * local level (RMS, 0..1) stays above `threshold`, false after `holdMs` below it. */
export class SpeakingDetector {
  constructor({ threshold = 0.02, holdMs = 600 } = {}) {
    this.threshold = threshold;
    this.holdMs = holdMs;
    this.speaking = false;
    this.lastLoud = -Infinity;
  }
  update(level, now) {
    if (level >= this.threshold) this.lastLoud = now;
    this.speaking = now - this.lastLoud < this.holdMs;
    return this.speaking;
  }
}

/** Sends a boolean at most every `minMs` (the latest value wins): speaking changes often,
 * each change is a `call.state` frame through the signal bucket (SPEC 14.5). */
export class Throttle {
  constructor(minMs, send) {
    this.minMs = minMs;
    this.send = send;
    this.sentValue = false;
    this.sentAt = -Infinity;
  }
  /** Offer the current value; returns the ms after which to offer it again if held back. */
  offer(value, now) {
    if (value === this.sentValue) return null;
    if (now - this.sentAt < this.minMs) return this.sentAt + this.minMs - now;
    this.sentValue = value;
    this.sentAt = now;
    this.send(value);
    return null;
  }
  reset() {
    this.sentValue = false;
    this.sentAt = -Infinity;
  }
}
