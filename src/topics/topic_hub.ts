/**
 * The topic hub of a server: which local sessions subscribe to which topic, publishing through
 * the backplane, delivery to local subscribers under the slow-subscriber policy, and recovery
 * of missed messages.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { encodeTopicEnvelope } from "../core/topic_envelope.ts";
import type { Backplane, BackplaneEvent, TopicMessage, TopicPosition } from "./backplane.ts";
import { memoryBackplane } from "./memory_backplane.ts";
import { PreparedMessage } from "./prepared_message.ts";
import {
  checkPolicy,
  checkTopic,
  HARD_LIMIT,
  type LocalTopic,
  type PendingPublish,
  roomOrClose,
  type Subscription,
  toTopicData,
} from "./_hub_parts.ts";
import type {
  PublishOptions,
  PublishResult,
  SlowSubscriberPolicy,
  SubscribeOptions,
  SubscribeResult,
  TopicSink,
  TopicsOptions,
} from "./topic_types.ts";

/** The hub. */
export class TopicHub {
  readonly #backplane: Backplane;
  readonly #policy: SlowSubscriberPolicy;
  readonly #topicPolicy: ((topic: string) => SlowSubscriberPolicy | undefined) | undefined;
  readonly #maxRecover: number;
  readonly #waitTimeout: number;
  readonly #onEvent: ((event: BackplaneEvent) => void) | undefined;
  readonly #topics = new Map<string, LocalTopic>();
  readonly #bySink = new Map<TopicSink, Set<string>>();
  readonly #pending = new Map<number, PendingPublish>();
  #started: Promise<void> | null = null;
  #ref = 0;
  #closed = false;

  /**
   * Creates a hub (checks the options).
   *
   * @param options The server's topic options.
   */
  constructor(options: TopicsOptions | undefined) {
    this.#backplane = options?.backplane ?? memoryBackplane();
    this.#policy = checkPolicy(options?.slowSubscribers ?? "close", "topics.slowSubscribers");
    const topicPolicy = options?.topicPolicy;
    if (topicPolicy !== undefined && typeof topicPolicy !== "function") {
      throw new TypeError("topics.topicPolicy must be a function");
    }
    this.#topicPolicy = topicPolicy;
    const maxRecover = options?.maxRecover ?? 10_000;
    if (!Number.isSafeInteger(maxRecover) || maxRecover < 0) {
      throw new RangeError(`topics.maxRecover must be a whole number >= 0, got ${maxRecover}`);
    }
    this.#maxRecover = maxRecover;
    const waitTimeout = options?.waitTimeout ?? 30_000;
    if (!Number.isFinite(waitTimeout) || waitTimeout < 0) {
      throw new RangeError(`topics.waitTimeout must be milliseconds >= 0, got ${waitTimeout}`);
    }
    this.#waitTimeout = waitTimeout;
    this.#onEvent = options?.onBackplaneEvent;
  }

  /** The backplane. */
  get backplane(): Backplane {
    return this.#backplane;
  }

