/**
 * The WebSocket server: Ktor's `WebSockets` server plugin and its `webSocket` / `webSocketRaw`
 * routes, in TypeScript, served two ways:
 *
 * - **`server.listen()`**: a standalone listener over `Deno.listen` / `Deno.listenTls` with its
 *   own HTTP/1.1 parsing. Full frame-level control: raw routes, permessage-deflate and other
 *   extensions, custom pings, headers on the 101 reply, and strict handshake checks (405, 400,
 *   426, 403, 431, 503, slow clients disconnected).
 * - **`server.fetch()` / `server.handler`**: a handler for `Deno.serve` and Deno Deploy, upgraded
 *   through `Deno.upgradeWebSocket`, with the same managed session interface. It cannot serve raw
 *   routes (they answer 501), negotiate extensions, send pings of its own, or stop reading a fast
 *   client, and Deno handles the request and protocol errors its own way: every difference is in
 *   one table at {@linkcode WebSocketServer.fetch}.
 *
 * ## Quick start
 *
 * ```ts ignore
 * import { createServer } from "@wirestream/ws/server";
 *
 * const server = createServer({ pingInterval: 20_000, origins: ["https://example.com"] });
 *
 * // Managed route: complete messages, automatic pongs, close handshake.
 * server.webSocket("/echo/:room", async (session) => {
 *   await session.send(`joined ${session.params.room}`);
 *   for await (const message of session.incoming) await session.send(message);
 * });
 *
 * // Raw route: every frame, nothing automatic.
 * server.webSocketRaw("/raw", async (session) => {
 *   for await (const frame of session.incoming) {
 *     if (frame.type === "close") return;
 *     await session.send(frame);
 *   }
 * }, {
 *   // Runs before the 101: refuse with any Response, add headers, attach data.
 *   upgrade: (request) =>
 *     request.headers.has("authorization") ? { data: "user" } : new Response(null, { status: 401 }),
 * });
 *
 * const listener = server.listen({ port: 9001, hostname: "127.0.0.1" });
 * Deno.addSignalListener("SIGINT", () => listener.shutdown()); // 1001 to every session
 * await listener.finished;
 * ```
 *
 * On Deno Deploy (or with `Deno.serve`):
 *
 * ```ts ignore
 * Deno.serve(server.handler);
 * ```
 *
 * A managed handler that returns closes its session with 1000, one that throws with 1011 (the
 * error goes to `onError`); either way the server waits up to `closeTimeout` for the client's
 * close frame. `shutdown()` stops accepting, sends 1001 "Server is going down" to every session
 * after the frames already sent, waits up to `closeTimeout`, aborts the rest and waits for the
 * handlers.
 *
 * @module
 */

export { createServer, type RouteHandler, WebSocketServer } from "./src/server/server.ts";
export type { ListenOptions, UnixListenOptions } from "./src/server/listen_options.ts";
export type { ServerListener } from "./src/server/listener.ts";
export {
  type FallbackHandler,
  SERVER_DEFAULTS,
  type ServerErrorContext,
  type ServerErrorPhase,
  type ServerOptions,
} from "./src/server/options.ts";
export type { OriginPattern } from "./src/server/origins.ts";
export type { RawRouteOptions, RouteKind, RouteOptions } from "./src/server/router.ts";
export type { WebSocketEvents } from "./src/session/message_events.ts";
export type { UpgradeAcceptance, UpgradeContext, UpgradeHook } from "./src/server/upgrade_hook.ts";
export {
  RawWebSocketServerSession,
  type WebSocketServerSessionInfo,
} from "./src/server/raw_server_session.ts";
export {
  type DefaultWebSocketServerSession,
  ManagedWebSocketServerSession,
} from "./src/server/managed_server_session.ts";
export { NativeWebSocketServerSession } from "./src/server/native_server_session.ts";
export {
  type DefaultWebSocketSession,
  type IncomingQueueOptions,
  type ManagedSessionInit,
  type ManagedSessionOptions,
  ManagedWebSocketSession,
  type OutgoingQueueOptions,
  type PingOptions,
  type SessionState,
  type Validator,
} from "./src/session/managed_session.ts";
export { SESSION_DEFAULTS } from "./src/session/options.ts";
export {
  jsonConverter,
  type JsonConverterOptions,
  type WebSocketContentConverter,
} from "./src/session/converter.ts";
export {
  RawWebSocketSession,
  type Sendable,
  type UpgradeCall,
  type UpgradeRequest,
  type UpgradeResponse,
} from "./src/session/raw_session.ts";
export {
  Frame,
  type FrameOptions,
  type FrameType,
  readReason,
  readText,
} from "./src/core/frame.ts";
export { CloseCode, type CloseCodeName, CloseReason } from "./src/core/close.ts";
export type {
  ExtensionAgreement,
  ExtensionContext,
  OutgoingHints,
  WebSocketExtension,
  WebSocketExtensionFactory,
} from "./src/core/extension.ts";
export type { ExtensionOffer } from "./src/core/extension_header.ts";
export {
  ConnectionClosedError,
  ConnectionError,
  HandshakeError,
  ProtocolError,
  SerializationError,
  TimeoutError,
  WebSocketError,
  type WebSocketErrorCode,
} from "./src/core/errors.ts";
export {
  perMessageDeflate,
  PerMessageDeflateFactory,
  type PerMessageDeflateOptions,
} from "./src/session/permessage_deflate.ts";
export type { DeflateNegotiationOptions, DeflateParameters } from "./src/core/deflate_params.ts";
export type { PerMessageDeflate } from "./src/core/permessage_deflate.ts";
export { memoryBackplane, type MemoryBackplaneOptions } from "./src/topics/memory_backplane.ts";
export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  HistoryOptions,
  PublishedData,
  RecoveryRequest,
  TopicData,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./src/topics/backplane.ts";
export type {
  PublishOptions,
  PublishResult,
  SlowSubscriberPolicy,
  SubscribeOptions,
  SubscribeResult,
  TopicsOptions,
  TopicSubscriber,
} from "./src/topics/topic_types.ts";
export {
  encodeTopicEnvelope,
  parseTopicEnvelope,
  TopicCursor,
  type TopicCursorPosition,
  type TopicEnvelope,
} from "./src/core/topic_envelope.ts";
