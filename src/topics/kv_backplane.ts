/**
 * The Deno KV backplane: topics carried between processes, and between Deno Deploy instances,
 * through a Deno KV database. See `kv.ts` for the user guide.
 *
 * @module
 */

import type {
  Backplane,
  BackplaneHost,
  PublishedData,
  RecoveryRequest,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./backplane.ts";
import { type KvBackplaneOptions, type KvSettings, kvSettings } from "./_kv_options.ts";
import { HeadWatches } from "./_kv_watch.ts";
import { closedError, isBusy, kvCall, TopicWriter } from "./_kv_writer.ts";
import {
  checkData,
  checkTopic,
  type EntryRecord,
  isEntry,
  isHead,
  KEYS_PER_READ,
  KvBackplaneError,
  pause,
  type SeenHead,
} from "./_kv_records.ts";

/** One subscribed topic. */
interface Subscription {
  readonly topic: string;
  /** The epoch of `delivered`. */
  epoch: string;
  /** The last offset delivered (or skipped as a gap). */
  delivered: number;
  /** The newest head seen. */
  target: SeenHead;
  draining: boolean;
  stopped: boolean;
}

/** How many times `start()` tries to open a database file that another process holds locked. */
const OPEN_ATTEMPTS = 50;

/** How many entries one delivery read fetches. */
const READ_BATCH = 500;

/**
 * A {@linkcode Backplane} over Deno KV: every process (or Deno Deploy instance) that opens the
 * same database shares the topics.
 *
 * Each publish is one atomic operation that moves the topic's head and writes the message (and
 * trims the oldest one); the subscribed topics' heads are watched (and polled, see
 * {@linkcode KvBackplaneOptions.pollInterval}) and the new messages read in offset order. Run
 * with `--unstable-kv` (or `"unstable": ["kv"]` in deno.json); Deno Deploy needs no flag.
 *
 * @example A server sharing topics through a local database
 * ```ts ignore
 * import { kvBackplane } from "@wirestream/ws/kv";
 *
 * const backplane = kvBackplane({ path: "./topics.sqlite3", history: { size: 100 } });
 * await backplane.start({
 *   deliver: (m) => console.log(m.topic, m.offset, m.data),
 *   event: (e) => console.log(e),
 * });
 * await backplane.subscribe("news");
 * await backplane.publish("news", { data: "hello", ref: 1 });
 * await backplane.close();
 * ```
 *
 * @param options The database, key prefix, history and node id.
 * @returns A backplane; call `start()` first and `close()` at the end.
 */
export function kvBackplane(options: KvBackplaneOptions = {}): Backplane {
  return new KvBackplane(options);
}

class KvBackplane implements Backplane {
  readonly name = "kv";
  readonly #s: KvSettings;
  #kv: Deno.Kv | undefined;
  #host: BackplaneHost | undefined;
  #state: "new" | "starting" | "started" | "closed" = "new";
  readonly #stop = new AbortController();
  readonly #subs = new Map<string, Subscription>();
  readonly #writer: TopicWriter;
  readonly #watches = new HeadWatches({
    kv: () => this.#kvOrThrow(),
    headKey: (topic) => this.#writer.headKey(topic),
    seen: (topic, entry) => {
      const sub = this.#subs.get(topic);
      if (sub) this.#seen(sub, entry);
    },
    healthy: (what) => this.#healthy(what),
    unhealthy: (what, error) => this.#unhealthy(what, error),
    track: (task) => this.#track(task),
    signal: this.#stop.signal,
  });
  readonly #tasks = new Set<Promise<unknown>>();
  /** What is failing now (`watch <n>`, `read <topic>`, `poll`); empty when healthy. */
  readonly #failing = new Set<string>();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;

  constructor(options: KvBackplaneOptions) {
    this.#s = kvSettings(options);
    this.#writer = new TopicWriter({
      settings: this.#s,
      signal: this.#stop.signal,
      kv: () => this.#kvOrThrow(),
      track: (task) => this.#track(task),
    });
  }

  async start(host: BackplaneHost): Promise<void> {
    if (typeof host?.deliver !== "function" || typeof host.event !== "function") {
      throw new TypeError("start() takes a host with deliver() and event()");
    }
    if (this.#state === "closed") throw closedError();
    if (this.#state !== "new") throw new KvBackplaneError("BACKPLANE_FAILED", "Already started");
    this.#state = "starting";
    let kv = this.#s.kv;
    for (let attempt = 1; kv === undefined; attempt++) {
      try {
        kv = await Deno.openKv(this.#s.path);
      } catch (cause) {
        if (this.#state !== "starting") throw closedError();
        // Processes opening a new file at once lock each other out for a moment.
        if (isBusy(cause) && attempt < OPEN_ATTEMPTS) {
          await pause(10 + Math.random() * 40, this.#stop.signal);
          continue;
        }
        this.#state = "new";
        throw new KvBackplaneError("BACKPLANE_FAILED", `Cannot open Deno KV: ${cause}`, { cause });
      }
    }
    if (this.#state !== "starting") {
      // close() ran while the database was opening.
      if (this.#s.kv === undefined) kv.close();
      throw closedError();
    }
    this.#kv = kv;
    this.#host = host;
    this.#state = "started";
  }

  publish(topic: string, message: PublishedData): Promise<TopicPosition> {
    const { data, ref } = message ?? {};
    try {
      checkTopic(topic);
      checkData(data);
      if (typeof ref !== "number") throw new TypeError("publish() ref must be a number");
      this.#kvOrThrow();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.publish(topic, data, ref);
  }

  async subscribe(topic: string): Promise<TopicPosition> {
    checkTopic(topic);
    this.#kvOrThrow();
    const existing = this.#subs.get(topic);
    if (existing) return { offset: existing.delivered, epoch: existing.epoch };
    const head = await this.#writer.ensureHead(topic);
    this.#kvOrThrow();
    const again = this.#subs.get(topic);
    if (again) return { offset: again.delivered, epoch: again.epoch };
    const sub: Subscription = {
      topic,
      epoch: head.e,
      delivered: head.o,
      target: head,
      draining: false,
      stopped: false,
    };
    this.#subs.set(topic, sub);
    this.#watches.add(topic);
    this.#schedulePoll();
    return { offset: head.o, epoch: head.e };
  }

  unsubscribe(topic: string): Promise<void> {
    checkTopic(topic);
    const sub = this.#subs.get(topic);
    if (sub) this.#stopSub(sub);
    return Promise.resolve();
  }

  async recover(topic: string, request: RecoveryRequest): Promise<TopicRecovery> {
    const { since, limit } = request ?? {};
    checkTopic(topic);
    if (
      typeof since !== "object" || since === null || typeof since.epoch !== "string" ||
      !Number.isSafeInteger(since.offset) || since.offset < 0
    ) {
      throw new TypeError("recover() since must be { offset: a whole number ≥ 0, epoch }");
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError("recover() limit must be a whole number, 0 or more");
    }
    const kv = this.#kvOrThrow();
    const now = await this.#writer.ensureHead(topic);
    const head = { offset: now.o, epoch: now.e };
    if (since.epoch !== now.e) return { ok: false, reason: "epoch-changed", head };
    if (since.offset > now.o) return { ok: false, reason: "offset-ahead", head };
    if (this.#s.size === 0) return { ok: false, reason: "no-history", head };
    const count = now.o - since.offset;
    if (count > limit || since.offset < now.o - this.#s.size) {
      return { ok: false, reason: "offset-too-old", head };
    }
    const messages: TopicMessage[] = [];
    if (count === 0) return { ok: true, messages, head };
    const oldest = this.#s.ttl > 0 ? Date.now() - this.#s.ttl : -Infinity;
    const selector = {
      start: this.#writer.entryKey(topic, since.offset + 1),
      end: this.#writer.entryKey(topic, now.o + 1),
    };
    const entries = await kvCall(
      () => Array.fromAsync(kv.list<unknown>(selector)),
      this.#stop.signal,
    );
    let expected = since.offset + 1;
    for (const { key, value } of entries) {
      if (key.at(-1) !== expected || !isEntry(value) || value.e !== now.e || value.t < oldest) {
        return { ok: false, reason: "offset-too-old", head };
      }
      messages.push(this.#message(topic, expected, value));
      expected++;
    }
    if (expected !== now.o + 1) return { ok: false, reason: "offset-too-old", head };
    return { ok: true, messages, head };
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#stop.abort();
    clearTimeout(this.#pollTimer);
    for (const sub of this.#subs.values()) this.#stopSub(sub);
    this.#watches.close();
    // The publish pumps settle their queues: a batch under way commits (or fails), the rest fail
    // with BACKPLANE_CLOSED.
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    if (this.#s.kv === undefined) this.#kv?.close();
    this.#kv = undefined;
  }

  // --- keys and records ---------------------------------------------------------------------

  #message(topic: string, offset: number, entry: EntryRecord): TopicMessage {
    return entry.n === this.#s.nodeId
      ? { topic, offset, epoch: entry.e, data: entry.d, ref: entry.r }
      : { topic, offset, epoch: entry.e, data: entry.d };
  }

  #kvOrThrow(): Deno.Kv {
    if (this.#state === "closed") throw closedError();
    if (this.#kv === undefined) {
      throw new KvBackplaneError("BACKPLANE_NOT_STARTED", "The backplane is not started");
    }
    return this.#kv;
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }

  // --- delivery -----------------------------------------------------------------------------

  #stopSub(sub: Subscription): void {
    sub.stopped = true;
    if (this.#subs.get(sub.topic) === sub) this.#subs.delete(sub.topic);
    this.#watches.remove(sub.topic);
    this.#healthy(`read ${sub.topic}`);
  }

  /** Reads the subscribed topics' heads after `pollInterval`, unless already planned. */
  #schedulePoll(): void {
    if (this.#s.pollInterval === 0 || this.#pollTimer !== undefined || this.#polling) return;
    if (this.#state !== "started" || this.#subs.size === 0) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      this.#track(this.#poll());
    }, this.#s.pollInterval);
  }

  /** Reads every subscribed topic's head once. */
  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      const kv = this.#kvOrThrow();
      const subs = [...this.#subs.values()];
      for (let i = 0; i < subs.length; i += KEYS_PER_READ) {
        const group = subs.slice(i, i + KEYS_PER_READ);
        const heads = await kv.getMany<unknown[]>(group.map((s) => this.#writer.headKey(s.topic)));
        group.forEach((sub, j) => this.#seen(sub, heads[j]!));
      }
      this.#healthy("poll");
    } catch (error) {
      if (this.#state !== "closed") this.#unhealthy("poll", error);
    } finally {
      this.#polling = false;
      this.#schedulePoll();
    }
  }

  /** A head read by the watch or the poll: delivers up to it when it is news. */
  #seen(sub: Subscription, entry: Deno.KvEntryMaybe<unknown>): void {
    if (sub.stopped || entry.versionstamp === null || !isHead(entry.value)) return;
    if (entry.versionstamp <= sub.target.stamp) return;
    sub.target = { ...entry.value, stamp: entry.versionstamp };
    if (!sub.draining) this.#track(this.#drain(sub));
  }

  /** Delivers `sub`'s messages up to the newest head seen. */
  async #drain(sub: Subscription): Promise<void> {
    sub.draining = true;
    let failures = 0;
    try {
      while (!sub.stopped) {
        try {
          if (await this.#drainBatch(sub)) {
            this.#healthy(`read ${sub.topic}`);
            return;
          }
          failures = 0;
        } catch (error) {
          if (sub.stopped || this.#state === "closed") return;
          // A failed read: try again after a pause (or at once when the watch or poll see news).
          this.#unhealthy(`read ${sub.topic}`, error);
          await pause(Math.min(100 * 2 ** failures++, 5000), this.#stop.signal);
        }
      }
    } finally {
      sub.draining = false;
    }
  }

  /** Delivers the next batch of `sub`'s messages; true when it is caught up. */
  async #drainBatch(sub: Subscription): Promise<boolean> {
    const host = this.#host!;
    const target = sub.target;
    if (target.e !== sub.epoch) {
      sub.epoch = target.e;
      sub.delivered = 0;
      emit(host, { type: "epoch", topic: sub.topic, epoch: target.e, offset: 0 });
    }
    if (sub.delivered >= target.o) return true;
    const from = sub.delivered + 1;
    const to = Math.min(target.o, sub.delivered + READ_BATCH);
    const kv = this.#kvOrThrow();
    const entries = await Array.fromAsync(kv.list<unknown>({
      start: this.#writer.entryKey(sub.topic, from),
      end: this.#writer.entryKey(sub.topic, to + 1),
    }));
    if (sub.stopped || sub.epoch !== target.e) return false;
    for (const { key, value } of entries) {
      const offset = key.at(-1);
      if (typeof offset !== "number" || offset <= sub.delivered || offset > to) continue;
      if (!isEntry(value) || value.e !== sub.epoch) continue;
      if (offset > sub.delivered + 1) this.#gap(sub, offset - 1);
      sub.delivered = offset;
      try {
        host.deliver(this.#message(sub.topic, offset, value));
      } catch {
        // The host's own failure: it must not stop the other deliveries.
      }
      if (sub.stopped) return false;
    }
    if (sub.delivered < to) this.#gap(sub, to);
    return false;
  }

  #gap(sub: Subscription, to: number): void {
    const from = sub.delivered + 1;
    sub.delivered = to;
    emit(this.#host!, { type: "gap", topic: sub.topic, from, to });
  }

  #unhealthy(what: string, error: unknown): void {
    // A local file locked by another process for a moment is retried, not reported.
    if (isBusy(error)) return;
    const wasHealthy = this.#failing.size === 0;
    this.#failing.add(what);
    if (wasHealthy) emit(this.#host!, { type: "down", error });
  }

  #healthy(what: string): void {
    if (this.#failing.delete(what) && this.#failing.size === 0 && this.#state !== "closed") {
      emit(this.#host!, { type: "up" });
    }
  }
}

function emit(host: BackplaneHost, event: Parameters<BackplaneHost["event"]>[0]): void {
  try {
    host.event(event);
  } catch {
    // The host's own failure: it must not stop the backplane.
  }
}

export { KvBackplaneError, type KvBackplaneErrorCode } from "./_kv_records.ts";
export type { KvBackplaneOptions } from "./_kv_options.ts";
