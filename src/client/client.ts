/**
 * The managed client (Ktor's client `WebSockets` plugin): `createClient`, a client's defaults
 * and `webSocket`, `ws`, `wss`, `webSocketSession` on it, and `close()` for all it opened.
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
import { dialCall } from "./_dial_call.ts";
import { ManagedWebSocketSession } from "../session/managed_session.ts";
import { SESSION_DEFAULTS } from "../session/options.ts";
import { connWrapperOf } from "../transport/conn_wrapper.ts";
import { runBlock } from "../session/run_block.ts";
import { CLIENT_DEFAULTS } from "./raw_client.ts";
import {
  checkCallOptions,
  type DefaultClientWebSocketSession,
  mergeHeaders,
  type WebSocketCallOptions,
  type WebSocketClientOptions,
  type WebSocketHandler,
  type WebSocketRequest,
} from "./client_options.ts";
import { redirectSettings } from "./network_options.ts";
import { dialFollowing } from "./redirects.ts";
import { ReconnectingWebSocket, type ReconnectOptions } from "./reconnect.ts";
import { checkReconnectOptions } from "../session/options.ts";

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
   * 443 unless a port is given; a URL string's own scheme wins (as in Ktor), and the
   * `scheme` and `port` options override it (Ktor's `url { protocol = WSS; port = 443 }`).
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
   * Sessions, one after another, reconnecting with backoff when one ends transiently or a
   * connect fails transiently: `for await (const session of client.webSocketSessions(url))`.
   * See {@linkcode ReconnectingWebSocket}.
   *
   * @param input A URL, or `{ host, port, path, method }` with options; or a function that
   *   returns one, called before every connect (say, to send a `TopicCursor`'s positions).
   * @param options Per-call options, plus the backoff, the retry decision, the retry hook, the
   *   retry limit and the queue for messages sent while disconnected.
   * @returns The reconnecting iterable (it connects when the loop asks for the first session).
   * @throws {TypeError} When an option has the wrong type.
   * @throws {RangeError} When a number is out of range.
   */
  webSocketSessions(
    input: string | URL | WebSocketRequest | (() => string | URL | WebSocketRequest),
    options?: ReconnectOptions,
  ): ReconnectingWebSocket;
  /**
   * Closes every session this client opened (1001 "going away"), cancels connects in progress,
   * and refuses new calls. Resolves once every socket is released.
   *
   * @returns A promise for the end of every session.
   */
  close(): Promise<void>;
}

const CLIENT_CLOSED = "The client is closed";

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

  webSocketSessions(
    input: string | URL | WebSocketRequest | (() => string | URL | WebSocketRequest),
    options?: ReconnectOptions,
  ): ReconnectingWebSocket {
    const o: ReconnectOptions = options ?? {};
    if (o === null || typeof o !== "object") throw new TypeError("options must be an object");
    checkReconnectOptions(o);
    const {
      backoff: _backoff,
      retry: _retry,
      onRetry: _onRetry,
      maxRetries: _maxRetries,
      queue: _queue,
      signal: _signal,
      ...call
    } = o;
    checkCallOptions({ ...call });
    return new ReconnectingWebSocket(
      (signal) =>
        this.#open(typeof input === "function" ? input() : input, { ...call, signal }, false),
      o,
    );
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
    const first = resolveEndpoint(byUrl ? input : input as EndpointParts, {
      secure,
      params: call.params,
      scheme: call.scheme,
      port: call.port,
    });
    const factories = this.#factories;
    const offers = clientExtensionOffers(factories);
    const signal = call.signal === undefined
      ? this.#abort.signal
      : AbortSignal.any([this.#abort.signal, call.signal]);
    const result = await dialFollowing(first, {
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
      proxy: o.proxy,
      wrapConn: connWrapperOf(o),
    }, redirectSettings(o));
    const endpoint = result.endpoint;
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
        call: dialCall(endpoint.url, endpoint.method, result.requestFields, result.response),
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
