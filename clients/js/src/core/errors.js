// The errors a room connection rejects with, and the close-code classification (SPEC §10).

import { FINAL_ERRORS, RETRYABLE_CLOSE_CODES } from "./protocol.js";

/** The server refused an op (or it was never sent: invalid, too many pending). */
export class OpError extends Error {
  constructor(code, message, ref) {
    super(message);
    this.name = "OpError";
    this.code = code;
    this.ref = ref;
  }
}

/** The connection stopped for good; `code` is the error code that caused it, or "closed". */
export class ClosedError extends Error {
  constructor(code, reason, error) {
    super(reason || `connection closed (${code})`);
    this.name = "ClosedError";
    this.closeCode = code;
    this.code = error || "closed";
  }
}

/** Is this close final? (`error`: the code of an error frame that came just before it.) */
export function isRetryable(closeCode, error) {
  return RETRYABLE_CLOSE_CODES.has(closeCode) && !(error && FINAL_ERRORS.has(error));
}

/** Codes that have a message of their own in the string tables (SPEC §9 and the REST
 * codes of §11, plus the client's own "network", "too_many_pending" and "closed"). */
export const MESSAGE_CODES = new Set([
  "invalid_field", "unauthorized", "token_expired", "room_not_found", "invite_not_found", "room_full",
  "too_many_members", "too_many_connections", "forbidden", "kicked", "room_locked", "room_closed", "empty_checkout", "qa_unavailable",
  "not_found", "cart_full", "too_long", "rate_limited", "unavailable",
  "internal", "network", "too_many_pending", "closed", "poll_closed", "question_closed", "help_pending", "already_claimed",
]);

/** Codes that mean this client is out of step with the server: "please reload". */
export const RELOAD_CODES = new Set(["bad_message", "unknown_type", "hello_expected", "already_joined"]);

/** The string-table key for an error (OpError, ClosedError, ApiError or anything thrown):
 * a known code's own message, 410 for a used-up invite, else "error.generic". The server's
 * English `message` is never shown. */
export function errorKey(err) {
  const code = err && typeof err.code === "string" ? err.code : "";
  if (MESSAGE_CODES.has(code)) return `error.${code}`;
  if (RELOAD_CODES.has(code)) return "error.reload";
  if (err && err.status === 410) return "error.invite_gone";
  if (err && err.status === 404) return "error.not_found";
  return "error.generic";
}

/** The localized message for an error: `t` is an i18n translator's t(key, vars). */
export function errorMessage(err, t) {
  return t(errorKey(err));
}
