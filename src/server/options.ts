/**
 * The options of a WebSocket server (Ktor's `WebSockets` plugin options and more), their
 * defaults and their validation.
 *
 * @module
 */

import { TopicHub } from "../topics/topic_hub.ts";
import type { TopicsOptions } from "../topics/topic_types.ts";
import { checkExtensionFactories } from "../core/extension_negotiation.ts";
import type { WebSocketExtensionFactory } from "../core/extension.ts";
import type { WebSocketContentConverter } from "../session/converter.ts";
import type {
  IncomingQueueOptions,
  ManagedSessionOptions,
  OutgoingQueueOptions,
} from "../session/managed_session.ts";
import {
  checkConnectionOptions,
  checkFunction,
  checkMs,
  checkSessionOptions,
  CONNECTION_DEFAULTS,
  foldAlias,
  SESSION_DEFAULTS,
} from "../session/options.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import { type ConnWrapper, connWrapperOf } from "../transport/conn_wrapper.ts";
import { compileOrigins, type OriginPattern } from "./origins.ts";
import type { UpgradeHook } from "./upgrade.ts";

/** Where a reported error happened. */
export type ServerErrorPhase =
  | "handler"
  | "upgrade"
  | "extensions"
  | "fallback"
  | "accept"
  | "connection";

/** What {@linkcode ServerOptions.onError} learns with an error. */
export interface ServerErrorContext {
  /**
   * Where it happened: a route `handler` that threw, an `upgrade` hook, extension negotiation,
   * the `fallback` handler, the `accept` loop, or a `connection` before the upgrade.
   */
  readonly phase: ServerErrorPhase;
  /** The route path, when a route was involved. */
  readonly route?: string;
  /** The upgrade (or fallback) request, when one was read. */
  readonly request?: UpgradeRequest;
  /** The client's address, when known. */
  readonly remoteAddr?: Deno.Addr;
}

/**
 * A fetch-style handler for requests that are not WebSocket upgrades (the same shape as a
 * `Deno.serve` handler).
 */
