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
 *   - {@linkcode ProxyError}: a proxy refused the tunnel (an HTTP status, a SOCKS reply code),
 *     rejected the credentials, or answered with something that is not its protocol.
 * - {@linkcode RedirectError} (a {@linkcode HandshakeError}): a redirect that is not followed: a
 *   downgrade from `wss:` to `ws:`, a loop, too many hops, a `Location` that is no WebSocket URL.
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
 * import { HandshakeError } from "@wirestream/ws";
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

/** The most characters of a refusal's body quoted in a {@linkcode HandshakeError}'s message. */
const BODY_SNIPPET = 200;

/**
 * A short, printable excerpt of a refusal's body for an error message: decoded as UTF-8 (lossy),
 * terminal escape sequences, control and invisible format characters dropped, runs of white space folded to one space,
 * trimmed, and cut to about 200 characters. `""` when nothing printable is left.
 *
 * @param body The body bytes, if any.
 * @returns The excerpt.
 */
export function bodySnippet(body: Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return "";
  const text = new TextDecoder().decode(body)
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]+/g, " ")
    .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\uFFFD]/gu, "")
    .replace(/\s+/g, " ")
    .trim();
  const chars = [...text];
  return chars.length <= BODY_SNIPPET
    ? text
    : `${chars.slice(0, BODY_SNIPPET).join("").trimEnd()}…`;
}

/**
 * The message of a `HANDSHAKE_STATUS` error: the URL (without credentials, query or fragment),
 * the status and its reason phrase, and a snippet of the body, e.g.
 * `ws://127.0.0.1:8080/echo answered the upgrade request with 404 Not Found instead of 101
 * Switching Protocols: No WebSocket route for /echo`.
 *
 * @param url The URL the upgrade request was sent to.
 * @param status The reply's status.
 * @param statusText The reply's reason phrase, possibly empty.
 * @param body The first bytes of the reply's body, if any.
 * @returns The message.
 */
export function refusalMessage(
  url: URL | string,
  status: number,
  statusText: string,
  body: Uint8Array | undefined,
): string {
  let where: string;
  try {
    const u = new URL(url);
    where = `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    where = String(url);
  }
  const reason = statusText.replace(/[^\x20-\x7e]/g, "").trim().slice(0, 100);
  const snippet = bodySnippet(body);
  return `${where} answered the upgrade request with ${status}${reason ? ` ${reason}` : ""}` +
    ` instead of 101 Switching Protocols${snippet ? `: ${snippet}` : ""}`;
}

/** What a {@linkcode RedirectError} knows. */
export interface RedirectErrorOptions extends HandshakeErrorOptions {
  /** The URLs requested so far, the first one first. */
  chain: readonly string[];
  /** The `Location` that was not followed, if there was one. */
  location?: string;
}

/**
 * A redirect of the upgrade request that is not followed:
 *
 * - `REDIRECT_DOWNGRADE`: from `wss:` to `ws:` (TLS would be lost);
 * - `REDIRECT_LOOP`: to a URL already requested;
 * - `TOO_MANY_REDIRECTS`: more hops than `maxRedirects`;
 * - `REDIRECT_INVALID`: a `Location` that is no `ws:`, `wss:`, `http:` or `https:` URL, or a
 *   redirect to another origin while connecting through a unix socket.
 *
 * @example
 * ```ts
 * import { RedirectError } from "@wirestream/ws";
 *
 * const err = new RedirectError("REDIRECT_DOWNGRADE", "Refusing a redirect from wss: to ws:", {
 *   status: 302,
 *   chain: ["wss://example.com/"],
 *   location: "ws://example.com/",
 * });
 * console.log(err.code, err.location); // REDIRECT_DOWNGRADE ws://example.com/
 * ```
 */
export class RedirectError extends HandshakeError {
  /** The URLs requested, the first one first. */
  readonly chain: readonly string[];
  /** The `Location` not followed, if any. */
  readonly location: string | undefined;

  /**
   * Creates a redirect error.
   *
   * @param code `REDIRECT_DOWNGRADE`, `REDIRECT_LOOP`, `TOO_MANY_REDIRECTS` or `REDIRECT_INVALID`.
   * @param message The human-readable message.
   * @param options The redirect's status and headers, the chain of URLs, the `Location`.
   */
  constructor(code: WebSocketErrorCode, message: string, options: RedirectErrorOptions) {
    super(code, message, options);
    this.chain = options.chain;
    this.location = options.location;
  }
}

/**
 * The connection could not be established or broke: refused, DNS failure, TLS failure, reset,
 * or not permitted (`PERMISSION_DENIED`: the process lacks `--allow-net`).
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@wirestream/ws";
 *
 * const err = new ConnectionError("CONNECTION_REFUSED", "Connection refused by 127.0.0.1:1");
 * console.log(err.code);
 * ```
 */
export class ConnectionError extends WebSocketError {}

/** What a {@linkcode ProxyError} knows about the proxy's answer. */
export interface ProxyErrorOptions extends WebSocketErrorOptions {
  /** The proxy's URL with any credentials removed. */
  proxy: string;
  /** The HTTP status of a refused `CONNECT`. */
  status?: number;
  /** The SOCKS5 reply code (1-8 as RFC 1928 §6 defines them) or method/auth status byte. */
  reply?: number;
}

/**
 * A proxy did not open the tunnel:
 *
 * - `PROXY_AUTH_FAILED`: it wants credentials, or refused the ones given (HTTP 407, a SOCKS5
 *   server that accepts none of the offered methods or rejects the username and password);
 * - `PROXY_REFUSED`: it refused the `CONNECT` (another status, such as 403 or 502) or answered the
 *   SOCKS5 request with a failure reply code;
 * - `PROXY_PROTOCOL_ERROR`: its answer is not HTTP, or not SOCKS5.
 *
 * {@linkcode ProxyError.proxy} names the proxy without its credentials: user names and passwords
 * never appear in a message.
 *
 * @example
 * ```ts
 * import { ProxyError } from "@wirestream/ws";
 *
 * const err = new ProxyError("PROXY_REFUSED", "The proxy refused the tunnel with 403", {
 *   proxy: "http://proxy.example:3128",
 *   status: 403,
 * });
 * console.log(err.code, err.status, err.proxy); // PROXY_REFUSED 403 http://proxy.example:3128
 * ```
 */
export class ProxyError extends ConnectionError {
  /** The proxy's URL, credentials removed. */
  readonly proxy: string;
  /** The HTTP status of a refused `CONNECT`, if that is what failed. */
  readonly status: number | undefined;
  /** The SOCKS5 reply code, if that is what failed. */
  readonly reply: number | undefined;

  /**
   * Creates a proxy error.
   *
   * @param code `PROXY_AUTH_FAILED`, `PROXY_REFUSED` or `PROXY_PROTOCOL_ERROR`.
   * @param message The human-readable message (without credentials).
   * @param options The proxy, the status or reply code, the cause.
   */
  constructor(code: WebSocketErrorCode, message: string, options: ProxyErrorOptions) {
    super(code, message, options);
    this.proxy = options.proxy;
    this.status = options.status;
    this.reply = options.reply;
  }
}

/**
 * A deadline passed: connect, handshake, close handshake or pong.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@wirestream/ws";
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
