/**
 * The error hierarchy of wirestream.
 *
 * Bad arguments (a `ftp://` URL, a port out of range, a control frame over 125 bytes, a close
 * reason over 123 bytes) throw the built-in `TypeError` or `RangeError` at once. Everything that
 * goes wrong on the wire or with the connection is a {@linkcode WebSocketError} with a stable
 * string {@linkcode WebSocketError.code}:
 *
 * - {@linkcode ProtocolError}: the peer broke RFC 6455 / RFC 7692; carries the close code sent.
 * - {@linkcode HandshakeError}: the HTTP upgrade failed; carries status, headers and body start.
 * - {@linkcode ConnectionError}: connect refused, DNS, TLS, reset.
 *   - {@linkcode ProxyError}: a proxy refused the tunnel (an HTTP status, a SOCKS reply code),
 *     rejected the credentials, or answered with something that is not its protocol.
 * - {@linkcode RedirectError} (a {@linkcode HandshakeError}): a redirect that is not followed: a
 *   downgrade from `wss:` to `ws:`, a loop, too many hops, a `Location` that is no WebSocket URL.
 * - {@linkcode TimeoutError}: connect, handshake, close or ping timeout.
 * - {@linkcode ConnectionClosedError}: the session is closed (or closing) and cannot do that.
 * - {@linkcode SerializationError}: a content converter is missing or failed.
 *
 * Each family lives in its own module; this one gathers them, so importing from here gives every
 * error class.
 *
 * @module
 */

export {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";
export { ProtocolError } from "./protocol_error.ts";
export {
  bodySnippet,
  HandshakeError,
  type HandshakeErrorOptions,
  RedirectError,
  type RedirectErrorOptions,
  refusalMessage,
} from "./handshake_error.ts";
export {
  ConnectionError,
  ProxyError,
  type ProxyErrorOptions,
  TimeoutError,
} from "./connection_error.ts";
export {
  ConnectionClosedError,
  type ConnectionClosedErrorOptions,
} from "./connection_closed_error.ts";
export { SerializationError, type SerializationErrorOptions } from "./serialization_error.ts";
