/**
 * The Redis backplane's options: their types (re-exported by `redis_backplane.ts`) and their
 * validation.
 *
 * @module
 */

import type { HistoryOptions } from "./backplane.ts";
import { checkHistory } from "./_history.ts";
import { safeUrl } from "./_redis_protocol.ts";

/**
 * How the Redis backplane reconnects after losing its connection.
 *
 * @example Retry quickly, never wait more than a second
 * ```ts ignore
 * import { redisBackplane } from "@wirestream/ws/redis";
 *
 * const backplane = redisBackplane({ reconnect: { initialDelay: 50, maxDelay: 1000 } });
 * ```
 */
export interface RedisReconnectOptions {
  /**
   * The delay before the first attempt, in milliseconds; it doubles after each failed attempt.
   *
   * @default {100}
   */
  initialDelay?: number;
  /**
   * The longest delay between two attempts, in milliseconds. Attempts go on until `close()`.
   *
   * @default {5000}
   */
  maxDelay?: number;
}

/**
 * Options of `redisBackplane()`.
 *
 * @example A shared Redis with a password, keeping ten minutes of history per topic
 * ```ts ignore
 * import { redisBackplane, type RedisBackplaneOptions } from "@wirestream/ws/redis";
 *
 * const options: RedisBackplaneOptions = {
 *   url: `redis://:${Deno.env.get("REDIS_PASSWORD")}@redis.internal:6379/3`,
 *   prefix: "chat-prod",
 *   history: { size: 5000, ttl: 10 * 60_000 },
 * };
 * const backplane = redisBackplane(options);
 * ```
 */
export interface RedisBackplaneOptions {
  /**
   * The Redis server: `redis://[user:password@]host[:port][/db]` (or `rediss:` for TLS). The
   * password is sent to Redis only; it never appears in errors or events.
   *
   * @default {"redis://127.0.0.1:6379"}
   */
  url?: string;
  /**
   * The namespace of every key and channel the backplane uses (`<prefix>:{<topic>}:…`): give
   * each application sharing a Redis its own.
   *
   * @default {"wirestream"}
   */
  prefix?: string;
  /** How much of each topic's history Redis keeps, for recovery and reconnection. */
  history?: HistoryOptions;
  /**
   * This process's name among the publishers: messages whose origin is this node are delivered
   * with their `ref`. Must be unique per backplane instance; no line breaks.
   *
   * @default {a random UUID}
   */
  nodeId?: string;
  /**
   * How long connecting may take, in milliseconds.
   *
   * @default {5000}
   */
  connectTimeout?: number;
  /** The reconnection backoff. */
  reconnect?: RedisReconnectOptions;
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  readonly url: string;
  /** The URL without credentials, for messages. */
  readonly safeUrl: string;
  readonly prefix: string;
  /** The database number of the URL's path (0 without one). */
  readonly db: number;
  readonly size: number;
  readonly ttl: number;
  readonly nodeId: string;
  readonly connectTimeout: number;
  readonly initialDelay: number;
  readonly maxDelay: number;
}

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative finite number, got ${value}`);
  }
  return value;
};

/**
 * Applies the defaults and checks every option.
 *
 * @throws {TypeError} A URL that is not `redis:`/`rediss:`, an empty prefix, a bad node id.
 * @throws {RangeError} A negative or non-finite number, a fractional history size.
 */
export function resolveOptions(options: RedisBackplaneOptions): ResolvedOptions {
  const url = options.url ?? "redis://127.0.0.1:6379";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not the input: it may hold a password.
    throw new TypeError("url must be a redis:// or rediss:// URL");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(`url must be a redis:// or rediss:// URL, got ${parsed.protocol}`);
  }
  const path = parsed.pathname.replace(/^\//, "");
  const db = path === "" ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isSafeInteger(db)) {
    throw new TypeError(`the url's path must be a database number, got /${path}`);
  }
  const prefix = options.prefix ?? "wirestream";
  if (typeof prefix !== "string" || prefix === "") {
    throw new TypeError("prefix must be a non-empty string");
  }
  const { size, ttl } = checkHistory(options.history);
  const nodeId = options.nodeId ?? crypto.randomUUID();
  if (typeof nodeId !== "string" || nodeId === "" || /[\r\n]/.test(nodeId)) {
    throw new TypeError("nodeId must be a non-empty string without line breaks");
  }
  return {
    url,
    safeUrl: safeUrl(parsed),
    prefix,
    db,
    size,
    ttl: Math.ceil(ttl),
    nodeId,
    connectTimeout: nonNegative("connectTimeout", options.connectTimeout, 5000),
    initialDelay: nonNegative("reconnect.initialDelay", options.reconnect?.initialDelay, 100),
    maxDelay: nonNegative("reconnect.maxDelay", options.reconnect?.maxDelay, 5000),
  };
}

/** Throws a `TypeError` unless `topic` is a non-empty string. */
export function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  }
}
