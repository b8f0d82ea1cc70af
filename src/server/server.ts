/**
 * `createServer`: Ktor's `WebSockets` server plugin and its `webSocket` / `webSocketRaw` routes,
 * served by a standalone listener (`listen`) or through `Deno.serve` (`fetch`).
 *
 * @module
 */

import type { WebSocketEvents } from "../session/message_events.ts";
import { checkBoolean } from "../session/options.ts";
import { Listener, type ServerCore, type ServerListener } from "./listener.ts";
import type { RawWebSocketServerSession } from "./raw_server_session.ts";
import {
  type FallbackHandler,
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
} from "./options.ts";
import {
  makeRoute,
  type RawRouteOptions,
  type Route,
  type RouteOptions,
  Router,
} from "./router.ts";
import { fetchWarnings } from "./fetch_warnings.ts";
import { handleFetch } from "./serve_adapter.ts";
import { type ListenOptions, openListener, type UnixListenOptions } from "./listen_options.ts";
import type { DefaultWebSocketServerSession } from "./managed_server_session.ts";
import { SessionTracker } from "./session_tracker.ts";
import type { Frame } from "../core/frame.ts";
import type { PublishOptions, PublishResult } from "../topics/topic_types.ts";

/** A route handler: gets the session, and the session closes when it settles. */
export type RouteHandler<S> = (session: S) => unknown;

/**
 * A WebSocket server: routes, served by {@linkcode WebSocketServer.listen} (a standalone
 * listener with frame-level control) or {@linkcode WebSocketServer.fetch} (a handler for
 * `Deno.serve` and Deno Deploy). Make one with {@linkcode createServer}.
 *
 * @example An echo server
 * ```ts ignore
 * import { createServer } from "@wirestream/ws/server";
 *
 * const server = createServer({ pingInterval: 20_000 });
 * server.webSocket("/echo", async (session) => {
 *   for await (const frame of session.incoming) await session.send(frame);
 * });
 * const listener = server.listen({ port: 9001, hostname: "127.0.0.1" });
 * Deno.addSignalListener("SIGINT", () => listener.shutdown());
 * await listener.finished;
 * ```
 */
export class WebSocketServer {
  readonly #options: ResolvedServerOptions;
  readonly #router = new Router();
  readonly #reported = new Set<Route>();
  readonly #listeners = new Set<Listener>();
  readonly #tracker = new SessionTracker();
  #connections = 0;
  readonly #core: ServerCore;
  readonly #handler: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
  /** What `fetch` warns about on its first request (then emptied). */
  #fetchWarnings: string[];

  /**
   * Use {@linkcode createServer}.
   *
   * @param options The server options.
   */
  constructor(options?: ServerOptions) {
    this.#options = resolveServerOptions(options);
    this.#fetchWarnings = fetchWarnings(options);
    this.#core = {
      options: this.#options,
      router: this.#router,
      reported: this.#reported,
      acquire: () => {
        if (this.#connections >= this.#options.maxConnections) return false;
        this.#connections++;
        return true;
      },
      release: () => {
        this.#connections--;
      },
    };
    this.#handler = (request, info) => this.fetch(request, info);
  }

  /** The connections served now: handshakes, sessions and fallback requests. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Adds a managed route (Ktor's `webSocket`): the handler gets a
   * {@linkcode DefaultWebSocketServerSession} with automatic pongs, the pinger, reassembled
   * messages, the close handshake, `closeReason` and serialization. When the handler returns,
   * the session sends 1000 and waits up to `closeTimeout` for the client's close; when it throws,
   * it sends 1011 and the error goes to `onError`.
   *
   * The handler may also be an object of event handlers (`{ open?, message, close? }`, see
   * {@linkcode WebSocketEvents}): `message` is called for each message, with no `incoming`
   * stream and no suspended handler per session (less memory per idle connection), and the
   * session stays open until either side closes it.
   *
   * @example
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   *
   * createServer().webSocket("/chat/:room", async (session) => {
   *   await session.send(`welcome to ${session.params.room}`);
   *   for await (const frame of session.incoming) await session.send(frame);
   * }, { protocol: "chat.v1" });
   * ```
   *
   * @param path A `URLPattern` pathname (`"/chat/:room"`) or a `URLPattern`.
   * @param handler The session handler, or the event handlers.
   * @param options The subprotocol and an upgrade hook.
   * @returns The server, for chaining.
   * @throws {TypeError} On a bad path, handler or option.
   */
  webSocket<D = unknown>(
    path: string | URLPattern,
    handler:
      | RouteHandler<DefaultWebSocketServerSession<D>>
      | WebSocketEvents<DefaultWebSocketServerSession<D>>,
    options?: RouteOptions<D>,
  ): this {
    this.#addRoute("managed", path, handler, options, false);
    return this;
  }

