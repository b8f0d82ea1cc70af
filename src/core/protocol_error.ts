/**
 * {@linkcode ProtocolError}: the peer broke RFC 6455 / RFC 7692, with the close code sent.
 *
 * @module
 */

import {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";

/**
 * The peer violated the protocol; the session closed (or will close) with
 * {@linkcode ProtocolError.closeCode}.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@wirestream/ws";
 *
 * const err = new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
 * console.log(err.closeCode); // 1007
 * ```
 */
export class ProtocolError extends WebSocketError {
  /** The close code this error maps to (1002, 1003, 1007, 1008, 1009 or 1010). */
  readonly closeCode: number;

  /**
   * Creates a protocol error.
   *
   * @param code The stable code.
   * @param closeCode The close code sent to the peer.
   * @param message The human-readable message.
   * @param options The cause, if any.
   */
  constructor(
    code: WebSocketErrorCode,
    closeCode: number,
    message: string,
    options?: WebSocketErrorOptions,
  ) {
    super(code, message, options);
    this.closeCode = closeCode;
  }
}
