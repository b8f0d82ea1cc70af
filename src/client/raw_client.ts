/**
 * The raw client: Ktor's CIO raw builders (`webSocketRaw`, `webSocketRawSession`, `wsRaw`,
 * `wssRaw`) over Deno sockets.
 *
 * @module
 */

import { type EndpointParts, resolveEndpoint } from "../core/url.ts";
import type { TlsOptions } from "../transport/connect.ts";
import {
  type ClientNetworkOptions,
  redirectSettings,
  type UrlOverrides,
} from "./network_options.ts";
import { dialFollowing } from "./redirects.ts";
import { dialCall } from "./_dial_call.ts";
import { connWrapperOf } from "../transport/conn_wrapper.ts";
import {
  checkConnectionOptions,
  checkHeaderSize,
  checkMs,
  checkNetworkOptions,
  CONNECTION_DEFAULTS,
  foldAlias,
} from "../session/options.ts";
import { RawWebSocketSession } from "../session/raw_session.ts";
import { runBlock } from "../session/run_block.ts";

/** Options of the raw client calls. */
export interface RawClientOptions extends ClientNetworkOptions, UrlOverrides {
  /**
   * Extra request headers (for example `Authorization`). The WebSocket handshake headers are
   * set by the library and cannot be overridden.
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * Query parameters appended to the URL.
   * @default {undefined}
   */
  params?: Record<string, string> | URLSearchParams;
  /**
   * Subprotocols to offer (`Sec-WebSocket-Protocol`), most preferred first. The server's choice
   * must be one of them.
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Cancels the connect and handshake; once connected, aborts the session.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Milliseconds allowed for the TCP connect and TLS handshake; 0 = no limit.
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Milliseconds allowed for the HTTP upgrade once connected; 0 = no limit.
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds the block form (and `await using`) waits for the server's close frame, and a
   * client waits for the server to end the TCP connection after the close handshake.
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * TLS settings for `wss:`: extra CA certificates, a client certificate and key.
   * @default {undefined}
   */
  tls?: TlsOptions;
  /**
   * The largest incoming frame payload, checked from the header before anything is buffered;
   * a larger frame fails the session with close code 1009.
   * @default {16777216}
   */
  maxFrameSize?: number;
  /**
   * Whether outgoing frames are masked. RFC 6455 requires it of clients; turn it off only for
   * servers known to accept unmasked frames.
   * @default {true}
   */
  masking?: boolean;
  /**
   * Connect to this unix socket instead of the URL's host and port (which still name the
   * `Host` header).
   * @default {undefined}
   */
  unixPath?: string;
  /**
   * The largest HTTP response head accepted, in bytes (at least 64).
   * @default {16384}
   */
  maxHeaderSize?: number;
  /**
   * The former name of {@linkcode RawClientOptions.maxHeaderSize}; giving both with different
   * values is a `TypeError`.
   * @default {undefined}
   * @deprecated Use `maxHeaderSize`, the server's name for the same limit.
   */
  maxHeadSize?: number;
}

/** Request parts and options in one object: `webSocketRaw({ host, port, path }, handler)`. */
export interface RawRequestOptions extends EndpointParts, RawClientOptions {}

/** @internal The default client limits, shared by the managed client. */
export const CLIENT_DEFAULTS = {
  connectTimeout: 10_000,
  handshakeTimeout: CONNECTION_DEFAULTS.handshakeTimeout,
  closeTimeout: CONNECTION_DEFAULTS.closeTimeout,
  maxFrameSize: CONNECTION_DEFAULTS.maxFrameSize,
  maxHeaderSize: CONNECTION_DEFAULTS.maxHeaderSize,
} as const;

/**
 * @internal Checks the options of both clients' calls (timeouts, limits, masking) and folds the
 * deprecated `maxHeadSize` into `maxHeaderSize`.
 *
 * @param o The options.
 * @returns The options, with `maxHeaderSize` only.
 * @throws {RangeError} When a timeout or size is out of range.
 * @throws {TypeError} When `masking` is not a boolean, or `maxHeaderSize` and `maxHeadSize`
 *   disagree.
 */
export function checkClientOptions<O extends RawClientOptions>(o: O): O {
  checkMs("connectTimeout", o.connectTimeout);
  checkNetworkOptions(o);
  checkConnectionOptions(o);
  checkHeaderSize("maxHeadSize", o.maxHeadSize);
  return foldAlias(o, { name: "maxHeaderSize", alias: "maxHeadSize" });
}

