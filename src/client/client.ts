/**
 * The managed client (Ktor's client `WebSockets` plugin and its builders): `createClient`, and
 * `webSocket`, `ws`, `wss`, `webSocketSession` on a client or on a default one.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import {
  checkExtensionFactories,
  clientExtensionOffers,
  negotiateClientExtensions,
} from "../core/extension_negotiation.ts";
import type { WebSocketExtension, WebSocketExtensionFactory } from "../core/extension.ts";
import { formatExtensionHeader } from "../core/extension_header.ts";
import { type EndpointParts, resolveEndpoint } from "../core/url.ts";
import type { TlsOptions } from "../transport/connect.ts";
import { connWrapperOf } from "../transport/conn_wrapper.ts";
import { dial, type DialResult } from "./dial.ts";
import type { WebSocketContentConverter } from "../session/converter.ts";
import {
  type DefaultWebSocketSession,
  type IncomingQueueOptions,
  ManagedWebSocketSession,
  type OutgoingQueueOptions,
} from "../session/managed_session.ts";
import { checkSessionOptions, SESSION_DEFAULTS } from "../session/options.ts";
import { runBlock } from "../session/run_block.ts";
import { checkClientOptions, CLIENT_DEFAULTS } from "./raw_client.ts";

/** Settings of a client: the defaults of every connection it opens. */
export interface WebSocketClientOptions {
  /**
   * Milliseconds between pings sent by each session; 0 turns the pinger off (Ktor's default).
   * @default {0}
   */
  pingInterval?: number;
  /**
   * Milliseconds to wait for a pong before closing with 1011 "Ping timeout".
   * @default {2 × pingInterval}
   */
  timeout?: number;
  /**
   * The largest incoming frame payload, checked from the header; a larger frame fails the
   * session with 1009.
   * @default {16777216}
   */
  maxFrameSize?: number;
  /**
   * The largest incoming message (all its fragments). 16 MiB keeps one session's memory
   * bounded (see `SESSION_DEFAULTS`); Ktor's 2 GiB does not.
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * The converter of `sendSerialized`/`receiveDeserialized` (`jsonConverter()` ships with the
   * library).
   * @default {undefined}
   */
  converter?: WebSocketContentConverter;
  /**
   * Extension factories, offered in this order (`permessage-deflate`, …). Two factories may not
   * claim the same RSV bit.
   * @default {[]}
   */
  extensions?: readonly WebSocketExtensionFactory[];
  /**
   * TLS settings for `wss:`: extra CA certificates, a client certificate and key, a server name.
   * @default {undefined}
   */
  tls?: TlsOptions;
  /**
   * Milliseconds for the TCP connect and TLS handshake; 0 = no limit.
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Milliseconds for the HTTP upgrade once connected; 0 = no limit.
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds a close waits for the peer's close frame (and then for the server to end the
   * TCP connection); Ktor has no such limit.
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * Headers sent with every upgrade request (a call's own `headers` win).
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * Bounds of each session's incoming queue.
   * @default {{ messages: 16, bytes: 1048576 }}
   */
  incomingQueue?: IncomingQueueOptions;
  /**
   * Bound of each session's outgoing queue.
   * @default {{ bytes: 1048576 }}
   */
  outgoingQueue?: OutgoingQueueOptions;
  /**
   * Whether outgoing frames are masked. RFC 6455 requires it of clients.
   * @default {true}
   */
  masking?: boolean;
  /**
   * The largest HTTP response head accepted, in bytes (at least 64).
   * @default {16384}
   */
  maxHeaderSize?: number;
  /**
   * The former name of {@linkcode WebSocketClientOptions.maxHeaderSize}; giving both with
   * different values is a `TypeError`.
   * @default {undefined}
   * @deprecated Use `maxHeaderSize`, the server's name for the same limit.
   */
  maxHeadSize?: number;
}

/** Options of one call: every client setting but `extensions`, plus the request's own. */
export interface WebSocketCallOptions extends Omit<WebSocketClientOptions, "extensions"> {
  /**
   * Query parameters appended to the URL.
   * @default {undefined}
   */
  params?: Record<string, string> | URLSearchParams;
  /**
   * Subprotocols to offer, most preferred first; the server's choice is `session.protocol`.
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Cancels the connect and handshake; once connected, aborts the session.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Connect to this unix socket instead of the URL's host and port (which still name `Host`).
   * @default {undefined}
   */
  unixPath?: string;
}

/** A request by parts with its options: `webSocket({ host, port, path }, handler)`. */
export interface WebSocketRequest extends EndpointParts, WebSocketCallOptions {}

