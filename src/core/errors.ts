/**
 * The error hierarchy of wirestream.
 *
 * Bad arguments (a `ftp://` URL, a port out of range, a control frame over 125 bytes, a close
 * reason over 123 bytes) throw the built-in `TypeError` or `RangeError` at once. Everything that
 * goes wrong on the wire or with the connection is a {@linkcode WebSocketError} with a stable
 * string {@linkcode WebSocketError.code}:
 *
 * - {@linkcode ProtocolError}: the peer broke RFC 6455 / RFC 7692; carries the close code sent.
 * - {@linkcode HandshakeError}: the HTTP upgrade failed; carries status, headers and body start.
 * - {@linkcode ConnectionError}: connect refused, DNS, TLS, reset.
 * - {@linkcode TimeoutError}: connect, handshake, close or ping timeout.
 * - {@linkcode ConnectionClosedError}: the session is closed (or closing) and cannot do that.
 * - {@linkcode SerializationError}: a content converter is missing or failed.
 *
 * @module
 */

import type { CloseReason } from "./close.ts";
import type { Frame } from "./frame.ts";

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
  // connection
  | "CONNECTION_REFUSED"
  | "DNS_FAILED"
  | "TLS_FAILED"
  | "CONNECTION_FAILED"
  | "CONNECTION_RESET"
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
 * import { WebSocketError } from "@wirestream/ws/raw";
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

/**
 * The peer violated the protocol; the session closed (or will close) with
 * {@linkcode ProtocolError.closeCode}.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@wirestream/ws/raw";
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

/** What a {@linkcode HandshakeError} knows about the server's reply. */
export interface HandshakeErrorOptions extends WebSocketErrorOptions {
  /** The HTTP status of the reply, if one was read. */
  status?: number;
  /** The reply's headers, if a head was read. */
  headers?: Headers;
  /** The first bytes (at most 1 KiB) of a non-101 reply's body. */
  body?: Uint8Array;
}

/**
 * The HTTP upgrade failed: a non-101 status, a bad `Sec-WebSocket-Accept`, a subprotocol or
 * extension the client never offered, a malformed or oversized head.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@wirestream/ws/raw";
 *
 * const err = new HandshakeError("HANDSHAKE_STATUS", "Expected status 101 but got 404", {
 *   status: 404,
 * });
 * console.log(err.status); // 404
 * ```
 */
export class HandshakeError extends WebSocketError {
  /** The HTTP status of the reply, if one was read. */
  readonly status: number | undefined;
  /** The reply's headers, if a head was read. */
  readonly headers: Headers | undefined;
  /** The first bytes of a non-101 reply's body (at most 1 KiB), if any arrived. */
  readonly body: Uint8Array | undefined;

  /**
   * Creates a handshake error.
   *
   * @param code The stable code.
   * @param message The human-readable message.
   * @param options The status, headers, body and cause.
   */
  constructor(code: WebSocketErrorCode, message: string, options?: HandshakeErrorOptions) {
    super(code, message, options);
    this.status = options?.status;
    this.headers = options?.headers;
    this.body = options?.body;
  }

  /** The body bytes decoded as UTF-8 (lossy), or `""`. */
  get bodyText(): string {
    return this.body ? new TextDecoder().decode(this.body) : "";
  }
}

/**
 * The connection could not be established or broke: refused, DNS failure, TLS failure, reset.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@wirestream/ws/raw";
 *
 * const err = new ConnectionError("CONNECTION_REFUSED", "Connection refused by 127.0.0.1:1");
 * console.log(err.code);
 * ```
 */
export class ConnectionError extends WebSocketError {}

/**
 * A deadline passed: connect, handshake, close handshake or pong.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@wirestream/ws/raw";
 *
 * const err = new TimeoutError("PING_TIMEOUT", "No pong within 5000 ms");
 * console.log(err.code);
 * ```
 */
export class TimeoutError extends WebSocketError {}

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
 * import { ConnectionClosedError } from "@wirestream/ws/raw";
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

/** What a {@linkcode SerializationError} knows. */
export interface SerializationErrorOptions extends WebSocketErrorOptions {
  /** The received frame that could not be deserialized. */
  frame?: Frame;
}

/**
 * A content converter is missing (`CONVERTER_NOT_FOUND`), could not serialize a value
 * (`SERIALIZATION_FAILED`), or could not deserialize or validate a received message
 * (`DESERIALIZATION_FAILED`, with the offending {@linkcode SerializationError.frame}).
 *
 * @example
 * ```ts
 * import { Frame, SerializationError } from "@wirestream/ws";
 *
 * const err = new SerializationError("DESERIALIZATION_FAILED", "Not JSON", {
 *   frame: Frame.text("{oops"),
 * });
 * console.log(err.code, err.frame?.type); // DESERIALIZATION_FAILED text
 * ```
 */
export class SerializationError extends WebSocketError {
  /** The received frame that could not be deserialized, if that is what failed. */
  readonly frame: Frame | undefined;

  /**
   * Creates a serialization error.
   *
   * @param code `CONVERTER_NOT_FOUND`, `SERIALIZATION_FAILED` or `DESERIALIZATION_FAILED`.
   * @param message The human-readable message.
   * @param options The frame and cause.
   */
  constructor(
    code: WebSocketErrorCode,
    message: string,
    options?: SerializationErrorOptions,
  ) {
    super(code, message, options);
    this.frame = options?.frame;
  }
}
