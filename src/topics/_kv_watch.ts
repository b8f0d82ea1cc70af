/**
 * The Deno KV backplane's watches (private to `kv_backplane.ts`): the subscribed topics' head
 * keys, watched in groups of up to 10 (the most one `kv.watch` takes). A group's watch restarts
 * when its topics change, and after a pause when it fails.
 *
 * @module
 */

import { KEYS_PER_READ, pause } from "./_kv_records.ts";

/** What the watches need from the backplane. */
export interface WatchHost {
  /** The open database (throws when the backplane is closed). */
  kv(): Deno.Kv;
  /** A topic's head key. */
  headKey(topic: string): Deno.KvKey;
  /** A head read by a watch. */
  seen(topic: string, entry: Deno.KvEntryMaybe<unknown>): void;
  /** Something that failed (`what`) works again. */
  healthy(what: string): void;
  /** Something (`what`) failed. */
  unhealthy(what: string, error: unknown): void;
  /** Keeps a task for `close()` to wait for. */
  track(task: Promise<unknown>): void;
  /** Aborted when the backplane closes. */
  readonly signal: AbortSignal;
}

interface Group {
  readonly name: string;
  topics: string[];
  reader?: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>;
  /** The topics changed since the watch started: restart it. */
  changed: boolean;
  stopped: boolean;
}

/** The watches of the subscribed topics' heads. */
export class HeadWatches {
  readonly #host: WatchHost;
  readonly #groups = new Set<Group>();
  readonly #byTopic = new Map<string, Group>();
  #count = 0;

  constructor(host: WatchHost) {
    this.#host = host;
  }

  /** How many watches are running. */
  get size(): number {
    return this.#groups.size;
  }

  /** Starts watching `topic`'s head. */
  add(topic: string): void {
    if (this.#byTopic.has(topic)) return;
    const group = [...this.#groups].find((g) => g.topics.length < KEYS_PER_READ);
    if (group) {
      group.topics.push(topic);
      this.#byTopic.set(topic, group);
      this.#restart(group);
      return;
    }
    const name = `watch ${++this.#count}`;
    const created: Group = { name, topics: [topic], changed: false, stopped: false };
    this.#groups.add(created);
    this.#byTopic.set(topic, created);
    this.#host.track(this.#run(created));
  }

  /** Stops watching `topic`'s head. */
  remove(topic: string): void {
    const group = this.#byTopic.get(topic);
    if (!group) return;
    this.#byTopic.delete(topic);
    group.topics = group.topics.filter((t) => t !== topic);
    if (group.topics.length === 0) this.#stop(group);
    else this.#restart(group);
  }

  /** Stops every watch. */
  close(): void {
    for (const group of this.#groups) this.#stop(group);
    this.#byTopic.clear();
  }

  #restart(group: Group): void {
    group.changed = true;
    group.reader?.cancel().catch(() => {});
  }

  #stop(group: Group): void {
    group.stopped = true;
    this.#groups.delete(group);
    group.reader?.cancel().catch(() => {});
    this.#host.healthy(group.name);
  }

  async #run(group: Group): Promise<void> {
    const host = this.#host;
    let failures = 0;
    while (!group.stopped) {
      try {
        group.changed = false;
        const topics = [...group.topics];
        const reader = host.kv().watch(topics.map((t) => host.headKey(t))).getReader();
        group.reader = reader;
        try {
          while (!group.stopped && !group.changed) {
            const { done, value } = await reader.read();
            if (done || group.stopped || group.changed) break;
            failures = 0;
            host.healthy(group.name);
            value.forEach((entry, i) => host.seen(topics[i]!, entry));
          }
        } finally {
          await reader.cancel().catch(() => {});
        }
        if (!group.stopped && !group.changed) throw new Error("The watch ended");
      } catch (error) {
        if (group.stopped || host.signal.aborted) return;
        if (group.changed) continue;
        host.unhealthy(group.name, error);
        await pause(Math.min(100 * 2 ** failures++, 5000), host.signal);
      }
    }
  }
}
