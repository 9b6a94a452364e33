// What the room session remembers of its call (SPEC section 14), pure: the membership a
// `call.join` / `call.state` / `call.leave` leaves behind, and the frames that join the
// call again after a reconnect (the server keeps our place for the presence grace).

/** Client frames the op pacing leaves alone: the server counts them in the signal bucket. */
export const FREE_SIGNALS = new Set(["signal", "call.state"]);

/** The call membership ({audio, video, muted, camera} or null) after client frame `msg`. */
export function rememberCall(mine, msg) {
  if (msg.t === "call.join") return { audio: !!msg.audio, video: !!msg.video, muted: mine ? mine.muted : false, camera: !!msg.video };
  if (msg.t === "call.leave") return null;
  if (msg.t === "call.state" && mine) {
    return { ...mine, muted: msg.muted != null ? !!msg.muted : mine.muted, camera: msg.camera != null ? !!msg.camera : mine.camera };
  }
  return mine;
}

/** After a welcome: `call.join` again, then one `call.state` with what differs from a fresh
 * join's defaults (muted, camera off). */
export function rejoinFrames(mine) {
  if (!mine) return [];
  const out = [{ t: "call.join", audio: mine.audio, video: mine.video }];
  const state = {};
  if (mine.muted) state.muted = true;
  if (mine.camera !== mine.video) state.camera = mine.camera;
  if (Object.keys(state).length) out.push({ t: "call.state", ...state });
  return out;
}
