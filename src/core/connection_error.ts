/**
 * The errors of the connection itself: {@linkcode ConnectionError} (refused, DNS, TLS, reset),
 * {@linkcode ProxyError} (a proxy did not open the tunnel) and {@linkcode TimeoutError}.
 *
 * @module
 */

import {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";

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
