/**
 * The hub's bookkeeping types and the checks of what users pass it.
 *
 * @module
 */

import { Frame } from "../core/frame.ts";
import type { TopicData, TopicMessage, TopicPosition } from "./backplane.ts";
import type { SlowSubscriberPolicy, TopicSink } from "./topic_types.ts";

/** A subscriber past this many times its bound is closed, whatever the policy. */
export const HARD_LIMIT = 4;
const POLICIES: readonly string[] = ["close", "drop", "wait"];

/** One session's subscription to one topic. */
export interface Subscription {
  readonly sink: TopicSink;
  envelope: boolean;
  /** While recovering: live messages held back until the replay is queued. */
  held: TopicMessage[] | null;
}

/** A topic this process listens to. */
export interface LocalTopic {
  readonly subs: Map<TopicSink, Subscription>;
  /** Resolves with the head once the backplane delivers the topic. */
  ready: Promise<TopicPosition>;
  /** The last offset delivered (to skip what the subscription's head already covers). */
  last: number;
  epoch: string;
}

/** A publish of this process waiting for its message to come back for local delivery. */
export interface PendingPublish {
  readonly topic: string;
  readonly exclude: unknown;
  offset: number;
  counts: { queued: number; dropped: number; closed: number } | null;
  waits: Promise<void>[];
  /**
   * Whether the delivery left a subscriber's queue at half its bound or more: the publish then
   * resolves after one turn of the event loop, so that a loop of awaited publishes lets the
   * sockets take what it queued (without one, the queues only grow until every subscriber,
   * however fast, is over its bound).
   */
  crowded: boolean;
  done: (() => void) | null;
}

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) {
    throw new TypeError(`A topic must be a non-empty string, got ${String(topic)}`);
  }
}

export function checkPolicy(policy: unknown, what: string): SlowSubscriberPolicy {
  if (typeof policy !== "string" || !POLICIES.includes(policy)) {
    throw new TypeError(`${what} must be "close", "drop" or "wait", got ${String(policy)}`);
  }
  return policy as SlowSubscriberPolicy;
}

const DECODER = new TextDecoder("utf-8", { fatal: true });

/** Turns what `publish` accepts into a string or bytes. */
export function toTopicData(data: unknown): TopicData {
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (data instanceof Frame) {
    if (data.type === "text") return DECODER.decode(data.data);
    if (data.type === "binary") return data.data;
    throw new TypeError(`Only text and binary frames can be published, got ${data.type}`);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError("publish accepts a string, bytes or a text or binary Frame");
}

/**
 * Resolves once `sink` has room again (the `"wait"` policy), or after `timeout` ms, when the
 * sink is closed as too slow (1013) instead; 0 waits as long as it takes.
 *
 * @param sink The subscriber over its bound.
 * @param timeout The longest wait, in milliseconds.
 * @returns A promise that never rejects.
 */
export function roomOrClose(sink: TopicSink, timeout: number): Promise<void> {
  if (timeout === 0) return sink.topicRoom();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      sink.closeSlow();
      resolve();
    }, timeout);
    sink.topicRoom().then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