/** The managed client session (Ktor's `DefaultClientWebSocketSession`). */
export type DefaultClientWebSocketSession = DefaultWebSocketSession;

/** The block of `webSocket`: runs with an open session, its result is returned. */
export type WebSocketHandler<T> = (session: DefaultClientWebSocketSession) => T | Promise<T>;

/** A client: connection defaults, the builders, and `close()` for every session it opened. */
export interface WebSocketClient extends AsyncDisposable {
  /** The number of sessions open (or closing) that this client opened. */
  readonly openSessions: number;
  /**
   * Connects, runs `handler` with the session, then closes it (1000 when the handler returns,
   * 1011 when it throws; the error is rethrown), waiting up to `closeTimeout` for the server.
   *
   * @param input A `ws:`/`wss:` URL (`http:`/`https:` too), or `{ host, port, path, method }`
   *   with options (plain unless the URL says `wss:`).
   * @param handler The block.
   * @param options Per-call options (merged over those in `input`).
   * @returns The handler's result.
   */
  webSocket<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T>;
  /**
   * Alias of {@linkcode WebSocketClient.webSocket}.
   *
   * @param input A URL, or `{ host, port, path, method }` with options.
   * @param handler The block.
   * @param options Per-call options.
   * @returns The handler's result.
   */
  ws<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T>;
  /**
   * {@linkcode WebSocketClient.webSocket} over TLS: `{ host, path }` connects with TLS to port
   * 443 unless a port is given; a URL string's own scheme wins (as in Ktor).
   *
   * @param input A URL, or `{ host, port, path, method }` with options.
   * @param handler The block.
   * @param options Per-call options.
   * @returns The handler's result.
   */
  wss<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T>;
  /**
   * Connects and returns the session; the caller closes it (`close()`, or `await using`).
   *
   * @param input A URL, or `{ host, port, path, method }` with options.
   * @param options Per-call options.
   * @returns The open session.
   */
  webSocketSession(
    input: string | URL | WebSocketRequest,
    options?: WebSocketCallOptions,
  ): Promise<DefaultClientWebSocketSession>;
  /**
   * Closes every session this client opened (1001 "going away"), cancels connects in progress,
   * and refuses new calls. Resolves once every socket is released.
   *
   * @returns A promise for the end of every session.
   */
  close(): Promise<void>;
}

const CLIENT_CLOSED = "The client is closed";

/**
 * Checks the options of a client or of one call, and folds `maxHeadSize` into `maxHeaderSize`
 * (each layer on its own, so that a call's value wins over the client's under either name).
 */
function checkCallOptions<O extends WebSocketCallOptions>(o: O): O {
  if (o === null || typeof o !== "object") throw new TypeError("options must be an object");
  const folded = checkClientOptions(o);
  checkSessionOptions(o);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  return folded;
}

function mergeHeaders(base: HeadersInit | undefined, own: HeadersInit | undefined): Headers {
  const headers = new Headers(base);
  if (own !== undefined) new Headers(own).forEach((value, name) => headers.set(name, value));
  return headers;
}

class ManagedClient implements WebSocketClient {
  readonly #options: WebSocketClientOptions;
  readonly #factories: readonly WebSocketExtensionFactory[];
  readonly #sessions = new Set<ManagedWebSocketSession>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #closing: Promise<void> | null = null;

  constructor(options: WebSocketClientOptions | undefined) {
    const o = checkCallOptions(options ?? {});
    const factories = o.extensions ?? [];
    checkExtensionFactories(factories);
    this.#factories = [...factories];
    // Headers are parsed once, so that a bad one fails here.
    this.#options = { ...o, headers: o.headers === undefined ? undefined : new Headers(o.headers) };
  }

  get openSessions(): number {
    return this.#sessions.size;
  }

