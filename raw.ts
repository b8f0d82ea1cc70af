/**
 * The raw WebSocket client and the sans-I/O protocol core.
 *
 * A raw session surfaces every frame as it arrives (fragments, ping, pong, close) and does
 * nothing automatically: no pong, no close echo, no ping, no reassembly. It is Ktor's CIO
 * `webSocketRaw` in TypeScript, over Web streams and Deno sockets.
 *
 * The protocol core (frames, close codes, the frame codec, masking, UTF-8 validation, the
 * HTTP/1.1 handshake) is exported too; it does no I/O and can be driven from any byte source.
 *
 * ```ts ignore
 * import { Frame, webSocketRaw } from "@wirestream/ws/raw";
 *
 * await webSocketRaw("ws://127.0.0.1:9001/", async (session) => {
 *   await session.send("hello");
 *   for await (const frame of session.incoming) {
 *     console.log(String(frame));
 *     if (frame.type === "ping") await session.send(Frame.pong(frame.data));
 *     if (frame.type === "close") break;
 *   }
 * });
 * ```
 *
 * @module
 */

export {
  type RawClientOptions,
  type RawRequestOptions,
  webSocketRaw,
  webSocketRawSession,
  wsRaw,
  wssRaw,
} from "./src/client/raw_client.ts";
export type { ClientNetworkOptions, UrlOverrides } from "./src/client/network_options.ts";
export {
  RawWebSocketSession,
  type Sendable,
  type UpgradeCall,
  type UpgradeRequest,
  type UpgradeResponse,
} from "./src/session/raw_session.ts";
export type { TlsOptions } from "./src/transport/connect.ts";
export {
  Frame,
  type FrameOptions,
  type FrameType,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  readReason,
  readText,
  RSV1,
  RSV2,
  RSV3,
} from "./src/core/frame.ts";
export {
  CloseCode,
  type CloseCodeName,
  CloseReason,
  encodeClosePayload,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  parseClosePayload,
  truncateUtf8,
} from "./src/core/close.ts";
export {
  encodeFrame,
  FrameEncoder,
  type FrameEncoderOptions,
  MAX_HEADER_SIZE,
} from "./src/core/frame_encoder.ts";
export { FrameDecoder, type FrameDecoderOptions } from "./src/core/frame_decoder.ts";
export {
  closeFrameFor,
  MAX_PONGS_IN_FLIGHT,
  Protocol,
  type ProtocolOptions,
  type SessionState,
} from "./src/core/protocol.ts";
export type { Transport } from "./src/transport/transport.ts";
export { applyMask } from "./src/core/mask.ts";
export { isValidUtf8, Utf8Validator } from "./src/core/utf8.ts";
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
  TimeoutError,
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./src/core/errors.ts";
export {
  computeAccept,
  generateKey,
  isValidKey,
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
} from "./src/core/handshake_key.ts";
export {
  type AcceptedClientRequest,
  buildClientRequest,
  type ClientRequest,
  type ClientRequestCheck,
  type ClientRequestOptions,
  type ClientRequestValidationOptions,
  type RejectedClientRequest,
  validateClientRequest,
} from "./src/core/handshake_request.ts";
export {
  type AcceptedServerResponse,
  buildRejectResponse,
  buildServerResponse,
  type ServerResponseExpectation,
  type ServerResponseOptions,
  validateServerResponse,
} from "./src/core/handshake_response.ts";
export { DEFAULT_MAX_HEAD_SIZE, type HeadParseOptions } from "./src/core/http1_scan.ts";
export { type ParsedRequestHead, parseRequestHead } from "./src/core/http1_request.ts";
export { type ParsedResponseHead, parseResponseHead } from "./src/core/http1_response.ts";
export {
  type ExtensionOffer,
  formatExtensionHeader,
  parseExtensionHeader,
} from "./src/core/extension_header.ts";
export {
  type Endpoint,
  type EndpointParts,
  resolveEndpoint,
  type ResolveOptions,
} from "./src/core/url.ts";
export type {
  ExtensionAgreement,
  ExtensionContext,
  OutgoingHints,
  WebSocketExtension,
  WebSocketExtensionFactory,
} from "./src/core/extension.ts";
export {
  clientExtensionOffers,
  type ExtensionNegotiationOptions,
  negotiateClientExtensions,
  negotiateServerExtensions,
} from "./src/core/extension_negotiation.ts";
export {
  disposeExtensions,
  extensionRsv,
  runIncomingExtensions,
  runOutgoingExtensions,
} from "./src/core/extension_chain.ts";
export {
  type DeflateNegotiationOptions,
  type DeflateParameters,
  PERMESSAGE_DEFLATE,
} from "./src/core/deflate_params.ts";
export type { PerMessageDeflate } from "./src/core/permessage_deflate.ts";
export {
  DEFAULT_MAX_INFLATED_SIZE,
  deflateFrame,
  inflateFrame,
  isPerMessageDeflate,
  perMessageDeflate,
  PerMessageDeflateFactory,
  type PerMessageDeflateOptions,
} from "./src/session/permessage_deflate.ts";
