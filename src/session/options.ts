/**
 * The option checks and the shared defaults of the clients (raw and managed) and the server, in
 * one place: an option has one rule and one error message wherever it is accepted.
 *
 * Numbers are checked before anything is connected: bad durations and sizes throw `RangeError`,
 * values of the wrong kind `TypeError`.
 *
 * @module
 */

import { DEFAULT_MAX_HEAD_SIZE } from "../core/http1_scan.ts";
import { parseProxyUrl } from "../core/proxy_url.ts";
import type { WebSocketContentConverter } from "./converter.ts";
import type { ManagedSessionOptions } from "./managed_session.ts";

/**
 * Defaults of the managed session's limits.
 *
 * - `maxMessageSize` 16 MiB: the same as the default `maxFrameSize`, so a message may be as
 *   large fragmented as unfragmented; large enough for documents and images, small enough that
 *   a hostile peer cannot make one session hold more than a few tens of MiB (Ktor's 2 GiB lets
 *   one connection exhaust the heap). Worst case per session: one message being reassembled,
 *   the incoming queue's budget plus the message that overflowed it, and one read buffer.
 * - incoming queue: 16 messages and 1 MiB (python-websockets queues 16 messages).
 * - outgoing queue: 1 MiB of frames not yet taken by the socket.
 *
 * @example
 * ```ts
 * import { SESSION_DEFAULTS } from "@wirestream/ws";
 *
 * console.log(SESSION_DEFAULTS.maxMessageSize); // 16777216
 * ```
 */
export const SESSION_DEFAULTS: {
  readonly maxMessageSize: number;
  readonly incomingMessages: number;
  readonly incomingBytes: number;
  readonly outgoingBytes: number;
} = {
  maxMessageSize: 16 * 1024 * 1024,
  incomingMessages: 16,
  incomingBytes: 1024 * 1024,
  outgoingBytes: 1024 * 1024,
};

/**
 * @internal The connection defaults clients and the server share: the upgrade's time limit, the
 * close handshake's wait, the largest frame, the largest HTTP head.
 */
export const CONNECTION_DEFAULTS = {
  handshakeTimeout: 10_000,
  closeTimeout: 5_000,
  maxFrameSize: 16 * 1024 * 1024,
  maxHeaderSize: DEFAULT_MAX_HEAD_SIZE,
} as const;

/** The smallest `maxHeaderSize` accepted: no upgrade request or 101 response fits in less. */
const MIN_HEADER_SIZE = 64;

/**
 * @internal Checks a millisecond option: a finite number >= 0.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @returns The value, for `?? default`.
 * @throws {RangeError} Otherwise.
 */
export function checkMs(name: string, value: number | undefined): number | undefined {
  if (
    value !== undefined && (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value))
  ) {
    throw new RangeError(`${name} must be a finite number of milliseconds >= 0, got ${value}`);
  }
  return value;
}

/**
 * @internal Checks a size option: a number > 0 (`Infinity` allowed).
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @returns The value, for `?? default`.
 * @throws {RangeError} Otherwise.
 */
export function checkSize(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (typeof value !== "number" || !(value > 0))) {
    throw new RangeError(`${name} must be a positive number of bytes, got ${value}`);
  }
  return value;
}

/**
 * @internal Checks the largest HTTP head (`maxHeaderSize`): a size, and an integer of at least
 * 64 bytes.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @returns The value, for `?? default`.
 * @throws {RangeError} Otherwise.
 */
export function checkHeaderSize(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return value;
  checkSize(name, value);
  if (!Number.isInteger(value) || value < MIN_HEADER_SIZE) {
    throw new RangeError(`${name} must be an integer >= ${MIN_HEADER_SIZE}, got ${value}`);
  }
  return value;
}

/**
 * @internal Checks a queue bound: a number >= 1, or `Infinity`.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @throws {RangeError} Otherwise.
 */
export function checkQueueBound(name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== "number" || !(value >= 1))) {
    throw new RangeError(`${name} must be a number >= 1 (or Infinity), got ${value}`);
  }
}

/**
 * @internal Checks a boolean option.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @throws {TypeError} Otherwise.
 */
