/**
 * {@linkcode ConnectionClosedError}: the session is closed (or closing), or the connection ended
 * without a close handshake.
 *
 * @module
 */

import type { CloseReason } from "./close.ts";
import {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";

/** What a {@linkcode ConnectionClosedError} knows about the close. */
export interface ConnectionClosedErrorOptions extends WebSocketErrorOptions {
  /** The close reason of the session, if known. */
  closeReason?: CloseReason | null;
}

/**
 * The session is closed or closing, so the operation cannot run (a send after close), or the
 * connection ended without a close handshake (`CLOSED_ABNORMALLY`, close code 1006).
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@wirestream/ws";
 *
 * const err = new ConnectionClosedError("SESSION_CLOSED", "Cannot send: the session is closed");
 * console.log(err.code);
 * ```
 */
export class ConnectionClosedError extends WebSocketError {
  /** The close reason of the session, when known. */
  readonly closeReason: CloseReason | null | undefined;

  /**
   * Creates a closed-connection error.
   *
   * @param code The stable code.
   * @param message The human-readable message.
   * @param options The close reason and cause.
   */
  constructor(
    code: WebSocketErrorCode,
    message: string,
    options?: ConnectionClosedErrorOptions,
  ) {
    super(code, message, options);
    this.closeReason = options?.closeReason;
  }
}
