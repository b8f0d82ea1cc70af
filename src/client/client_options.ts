/**
 * The managed client's options: a client's defaults (`createClient`), one call's own, and a
 * request given by parts, with their checks.
 *
 * @module
 */

import type { EndpointParts } from "../core/url.ts";
import type { TlsOptions } from "../transport/connect.ts";
import type { WebSocketContentConverter } from "../session/converter.ts";
import type {
  DefaultWebSocketSession,
  IncomingQueueOptions,
  OutgoingQueueOptions,
} from "../session/managed_session.ts";
import type { WebSocketExtensionFactory } from "../core/extension.ts";
import { checkSessionOptions } from "../session/options.ts";
import type { ClientNetworkOptions, UrlOverrides } from "./network_options.ts";
import { checkClientOptions } from "./raw_client.ts";

/** Settings of a client: the defaults of every connection it opens. */
export interface WebSocketClientOptions extends ClientNetworkOptions {
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
export interface WebSocketCallOptions
  extends Omit<WebSocketClientOptions, "extensions">, UrlOverrides {
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

/**
 * @internal Checks the options of a client or of one call, and folds `maxHeadSize` into
 * `maxHeaderSize` (each layer on its own, so that a call's value wins over the client's under
 * either name).
 *
 * @param o The options.
 * @returns The options, with `maxHeaderSize` only.
 */
export function checkCallOptions<O extends WebSocketCallOptions>(o: O): O {
  if (o === null || typeof o !== "object") throw new TypeError("options must be an object");
  const folded = checkClientOptions(o);
  checkSessionOptions(o);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  return folded;
}

/**
 * @internal The client's headers with a call's own over them.
 *
 * @param base The client's headers.
 * @param own The call's.
 * @returns The merged headers (`undefined` when neither has any).
 */
export function mergeHeaders(
  base: HeadersInit | undefined,
  own: HeadersInit | undefined,
): Headers | undefined {
  if (base === undefined && own === undefined) return undefined;
  const headers = new Headers(base);
  if (own !== undefined) new Headers(own).forEach((value, name) => headers.set(name, value));
  return headers;
}