async function open(
  input: string | URL | RawRequestOptions,
  options: RawClientOptions | undefined,
  secure: boolean,
): Promise<RawWebSocketSession> {
  const parts = typeof input === "string" || input instanceof URL ? undefined : input;
  const opts: RawClientOptions = checkClientOptions({ ...parts, ...options });
  const first = resolveEndpoint(parts ?? (input as string | URL), {
    secure,
    params: opts.params,
    scheme: opts.scheme,
    port: opts.port,
  });
  const result = await dialFollowing(first, {
    headers: opts.headers,
    protocols: opts.protocols,
    tls: opts.tls,
    unixPath: opts.unixPath,
    connectTimeout: opts.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout,
    handshakeTimeout: opts.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
    maxHeadSize: opts.maxHeaderSize ?? CLIENT_DEFAULTS.maxHeaderSize,
    signal: opts.signal,
    proxy: opts.proxy,
    wrapConn: connWrapperOf(opts),
  }, redirectSettings(opts));
  const endpoint = result.endpoint;
  const session = new RawWebSocketSession({
    conn: result.conn,
    role: "client",
    leftover: result.leftover,
    protocol: result.protocol,
    maxFrameSize: opts.maxFrameSize ?? CLIENT_DEFAULTS.maxFrameSize,
    masking: opts.masking ?? true,
    closeTimeout: opts.closeTimeout ?? CLIENT_DEFAULTS.closeTimeout,
    call: dialCall(endpoint.url, endpoint.method, result.requestFields, result.response),
  });
  const signal = opts.signal;
  if (signal?.aborted) {
    // Aborted between the end of the handshake and now.
    session.abort(signal.reason);
  } else if (signal) {
    const onAbort = () => session.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    session.closed.then(() => signal.removeEventListener("abort", onAbort));
  }
  return session;
}

/**
 * Opens a raw session and returns it; the caller closes it (or uses `await using`).
 *
 * @example
 * ```ts ignore
 * import { webSocketRawSession } from "@wirestream/ws/raw";
 *
 * await using session = await webSocketRawSession("ws://127.0.0.1:9001/", {
 *   headers: { authorization: "Bearer token" },
 * });
 * await session.send("hello");
 * ```
 *
 * @param input A `ws:`/`wss:` URL, or `{ host, port, path, method }` with options.
 * @param options Options (merged over those in `input`).
 * @returns The open session.
 * @throws {TypeError} On a bad URL or option.
 * @throws {HandshakeError} When the server does not upgrade correctly.
 * @throws {ConnectionError} When the connection cannot be made.
 * @throws {TimeoutError} When connect or handshake take too long.
 */
export function webSocketRawSession(
  input: string | URL | RawRequestOptions,
  options?: RawClientOptions,
): Promise<RawWebSocketSession> {
  return open(input, options, false);
}

/**
 * Opens a raw session, runs `handler` with it, and closes it: a close frame (1000, or 1011 when
 * the handler threw) unless the handler sent one, a wait of up to `closeTimeout` for the
 * server's, then the socket is released. Returns what the handler returns; an error thrown by
 * the handler propagates (Ktor swallows it).
 *
 * @example
 * ```ts ignore
 * import { webSocketRaw } from "@wirestream/ws/raw";
 *
 * const first = await webSocketRaw("ws://127.0.0.1:9001/", async (session) => {
 *   await session.send("ping me");
 *   for await (const frame of session.incoming) return frame;
 * });
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Options, with a URL.
 * @returns The handler's result.
 */
export async function webSocketRaw<T>(
  input: string | URL | RawRequestOptions,
  handler: (session: RawWebSocketSession) => T | Promise<T>,
  options?: RawClientOptions,
): Promise<T> {
  if (typeof handler !== "function") throw new TypeError("webSocketRaw needs a handler function");
  return runBlock(await open(input, options, false), handler);
}

/**
 * Alias of {@linkcode webSocketRaw}.
 *
 * @example
 * ```ts ignore
 * import { wsRaw } from "@wirestream/ws/raw";
 *
 * await wsRaw({ host: "127.0.0.1", port: 9001, path: "/" }, (session) => session.send("hi"));
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Options, with a URL.
 * @returns The handler's result.
 */
export function wsRaw<T>(
  input: string | URL | RawRequestOptions,
  handler: (session: RawWebSocketSession) => T | Promise<T>,
  options?: RawClientOptions,
): Promise<T> {
  return webSocketRaw(input, handler, options);
}

/**
 * {@linkcode webSocketRaw} over TLS: `{ host, path }` connects with TLS to port 443 unless a
 * port is given. A URL string's own scheme wins (`wssRaw("ws://…")` is plain), as in Ktor;
 * `{ scheme: "wss", port: 443 }` overrides it, as Ktor's `url { protocol = WSS; port = 443 }`.
 *
 * @example
 * ```ts ignore
 * import { wssRaw } from "@wirestream/ws/raw";
 *
 * await wssRaw({ host: "example.com", path: "/socket" }, (session) => session.send("hi"));
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Options, with a URL.
 * @returns The handler's result.
 */
export async function wssRaw<T>(
  input: string | URL | RawRequestOptions,
  handler: (session: RawWebSocketSession) => T | Promise<T>,
  options?: RawClientOptions,
): Promise<T> {
  if (typeof handler !== "function") throw new TypeError("wssRaw needs a handler function");
  return runBlock(await open(input, options, true), handler);
}