  /**
   * Adds a raw route (Ktor's `webSocketRaw`): the handler gets a
   * {@linkcode RawWebSocketServerSession} that surfaces every frame and does nothing
   * automatically. Only the standalone listener serves raw routes; through `fetch` they answer
   * 501 (and are reported to `onError` once).
   *
   * @example
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   *
   * createServer().webSocketRaw("/frames", async (session) => {
   *   for await (const frame of session.incoming) {
   *     if (frame.type === "close") break;
   *     await session.send(frame); // fragments, pings and all
   *   }
   * });
   * ```
   *
   * @param path A `URLPattern` pathname or a `URLPattern`.
   * @param handler The session handler.
   * @param options The subprotocol, an upgrade hook, and whether to negotiate extensions.
   * @returns The server, for chaining.
   * @throws {TypeError} On a bad path, handler or option.
   */
  webSocketRaw<D = unknown>(
    path: string | URLPattern,
    handler: RouteHandler<RawWebSocketServerSession<D>>,
    options?: RawRouteOptions<D>,
  ): this {
    const negotiate = options?.negotiateExtensions ?? false;
    checkBoolean("negotiateExtensions", negotiate);
    this.#addRoute("raw", path, handler, options, negotiate);
    return this;
  }

  #addRoute(
    kind: "managed" | "raw",
    path: string | URLPattern,
    handler: unknown,
    // deno-lint-ignore no-explicit-any
    options: RouteOptions<any> | undefined,
    negotiateExtensions: boolean,
  ): void {
    this.#router.add(makeRoute(kind, path, handler, { options, negotiateExtensions }));
  }

  /**
   * Starts a standalone listener (`Deno.listen`, or `Deno.listenTls` with `cert` and `key`, or a
   * unix socket with `path`) with its own HTTP/1.1 parsing and every handshake check, serving
   * managed and raw routes alike. Plain requests go to the `fallback` handler (else 426 on a
   * WebSocket route's path, 404 elsewhere). Several listeners may run at once; they share
   * `maxConnections`.
   *
   * On a unix socket, a request without `Host` gets the URL `http://localhost/…`, and the
   * session's `remoteAddr` is the socket's (`{ transport: "unix", path }`); the upgrade hook and
   * `onError` see no `remoteAddr`, as through `Deno.serve({ path })`.
   *
   * Client certificates: `Deno.listenTls` can neither request nor verify them (its options have
   * no CA list and no "require a client certificate" setting, and a `Deno.TlsConn` exposes no peer
   * certificate), so a TLS listener cannot do mutual TLS: terminate it in a reverse proxy in
   * front of the listener. (`node:tls` can, with `requestCert`, but its sockets are not
   * `Deno.Conn`s.)
   *
   * @example
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   *
   * const server = createServer();
   * server.webSocket("/", (session) => session.send("hi"));
   * const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
   * console.log(`ws://127.0.0.1:${listener.addr.port}/`);
   * await listener.shutdown();
   * ```
   *
   * @example On a unix socket
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   * import { webSocketRaw } from "@wirestream/ws/raw";
   *
   * const server = createServer();
   * server.webSocketRaw("/raw", (session) => session.send("hi"));
   * await using listener = server.listen({ path: "/tmp/app.sock" });
   * await webSocketRaw("ws://localhost/raw", (s) => s.close(), { unixPath: listener.addr.path });
   * ```
   *
   * @param options Port, address, TLS certificate and key, abort signal; or a unix socket path.
   * @returns The running listener.
   * @throws {TypeError} When only one of `cert` and `key` is given, or `path` with a port, an
   *   address or TLS.
   * @throws {Deno.errors.AddrInUse} When the port (or the socket path) is taken.
   */
  listen(options: UnixListenOptions): ServerListener<Deno.UnixAddr>;
  /**
   * Starts a standalone listener on TCP (`Deno.listen`), or TLS with `cert` and `key`
   * (`Deno.listenTls`); see the unix socket overload for the whole story.
   *
   * @example
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   *
   * const listener = createServer().listen({ port: 0, hostname: "127.0.0.1" });
   * await listener.shutdown();
   * ```
   *
   * @param options Port, address, TLS certificate and key, abort signal.
   * @returns The running listener.
   * @throws {TypeError} When only one of `cert` and `key` is given.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  listen(options?: ListenOptions): ServerListener<Deno.NetAddr>;
  listen(options?: ListenOptions | UnixListenOptions): ServerListener<Deno.Addr> {
    const { listener, secure } = openListener(options);
    return this.#start(listener, secure, options?.signal);
  }

  #start(
    listener: Deno.Listener,
    secure: boolean,
    signal?: AbortSignal,
  ): ServerListener<Deno.Addr> {
    const running = new Listener(this.#core, listener, secure, signal);
    this.#listeners.add(running);
    running.finished.then(() => this.#listeners.delete(running));
    return running;
  }

  /**
   * Serves one request, for `Deno.serve` and Deno Deploy: upgrades through
   * `Deno.upgradeWebSocket` and runs the route's handler with a managed session backed by
   * Deno's `WebSocket`. Plain requests go to the `fallback` handler.
   *
   * Here Deno parses the request and runs the WebSocket protocol, so wherever Deno decides, this
   * mode differs from the listener. Every difference (measured on Deno 2.9.6; the README has
   * the same table). The server options this mode cannot apply (`extensions`, `maxFrameSize`,
   * `timeout`, `handshakeTimeout`, `maxHeaderSize`, `masking: true`) are each named once per
   * server with `console.warn`, on the first request; `fetchWarnings: false` silences that.
   *
   * | | `listen()` | `fetch` / `handler` (`Deno.serve`) |
   * | --- | --- | --- |
   * | raw routes (`webSocketRaw`) | served | 501, reported to `onError` once |
   * | extensions (permessage-deflate) | negotiated | never negotiated |
   * | `handshakeTimeout` | a client slower to send its request head is disconnected | not applied: Deno reads the request, and keeps a partial head waiting |
   * | `maxHeaderSize` | a larger request head gets 431 | not applied: Deno's own limit (a 48 KiB head is served, a 64 KiB one gets 400 from Deno) |
   * | an HTTP/1.0 upgrade request | 400 | upgraded |
   * | `maxConnections`, `connections` | every connection: handshakes, sessions, fallback requests | WebSocket sessions only, each until Deno's socket is gone |
   * | `pingInterval`, `timeout` | a ping every `pingInterval`; no pong within `timeout`: 1011 "Ping timeout" sent and reported, `incoming` fails with `TimeoutError` `PING_TIMEOUT` | Deno's `idleTimeout`, `pingInterval` rounded up to whole seconds: Deno pings after half of it without traffic, and when nothing comes in the other half it sends 1001 "No response from ping frame." and drops the connection; `timeout` is not used; the session reports 1006 and `incoming` fails with `ConnectionError` `CONNECTION_RESET` |
   * | `session.ping()`; setting `pingInterval`, `timeout` or `maxFrameSize`; sending fragments, pings or pongs | supported | throw (or reject with) a `TypeError` |
   * | `maxFrameSize` | checked from each frame header | not applied: Deno's fixed 64 MiB |
   * | `maxMessageSize` (1009 in both) | checked as the fragments arrive | checked once Deno has received the whole message |
   * | `masking` | as set | ignored: Deno never masks |
   * | a client faster than the handler reads | reading stops while the incoming queue is full (TCP backpressure) | no backpressure: one message past the incoming queue closes the session with 1008 "Incoming queue overflow" |
   * | invalid UTF-8 in a text message | 1007 sent and reported | the connection is dropped without a close frame; the session reports 1007 |
   * | a close frame with a 1-byte payload, or a reason that is not UTF-8 | 1002 / 1007 sent and reported | the connection is dropped without a close frame; the session reports 1006 (1007 for the reason) |
   * | a close frame with an invalid code (999, 1005…) | 1002 "Invalid close code …" sent and reported | 1002 with an empty reason sent; the session reports 1006 and `incoming` fails with `CONNECTION_RESET` |
   * | other protocol errors: RSV bits, an unknown opcode, a stray continuation, a fragmented or oversized control frame | 1002 sent and reported | the connection is dropped without a close frame; the session reports 1006 and `incoming` fails with `CONNECTION_RESET` |
   * | an unmasked client frame | 1002 sent and reported | accepted |
   * | a message that comes after the server's close frame | read on until the client's close frame (up to `closeTimeout`) | Deno ends the connection at once (its close frame goes out first) |
   * | a client that ignores the close frame | dropped at `closeTimeout` | dropped at `closeTimeout` too, through Deno's internal handle (`Deno[Deno.internal].core.tryClose`), as Deno's public API has no way to; where that handle is missing, the session gives up at `closeTimeout` but the connection stays open, and counted in `maxConnections`, until the client or `Deno.serve` ends it |
   * | `session.abort()` | drops the connection | the same, through Deno's internal handle; without it, Deno is asked to close |
   * | topics (`subscribe`, `publish`) | each message encoded once, shared by the subscribers | Deno encodes each subscriber's copy; the `"wait"` policy polls `bufferedAmount` (Deno reports no drain) |
   * | `server.shutdown()` | stops the listeners; 1001 to every session; the rest dropped at `closeTimeout` | 1001 to every session served through `fetch`; new upgrades get 503; the rest dropped at `closeTimeout` as above. `Deno.serve` is yours to shut down |
   *
   * The rest works the same: routes and their parameters, upgrade hooks (refusals, headers on
   * the 101, data), `origins`, the checks of the upgrade request's headers, a `Host` that makes
   * no URL (400), the close handshake and `closeReason`, a close frame without a status code
   * (sent empty, reported as 1005), the outgoing queue bound, serialization,
   * `onError`, and `session.request` (readable for the whole session).
   *
   * @example
   * ```ts ignore
   * import { createServer } from "@wirestream/ws/server";
   *
   * const server = createServer();
   * server.webSocket("/echo", async (session) => {
   *   for await (const frame of session.incoming) await session.send(frame);
   * });
   * Deno.serve({ port: 8000 }, server.handler);
   * ```
   *
   * @param request The request.
   * @param info The connection info `Deno.serve` passes (for the remote address).
   * @returns The response: a 101 for an upgrade.
   */
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    if (this.#fetchWarnings.length > 0) {
      for (const warning of this.#fetchWarnings) console.warn(warning);
      this.#fetchWarnings = [];
    }
    return handleFetch(this.#core, this.#tracker, request, info);
  }

  /**
   * {@linkcode WebSocketServer.fetch}, bound: pass it to `Deno.serve`. How this mode differs
   * from the listener: the table at {@linkcode WebSocketServer.fetch}.
   */
  get handler(): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
    return this.#handler;
  }

  /**
   * Shuts down every listener this server started and closes every session opened through
   * `fetch` (1001 "Server is going down", up to `closeTimeout` for the close handshakes, then
   * abort), and waits for the handlers.
   *
   * @returns A promise that resolves when everything is released.
   */
  async shutdown(): Promise<void> {
    await Promise.all([
      ...[...this.#listeners].map((l) => l.shutdown()),
      this.#tracker.closeAll(this.#options.closeTimeout),
    ]);
    await this.#options.topics.close();
  }

  /**
   * Publishes a message to every session subscribed to `topic` (`session.subscribe`), in this
   * process and, through the backplane, in every other. The frame is built and encoded once
   * and shared by the local subscribers (a session with permessage-deflate compresses its own
   * copy). Messages from one publisher on one topic arrive in publish order at every subscriber.
   *
   * Resolves once the message has been handed to the local subscribers (under the `"wait"`
   * policy, once they are back under their bound; when it left a queue half full or more,
   * after one turn of the event loop, so that a loop of awaited publishes lets the sockets
   * drain), with what happened: see
   * {@linkcode PublishResult}; rejects if the backplane failed to take it.
   *
   * @example A chat room: what one member says goes to the others
   * ```ts
   * import { createServer, readText } from "@wirestream/ws/server";
   *
   * const server = createServer();
   * server.webSocket("/rooms/:room", async (session) => {
   *   const room = session.params.room!;
   *   await session.subscribe(room);
   *   for await (const message of session.incoming) {
   *     if (message.type !== "text") continue;
   *     const result = await server.publish(room, readText(message), { exclude: session });
   *     if (result.closed > 0) console.log(`${result.closed} slow members were closed`);
   *   }
   * });
   * await server.shutdown();
   * ```
   *
   * @param topic The topic.
   * @param data A string (a text message), bytes (binary), or a text or binary `Frame`.
   * @param options `exclude`: a session that must not get it (say, its sender).
   * @returns What happened, locally and on the backplane.
   */
  publish(
    topic: string,
    data: string | Uint8Array | ArrayBuffer | ArrayBufferView | Frame,
    options?: PublishOptions,
  ): Promise<PublishResult> {
    return this.#options.topics.publish(topic, data, options);
  }
}

/**
 * Creates a WebSocket server (Ktor's `install(WebSockets)`): add routes with
 * {@linkcode WebSocketServer.webSocket} and {@linkcode WebSocketServer.webSocketRaw}, then serve
 * them with {@linkcode WebSocketServer.listen} or {@linkcode WebSocketServer.fetch}.
 *
 * @example
 * ```ts
 * import { createServer } from "@wirestream/ws/server";
 *
 * const server = createServer({ origins: ["https://example.com"], maxConnections: 1000 });
 * server.webSocket("/echo", async (session) => {
 *   for await (const frame of session.incoming) await session.send(frame);
 * });
 * const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
 * console.log(listener.addr.port > 0); // true
 * await listener.shutdown();
 * ```
 *
 * @param options Limits, timeouts, extensions, origins, hooks.
 * @returns The server.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function createServer(options?: ServerOptions): WebSocketServer {
  return new WebSocketServer(options);
}

export type { FallbackHandler };
