/**
 * The base of wirestream's error hierarchy: {@linkcode WebSocketError} and its stable
 * {@linkcode WebSocketErrorCode}s. The families built on it live beside it; `errors.ts` gathers
 * them all.
 *
 * @module
 */

/** The stable codes carried by {@linkcode WebSocketError.code}. */
export type WebSocketErrorCode =
  // protocol
  | "PROTOCOL_ERROR"
  | "INVALID_UTF8"
  | "FRAME_TOO_BIG"
  | "MESSAGE_TOO_BIG"
  | "UNSUPPORTED_DATA"
  | "POLICY_VIOLATION"
  | "EXTENSION_ERROR"
  // handshake
  | "HANDSHAKE_STATUS"
  | "HANDSHAKE_INVALID"
  | "HANDSHAKE_ACCEPT_MISMATCH"
  | "HANDSHAKE_PROTOCOL_MISMATCH"
  | "HANDSHAKE_EXTENSION_MISMATCH"
  | "HANDSHAKE_HEAD_TOO_LARGE"
  | "HANDSHAKE_EOF"
  // redirects
  | "REDIRECT_DOWNGRADE"
  | "REDIRECT_LOOP"
  | "TOO_MANY_REDIRECTS"
  | "REDIRECT_INVALID"
  // connection
  | "CONNECTION_REFUSED"
  | "DNS_FAILED"
  | "TLS_FAILED"
  | "CONNECTION_FAILED"
  | "CONNECTION_RESET"
  | "PERMISSION_DENIED"
  // proxies
  | "PROXY_AUTH_FAILED"
  | "PROXY_REFUSED"
  | "PROXY_PROTOCOL_ERROR"
  // timeouts
  | "CONNECT_TIMEOUT"
  | "HANDSHAKE_TIMEOUT"
  | "CLOSE_TIMEOUT"
  | "PING_TIMEOUT"
  // lifecycle
  | "SESSION_CLOSED"
  | "CLOSED_ABNORMALLY"
  | "ABORTED"
  | "QUEUE_OVERFLOW"
  | "CLOSE_REASON_DEADLOCK"
  // serialization
  | "CONVERTER_NOT_FOUND"
  | "SERIALIZATION_FAILED"
  | "DESERIALIZATION_FAILED";

/** Options accepted by every {@linkcode WebSocketError} constructor. */
export interface WebSocketErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every protocol and connection fault raised by wirestream.
 *
 * @example Branch on the stable code
 * ```ts
 * import { WebSocketError } from "@wirestream/ws";
 *
 * function describe(err: unknown): string {
 *   if (err instanceof WebSocketError) return `websocket failure ${err.code}`;
 *   return "other failure";
 * }
 * console.log(describe(new WebSocketError("ABORTED", "aborted")));
 * ```
 */
export class WebSocketError extends Error {
  /** A stable, machine-readable code; the message may change, the code does not. */
  readonly code: WebSocketErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code The stable code.
   * @param message The human-readable message.
   * @param options The cause, if any.
   */
  constructor(code: WebSocketErrorCode, message: string, options?: WebSocketErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** The class name, e.g. `"ProtocolError"`. */
  override get name(): string {
    return this.constructor.name;
  }
}
