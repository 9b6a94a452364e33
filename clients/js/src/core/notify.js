// Notifications while away (SPEC 18), the browser side without any UI: the member's
// settings, and Web Push subscribe / unsubscribe through the room page's service worker
// (/sw.js, scope /r/). Call `enablePush` from a user gesture only (a click): browsers
// ask for the permission then, and refuse a prompt that comes out of nowhere.

import { rest } from "./rest.js";

export const SW_URL = "/sw.js";
export const SW_SCOPE = "/r/";

/** The VAPID public key (base64url) as the Uint8Array `applicationServerKey` wants. */
export function keyBytes(base64url) {
  const b64 = String(base64url).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** What this browser can do: "ok", "unsupported" (no service worker / Push API) or "denied". */
export function pushSupport(env = globalThis) {
  const nav = env.navigator;
  if (!nav || !nav.serviceWorker || !env.PushManager || !env.Notification) return "unsupported";
  if (env.Notification.permission === "denied") return "denied";
  return "ok";
}

export class NotifyClient {
  /** @param {{base: string, token: string, room: string, page?: string, env?: object}} o */
  constructor({ base, token, room, page = "", env = globalThis }) {
    Object.assign(this, { base, token, room, page, env });
  }

  settings() {
    return rest.notifySettings(this.base, this.token, this.room);
  }

  setMuted(muted) {
    return rest.setMuted(this.base, this.token, this.room, muted);
  }

  async _registration() {
    const sw = this.env.navigator.serviceWorker;
    await sw.register(SW_URL, { scope: SW_SCOPE });
    return sw.getRegistration(SW_SCOPE).then((r) => r || sw.ready);
  }

  /** This browser's current subscription, or null. */
  async current() {
    if (pushSupport(this.env) === "unsupported") return null;
    const reg = await this.env.navigator.serviceWorker.getRegistration(SW_SCOPE);
    return reg ? reg.pushManager.getSubscription() : null;
  }

  /** Ask the permission (from a click), subscribe, and register the subscription with the
   * server. Resolves to the server's settings; rejects with an Error whose `code` is
   * "unsupported", "denied", "unavailable" (no push on this server) or a REST code. */
  async enablePush() {
    const support = pushSupport(this.env);
    if (support !== "ok") throw Object.assign(new Error(support), { code: support });
    const permission = await this.env.Notification.requestPermission();
    if (permission !== "granted") throw Object.assign(new Error("denied"), { code: "denied" });
    const settings = await this.settings();
    if (!settings.push_key) throw Object.assign(new Error("unavailable"), { code: "unavailable" });
    const reg = await this._registration();
    let sub = await reg.pushManager.getSubscription();
    if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(settings.push_key) });
    const json = sub.toJSON();
    return rest.addPush(this.base, this.token, this.room, { endpoint: json.endpoint, keys: json.keys }, this.page);
  }

  /** Forget this browser's subscription here and at the server. */
  async disablePush() {
    const sub = await this.current();
    if (sub) {
      await rest.removePush(this.base, this.token, this.room, sub.endpoint);
      await sub.unsubscribe();
      return this.settings();
    }
    return rest.removePush(this.base, this.token, this.room, null);
  }
}
