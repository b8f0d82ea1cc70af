/**
 * The default client and its builders: `webSocket`, `ws`, `wss` and `webSocketSession` without a
 * client of your own (Ktor's `HttpClient().webSocket { }` with the plugin's defaults).
 *
 * @module
 */

import { createClient, type WebSocketClient } from "./client.ts";
import type { ReconnectingWebSocket, ReconnectOptions } from "./reconnect.ts";
import type {
  DefaultClientWebSocketSession,
  WebSocketCallOptions,
  WebSocketHandler,
  WebSocketRequest,
} from "./client_options.ts";

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
 * or port is ever forced behind the caller's back. To change them, say so:
 * `{ scheme: "wss", port: 443 }` (Ktor's `url { protocol = URLProtocol.WSS; port = 443 }`).
 *
 * @example
 * ```ts ignore
 * import { wss } from "@wirestream/ws";
 *
 * // A URL from configuration, forced to TLS on 443:
 * await wss("ws://example.com:8080/socket", (session) => session.send("hi"), {
 *   scheme: "wss",
 *   port: 443,
 * });
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
 *   console.log(readText(await session.receive())); // "hello"
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

/**
 * Sessions from the default client, one after another, reconnecting with backoff when one ends
 * transiently (1001, 1006, 1011-1014) or a connect fails transiently (refused, reset, 5xx, 429);
 * a 4xx, a TLS certificate failure or a 1008 close is thrown instead, unless `retry` says
 * otherwise. See {@linkcode ReconnectingWebSocket}.
 *
 * @example A server that goes away and comes back
 * ```ts
 * import { readText, webSocketSessions } from "@wirestream/ws";
 *
 * let visits = 0;
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const visit = ++visits;
 *   // The first session is dropped with 1012 "service restart", the second ends normally.
 *   socket.onopen = () => socket.send(`visit ${visit}`);
 *   socket.onmessage = () => socket.close(visit === 1 ? 1012 : 1000);
 *   return response;
 * });
 * const seen: string[] = [];
 * for await (
 *   const session of webSocketSessions(`ws://127.0.0.1:${server.addr.port}/`, {
 *     backoff: { initialDelay: 10 },
 *   })
 * ) {
 *   for await (const message of session.incoming) {
 *     seen.push(readText(message));
 *     await session.send("bye");
 *   }
 * }
 * console.log(seen); // ["visit 1", "visit 2"]
 * await server.shutdown();
 * ```
 *
 * @param input A URL, or `{ host, port, path, method }` with options; or a function that
 *   returns one, called before every connect (say, to put a `TopicCursor`'s positions in the
 *   URL, so that the server replays what was missed).
 * @param options Per-call options and the reconnect policy.
 * @returns The reconnecting iterable.
 */
export function webSocketSessions(
  input: string | URL | WebSocketRequest | (() => string | URL | WebSocketRequest),
  options?: ReconnectOptions,
): ReconnectingWebSocket {
  return shared().webSocketSessions(input, options);
}
