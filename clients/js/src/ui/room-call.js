// Room view: the call (voice and video, mesh or relay mode: ../call/mesh.js). A bar above the
// panels with the call's state (a polite status line), the call buttons (video call, voice
// only; once in: mute, stop video, leave) and a grid of tiles — our own preview first,
// then one per participant with their name, muted / camera off / speaking (from presence)
// and whether their connection is up (tiles follow the call's roster; in relay mode a tile
// shows the relayed tracks whose msid names its member). Tiles are keyed by member and updated in place, so a
// focused button and a playing <video> survive every render. Clear states for a refused
// camera/microphone, an unreachable peer and a missing TURN server. Functions take the
// RoomView (`v`).

import { CallMesh } from "../call/mesh.js";
import { avatarColor, h, initials, setAttr, setText, syncList } from "./dom.js";

const SELF = "\u0000self"; // the key of our own preview tile (never a member id)

export function buildCallPane(v) {
  const t = v.t;
  const e = v.el;
  const mesh = new CallMesh(v.conn, v.opts.callEnv || {});
  v.callUi = { mesh, off: mesh.onChange(() => v.schedule()), wasState: null };
  const btn = (testid, text, onclick, cls = "") => h(`button${cls}`, { type: "button", "data-testid": testid, onclick }, text);
  e.callHeading = h("h2.cs-sr", { id: `${v.uid}-call-h` }, t("call.heading"));
  e.callStatus = h("p.cs-call-status", { "data-testid": "call-status", role: "status" });
  e.callJoin = btn("call-join", t("call.video"), () => mesh.join({ audio: true, video: true }), ".cs-primary");
  e.callAudio = btn("call-join-audio", t("call.audioOnly"), () => mesh.join({ audio: true, video: false }));
  e.callMute = btn("call-mute", t("call.mute"), () => mesh.setMuted(!mesh.muted));
  e.callCamera = btn("call-camera", t("call.stopVideo"), () => mesh.setCamera(!mesh.camera));
  e.callLeave = btn("call-leave", t("call.leave"), () => mesh.leave(), ".cs-call-leave");
  e.callRetry = btn("call-retry", t("call.retry"), () => mesh.join(mesh.wanted));
  e.callTiles = h("ul.cs-call-tiles", { "data-testid": "call-tiles", "aria-label": t("call.heading") });
  return h(
    "section.cs-call",
    { "data-testid": "call", "aria-labelledby": e.callHeading.id },
    e.callHeading,
    h("div.cs-call-bar", null, e.callStatus, h("div.cs-call-buttons", null, e.callJoin, e.callAudio, e.callRetry, e.callMute, e.callCamera, e.callLeave)),
    e.callTiles,
  );
}

export function destroyCall(v) {
  if (!v.callUi) return;
  v.callUi.off();
  v.callUi.mesh.destroy();
}

/** Who the room shows in the call (presence), with their call state. */
function inCall(v) {
  return [...v.conn.presence.values()].filter((p) => p.call);
}

function statusText(v, status, others) {
  const t = v.t;
  const mesh = v.callUi.mesh;
  const names = (ids) => v.i18n.list(ids.map((m) => v._name(m)));
  switch (status.state) {
    case "idle": {
      const count = others.length;
      return count ? t("call.active", { count, names: names(others.map((p) => p.member)) }) : "";
    }
    case "starting":
      return t("call.starting");
    case "denied":
      return t("call.denied");
    case "nodevice":
      return t("call.nodevice");
    case "relay-failed":
      return t("call.relayFailed");
    case "turn-needed":
      return t("call.turnNeeded", { names: names(status.failed) });
    case "unreachable":
      return t("call.unreachable", { names: names(status.failed) });
    case "waiting":
      return t("call.waiting");
    case "connecting":
      return t("call.connecting");
    default: {
      const ids = mesh.members.filter((m) => m !== v.conn.member);
      return t("call.connected", { names: names(ids) });
    }
  }
}

