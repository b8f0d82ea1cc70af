/**
 * The errors of a failed HTTP upgrade: {@linkcode HandshakeError} and the redirect that is not
 * followed, {@linkcode RedirectError}; with the message of a refusal ({@linkcode refusalMessage}).
 *
 * @module
 */

import {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";

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
