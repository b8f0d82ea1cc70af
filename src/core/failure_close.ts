/**
 * The close frame a failure is answered with (RFC 6455 §7.1.7, §7.4): a protocol error's own
 * close code and message, 1011 for any other failure or for a code that must not be sent; and
 * the errors of a send after the close and of a connection that ended without one.
 *
 * @module
 */

import { CloseReason, isValidCloseCode, truncateUtf8 } from "./close.ts";
import { ConnectionClosedError, ProtocolError } from "./errors.ts";
import { Frame } from "./frame.ts";

/**
 * The close frame a protocol error is answered with: its close code, and its message cut to
 * the 123 bytes a close payload has room for.
 *
 * @example
 * ```ts
 * import { closeFrameFor, ProtocolError } from "@wirestream/ws/raw";
 *
 * const frame = closeFrameFor(new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8"));
 * console.log(frame.type, frame.data.length); // close 15
 * ```
 *
 * @param err The error.
 * @returns The close frame.
 */
export function closeFrameFor(err: ProtocolError): Frame {
  return Frame.close(closeReasonFor(err));
}

/**
 * The close reason a protocol error is answered with: its close code, and its message cut to
 * 123 bytes.
 *
 * @param err The error.
 * @returns The close reason.
 */
export function closeReasonFor(err: ProtocolError): CloseReason {
  return new CloseReason(err.closeCode, truncateUtf8(err.message, 123));
}

/**
 * The close reason a failure is answered with: `reason` when given, else a
 * {@linkcode ProtocolError}'s own, else 1011. A code that must not be sent (1005, 1006, 1015, or
 * one an extension made up) goes out as 1011, so that a close frame can always be built.
 *
 * @param error What went wrong.
 * @param reason The close reason asked for, if any.
 * @returns The close reason to send.
 */
export function failureReason(error: unknown, reason?: CloseReason): CloseReason {
  const chosen = reason ??
    (error instanceof ProtocolError ? closeReasonFor(error) : new CloseReason(1011, ""));
  return isValidCloseCode(chosen.code) ? chosen : new CloseReason(1011, chosen.message);
}

/**
 * The error of a send after our close frame.
 *
 * @param closeReason How the session ended, if it did.
 * @returns The `SESSION_CLOSED` error.
 */
export function closeSentError(closeReason?: CloseReason): ConnectionClosedError {
  return new ConnectionClosedError(
    "SESSION_CLOSED",
    "Cannot send: a close frame was already sent",
    closeReason ? { closeReason } : undefined,
  );
}

/**
 * The error of a send after the session ended without our close frame.
 *
 * @param closeReason How the session ended, if known.
 * @returns The `SESSION_CLOSED` error.
 */
export function sessionClosedError(closeReason?: CloseReason): ConnectionClosedError {
  return new ConnectionClosedError("SESSION_CLOSED", "Cannot send: the session is closed", {
    closeReason,
  });
}

/**
 * The error of a connection that ended without a close frame: `CLOSED_ABNORMALLY`, with a 1006
 * close reason (never sent on the wire).
 *
 * @returns The error; its `closeReason` is the 1006 reason.
 */
export function closedAbnormallyError(): ConnectionClosedError {
  const closeReason = new CloseReason(1006, "Connection was closed without close frame");
  return new ConnectionClosedError(
    "CLOSED_ABNORMALLY",
    "The connection was closed without a close frame",
    { closeReason },
  );
}
