/**
 * The errors and close reasons of sessions served through `Deno.serve`: Deno's socket errors
 * named as the listener's sessions name them, and what Deno's `WebSocket` cannot do.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  type WebSocketError,
} from "../core/errors.ts";

/** What the session reports after sending a close frame without a status code (RFC 6455 §7.1.5). */
export const NO_STATUS: CloseReason = new CloseReason(1005, "");
/** The same words as the listener's managed session, for a connection that ended without a close. */
export const ABNORMAL: CloseReason = new CloseReason(
  1006,
  "Connection was closed without close frame",
);

/** The error of a connection that ended without a close frame. */
export function closedAbnormally(): ConnectionClosedError {
  return new ConnectionClosedError(
    "CLOSED_ABNORMALLY",
    "The connection was closed without a close frame",
    { closeReason: ABNORMAL },
  );
}

/**
 * The error of Deno's `error` event. Deno drops the connection without a close frame on a
 * protocol error; the failures the other session kinds name precisely are named the same here,
 * from Deno's message: the end of the connection, and invalid UTF-8 (1007, RFC 6455 §8.1).
 */
export function socketError(message: string | undefined): WebSocketError {
  switch (message) {
    case "Unexpected EOF":
      return closedAbnormally();
    case "Invalid UTF-8":
      return new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
  }
  return new ConnectionError(
    "CONNECTION_RESET",
    message ? `The WebSocket failed: ${message}` : "The WebSocket failed",
  );
}

/** The error of what Deno's `WebSocket` cannot do (frames, pings, changing its limits). */
export function unsupported(what: string): TypeError {
  return new TypeError(
    `${what} is not supported by sessions served through server.fetch (Deno.serve): ` +
      "Deno's WebSocket exposes messages, not frames. Use server.listen() for frame-level control",
  );
}
