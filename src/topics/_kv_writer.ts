/**
 * The Deno KV backplane's writes (private to `kv_backplane.ts`): the publish queues, the atomic
 * commits of batches, head creation and the sweep of an older epoch's entries.
 *
 * @module
 */

import type { TopicData, TopicPosition } from "./backplane.ts";
import type { KvSettings } from "./_kv_options.ts";
import {
  BATCH_BYTES,
  BATCH_MESSAGES,
  dataBytes,
  type EntryRecord,
  type HeadRecord,
  isEntry,
  isHead,
  KvBackplaneError,
  newEpoch,
  pause,
  type SeenHead,
} from "./_kv_records.ts";

/** How many topics' heads a writer remembers for its next publish. */
const HEAD_CACHE = 1000;

/** What the writer needs from the backplane. */
export interface WriterHost {
  readonly settings: KvSettings;
  /** Aborted when the backplane closes. */
  readonly signal: AbortSignal;
  /** The open database (throws when the backplane is closed or not started). */
  kv(): Deno.Kv;
  /** Keeps a task for `close()` to wait for. */
  track(task: Promise<unknown>): void;
}

/** A message waiting to be committed. */
interface Pending {
  data: TopicData;
  ref: number;
  bytes: number;
  resolve(position: TopicPosition): void;
  reject(error: unknown): void;
}

/** Writes topics' heads and messages. */
export class TopicWriter {
  readonly #host: WriterHost;
  readonly #s: KvSettings;
  readonly #queues = new Map<string, Pending[]>();
  /** The heads this writer wrote last, per topic (at most `HEAD_CACHE`). */
  readonly #heads = new Map<string, SeenHead>();

  constructor(host: WriterHost) {
    this.#host = host;
    this.#s = host.settings;
  }

  /** A topic's head key. */
  headKey(topic: string): Deno.KvKey {
    return [...this.#s.prefix, topic, "h"];
  }

  /** The key of a topic's message. */
  entryKey(topic: string, offset: number): Deno.KvKey {
    return [...this.#s.prefix, topic, "m", offset];
  }

  /** Queues a message (checked by the caller); commits `topic`'s queue in call order. */
  publish(topic: string, data: TopicData, ref: number): Promise<TopicPosition> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { data, ref, bytes: dataBytes(data), resolve, reject };
      const queue = this.#queues.get(topic);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.#queues.set(topic, [pending]);
      this.#host.track(this.#pump(topic));
    });
  }

  /** The topic's head, created (offset 0, a new epoch) when absent. */
  async ensureHead(topic: string): Promise<SeenHead> {
    const kv = this.#host.kv();
    const key = this.headKey(topic);
    for (let attempt = 1;; attempt++) {
      const entry = await kvCall(() => kv.get<unknown>(key), this.#host.signal);
      if (entry.versionstamp !== null && isHead(entry.value)) {
        return { ...entry.value, stamp: entry.versionstamp };
      }
      const head: HeadRecord = { o: 0, e: newEpoch() };
      const result = await kvCall(
        () => kv.atomic().check(entry).set(key, head).commit(),
        this.#host.signal,
      ).catch(busy);
      if (result.ok) {
        this.#host.track(this.#sweep(topic, head.e));
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
    await pause(Math.random() * Math.min(2 ** attempt, 50), this.#host.signal);
    this.#host.kv();
  }

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
        if (this.#host.signal.aborted) { for (const p of queue.splice(0)) p.reject(closedError()); }
      }
    } finally {
      this.#queues.delete(topic);
    }
  }

  /** Writes a batch in one atomic operation, retrying on conflict; the first one's position. */
  async #commit(topic: string, batch: Pending[]): Promise<TopicPosition> {
    const kv = this.#host.kv();
    const signal = this.#host.signal;
    const headKey = this.headKey(topic);
    const { expireIn, keep, nodeId } = this.#s;
    for (let attempt = 1;; attempt++) {
      // The head this writer wrote last saves a read; a conflict means it is stale.
      let head: HeadRecord | undefined = this.#heads.get(topic);
      let stamp = this.#heads.get(topic)?.stamp ?? null;
      const cached = head !== undefined;
      if (!cached) {
        const current = await kvCall(() => kv.get<unknown>(headKey), signal);
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
        const entry: EntryRecord = { e: epoch, d: data, n: nodeId, r: ref, t };
        op.set(this.entryKey(topic, offset), entry, expireIn ? { expireIn } : undefined);
        if (offset > keep) op.delete(this.entryKey(topic, offset - keep));
      }
      op.set(headKey, { o: offset, e: epoch } satisfies HeadRecord);
      const result = await kvCall(() => op.commit(), signal).catch(busy);
      this.#heads.delete(topic);
      if (result.ok) {
        if (this.#heads.size >= HEAD_CACHE) this.#heads.delete(this.#heads.keys().next().value!);
        this.#heads.set(topic, { o: offset, e: epoch, stamp: result.versionstamp });
        if (fresh) this.#host.track(this.#sweep(topic, epoch));
        return { offset: first, epoch };
      }
      if (!cached) await this.#backoff(attempt);
    }
  }

  /** Deletes the entries a topic's older epochs left behind (best effort). */
  async #sweep(topic: string, epoch: string): Promise<void> {
    const headKey = this.headKey(topic);
    try {
      const kv = this.#host.kv();
      let deleted = 0;
      for await (const entry of kv.list<unknown>({ prefix: [...this.#s.prefix, topic, "m"] })) {
        if (this.#host.signal.aborted) return;
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
}

/**
 * Runs a KV call, turning its failures into `BACKPLANE_FAILED` errors (`BACKPLANE_CLOSED` once
 * `closed` is aborted).
 *
 * @param call The call.
 * @param closed Aborted when the backplane closes.
 */
export async function kvCall<T>(call: () => Promise<T>, closed: AbortSignal): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    if (cause instanceof KvBackplaneError) throw cause;
    if (closed.aborted) throw closedError();
    throw new KvBackplaneError("BACKPLANE_FAILED", `Deno KV failed: ${cause}`, { cause });
  }
}

/** The error of a call made on (or cut short by) a closed backplane. */
export function closedError(): KvBackplaneError {
  return new KvBackplaneError("BACKPLANE_CLOSED", "The backplane is closed");
}

/**
 * A commit that found a local SQLite database locked by another process counts as a conflict
 * (retried); other failures are thrown.
 */
function busy(error: unknown): Deno.KvCommitError {
  if (isBusy(error)) return { ok: false };
  throw error;
}

/**
 * Whether `error` is a local SQLite database locked by another process for a moment (when it
 * opens the file, or writes): worth another try, not worth a `down` event.
 *
 * @param error The error (or a `KvBackplaneError` caused by it).
 */
export function isBusy(error: unknown): boolean {
  const cause = error instanceof KvBackplaneError ? error.cause : error;
  return cause instanceof Error && /database is locked|database is busy/i.test(cause.message);
}
