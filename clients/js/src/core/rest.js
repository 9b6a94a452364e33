// The few REST calls the browser makes (see cosession/http/api.py).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function call(base, path, { method = "GET", body, auth, timeout = 10000 } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth) headers.authorization = `Bearer ${auth}`;
  const ctrl = typeof AbortController !== "undefined" ? new AbortController() : null;
  const timer = ctrl ? setTimeout(() => ctrl.abort(), timeout) : null;
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl ? ctrl.signal : undefined,
      credentials: "omit",
    });
  } catch (err) {
    throw new ApiError(0, "network", `cannot reach the server (${err && err.message ? err.message : err})`);
  } finally {
    if (timer) clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "http_error", err.message || `HTTP ${response.status}`);
  }
  return data;
}

/** ws(s)://host/v1/ws for a server base URL such as https://rooms.example.com. */
export function wsUrlFor(base) {
  return base.replace(/^http/, "ws") + "/v1/ws";
}

/** The server base URL (http(s)://host) of its WebSocket URL (ws(s)://host/v1/ws). */
export function httpBaseFor(wsUrl) {
  return String(wsUrl).replace(/^ws/, "http").replace(/\/v1\/ws\/?$/, "");
}

export const rest = {
  getInvite: (base, code) => call(base, `/v1/invites/${encodeURIComponent(code)}`),
  acceptInvite: (base, code, name) =>
    call(base, `/v1/invites/${encodeURIComponent(code)}/accept`, { method: "POST", body: { name } }),
  createRoom: (base, key, body) => call(base, "/v1/rooms", { method: "POST", body, auth: key }),
  createInvite: (base, token, room, body = {}) =>
    call(base, `/v1/rooms/${encodeURIComponent(room)}/invites`, { method: "POST", body, auth: token }),
  joinInStore: (base, path, body) => call(base, path, { method: "POST", body }),
  catalogLookup: (base, token, code) => call(base, `/v1/catalog/lookup?code=${encodeURIComponent(code)}`, { auth: token }),
  catalogSearch: (base, token, q, limit = 20) =>
    call(base, `/v1/catalog/search?q=${encodeURIComponent(q)}&limit=${limit}`, { auth: token }),
  snapshot: (base, token, room) => call(base, `/v1/rooms/${encodeURIComponent(room)}/snapshot`, { auth: token }),
  /** Close the room's help request `request` (its seq): the requester, owner or helping associate (SPEC 21.3). */
  closeHelp: (base, token, room, request) =>
    call(base, `/v1/rooms/${encodeURIComponent(room)}/help/${encodeURIComponent(request)}/close`, { method: "POST", auth: token }),
  // notifications while away (SPEC 18.3): the member's own settings and push subscriptions
  notifySettings: (base, token, room) => call(base, `/v1/rooms/${encodeURIComponent(room)}/notify`, { auth: token }),
  setMuted: (base, token, room, muted) =>
    call(base, `/v1/rooms/${encodeURIComponent(room)}/notify`, { method: "PUT", body: { muted: !!muted }, auth: token }),
  addPush: (base, token, room, subscription, page = "") =>
    call(base, `/v1/rooms/${encodeURIComponent(room)}/notify/push`, { method: "POST", body: { ...subscription, page }, auth: token }),
  removePush: (base, token, room, endpoint) =>
    call(base, `/v1/rooms/${encodeURIComponent(room)}/notify/push${endpoint ? `?endpoint=${encodeURIComponent(endpoint)}` : ""}`, {
      method: "DELETE",
      auth: token,
    }),
};
