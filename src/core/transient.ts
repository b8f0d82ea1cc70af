/**
 * Which failures are worth retrying: the reconnecting client's default classification of every
 * error a connection attempt or a session can end with.
 *
 * @module
 */

import { CloseCode } from "./close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  HandshakeError,
  ProxyError,
  RedirectError,
  TimeoutError,
} from "./errors.ts";

/** Close codes after which a new session may well succeed. */
const TRANSIENT_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.GOING_AWAY, // 1001: the server restarts, a proxy drops idle connections
  CloseCode.CLOSED_ABNORMALLY, // 1006: the connection broke
  CloseCode.INTERNAL_ERROR, // 1011: the server failed (a ping timeout too)
  CloseCode.SERVICE_RESTART, // 1012
  CloseCode.TRY_AGAIN_LATER, // 1013
  CloseCode.BAD_GATEWAY, // 1014
]);

/** SOCKS5 replies (RFC 1928 §6) that say the target is down, not that it is forbidden. */
const TRANSIENT_SOCKS_REPLIES: ReadonlySet<number> = new Set([1, 3, 4, 5, 6]);

/** HTTP statuses that say "later": 408, 429 and every 5xx. */
function transientStatus(status: number | undefined): boolean {
  return status !== undefined && (status === 408 || status === 429 || status >= 500);
}

/**
 * Whether a close code says that a new session may succeed: 1001, 1006, 1011, 1012, 1013, 1014.
 *
 * @example
 * ```ts
 * import { isTransientCloseCode } from "@wirestream/ws";
 *
 * console.log(isTransientCloseCode(1012), isTransientCloseCode(1008)); // true false
 * ```
 *
 * @param code The close code.
 * @returns `true` for a transient one.
 */
export function isTransientCloseCode(code: number): boolean {
  return TRANSIENT_CLOSE_CODES.has(code);
}

/**
 * Whether an error is transient: worth a new attempt after a delay. The reconnecting client's
 * default; its `retry` function gets this verdict and may overrule it.
 *
 * Transient: refused, reset and failed connections, DNS failures, connect, handshake and ping
 * timeouts, a server that hangs up during the handshake, 408, 429 and 5xx replies (from the
 * server or from a proxy), SOCKS replies that say the target is down, and sessions that end with
 * 1001, 1006, 1011, 1012, 1013 or 1014. Fatal: TLS failures (a certificate will not become valid
 * by waiting), a missing permission (`PERMISSION_DENIED`: no `--allow-net`), other 4xx replies,
 * refused redirects, a proxy's refusal of the credentials, protocol errors, sessions that end
 * with 1008 or another code, and anything that is not a {@linkcode WebSocketError} (a bad
 * argument, an aborted signal).
 *
 * @example
 * ```ts
 * import { ConnectionError, HandshakeError, isTransientError } from "@wirestream/ws";
 *
 * console.log(isTransientError(new ConnectionError("CONNECTION_REFUSED", "refused"))); // true
 * const unauthorized = new HandshakeError("HANDSHAKE_STATUS", "401", { status: 401 });
 * console.log(isTransientError(unauthorized)); // false
 * ```
 *
 * @param error The error.
 * @returns `true` when retrying may help.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof ProxyError) {
    if (error.code !== "PROXY_REFUSED") return false;
    if (error.status !== undefined) return transientStatus(error.status);
    return error.reply !== undefined && TRANSIENT_SOCKS_REPLIES.has(error.reply);
  }
  if (error instanceof ConnectionError) {
    return error.code !== "TLS_FAILED" && error.code !== "PERMISSION_DENIED";
  }
  if (error instanceof TimeoutError) return true;
  if (error instanceof RedirectError) return false;
  if (error instanceof HandshakeError) {
    if (error.code === "HANDSHAKE_EOF") return true;
    return error.code === "HANDSHAKE_STATUS" && transientStatus(error.status);
  }
  if (error instanceof ConnectionClosedError) {
    if (error.code === "CLOSED_ABNORMALLY") return true;
    const code = error.closeReason?.code;
    return code !== undefined && isTransientCloseCode(code);
  }
  return false;
}
