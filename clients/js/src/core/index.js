export { RoomConnection, OpError, ClosedError, guessDevice, isRetryable } from "./connection.js";
export { Session, sessionSettings } from "./session.js";
export { JoinFlow, safeStorage } from "./join.js";
export { apply, fold, emptyState, fromWire, toWire, checkRules } from "./reducer.js";
export { encodeMessage, decodeMessage, SUBPROTOCOL, CloseCode, ops, containsNul, clientMessageProblem } from "./protocol.js";
export { OpQueue, backoffDelay, Pacer } from "./ops.js";
export { rest, ApiError, wsUrlFor } from "./rest.js";
