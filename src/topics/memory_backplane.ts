/**
 * The in-process backplane: topics within one process, with an optional history ring per
 * topic. The default when a server is given no backplane.
 *
 * @module
 */

import type {
  Backplane,
  BackplaneHost,
  HistoryOptions,
  PublishedData,
  RecoveryRequest,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./backplane.ts";
import { checkHistory, randomEpoch } from "./_history.ts";

/** One topic's counter and history ring. */
interface TopicLog {
  /** A topic forgotten (no history, nobody subscribed) and used again gets a new epoch. */
  epoch: string;
  offset: number;
  /** The last `size` messages, oldest first (a ring: `start` is the oldest). */
  ring: TopicMessage[];
  start: number;
  /** When each message of the ring was published (for `ttl`). */
  times: number[];
  subscribed: boolean;
}

/**
 * Options of {@linkcode memoryBackplane}.
 */
export interface MemoryBackplaneOptions {
  /**
   * How much history each topic keeps for recovering subscribers.
   *
   * @default {{ size: 0, ttl: 0 }}
   */
  history?: HistoryOptions;
  /**
   * The clock for `history.ttl` (tests pass a fake one).
   *
   * @default {Date.now}
   */
  now?: () => number;
}

class MemoryBackplane implements Backplane {
  readonly name = "memory";
  readonly #size: number;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #topics = new Map<string, TopicLog>();
  #host: BackplaneHost | null = null;

  constructor(options: MemoryBackplaneOptions) {
    const { size, ttl } = checkHistory(options.history);
    this.#size = size;
    this.#ttl = ttl;
    this.#now = options.now ?? Date.now;
  }

  start(host: BackplaneHost): Promise<void> {
    this.#host = host;
    return Promise.resolve();
  }

  #log(topic: string): TopicLog {
    let log = this.#topics.get(topic);
    if (log === undefined) {
      log = { epoch: randomEpoch(), offset: 0, ring: [], start: 0, times: [], subscribed: false };
      this.#topics.set(topic, log);
    }
    return log;
  }

  publish(topic: string, { data, ref }: PublishedData): Promise<TopicPosition> {
    const log = this.#log(topic);
    const offset = ++log.offset;
    const epoch = log.epoch;
    const message: TopicMessage = { topic, data, offset, epoch, ref };
    if (this.#size > 0) {
      if (log.ring.length < this.#size) {
        log.ring.push(message);
        if (this.#ttl > 0) log.times.push(this.#now());
      } else {
        log.ring[log.start] = message;
        if (this.#ttl > 0) log.times[log.start] = this.#now();
        log.start = (log.start + 1) % this.#size;
      }
    }
    if (log.subscribed) this.#host?.deliver(message);
    else if (this.#size === 0) this.#topics.delete(topic);
    return Promise.resolve({ offset, epoch });
  }

  subscribe(topic: string): Promise<TopicPosition> {
    const log = this.#log(topic);
    log.subscribed = true;
    return Promise.resolve({ offset: log.offset, epoch: log.epoch });
  }

  unsubscribe(topic: string): Promise<void> {
    const log = this.#topics.get(topic);
    if (log !== undefined) {
      log.subscribed = false;
      // Without history a topic nobody hears is forgotten; used again, it gets a new epoch.
      if (this.#size === 0) this.#topics.delete(topic);
    }
    return Promise.resolve();
  }

  recover(topic: string, { since, limit }: RecoveryRequest): Promise<TopicRecovery> {
    const log = this.#log(topic);
    const head: TopicPosition = { offset: log.offset, epoch: log.epoch };
    const fail = (reason: "epoch-changed" | "offset-too-old" | "offset-ahead" | "no-history") =>
      Promise.resolve<TopicRecovery>({ ok: false, reason, head });
    if (since.epoch !== log.epoch) {
      if (!log.subscribed && this.#size === 0) this.#topics.delete(topic);
      return fail("epoch-changed");
    }
    if (since.offset > head.offset) return fail("offset-ahead");
    if (since.offset === head.offset) return Promise.resolve({ ok: true, messages: [], head });
    if (this.#size === 0) return fail("no-history");
    const wanted = head.offset - since.offset;
    if (wanted > limit) return fail("offset-too-old");
    const kept = this.#kept(log);
    if (wanted > kept.length) return fail("offset-too-old");
    return Promise.resolve({ ok: true, messages: kept.slice(kept.length - wanted), head });
  }

  /** The ring's messages still within the ttl, oldest first. */
  #kept(log: TopicLog): TopicMessage[] {
    const ordered = log.ring.slice(log.start).concat(log.ring.slice(0, log.start));
    if (this.#ttl === 0) return ordered;
    const times = log.times.slice(log.start).concat(log.times.slice(0, log.start));
    const oldest = this.#now() - this.#ttl;
    let first = 0;
    while (first < times.length && times[first]! < oldest) first++;
    return ordered.slice(first);
  }

  close(): Promise<void> {
    this.#topics.clear();
    this.#host = null;
    return Promise.resolve();
  }
}

/**
 * The in-process backplane: topics reach the subscribers of this process only. Every server
 * uses one unless given another; pass one yourself to keep history for recovery.
 *
 * @example A server whose topics keep the last 100 messages for 5 minutes
 * ```ts
 * import { createServer, memoryBackplane } from "@wirestream/ws/server";
 *
 * const server = createServer({
 *   topics: { backplane: memoryBackplane({ history: { size: 100, ttl: 300_000 } }) },
 * });
 * await server.shutdown();
 * ```
 *
 * @param options The history to keep.
 * @returns The backplane.
 */
export function memoryBackplane(options?: MemoryBackplaneOptions): Backplane {
  return new MemoryBackplane(options ?? {});
}