  #start(): Promise<void> {
    return this.#started ??= this.#backplane.start({
      deliver: (message) => this.#deliver(message),
      event: (event) => this.#event(event),
    });
  }

  #policyFor(topic: string): SlowSubscriberPolicy {
    const chosen = this.#topicPolicy?.(topic);
    return chosen === undefined ? this.#policy : checkPolicy(chosen, "topics.topicPolicy()");
  }

  /**
   * The topics a session subscribes to.
   *
   * @param sink The session.
   * @returns The topics.
   */
  topicsOf(sink: TopicSink | null): ReadonlySet<string> {
    return (sink !== null ? this.#bySink.get(sink) : undefined) ?? EMPTY;
  }

  /**
   * Publishes a message.
   *
   * @param topic The topic.
   * @param data The payload.
   * @param options Whom to exclude.
   * @returns What happened.
   */
  async publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult> {
    checkTopic(topic);
    const payload = toTopicData(data);
    if (this.#closed) throw new TypeError("The server's topics are closed");
    await this.#start();
    const ref = ++this.#ref;
    const pending: PendingPublish = {
      topic,
      exclude: options?.exclude,
      offset: 0,
      counts: null,
      waits: [],
      crowded: false,
      done: null,
    };
    this.#pending.set(ref, pending);
    let position: TopicPosition;
    try {
      position = await this.#backplane.publish(topic, { data: payload, ref });
    } catch (err) {
      this.#pending.delete(ref);
      throw err;
    }
    pending.offset = position.offset;
    const local = this.#topics.get(topic);
    // A subscription still starting: its head decides whether this message comes back (a
    // message at or below the head never does).
    if (pending.counts === null && local !== undefined) await local.ready.catch(() => {});
    if (
      pending.counts === null && local !== undefined && this.#topics.get(topic) === local &&
      position.offset > local.last
    ) {
      // Delivered back by the backplane later (a remote one), or given up by an event.
      await new Promise<void>((resolve) => pending.done = resolve);
    }
    this.#pending.delete(ref);
    if (pending.waits.length > 0) await Promise.all(pending.waits);
    else if (pending.crowded) await new Promise<void>(NEXT_TURN);
    const counts = pending.counts ?? { queued: 0, dropped: 0, closed: 0 };
    return { topic, ...position, ...counts, backplane: this.#backplane.name };
  }

  /**
   * Subscribes a session to a topic, recovering missed messages if asked.
   *
   * @param sink The session.
   * @param topic The topic.
   * @param options Envelopes, recovery.
   * @returns What happened.
   */
  async subscribe(
    sink: TopicSink,
    topic: string,
    options?: SubscribeOptions,
  ): Promise<SubscribeResult> {
    checkTopic(topic);
    const since = options?.since;
    if (since !== undefined) {
      if (
        typeof since !== "object" || since === null || !Number.isSafeInteger(since.offset) ||
        since.offset < 0 || typeof since.epoch !== "string"
      ) {
        throw new TypeError("subscribe's since must be { offset: whole number >= 0, epoch }");
      }
    }
    if (this.#closed) throw new TypeError("The server's topics are closed");
    await this.#start();
    if (!sink.open) return { topic, head: { offset: 0, epoch: "" }, recovered: 0 };
    let local = this.#topics.get(topic);
    if (local === undefined) {
      const created: LocalTopic = {
        subs: new Map(),
        ready: Promise.resolve({ offset: 0, epoch: "" }),
        last: 0,
        epoch: "",
      };
      created.ready = this.#backplane.subscribe(topic).then((head) => {
        if (head.offset > created.last || head.epoch !== created.epoch) created.last = head.offset;
        created.epoch = head.epoch;
        return head;
      });
      created.ready.catch(() => {
        if (this.#topics.get(topic) === created) this.#topics.delete(topic);
      });
      this.#topics.set(topic, local = created);
    }
    let sub = local.subs.get(sink);
    if (sub === undefined) {
      sub = { sink, envelope: options?.envelope === true, held: null };
      local.subs.set(sink, sub);
      let set = this.#bySink.get(sink);
      if (set === undefined) this.#bySink.set(sink, set = new Set());
      set.add(topic);
    } else {
      sub.envelope = options?.envelope === true;
    }
    if (since !== undefined) sub.held = [];
    let head: TopicPosition;
    try {
      head = await local.ready;
    } catch (err) {
      this.unsubscribe(sink, topic);
      throw err;
    }
    if (since === undefined) return { topic, head, recovered: 0 };
    return await this.#recover(sub, topic, since, head);
  }

  async #recover(
    sub: Subscription,
    topic: string,
    since: TopicPosition,
    head: TopicPosition,
  ): Promise<SubscribeResult> {
    let recovery;
    try {
      recovery = await this.#backplane.recover(topic, { since, limit: this.#maxRecover });
    } catch (err) {
      this.#release(sub);
      throw err;
    }
    const sink = sub.sink;
    let last = since.offset;
    let recovered = 0;
    let reset: SubscribeResult["reset"];
    if (recovery.ok) {
      for (const message of recovery.messages) {
        if (message.offset <= last) continue;
        sink.deliverTopic(new PreparedMessage(message), sub.envelope);
        last = message.offset;
        recovered++;
      }
    } else {
      reset = recovery.reason;
      last = recovery.head.offset;
      if (sub.envelope) {
        sink.sendTopicNotice(encodeTopicEnvelope({
          kind: "reset",
          topic,
          epoch: recovery.head.epoch,
          offset: recovery.head.offset,
          reason: recovery.reason,
        }));
      }
    }
    this.#release(sub, last);
    const result: SubscribeResult = { topic, head, recovered };
    return reset === undefined ? result : { ...result, reset };
  }

  /** Ends a recovery: queues the live messages held meanwhile (those after `after`). */
  #release(sub: Subscription, after = 0): void {
    const held = sub.held;
    sub.held = null;
    if (held === null) return;
    for (const message of held) {
      if (message.offset > after) sub.sink.deliverTopic(new PreparedMessage(message), sub.envelope);
    }
  }

  /**
   * Unsubscribes a session from a topic.
   *
   * @param sink The session.
   * @param topic The topic.
   */
  unsubscribe(sink: TopicSink, topic: string): void {
    const set = this.#bySink.get(sink);
    if (set === undefined || !set.delete(topic)) return;
    if (set.size === 0) this.#bySink.delete(sink);
    const local = this.#topics.get(topic);
    if (local === undefined) return;
    local.subs.delete(sink);
    if (local.subs.size > 0) return;
    this.#topics.delete(topic);
    this.#backplane.unsubscribe(topic).catch(() => {});
    // Publishes waiting to see their message come back will not: nobody here listens.
    for (const pending of this.#pending.values()) {
      if (pending.topic === topic) pending.done?.();
    }
  }

  /**
   * Unsubscribes a session from everything (it ended).
   *
   * @param sink The session.
   */
  leave(sink: TopicSink): void {
    const set = this.#bySink.get(sink);
    if (set === undefined) return;
    for (const topic of [...set]) this.unsubscribe(sink, topic);
  }

  /** A message from the backplane: queue it for every local subscriber. */
  #deliver(message: TopicMessage): void {
    const local = this.#topics.get(message.topic);
    const pending = message.ref === undefined ? undefined : this.#pending.get(message.ref);
    const counts = { queued: 0, dropped: 0, closed: 0 };
    let crowded = false;
    if (local !== undefined && message.offset > local.last) {
      local.last = message.offset;
      local.epoch = message.epoch;
      const exclude = pending?.exclude;
      const policy = this.#policyFor(message.topic);
      const prepared = new PreparedMessage(message);
      for (const sub of local.subs.values()) {
        const sink = sub.sink;
        if (sink.owner === exclude) continue;
        if (sub.held !== null) {
          sub.held.push(message);
          counts.queued++;
          continue;
        }
        const buffered = sink.queued;
        const bound = sink.topicBound;
        if (!sink.open) {
          counts.closed++;
          continue;
        }
        if (buffered >= bound) {
          if (policy === "drop") {
            counts.dropped++;
            continue;
          }
          if (policy === "close" || buffered >= bound * HARD_LIMIT) {
            counts.closed++;
            sink.closeSlow();
            continue;
          }
          pending?.waits.push(roomOrClose(sink, this.#waitTimeout));
        } else if (buffered * 2 >= bound) {
          crowded = true;
        }
        if (sink.deliverTopic(prepared, sub.envelope)) counts.queued++;
        else counts.closed++;
      }
    }
    if (pending !== undefined) {
      pending.counts = counts;
      pending.crowded = crowded;
      pending.done?.();
    }
  }

  #event(event: BackplaneEvent): void {
    if (event.type === "gap" || event.type === "epoch") {
      const local = this.#topics.get(event.topic);
      if (local !== undefined) {
        const offset = event.type === "gap" ? event.to : event.offset;
        const epoch = event.type === "gap" ? local.epoch : event.epoch;
        if (offset > local.last || event.type === "epoch") local.last = offset;
        local.epoch = epoch;
        const text = encodeTopicEnvelope(
          event.type === "gap"
            ? { kind: "gap", topic: event.topic, epoch, offset, from: event.from }
            : { kind: "reset", topic: event.topic, epoch, offset, reason: "epoch-changed" },
        );
        for (const sub of local.subs.values()) {
          if (sub.envelope && sub.sink.open) sub.sink.sendTopicNotice(text);
        }
      }
      for (const pending of this.#pending.values()) {
        if (pending.topic !== event.topic || pending.offset === 0) continue;
        if (event.type === "epoch" || pending.offset <= event.to) pending.done?.();
      }
    } else if (event.type === "down") {
      // Nothing comes back while the backplane is down: publishes waiting for it give up.
      for (const pending of this.#pending.values()) pending.done?.();
    }
    try {
      this.#onEvent?.(event);
    } catch {
      // A throwing observer must not break delivery.
    }
  }

  /** Stops the hub and its backplane. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.done?.();
    this.#topics.clear();
    this.#bySink.clear();
    if (this.#started !== null) {
      await this.#started.catch(() => {});
      await this.#backplane.close();
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();
/** Resolves a promise at the next turn of the event loop, after the sockets had their say. */
const NEXT_TURN = (resolve: () => void): void => {
  setImmediate(resolve);
};
