/**
 * The managed WebSocket client: Ktor's client `WebSockets` plugin and
 * `DefaultClientWebSocketSession` in TypeScript, over Deno sockets and Web streams.
 *
 * A managed session delivers complete text and binary messages on `incoming` (fragments
 * reassembled, UTF-8 checked), answers pings at once, runs an optional pinger with a pong
 * timeout, runs the close handshake with a timeout, reports `closeReason`, bounds its queues
 * (backpressure by awaiting), and serializes values with a converter. For frame-level control
 * (every ping, pong, fragment and close frame) use `@wirestream/ws/raw`.
 *
 * ## Quick start
 *
 * ```ts ignore
 * import { readText, webSocket } from "@wirestream/ws";
 *
 * // The block form: the session is closed (1000) when the handler returns.
 * const echo = await webSocket("ws://127.0.0.1:8080/echo", async (session) => {
 *   await session.send("hello");
 *   for await (const message of session.incoming) return readText(message);
 *   return null;
 * });
 * ```
 *
 * ```ts ignore
 * import { createClient, jsonConverter, webSocketSession } from "@wirestream/ws";
 *
 * // A client holds the connection defaults; `await using` closes every session it opened.
 * await using client = createClient({ pingInterval: 20_000, converter: jsonConverter() });
 * await using session = await client.webSocketSession("wss://example.com/chat", {
 *   headers: { authorization: "Bearer t0ken" },
 *   protocols: ["chat.v1"],
 * });
 * await session.sendSerialized({ type: "join", room: "lobby" });
 * const event = await session.receiveDeserialized();
 * console.log(event, session.protocol);
 * ```
 *
 * Connections go through a proxy when the `proxy` option or the environment (`WSS_PROXY`,
 * `HTTPS_PROXY`, `ALL_PROXY`, …, minus `NO_PROXY`) names one (HTTP `CONNECT` or SOCKS5),
 * follow redirects when `followRedirects` is set, and `webSocketSessions(url)` reconnects with
 * backoff: `for await (const session of webSocketSessions(url)) { … }`.
 *
 * Errors are typed, with stable codes: `HandshakeError` (status, headers, body of a refused
 * upgrade), `ConnectionError`, `TimeoutError` (`CONNECT_TIMEOUT`, `HANDSHAKE_TIMEOUT`,
 * `PING_TIMEOUT`), `ProtocolError` (with the close code sent), `ConnectionClosedError`,
 * `SerializationError`, `ProxyError` and `RedirectError`.
 *
 * @module
 */

export { createClient, type WebSocketClient } from "./src/client/client.ts";
export {
  type DefaultClientWebSocketSession,
  type WebSocketCallOptions,
  type WebSocketClientOptions,
  type WebSocketHandler,
  type WebSocketRequest,
} from "./src/client/client_options.ts";
export {
  webSocket,
  webSocketSession,
  webSocketSessions,
  ws,
  wss,
} from "./src/client/default_client.ts";
export {
  ReconnectingWebSocket,
  type ReconnectOptions,
  type ReconnectQueueOptions,
  type RetryEvent,
  type SessionOpener,
} from "./src/client/reconnect.ts";
export { BACKOFF_DEFAULTS, type BackoffOptions } from "./src/client/backoff.ts";
export { isTransientCloseCode, isTransientError } from "./src/core/transient.ts";
export type { ClientNetworkOptions, UrlOverrides } from "./src/client/network_options.ts";
export {
  type DefaultWebSocketSession,
  type IncomingQueueOptions,
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
export type {
  Sendable,
  UpgradeCall,
  UpgradeRequest,
  UpgradeResponse,
} from "./src/session/raw_session.ts";
export type { TlsOptions } from "./src/transport/connect.ts";
export type { EndpointParts } from "./src/core/url.ts";
export type {
  ExtensionAgreement,
  ExtensionContext,
  OutgoingHints,
  WebSocketExtension,
  WebSocketExtensionFactory,
} from "./src/core/extension.ts";
export type { ExtensionOffer } from "./src/core/extension_header.ts";
export {
  Frame,
  type FrameOptions,
  type FrameType,
  readReason,
  readText,
} from "./src/core/frame.ts";
export { CloseCode, type CloseCodeName, CloseReason } from "./src/core/close.ts";
export {
  ConnectionClosedError,
  type ConnectionClosedErrorOptions,
  ConnectionError,
  HandshakeError,
  type HandshakeErrorOptions,
  ProtocolError,
  ProxyError,
  type ProxyErrorOptions,
  RedirectError,
  type RedirectErrorOptions,
  SerializationError,
  type SerializationErrorOptions,
  TimeoutError,
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./src/core/errors.ts";
export {
  DEFAULT_MAX_INFLATED_SIZE,
  perMessageDeflate,
  PerMessageDeflateFactory,
  type PerMessageDeflateOptions,
} from "./src/session/permessage_deflate.ts";
export type { DeflateNegotiationOptions, DeflateParameters } from "./src/core/deflate_params.ts";
export type { PerMessageDeflate } from "./src/core/permessage_deflate.ts";
export {
  encodeTopicEnvelope,
  parseTopicEnvelope,
  TopicCursor,
  type TopicCursorPosition,
  type TopicEnvelope,
} from "./src/core/topic_envelope.ts";
