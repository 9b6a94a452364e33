// The associate API calls the console makes (Bearer associate token), and how a refusal
// reads: a revoked or expired token, a token that is not an associate's, the network.

import { ApiError } from "../core/rest.js";

async function call(base, path, token, { method = "GET", body, timeout = 10000 } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "network", `cannot reach the server (${err && err.message ? err.message : err})`);
  } finally {
    clearTimeout(timer);
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

const enc = encodeURIComponent;

export const associateApi = {
  me: (base, token) => call(base, "/v1/associates/me", token),
  queue: (base, token) => call(base, "/v1/associates/queue", token),
  claim: (base, token, id) => call(base, `/v1/associates/requests/${enc(id)}/claim`, token, { method: "POST", body: {} }),
  close: (base, token, id) => call(base, `/v1/associates/requests/${enc(id)}/close`, token, { method: "POST", body: {} }),
  search: (base, token, q, limit = 8) => call(base, `/v1/catalog/search?q=${enc(q)}&limit=${limit}`, token),
  streamUrl: (base) => `${base}/v1/associates/queue/stream`,
};

/** The login error's string key for a refusal of the associate token. */
export function loginErrorKey(err) {
  if (!err || err.status === 0 || err.code === "network") return "console.login.network";
  if (err.code === "token_expired" || err.code === "revoked" || err.code === "token_revoked") return "console.login.revoked";
  if (err.status === 401 || err.status === 403) return "console.login.revoked";
  return "error.generic";
}

/** A token that cannot be an associate's (checked before asking the server). */
export function looksLikeAssociateToken(token) {
  return typeof token === "string" && /^at_[A-Za-z0-9_.-]{8,190}$/.test(token.trim());
}
