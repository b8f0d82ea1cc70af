/**
 * The Deno KV backplane's options, checked and with their defaults (private to
 * `kv_backplane.ts`).
 *
 * @module
 */

import type { HistoryOptions } from "./backplane.ts";
import { DELIVERY_TTL, DELIVERY_WINDOW } from "./_kv_records.ts";

/** Options of `kvBackplane()`. */
export interface KvBackplaneOptions {
  /**
   * An open Deno KV database. The backplane does not close it. Give this or `path`, not both.
   *
   * @default {undefined}
   */
  kv?: Deno.Kv;
  /**
   * Where to open the database (`Deno.openKv(path)`: a local SQLite file, or a KV Connect URL)
   * when `kv` is not given; `start()` opens it and `close()` closes it. Without `kv` or `path`
   * the default database is opened (`Deno.openKv()`: the project's database on Deno Deploy).
   *
   * @default {undefined}
   */
  path?: string;
  /**
   * The key prefix every record of the backplane lives under.
   *
   * @default {["wirestream", "topics"]}
   */
  prefix?: Deno.KvKey;
  /**
   * How much history each topic keeps for `recover()`. Every process on one database should use
   * the same settings.
   *
   * @default {{ size: 0, ttl: 0 }}
   */
  history?: HistoryOptions;
  /**
   * This backplane's name in the messages it publishes, to recognise its own messages (and give
   * them their `ref`): it must be unique among the backplanes running on one database.
   *
   * @default {crypto.randomUUID()}
   */
  nodeId?: string;
  /**
   * How often, in milliseconds, the heads of the subscribed topics are read besides being
   * watched (0: never). A local SQLite database's `watch` sees only the writes of the process
   * that watches, so processes sharing a file see each other's messages through this poll; on
   * Deno Deploy `watch` sees every instance and the poll is a safety net.
   *
   * @default {50 when `path` is given, else 1000}
   */
  pollInterval?: number;
  /**
   * How many times a publish tries to commit before it fails with `PUBLISH_CONFLICT` (each
   * conflict means another process published to the topic at the same moment).
   *
   * @default {64}
   */
  publishAttempts?: number;
}

/** {@linkcode KvBackplaneOptions}, checked, with the defaults filled in. */
export interface KvSettings {
  readonly kv: Deno.Kv | undefined;
  readonly path: string | undefined;
  readonly prefix: Deno.KvKey;
  readonly nodeId: string;
  readonly size: number;
  readonly ttl: number;
  /** How many entries each topic keeps (`Infinity`: no trimming, they expire). */
  readonly keep: number;
  /** The entries' `expireIn`. */
  readonly expireIn: number | undefined;
  readonly pollInterval: number;
  readonly attempts: number;
}

/**
 * Checks the options and fills in the defaults; throws `TypeError` or `RangeError`.
 *
 * @param options The options as given.
 */
export function kvSettings(options: KvBackplaneOptions): KvSettings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("kvBackplane options must be an object");
  }
  const { kv, path, prefix = ["wirestream", "topics"], history = {}, nodeId } = options;
  if (kv !== undefined && path !== undefined) {
    throw new TypeError("kvBackplane takes `kv` or `path`, not both");
  }
  if (kv !== undefined && (typeof kv !== "object" || kv === null)) {
    throw new TypeError("kvBackplane `kv` must be an open Deno.Kv");
  }
  if (path !== undefined && typeof path !== "string") {
    throw new TypeError("kvBackplane `path` must be a string");
  }
  if (!Array.isArray(prefix)) throw new TypeError("kvBackplane `prefix` must be an array");
  if (nodeId !== undefined && (typeof nodeId !== "string" || nodeId === "")) {
    throw new TypeError("kvBackplane `nodeId` must be a non-empty string");
  }
  const size = history.size ?? 0;
  const ttl = history.ttl ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError("history.size must be a whole number, 0 or more");
  }
  if (!Number.isFinite(ttl) || ttl < 0) {
    throw new RangeError("history.ttl must be a number of milliseconds, 0 or more");
  }
  const poll = options.pollInterval ?? (path !== undefined ? 50 : 1000);
  if (!Number.isFinite(poll) || poll < 0) {
    throw new RangeError("pollInterval must be a number of milliseconds, 0 or more");
  }
  const attempts = options.publishAttempts ?? 64;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new RangeError("publishAttempts must be a whole number, 1 or more");
  }
  return {
    kv,
    path,
    prefix: [...prefix],
    nodeId: nodeId ?? crypto.randomUUID(),
    size,
    ttl,
    // Without history the entries live DELIVERY_TTL, untrimmed, for the other processes to read
    // them however fast they come. With history they are trimmed to the history's size (or the
    // delivery window, if larger) and live as long as its ttl (or DELIVERY_TTL, if longer).
    keep: size === 0 ? Infinity : Math.max(size, DELIVERY_WINDOW),
    expireIn: size === 0 ? DELIVERY_TTL : ttl > 0 ? Math.max(ttl, DELIVERY_TTL) : undefined,
    pollInterval: poll,
    attempts,
  };
}