export function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean`);
  }
}

/**
 * @internal Checks a callback option.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @throws {TypeError} Otherwise.
 */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${name} must be a function`);
  }
}

/**
 * @internal Checks a converter option: an object with `serialize`, `deserialize` and
 * `isApplicable` methods.
 *
 * @param converter The value; `undefined` passes.
 * @throws {TypeError} Otherwise.
 */
export function checkConverter(converter: unknown): void {
  if (converter === undefined) return;
  const c = converter as Partial<WebSocketContentConverter> | null;
  if (
    c === null || typeof c !== "object" || typeof c.serialize !== "function" ||
    typeof c.deserialize !== "function" || typeof c.isApplicable !== "function"
  ) {
    throw new TypeError(
      "converter must have serialize, deserialize and isApplicable methods (see jsonConverter)",
    );
  }
}

/**
 * @internal Checks the options of a managed session (before anything is connected): the pinger,
 * the message size, the queue bounds, the converter.
 *
 * @param o The options, as a client or the server passes them on.
 * @throws {RangeError} When a number is out of range.
 * @throws {TypeError} When an option has the wrong type.
 */
export function checkSessionOptions(o: ManagedSessionOptions): void {
  checkMs("pingInterval", o.pingInterval);
  checkMs("timeout", o.timeout);
  checkSize("maxMessageSize", o.maxMessageSize);
  if (
    o.incomingQueue !== undefined &&
    (o.incomingQueue === null || typeof o.incomingQueue !== "object")
  ) {
    throw new TypeError("incomingQueue must be an object: { messages?, bytes? }");
  }
  if (
    o.outgoingQueue !== undefined &&
    (o.outgoingQueue === null || typeof o.outgoingQueue !== "object")
  ) {
    throw new TypeError("outgoingQueue must be an object: { bytes? }");
  }
  checkQueueBound("incomingQueue.messages", o.incomingQueue?.messages);
  checkQueueBound("incomingQueue.bytes", o.incomingQueue?.bytes);
  checkQueueBound("outgoingQueue.bytes", o.outgoingQueue?.bytes);
  checkConverter(o.converter);
}

/** @internal The options clients and the server share: one rule each, on both sides. */
export interface ConnectionOptions {
  /** Milliseconds for the HTTP upgrade. */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the peer's close frame. */
  closeTimeout?: number;
  /** The largest incoming frame payload. */
  maxFrameSize?: number;
  /** The largest HTTP head read (the response on a client, the request on the server). */
  maxHeaderSize?: number;
  /** Whether outgoing frames are masked. */
  masking?: boolean;
}

/**
 * @internal Checks the options clients and the server share.
 *
 * @param o The options.
 * @throws {RangeError} When a timeout or size is out of range.
 * @throws {TypeError} When `masking` is not a boolean.
 */
export function checkConnectionOptions(o: ConnectionOptions): void {
  checkMs("handshakeTimeout", o.handshakeTimeout);
  checkMs("closeTimeout", o.closeTimeout);
  checkSize("maxFrameSize", o.maxFrameSize);
  checkHeaderSize("maxHeaderSize", o.maxHeaderSize);
  checkBoolean("masking", o.masking);
}

/** @internal An option accepted under a second name. */
export interface OptionAlias<K> {
  /** The option's own name. */
  readonly name: K;
  /** The other name it is also accepted under. */
  readonly alias: K;
}

/**
 * @internal Folds an option given under its alias into its own name: `{ pingPeriod: 5 }`
 * becomes `{ pingInterval: 5 }`. Check both names' values first, so that an error names what
 * the caller wrote.
 *
 * @param options The options (not changed).
 * @param names The option's name and its alias.
 * @returns The options without the alias.
 * @throws {TypeError} When both names are given with different values.
 */
export function foldAlias<O extends object>(options: O, names: OptionAlias<keyof O & string>): O {
  const { name, alias } = names;
  const aliased = options[alias];
  if (aliased === undefined) return options;
  const own = options[name];
  if (own !== undefined && !Object.is(own, aliased)) {
    throw new TypeError(
      `${name} and ${alias} are the same option (${alias} is an alias): ` +
        `give one, got ${own} and ${aliased}`,
    );
  }
  const folded = { ...options, [name]: aliased };
  delete folded[alias];
  return folded;
}

