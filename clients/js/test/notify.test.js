// Notifications while away, the browser core (src/core/notify.js): the VAPID key as bytes,
// what the browser supports, and the order of the enable flow (permission from the
// click first, then the server's key, then subscribe, then register with the server).
import { afterEach, describe, expect, it, vi } from "vitest";
import { NotifyClient, keyBytes, pushSupport } from "../src/core/notify.js";

const KEY = "BPjtAVoSvKQ0swAKXVnCVyqD5oPp51vtfYXRzwmvgtCl3Sd2LBnAn6f8Zv0sHx1C0jl83mkypLF3-E4lTruFWQM";

function browser({ permission = "default", answer = "granted", existing = null } = {}) {
  const calls = [];
  const sub = { endpoint: "https://push.example/1", toJSON: () => ({ endpoint: "https://push.example/1", keys: { p256dh: "p", auth: "a" } }), unsubscribe: async () => true };
  const reg = {
    pushManager: {
      getSubscription: async () => existing,
      subscribe: async (opts) => {
        calls.push(["subscribe", opts.applicationServerKey.byteLength, opts.userVisibleOnly]);
        return sub;
      },
    },
  };
  const env = {
    PushManager: function PushManager() {},
    Notification: { permission, requestPermission: async () => (calls.push(["permission"]), answer) },
    navigator: {
      serviceWorker: {
        register: async (url, opts) => calls.push(["register", url, opts.scope]),
        getRegistration: async () => reg,
        ready: Promise.resolve(reg),
      },
    },
  };
  return { env, calls };
}

function serve(routes) {
  const seen = [];
  globalThis.fetch = vi.fn(async (url, init) => {
    const path = url.replace("http://s", "");
    seen.push([init.method, path, init.body ? JSON.parse(init.body) : undefined, init.headers.authorization]);
    const body = routes[`${init.method} ${path.split("?")[0]}`];
    return { ok: true, status: 200, json: async () => body };
  });
  return seen;
}

afterEach(() => {
  delete globalThis.fetch;
});

describe("notify core", () => {
  it("decodes the base64url VAPID key to the 65-byte point", () => {
    const bytes = keyBytes(KEY);
    expect(bytes.byteLength).toBe(65);
    expect(bytes[0]).toBe(4);
  });

  it("knows what the browser supports", () => {
    expect(pushSupport({ navigator: {} })).toBe("unsupported");
    expect(pushSupport(browser({ permission: "denied" }).env)).toBe("denied");
    expect(pushSupport(browser().env)).toBe("ok");
  });

  it("asks the permission, subscribes with the server's key, then registers the subscription", async () => {
    const { env, calls } = browser();
    const settings = { muted: false, subscriptions: 0, push_key: KEY };
    const seen = serve({ "GET /v1/rooms/r1/notify": settings, "POST /v1/rooms/r1/notify/push": { ...settings, subscriptions: 1 } });
    const client = new NotifyClient({ base: "http://s", token: "tok", room: "r1", page: "/r/abc", env });
    const result = await client.enablePush();
    expect(result.subscriptions).toBe(1);
    expect(calls).toEqual([["permission"], ["register", "/sw.js", "/r/"], ["subscribe", 65, true]]);
    expect(seen.at(-1)).toEqual([
      "POST",
      "/v1/rooms/r1/notify/push",
      { endpoint: "https://push.example/1", keys: { p256dh: "p", auth: "a" }, page: "/r/abc" },
      "Bearer tok",
    ]);
  });

  it("stops when the permission is refused or the server has no push", async () => {
    const refused = browser({ answer: "denied" });
    serve({});
    await expect(new NotifyClient({ base: "http://s", token: "t", room: "r1", env: refused.env }).enablePush()).rejects.toMatchObject({ code: "denied" });
    const none = browser();
    serve({ "GET /v1/rooms/r1/notify": { muted: false, subscriptions: 0, push_key: null } });
    await expect(new NotifyClient({ base: "http://s", token: "t", room: "r1", env: none.env }).enablePush()).rejects.toMatchObject({ code: "unavailable" });
    expect(none.calls).toEqual([["permission"]]);
  });

  it("mutes through the REST route", async () => {
    const seen = serve({ "PUT /v1/rooms/r1/notify": { muted: true, subscriptions: 0, push_key: KEY } });
    const out = await new NotifyClient({ base: "http://s", token: "t", room: "r1", env: browser().env }).setMuted(true);
    expect(out.muted).toBe(true);
    expect(seen[0].slice(0, 3)).toEqual(["PUT", "/v1/rooms/r1/notify", { muted: true }]);
  });
});