  async webSocket<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T> {
    if (typeof handler !== "function") throw new TypeError("webSocket needs a handler function");
    return runBlock(await this.#open(input, options, false), handler);
  }

  ws<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T> {
    return this.webSocket(input, handler, options);
  }

  async wss<T>(
    input: string | URL | WebSocketRequest,
    handler: WebSocketHandler<T>,
    options?: WebSocketCallOptions,
  ): Promise<T> {
    if (typeof handler !== "function") throw new TypeError("wss needs a handler function");
    return runBlock(await this.#open(input, options, true), handler);
  }

  webSocketSession(
    input: string | URL | WebSocketRequest,
    options?: WebSocketCallOptions,
  ): Promise<DefaultClientWebSocketSession> {
    return this.#open(input, options, false);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort(new ConnectionClosedError("SESSION_CLOSED", CLIENT_CLOSED));
      await Promise.allSettled([...this.#pending]);
      await Promise.all([...this.#sessions].map((s) => s.close(new CloseReason(1001, ""))));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(
    input: string | URL | WebSocketRequest,
    options: WebSocketCallOptions | undefined,
    secure: boolean,
  ): Promise<ManagedWebSocketSession> {
    const attempt = this.#connect(input, options, secure);
    this.#pending.add(attempt);
    attempt.then(
      () => this.#pending.delete(attempt),
      () => this.#pending.delete(attempt),
    );
    return attempt;
  }

  async #connect(
    input: string | URL | WebSocketRequest,
    options: WebSocketCallOptions | undefined,
    secure: boolean,
  ): Promise<ManagedWebSocketSession> {
    if (this.#abort.signal.aborted) {
      throw new ConnectionClosedError("SESSION_CLOSED", CLIENT_CLOSED);
    }
    const byUrl = typeof input === "string" || input instanceof URL;
    if (!byUrl && (input === null || typeof input !== "object")) {
      throw new TypeError("Expected a URL string, a URL or { host, port, path }");
    }
    const call = checkCallOptions<WebSocketCallOptions>(
      byUrl ? { ...options } : { ...input, ...options },
    );
    const o = { ...this.#options, ...call };
    const headers = mergeHeaders(this.#options.headers, call.headers);
    const endpoint = resolveEndpoint(byUrl ? input : input as EndpointParts, {
      secure,
      params: call.params,
    });
    const factories = this.#factories;
    const offers = clientExtensionOffers(factories);
    const signal = call.signal === undefined
      ? this.#abort.signal
      : AbortSignal.any([this.#abort.signal, call.signal]);
    const result = await dial(endpoint, {
      headers,
      protocols: call.protocols,
      extensions: offers.length > 0 ? formatExtensionHeader(offers) : undefined,
      extensionNames: factories.map((f) => f.name),
      tls: o.tls,
      unixPath: call.unixPath,
      connectTimeout: o.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout,
      handshakeTimeout: o.handshakeTimeout ?? CLIENT_DEFAULTS.handshakeTimeout,
      maxHeadSize: o.maxHeaderSize ?? CLIENT_DEFAULTS.maxHeaderSize,
      signal,
      wrapConn: connWrapperOf(o),
    });
    let extensions: WebSocketExtension[] = [];
    let session: ManagedWebSocketSession;
    try {
      if (this.#abort.signal.aborted) {
        throw new ConnectionClosedError("SESSION_CLOSED", CLIENT_CLOSED);
      }
      extensions = negotiateClientExtensions(factories, result.extensions, {
        maxMessageSize: o.maxMessageSize ?? SESSION_DEFAULTS.maxMessageSize,
      });
      session = new ManagedWebSocketSession({
        conn: result.conn,
        role: "client",
        leftover: result.leftover,
        protocol: result.protocol,
        maxFrameSize: o.maxFrameSize ?? CLIENT_DEFAULTS.maxFrameSize,
        masking: o.masking ?? true,
        closeTimeout: o.closeTimeout ?? CLIENT_DEFAULTS.closeTimeout,
        extensions,
        call: upgradeCall(endpoint.url, endpoint.method, result),
      }, {
        pingInterval: o.pingInterval,
        timeout: o.timeout,
        maxMessageSize: o.maxMessageSize,
        converter: o.converter,
        incomingQueue: o.incomingQueue,
        outgoingQueue: o.outgoingQueue,
      });
    } catch (err) {
      for (const ext of extensions) {
        try {
          ext.dispose();
        } catch {
          // Keep the first error.
        }
      }
      try {
        result.conn.close();
      } catch {
        // Already closed.
      }
      throw err;
    }
    this.#sessions.add(session);
    session.closed.then(() => this.#sessions.delete(session));
    const own = call.signal;
    if (own !== undefined) {
      if (own.aborted) {
        session.abort(own.reason);
      } else {
        const onAbort = () => session.abort(own.reason);
        own.addEventListener("abort", onAbort, { once: true });
        session.closed.then(() => own.removeEventListener("abort", onAbort));
      }
    }
    return session;
  }
}

function upgradeCall(
  url: URL,
  method: string,
  result: DialResult,
): ManagedWebSocketSession["call"] {
  return {
    request: { url, method, headers: result.requestHeaders },
    response: {
      status: result.response.status,
      statusText: result.response.statusText,
      headers: result.response.headers,
    },
  };
}

/**
 * Creates a client: the defaults of every connection it opens (pinger, limits, converter,
 * extensions, TLS, timeouts, headers, queue bounds) and `close()` for all of them.
 *
 * @example A client with a pinger, a JSON converter and a default header
 * ```ts
 * import { createClient, jsonConverter } from "@wirestream/ws";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const user = req.headers.get("authorization");
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(JSON.stringify({ user, got: JSON.parse(e.data) }));
 *   return response;
 * });
 * {
 *   await using client = createClient({
 *     pingInterval: 20_000,
 *     converter: jsonConverter(),
 *     headers: { authorization: "Bearer t0ken" },
 *   });
 *   await client.webSocket(`ws://127.0.0.1:${server.addr.port}/`, async (session) => {
 *     await session.sendSerialized({ type: "hello" });
 *     console.log(await session.receiveDeserialized());
 *     // { user: "Bearer t0ken", got: { type: "hello" } }
 *   });
 * }
 * await server.shutdown();
 * ```
 *
 * @param options The connection defaults.
 * @returns The client.
 * @throws {RangeError} When a timeout or size is out of range.
 * @throws {TypeError} When an option has the wrong type, or two extension factories conflict.
 */
export function createClient(options?: WebSocketClientOptions): WebSocketClient {
  return new ManagedClient(options);
}

let defaultClient: WebSocketClient | null = null;

function shared(): WebSocketClient {
  defaultClient ??= createClient();
  return defaultClient;
}

/**
 * Connects with the default client, runs `handler` with the session, then closes it: 1000 when
 * the handler returns, 1011 when it throws (the error is rethrown), waiting up to
 * `closeTimeout` for the server. Returns what the handler returns.
 *
 * @example Echo one message (against a local server)
 * ```ts
 * import { readText, webSocket } from "@wirestream/ws";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 * const reply = await webSocket(`ws://127.0.0.1:${server.addr.port}/echo`, async (session) => {
 *   await session.send("hello");
 *   for await (const message of session.incoming) return readText(message);
 *   return null;
 * });
 * console.log(reply); // "hello"
 * await server.shutdown();
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Per-call options.
 * @returns The handler's result.
 * @throws {HandshakeError} When the server does not upgrade as offered.
 * @throws {ConnectionError} When the connection cannot be made.
 * @throws {TimeoutError} When connect or handshake take too long.
 */
export function webSocket<T>(
  input: string | URL | WebSocketRequest,
  handler: WebSocketHandler<T>,
  options?: WebSocketCallOptions,
): Promise<T> {
  return shared().webSocket(input, handler, options);
}

/**
 * Alias of {@linkcode webSocket}.
 *
 * @example Connect by parts
 * ```ts
 * import { ws } from "@wirestream/ws";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 * const port = server.addr.port;
 * const protocol = await ws({ host: "127.0.0.1", port, path: "/echo" }, (session) => {
 *   return session.call.request.url.href;
 * });
 * console.log(protocol); // ws://127.0.0.1:<port>/echo
 * await server.shutdown();
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Per-call options.
 * @returns The handler's result.
 */
export function ws<T>(
  input: string | URL | WebSocketRequest,
  handler: WebSocketHandler<T>,
  options?: WebSocketCallOptions,
): Promise<T> {
  return shared().webSocket(input, handler, options);
}

/**
 * {@linkcode webSocket} over TLS: `{ host, path }` connects with TLS to port 443 unless a port
 * is given. A URL string's own scheme wins (`wss("ws://…")` is plain), as in Ktor; no scheme
 * or port is ever forced behind the caller's back.
 *
 * @example
 * ```ts ignore
 * import { wss } from "@wirestream/ws";
 *
 * await wss({ host: "example.com", path: "/socket" }, (session) => session.send("hi"));
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param handler The block.
 * @param options Per-call options.
 * @returns The handler's result.
 */
export function wss<T>(
  input: string | URL | WebSocketRequest,
  handler: WebSocketHandler<T>,
  options?: WebSocketCallOptions,
): Promise<T> {
  return shared().wss(input, handler, options);
}

/**
 * Connects with the default client and returns the session; the caller closes it (or uses
 * `await using`). With `{ host, path }` the port is the scheme's default, never a forced 80.
 *
 * @example A session closed by `await using`
 * ```ts
 * import { readText, webSocketSession } from "@wirestream/ws";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 * {
 *   await using session = await webSocketSession(`ws://127.0.0.1:${server.addr.port}/`);
 *   await session.send("hello");
 *   const { value } = await session.incoming.getReader().read();
 *   console.log(readText(value!)); // "hello"
 * } // closed here: close frame 1000, wait for the echo, socket released
 * await server.shutdown();
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options.
 * @param options Per-call options.
 * @returns The open session.
 */
export function webSocketSession(
  input: string | URL | WebSocketRequest,
  options?: WebSocketCallOptions,
): Promise<DefaultClientWebSocketSession> {
  return shared().webSocketSession(input, options);
}