/**
 * @internal Checks a count option: an integer >= 0.
 *
 * @param name The option's name, for the error.
 * @param value The value; `undefined` passes.
 * @throws {RangeError} Otherwise.
 */
export function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 0)) {
    throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
  }
}

/** @internal How a client reaches a server: the proxy and the redirects. */
export interface NetworkOptionsShape {
  /** A proxy URL, or `false`. */
  proxy?: string | URL | false;
  /** Whether redirects are followed. */
  followRedirects?: boolean;
  /** The most redirects followed. */
  maxRedirects?: number;
  /** Whether credentials go to another origin on a redirect. */
  keepCredentialsOnRedirect?: boolean;
}

/**
 * @internal Checks the proxy and redirect options of a client or a call. A proxy URL is parsed
 * here, so that a bad one fails before anything is connected (its message has no credentials).
 *
 * @param o The options.
 * @throws {TypeError} When `proxy` is not a usable URL or `false`, or a flag is not a boolean.
 * @throws {RangeError} When `maxRedirects` is not an integer >= 0, or the proxy's port is bad.
 */
export function checkNetworkOptions(o: NetworkOptionsShape): void {
  const proxy: unknown = o.proxy;
  if (proxy !== undefined && proxy !== false) {
    if (typeof proxy !== "string" && !(proxy instanceof URL)) {
      throw new TypeError("proxy must be a URL (http://, socks5://, socks5h://) or false");
    }
    parseProxyUrl(proxy);
  }
  checkBoolean("followRedirects", o.followRedirects);
  checkCount("maxRedirects", o.maxRedirects);
  checkBoolean("keepCredentialsOnRedirect", o.keepCredentialsOnRedirect);
}

/** @internal The reconnect policy's options, as the client passes them. */
export interface ReconnectOptionsShape {
  /** The delays. */
  backoff?: {
    initialDelay?: number;
    minDelay?: number;
    factor?: number;
    maxDelay?: number;
    jitter?: number;
    minUptime?: number;
  };
  /** The retry decision. */
  retry?: unknown;
  /** The retry hook. */
  onRetry?: unknown;
  /** The most consecutive failures. */
  maxRetries?: number;
  /** The queue's bounds, or `false`. */
  queue?: { messages?: number; bytes?: number } | false;
}

/**
 * @internal Checks the reconnecting client's policy: the backoff's numbers, the callbacks, the
 * retry limit and the queue's bounds.
 *
 * @param o The options.
 * @throws {RangeError} When a number is out of range.
 * @throws {TypeError} When an option has the wrong type.
 */
export function checkReconnectOptions(o: ReconnectOptionsShape): void {
  const b = o.backoff;
  if (b !== undefined) {
    if (b === null || typeof b !== "object") throw new TypeError("backoff must be an object");
    checkMs("backoff.initialDelay", b.initialDelay);
    checkMs("backoff.minDelay", b.minDelay);
    checkMs("backoff.maxDelay", b.maxDelay);
    checkMs("backoff.minUptime", b.minUptime);
    if (
      b.factor !== undefined &&
      !(typeof b.factor === "number" && b.factor >= 1 && isFinite(b.factor))
    ) {
      throw new RangeError(`backoff.factor must be a finite number >= 1, got ${b.factor}`);
    }
    if (
      b.jitter !== undefined && !(typeof b.jitter === "number" && b.jitter >= 0 && b.jitter <= 1)
    ) {
      throw new RangeError(`backoff.jitter must be a number from 0 to 1, got ${b.jitter}`);
    }
  }
  checkFunction("retry", o.retry);
  checkFunction("onRetry", o.onRetry);
  if (o.maxRetries !== undefined && o.maxRetries !== Infinity) {
    checkCount("maxRetries", o.maxRetries);
  }
  const q = o.queue;
  if (q !== undefined && q !== false) {
    if (q === null || typeof q !== "object") {
      throw new TypeError("queue must be false or an object: { messages?, bytes? }");
    }
    checkQueueBound("queue.messages", q.messages);
    checkQueueBound("queue.bytes", q.bytes);
  }
}