export function renderCall(v) {
  const e = v.el;
  const t = v.t;
  const conn = v.conn;
  const mesh = v.callUi.mesh;
  const section = e.callStatus.parentElement.parentElement;
  const viewer = conn.role === "viewer";
  section.hidden = viewer || !conn.live && mesh.phase === "idle";
  if (section.hidden) return;
  const status = mesh.status;
  const joined = mesh.phase === "joined";
  const others = inCall(v).filter((p) => p.member !== conn.member);
  section.dataset.state = status.state;
  setText(e.callStatus, statusText(v, status, others));
  e.callStatus.dataset.kind = ["denied", "nodevice", "relay-failed", "turn-needed", "unreachable"].includes(status.state) ? "problem" : "";
  const idle = mesh.phase === "idle";
  e.callJoin.hidden = !idle;
  e.callAudio.hidden = !idle;
  setText(e.callJoin, others.length ? t("call.joinVideo") : t("call.video"));
  e.callRetry.hidden = !(mesh.phase === "denied" || mesh.phase === "nodevice");
  e.callMute.hidden = !joined || !mesh.audio;
  e.callCamera.hidden = !joined || !mesh.video;
  e.callLeave.hidden = !(joined || mesh.phase === "starting");
  setAttr(e.callMute, "aria-pressed", String(mesh.muted));
  setAttr(e.callCamera, "aria-pressed", String(!mesh.camera));
  e.callJoin.disabled = e.callAudio.disabled = !conn.live;
  const tiles = joined ? [{ key: SELF, member: conn.member }, ...mesh.members.filter((m) => m !== conn.member).map((m) => ({ key: m, member: m }))] : [];
  syncList(e.callTiles, tiles, (x) => x.key, () => buildTile(v), (li, x) => updateTile(v, li, x), e.callStatus);
  e.callTiles.hidden = !tiles.length;
}

function buildTile() {
  const li = h("li.cs-tile", { "data-testid": "call-tile" });
  const r = (li._refs = {
    video: h("video.cs-tile-video", { autoplay: true, playsInline: true }),
    avatar: h("span.cs-avatar.cs-tile-avatar", { "aria-hidden": "true" }),
    name: h("span.cs-tile-name", { "data-testid": "tile-name", dir: "auto" }),
    flags: h("span.cs-tile-flags", { "data-testid": "tile-flags" }),
  });
  li.append(r.video, r.avatar, h("div.cs-tile-caption", null, r.name, r.flags));
  return li;
}

function updateTile(v, li, x) {
  const t = v.t;
  const mesh = v.callUi.mesh;
  const r = li._refs;
  const self = x.key === SELF;
  const p = v.conn.presence.get(x.member);
  const state = (p && p.call) || {};
  const remote = self ? null : mesh.remote(x.member);
  const stream = self ? mesh.local : remote.stream;
  if (r.video.srcObject !== (stream || null)) {
    r.video.srcObject = stream || null;
    if (stream) r.video.play().catch(() => {}); // a muted preview always plays; others after the click
  }
  r.video.muted = self; // never hear yourself
  li.dataset.member = x.member;
  li.dataset.self = String(self);
  const muted = self ? mesh.muted : !!state.muted;
  const cameraOn = self ? mesh.video && mesh.camera : !!(state.video && state.camera);
  const speaking = self ? mesh.speaking : !!state.speaking;
  const link = self ? "connected" : remote.state;
  li.dataset.muted = String(muted);
  li.dataset.camera = String(cameraOn);
  li.dataset.speaking = String(speaking);
  li.dataset.link = link;
  r.video.hidden = !cameraOn || !stream || link !== "connected";
  const name = self ? t("you") : v._name(x.member);
  r.avatar.hidden = !r.video.hidden;
  r.avatar.style.background = avatarColor(x.member || "self");
  setText(r.avatar, initials(self && p ? p.name : name));
  setText(r.name, name);
  const flags = [];
  if (speaking) flags.push(t("call.speaking"));
  if (muted) flags.push(t("call.muted"));
  if (!cameraOn) flags.push(t("call.cameraOff"));
  if (link === "failed") flags.push(t("call.tileFailed"));
  else if (link === "connecting") flags.push(t("call.tileConnecting"));
  setText(r.flags, flags.join(" · "));
}
