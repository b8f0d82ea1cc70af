/**
 * Topics across processes and Deno Deploy instances through Deno KV: {@linkcode kvBackplane}.
 *
 * Every server that opens the same database (on Deno Deploy, the project's database; locally, one
 * SQLite file) shares the topics: a message published by any of them reaches the subscribers of
 * all of them, in one order, once.
 *
 * ```ts ignore
 * import { kvBackplane } from "@wirestream/ws/kv";
 *
 * // Deno Deploy: the project's database (no flag needed there).
 * const backplane = kvBackplane({ history: { size: 1000, ttl: 60_000 } });
 *
 * // Locally, processes sharing a file: run with `deno run --unstable-kv …`.
 * const local = kvBackplane({ path: "./topics.sqlite3" });
 * ```
 *
 * ## Running it
 *
 * `Deno.openKv` is still unstable: run with `--unstable-kv`, or put `"unstable": ["kv"]` in your
 * deno.json. Deno Deploy needs neither.
 *
 * ## How it works
 *
 * - **Publish**: one atomic operation reads the topic's head (`[...prefix, topic, "h"]`: the last
 *   offset and the epoch, created with a random epoch when absent), checks that it did not move,
 *   writes the message at `[...prefix, topic, "m", offset]` and the new head, and deletes the
 *   entry that falls out of the kept window. A conflict (another process published at the same
 *   moment) retries after a short random pause, up to `publishAttempts` times, then fails with
 *   `PUBLISH_CONFLICT`. One backplane queues each topic's publishes and commits them in call
 *   order, up to 100 messages per atomic operation, and reuses the head it wrote last instead of
 *   reading it again.
 * - **Delivery**: the subscribed topics' heads are watched (`kv.watch`, one per 10 topics: a
 *   watch takes at most 10 keys) and polled every `pollInterval` ms (50 with a `path`, else 1000): a
 *   local SQLite database's watch does not see the writes of other processes; on Deno Deploy it
 *   does. When the head moves, the new entries are read in offset order and delivered; entries
 *   already gone are reported as a `gap`, and a head with another epoch (it was deleted and
 *   recreated) as an `epoch` event, after which the new epoch's messages are delivered from
 *   offset 1.
 * - **History**: `recover()` answers from the entries kept: `history.size` of them at most, none
 *   older than `history.ttl`. So that slower processes can still read them, entries outlive the
 *   history: without history each lives 60 s (not trimmed); with history a topic keeps at least
 *   its last 10000, each for at least 60 s when there is a ttl.
 * - **Limits**: a message is at most 63 KiB (a KV value is at most 64 KiB), a topic at most
 *   1024 bytes of UTF-8.
 *
 * ## Measurements
 *
 * Two processes on one local SQLite file (Linux x86-64, 2 vCPUs, Deno 2.9.6), one topic,
 * `bench/kv_topics.ts`: one process awaiting each publish does 1300–3400 publishes/s; two
 * processes publishing 2000 messages each without awaiting them (batched) about 10000–15000/s
 * each. A process that only subscribes receives the other's messages after about half the
 * `pollInterval` plus 3 ms (p50 7.7 / 28 / 53 ms, p99 16 / 53 / 102 ms at 10 / 50 / 100 ms); one
 * that publishes too, sooner (p50 5 ms), its own writes waking its watch. Method and figures:
 * `docs/topics-kv.md`.
 *
 * @module
 */

export {
  kvBackplane,
  KvBackplaneError,
  type KvBackplaneErrorCode,
  type KvBackplaneOptions,
} from "./src/topics/kv_backplane.ts";
export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  HistoryOptions,
  TopicData,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./src/topics/backplane.ts";