export type FallbackHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of `createServer`. All durations are in milliseconds. */
export interface ServerOptions {
  /**
   * How often managed sessions ping the client, in milliseconds; 0 turns the pinger off. The
   * client's name for the same setting. Through `fetch` it becomes Deno's `idleTimeout`, in
   * whole seconds (see `WebSocketServer.fetch`).
   *
   * Off by default, as in Ktor (python `websockets` pings every 20 s): a peer that closes or
   * resets its connection is noticed without pings, even while a handler does not read (one
   * read stays posted), so pings only find peers that vanished silently (a network partition,
   * a suspended laptop); set 20_000 or so for servers on the internet. A pinger and a handler
   * that stops reading do not mix: the client's pong waits behind the messages the handler has
   * not read, so after `timeout` a healthy client is closed with 1011 "Ping timeout". A handler
   * that may stop reading for long should keep `incoming` drained, or ping off.
   * @default {0}
   */
  pingInterval?: number;
  /**
   * Alias of {@linkcode ServerOptions.pingInterval}: Ktor's server name
   * (`WebSocketOptions.pingPeriod`). Giving both with different values is a `TypeError`.
   * @default {undefined}
   */
  pingPeriod?: number;
  /**
   * How long a managed session waits for the pong of its ping before closing with 1011
   * "Ping timeout", in milliseconds. Clients take the same option, with a default of twice
   * their `pingInterval` (as in Ktor). Not used through `fetch`: Deno's `idleTimeout` decides.
   * @default {15000}
   */
  timeout?: number;
  /**
   * The largest incoming frame payload, checked from the frame header before anything is
   * buffered; a larger frame closes the session with 1009. Listener only: through `fetch`,
   * Deno's fixed 64 MiB applies.
   * @default {16777216}
   */
  maxFrameSize?: number;
  /**
   * The largest incoming message (the sum of its fragments) a managed session accepts; a larger
   * one closes the session with 1009.
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Whether the server masks the frames it sends (RFC 6455 says servers must not). Listener
   * only: Deno never masks.
   * @default {false}
   */
  masking?: boolean;
  /**
   * The converter of `sendSerialized` / `receiveDeserialized` in managed sessions (for example
   * `jsonConverter()`).
   * @default {undefined}
   */
  converter?: WebSocketContentConverter;
  /**
   * Bounds of each managed session's incoming message queue: past them the session stops
   * reading the socket (TCP backpressure). Sessions served through `fetch` cannot stop Deno's
   * `WebSocket`: they close with 1008 when the queue overflows.
   * @default {{ messages: 16, bytes: 1048576 }}
   */
  incomingQueue?: IncomingQueueOptions;
  /**
   * Bound of each managed session's outgoing queue: past it, `send()` waits for the socket.
   * @default {{ bytes: 1048576 }}
   */
  outgoingQueue?: OutgoingQueueOptions;
  /**
   * Extension factories (permessage-deflate, …) offered to managed routes, and to raw routes
   * with `negotiateExtensions`.
   * @default {[]}
   */
  extensions?: readonly WebSocketExtensionFactory[];
  /**
   * Allowed `Origin` values: exact origins (case-insensitive), `RegExp`s or `URLPattern`s.
   * When set, other origins, and requests without `Origin`, get 403. Unset allows every
   * origin.
   * @default {undefined}
   */
  origins?: readonly OriginPattern[];
  /**
   * How long a client has, from the moment its connection is accepted, to send its request
   * head (and the upgrade hooks to decide); slower clients are disconnected. Listener only:
   * through `fetch`, Deno reads the request.
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * How long a session waits for the client's close frame after sending its own (when a
   * handler returns, and on shutdown) before the socket is closed anyway.
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * The most connections served at once (handshakes, sessions and fallback requests); past it,
   * new connections get 503 before any upgrade. Through `fetch`, only WebSocket sessions count,
   * each until Deno's socket is gone.
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * The largest request head, in bytes (at least 64); a larger one gets 431. Listener only:
   * through `fetch`, Deno's own limit applies.
   * @default {16384}
   */
  maxHeaderSize?: number;
  /**
   * A hook run before every 101 (before the route's own hook): refuse with a `Response`, add
   * headers, attach data.
   * @default {undefined}
   */
  upgrade?: UpgradeHook;
  /**
   * The handler for requests that are not WebSocket upgrades. Without it they get 426 (on a
   * WebSocket route's path) or 404.
   * @default {undefined}
   */
  fallback?: FallbackHandler;
  /**
   * Receives what the application should act on, by phase: `handler` (a route handler threw
   * its own error; its session is closed with 1011), `upgrade` (an upgrade hook threw),
   * `extensions` (negotiation failed), `fallback` (the fallback handler threw), `accept` and
   * `connection` (the listener itself failed). What a peer does is not reported: a protocol
   * error, a reset, a ping or close timeout, or a send that ran into the end of the session
   * (the 1001 of a shutdown) ends that session and is seen in its `closeReason`, so a hostile
   * client cannot fill the log.
   * @default {logs with console.error}
   */
  onError?: (error: unknown, context: ServerErrorContext) => void;
  /**
   * Topics (`session.subscribe`, `server.publish`): the backplane that carries them between
   * processes (in-process by default), the policy for slow subscribers, recovery limits.
   * @default {{ backplane: memoryBackplane(), slowSubscribers: "close" }}
   */
  topics?: TopicsOptions;
  /**
   * Whether `fetch` (`Deno.serve`) warns, with `console.warn`, once per server and option, the
   * first time it serves a request, about each option set here that it cannot apply:
   * `extensions`, `maxFrameSize`, `timeout`, `handshakeTimeout`, `maxHeaderSize`, `masking`
   * (see the table at `WebSocketServer.fetch`). `false` silences it.
   * @default {true}
   */
  fetchWarnings?: boolean;
}

/** @internal Options with defaults applied. */
export interface ResolvedServerOptions {
  readonly pingInterval: number;
  /** The same as `pingInterval` (read by the `Deno.serve` front end). */
  readonly pingPeriod: number;
  readonly timeout: number;
  readonly maxFrameSize: number;
  readonly maxMessageSize: number;
  readonly masking: boolean;
  /** What each managed session is given. */
  readonly session: Readonly<ManagedSessionOptions>;
  readonly incomingMessages: number;
  readonly incomingBytes: number;
  readonly extensions: readonly WebSocketExtensionFactory[];
  readonly origins: ((origin: string | null) => boolean) | undefined;
  readonly handshakeTimeout: number;
  readonly closeTimeout: number;
  readonly maxConnections: number;
  readonly maxHeaderSize: number;
  readonly upgrade: UpgradeHook | undefined;
  readonly fallback: FallbackHandler | undefined;
  readonly onError: (error: unknown, context: ServerErrorContext) => void;
  /** Applied to every accepted socket (the hidden `WRAP_CONN` option). */
  readonly wrapConn: ConnWrapper | undefined;
  /** The server's topics. */
  readonly topics: TopicHub;
}

