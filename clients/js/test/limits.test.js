// The resource-limit refusals (protocol/SPEC.md sections 3.1, 9, 10) are final for the client.
import { describe, expect, it } from "vitest";
import { isRetryable } from "../src/core/connection.js";
import { CloseCode, FINAL_ERRORS } from "../src/core/protocol.js";

describe("resource limits", () => {
  it("too many connections: close 4010 is final", () => {
    expect(CloseCode.TOO_MANY_CONNECTIONS).toBe(4010);
    expect(isRetryable(4010, "too_many_connections")).toBe(false);
    expect(isRetryable(CloseCode.GOING_AWAY, "too_many_connections")).toBe(false);
  });
  it("too many members: room full is final", () => {
    expect(FINAL_ERRORS.has("too_many_members")).toBe(true);
    expect(isRetryable(CloseCode.ROOM_FULL, "too_many_members")).toBe(false);
  });
});
