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