/**
 * The defaults of {@linkcode ServerOptions}.
 *
 * @example
 * ```ts
 * import { SERVER_DEFAULTS } from "@wirestream/ws/server";
 *
 * console.log(SERVER_DEFAULTS.timeout); // 15000
 * ```
 */
export const SERVER_DEFAULTS: {
  readonly pingInterval: number;
  readonly timeout: number;
  readonly maxFrameSize: number;
  readonly maxMessageSize: number;
  readonly handshakeTimeout: number;
  readonly closeTimeout: number;
  readonly maxHeaderSize: number;
} = {
  pingInterval: 0,
  timeout: 15_000,
  maxFrameSize: CONNECTION_DEFAULTS.maxFrameSize,
  maxMessageSize: SESSION_DEFAULTS.maxMessageSize,
  handshakeTimeout: CONNECTION_DEFAULTS.handshakeTimeout,
  closeTimeout: CONNECTION_DEFAULTS.closeTimeout,
  maxHeaderSize: CONNECTION_DEFAULTS.maxHeaderSize,
};

/**
 * @internal The default `onError`: the route and the error on stderr; a raw route reached through
 * `server.fetch` (a setup mistake, answered 501) in one line, without a stack trace.
 */
export function logServerError(error: unknown, context: ServerErrorContext): void {
  const where = context.route === undefined ? context.phase : `${context.phase} ${context.route}`;
  if (error instanceof Error && error.name === "UnsupportedRouteError") {
    console.error(`wirestream server: ${where} answered 501: ${error.message}`);
    return;
  }
  console.error(`wirestream server: ${where} failed:`, error);
}

/**
 * @internal Validates options and applies defaults.
 *
 * @param options What the caller gave.
 * @returns The resolved options.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function resolveServerOptions(options: ServerOptions | undefined): ResolvedServerOptions {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("createServer options must be an object");
  }
  checkMs("pingPeriod", options?.pingPeriod); // before folding: the error names the alias
  const o = foldAlias(options ?? {}, { name: "pingInterval", alias: "pingPeriod" });
  const maxConnections = o.maxConnections ?? Infinity;
  if (
    typeof maxConnections !== "number" || !(maxConnections >= 1) ||
    (Number.isFinite(maxConnections) && !Number.isInteger(maxConnections))
  ) {
    throw new RangeError(`maxConnections must be an integer >= 1, got ${maxConnections}`);
  }
  checkConnectionOptions(o);
  checkSessionOptions(o);
  const extensions = o.extensions ?? [];
  checkExtensionFactories(extensions);
  checkFunction("upgrade", o.upgrade);
  checkFunction("fallback", o.fallback);
  checkFunction("onError", o.onError);
  if (o.fetchWarnings !== undefined && typeof o.fetchWarnings !== "boolean") {
    throw new TypeError(`fetchWarnings must be a boolean, got ${typeof o.fetchWarnings}`);
  }
  const pingInterval = o.pingInterval ?? SERVER_DEFAULTS.pingInterval;
  const timeout = o.timeout ?? SERVER_DEFAULTS.timeout;
  const maxMessageSize = o.maxMessageSize ?? SERVER_DEFAULTS.maxMessageSize;
  const session: ManagedSessionOptions = {
    pingInterval,
    timeout,
    maxMessageSize,
    converter: o.converter,
    incomingQueue: o.incomingQueue,
    outgoingQueue: o.outgoingQueue,
  };
  return {
    pingInterval,
    pingPeriod: pingInterval,
    timeout,
    maxFrameSize: o.maxFrameSize ?? SERVER_DEFAULTS.maxFrameSize,
    maxMessageSize,
    masking: o.masking ?? false,
    session,
    incomingMessages: o.incomingQueue?.messages ?? SESSION_DEFAULTS.incomingMessages,
    incomingBytes: o.incomingQueue?.bytes ?? SESSION_DEFAULTS.incomingBytes,
    extensions: [...extensions],
    origins: compileOrigins(o.origins),
    handshakeTimeout: o.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout,
    closeTimeout: o.closeTimeout ?? SERVER_DEFAULTS.closeTimeout,
    maxConnections,
    maxHeaderSize: o.maxHeaderSize ?? SERVER_DEFAULTS.maxHeaderSize,
    upgrade: o.upgrade,
    fallback: o.fallback,
    onError: o.onError ?? logServerError,
    wrapConn: connWrapperOf(options),
    topics: new TopicHub(o.topics),
  };
}
