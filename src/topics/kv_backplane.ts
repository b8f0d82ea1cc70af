/**
 * The Deno KV backplane: topics carried between processes, and between Deno Deploy instances,
 * through a Deno KV database. See `kv.ts` for the user guide.
 *
 * @module
 */

import type {
  Backplane,
  BackplaneHost,
  TopicData,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./backplane.ts";
import { type KvBackplaneOptions, type KvSettings, kvSettings } from "./_kv_options.ts";
import { HeadWatches } from "./_kv_watch.ts";
import {
  BATCH_BYTES,
  BATCH_MESSAGES,
  checkData,
  checkTopic,
  dataBytes,
  type EntryRecord,
  type HeadRecord,
  isEntry,
  isHead,
  KEYS_PER_READ,
  KvBackplaneError,
  newEpoch,
  pause,
} from "./_kv_records.ts";

/** A message waiting to be committed. */
interface Pending {
  data: TopicData;
  ref: number;
  bytes: number;
  resolve(position: TopicPosition): void;
  reject(error: unknown): void;
}

/** A head as read, with its versionstamp (versionstamps only grow, so they order reads). */
interface SeenHead extends HeadRecord {
  stamp: string;
}

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

/** How many topics' heads a backplane remembers for its next publish. */
const HEAD_CACHE = 1000;

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
 * await backplane.publish("news", "hello", 1);
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
  readonly #watches = new HeadWatches({
    kv: () => this.#kvOrThrow(),
    headKey: (topic) => this.#headKey(topic),
    seen: (topic, entry) => {
      const sub = this.#subs.get(topic);
      if (sub) this.#seen(sub, entry);
    },
    healthy: (what) => this.#healthy(what),
    unhealthy: (what, error) => this.#unhealthy(what, error),
    track: (task) => this.#track(task),
    signal: this.#stop.signal,
  });
  readonly #queues = new Map<string, Pending[]>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** The heads this backplane wrote last, per topic (at most `HEAD_CACHE`). */
  readonly #heads = new Map<string, SeenHead>();
  /** What is failing now (`watch <n>`, `read <topic>`, `poll`); empty when healthy. */
  readonly #failing = new Set<string>();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;

  constructor(options: KvBackplaneOptions) {
    this.#s = kvSettings(options);
  }

  async start(host: BackplaneHost): Promise<void> {
    if (typeof host?.deliver !== "function" || typeof host.event !== "function") {
      throw new TypeError("start() takes a host with deliver() and event()");
    }
    if (this.#state === "closed") throw closedError();
    if (this.#state !== "new") throw new KvBackplaneError("BACKPLANE_FAILED", "Already started");
    this.#state = "starting";
    let kv = this.#s.kv;
    if (kv === undefined) {
      try {
        kv = await Deno.openKv(this.#s.path);
      } catch (cause) {
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

  publish(topic: string, data: TopicData, ref: number): Promise<TopicPosition> {
    try {
      checkTopic(topic);
      checkData(data);
      if (typeof ref !== "number") throw new TypeError("publish() ref must be a number");
      this.#kvOrThrow();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { data, ref, bytes: dataBytes(data), resolve, reject };
      const queue = this.#queues.get(topic);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.#queues.set(topic, [pending]);
      this.#track(this.#pump(topic));
    });
  }

  async subscribe(topic: string): Promise<TopicPosition> {
    checkTopic(topic);
    this.#kvOrThrow();
    const existing = this.#subs.get(topic);
    if (existing) return { offset: existing.delivered, epoch: existing.epoch };
    const head = await this.#ensureHead(topic);
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

  async recover(topic: string, since: TopicPosition, limit: number): Promise<TopicRecovery> {
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
    const now = await this.#ensureHead(topic);
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
    const entries = await this.#fail(() =>
      Array.fromAsync(kv.list<unknown>({
        start: this.#entryKey(topic, since.offset + 1),
        end: this.#entryKey(topic, now.o + 1),
      }))
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

  #headKey(topic: string): Deno.KvKey {
    return [...this.#s.prefix, topic, "h"];
  }

  #entryKey(topic: string, offset: number): Deno.KvKey {
    return [...this.#s.prefix, topic, "m", offset];
  }

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

  /** Runs a KV call, turning its failures into `BACKPLANE_FAILED` errors. */
  async #fail<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      if (cause instanceof KvBackplaneError) throw cause;
      if (this.#state === "closed") throw closedError();
      throw new KvBackplaneError("BACKPLANE_FAILED", `Deno KV failed: ${cause}`, { cause });
    }
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }

  /** The topic's head, created (offset 0, a new epoch) when absent. */
  async #ensureHead(topic: string): Promise<SeenHead> {
    const kv = this.#kvOrThrow();
    const key = this.#headKey(topic);
    for (let attempt = 1;; attempt++) {
      const entry = await this.#fail(() => kv.get<unknown>(key));
      if (entry.versionstamp !== null && isHead(entry.value)) {
        return { ...entry.value, stamp: entry.versionstamp };
      }
      const head: HeadRecord = { o: 0, e: newEpoch() };
      const result = await this.#fail(() => kv.atomic().check(entry).set(key, head).commit())
        .catch(busy);
      if (result.ok) {
        this.#track(this.#sweep(topic, head.e));
        return { ...head, stamp: result.versionstamp };
      }
      await this.#backoff(attempt);
    }
  }

  /** Waits a little, more after each conflict, before the next attempt. */
  async #backoff(attempt: number): Promise<void> {
    if (attempt >= this.#s.attempts) {
      throw new KvBackplaneError(
        "PUBLISH_CONFLICT",
        `Gave up after ${attempt} attempts: other processes kept moving the topic's head`,
      );
    }
    await pause(Math.random() * Math.min(2 ** attempt, 50), this.#stop.signal);
    this.#kvOrThrow();
  }

  // --- publishing ---------------------------------------------------------------------------

  /** Commits `topic`'s queued messages in call order, a batch per atomic operation. */
  async #pump(topic: string): Promise<void> {
    const queue = this.#queues.get(topic)!;
    try {
      while (queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < queue.length && count < BATCH_MESSAGES) {
          bytes += queue[count]!.bytes;
          if (count > 0 && bytes > BATCH_BYTES) break;
          count++;
        }
        const batch = queue.slice(0, count);
        try {
          const first = await this.#commit(topic, batch);
          batch.forEach((p, i) => p.resolve({ offset: first.offset + i, epoch: first.epoch }));
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
        queue.splice(0, count);
        if (this.#state === "closed") { for (const p of queue.splice(0)) p.reject(closedError()); }
      }
    } finally {
      this.#queues.delete(topic);
    }
  }

  /** Writes a batch in one atomic operation, retrying on conflict; the first one's position. */
  async #commit(topic: string, batch: Pending[]): Promise<TopicPosition> {
    const kv = this.#kvOrThrow();
    const headKey = this.#headKey(topic);
    const expireIn = this.#s.expireIn;
    for (let attempt = 1;; attempt++) {
      // The head this backplane wrote last saves a read; a conflict means it is stale.
      let head: HeadRecord | undefined = this.#heads.get(topic);
      let stamp = this.#heads.get(topic)?.stamp ?? null;
      const cached = head !== undefined;
      if (!cached) {
        const current = await this.#fail(() => kv.get<unknown>(headKey));
        stamp = current.versionstamp;
        head = stamp !== null && isHead(current.value) ? current.value : undefined;
      }
      const fresh = head === undefined;
      const epoch = head?.e ?? newEpoch();
      let offset = head?.o ?? 0;
      const first = offset + 1;
      const op = kv.atomic().check({ key: headKey, versionstamp: stamp });
      const t = Date.now();
      for (const { data, ref } of batch) {
        offset++;
        const entry: EntryRecord = { e: epoch, d: data, n: this.#s.nodeId, r: ref, t };
        op.set(this.#entryKey(topic, offset), entry, expireIn ? { expireIn } : undefined);
        if (offset > this.#s.keep) op.delete(this.#entryKey(topic, offset - this.#s.keep));
      }
      op.set(headKey, { o: offset, e: epoch } satisfies HeadRecord);
      const result = await this.#fail(() => op.commit()).catch(busy);
      this.#heads.delete(topic);
      if (result.ok) {
        if (this.#heads.size >= HEAD_CACHE) this.#heads.delete(this.#heads.keys().next().value!);
        this.#heads.set(topic, { o: offset, e: epoch, stamp: result.versionstamp });
        if (fresh) this.#track(this.#sweep(topic, epoch));
        return { offset: first, epoch };
      }
      if (!cached) await this.#backoff(attempt);
    }
  }

  /** Deletes the entries a topic's older epochs left behind (best effort). */
  async #sweep(topic: string, epoch: string): Promise<void> {
    const kv = this.#kv;
    if (!kv) return;
    const headKey = this.#headKey(topic);
    try {
      let deleted = 0;
      for await (const entry of kv.list<unknown>({ prefix: [...this.#s.prefix, topic, "m"] })) {
        if (this.#state === "closed") return;
        if (isEntry(entry.value) && entry.value.e === epoch) continue;
        // Stop if the head was replaced again meanwhile: a newer sweep owns the topic.
        if (deleted++ % 100 === 0) {
          const head = await kv.get<unknown>(headKey);
          if (!isHead(head.value) || head.value.e !== epoch) return;
        }
        await kv.atomic().check(entry).delete(entry.key).commit();
      }
    } catch {
      // Best effort: the entries are ignored anyway, and expire when they have a ttl.
    }
  }

  // --- delivery -----------------------------------------------------------------------------

  #stopSub(sub: Subscription): void {
    sub.stopped = true;
    if (this.#subs.get(sub.topic) === sub) this.#subs.delete(sub.topic);
    this.#watches.remove(sub.topic);
    this.#healthy(`read ${sub.topic}`);
  }

  /** Watches a topic's head until it is unsubscribed, restarting the watch when it fails. */
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
        const heads = await kv.getMany<unknown[]>(group.map((s) => this.#headKey(s.topic)));
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
      start: this.#entryKey(sub.topic, from),
      end: this.#entryKey(sub.topic, to + 1),
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

/**
 * A commit that found a local SQLite database locked by another process counts as a conflict
 * (retried); other failures are thrown.
 */
function busy(error: unknown): Deno.KvCommitError {
  const cause = error instanceof KvBackplaneError ? error.cause : error;
  if (cause instanceof Error && /database is locked|busy/i.test(cause.message)) {
    return { ok: false };
  }
  throw error;
}

function closedError(): KvBackplaneError {
  return new KvBackplaneError("BACKPLANE_CLOSED", "The backplane is closed");
}

export { KvBackplaneError, type KvBackplaneErrorCode } from "./_kv_records.ts";
export type { KvBackplaneOptions } from "./_kv_options.ts";
