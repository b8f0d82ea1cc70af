/**
 * The public types of topics: options, what `publish` and `subscribe` return, and what a session
 * must offer the hub.
 *
 * @module
 */

import type { Backplane, BackplaneEvent, TopicPosition } from "./backplane.ts";
import type { PreparedMessage } from "./prepared_message.ts";

/**
 * What happens to a subscriber whose outgoing queue is over its bound when a message arrives:
 * - `"close"`: it is closed with 1013 (Try Again Later) and unsubscribed; with history, it can
 *   reconnect and recover what it missed;
 * - `"drop"`: the message is not sent to it (counted in `dropped`);
 * - `"wait"`: the message is queued anyway, and `publish` resolves only once every such
 *   subscriber is back under its bound, holding the publisher back (for at most
 *   `waitTimeout`, after which the subscriber is closed as under `"close"`).
 *
 * Under every policy, a subscriber whose queue passes four times its bound (which a publisher
 * that does not await `publish`, or a publisher in another process, can cause under `"wait"`)
 * is closed as under `"close"`: memory stays bounded whatever publishers do.
 */
export type SlowSubscriberPolicy = "close" | "drop" | "wait";

/** Topic options of a server (`createServer({ topics })`). */
export interface TopicsOptions {
  /**
   * What carries messages between processes and keeps history.
   *
   * @default {memoryBackplane()}
   */
  backplane?: Backplane;
  /**
   * The policy for slow subscribers (see {@linkcode SlowSubscriberPolicy}). `"close"` is the
   * default: it loses nothing silently (the subscriber learns from the 1013 that it must
   * reconnect), keeps memory bounded, and never lets one slow reader hold back the others.
   *
   * @default {"close"}
   */
  slowSubscribers?: SlowSubscriberPolicy;
  /**
   * A per-topic override of `slowSubscribers`: return a policy, or `undefined` for the default.
   *
   * @default {undefined}
   */
  topicPolicy?: (topic: string) => SlowSubscriberPolicy | undefined;
  /**
   * The most messages replayed to a subscriber that recovers (`subscribe(topic, { since })`);
   * a subscriber further behind is told `offset-too-old`.
   *
   * @default {10000}
   */
  maxRecover?: number;
  /**
   * Under `"wait"`, the longest a publish waits for one subscriber to get back under its bound,
   * in milliseconds; a subscriber still over it then is closed with 1013, as under `"close"`
   * (so a reader that vanished without a FIN, or never reads, cannot hold publishers for ever).
   * 0 waits as long as it takes.
   *
   * @default {30000}
   */
  waitTimeout?: number;
  /**
   * Called with the backplane's events (down, up, gaps, new epochs). Envelope subscribers are
   * told of gaps and new epochs in any case.
   *
   * @default {undefined}
   */
  onBackplaneEvent?: (event: BackplaneEvent) => void;
}

/** Options of `publish`. */
export interface PublishOptions {
  /** A local session that must not get this message (say, its sender). */
  exclude?: TopicSubscriber;
}

/** What a `publish` did. */
export interface PublishResult {
  /** The topic. */
  readonly topic: string;
  /** The message's offset in the topic. */
  readonly offset: number;
  /** The topic's epoch. */
  readonly epoch: string;
  /** Local subscribers the message was queued for. */
  readonly queued: number;
  /** Local subscribers that did not get it because they were over their bound (`"drop"`). */
  readonly dropped: number;
  /** Local subscribers closed because they were over their bound, or closing already. */
  readonly closed: number;
  /** The backplane that carried it to other processes (`"memory"`: none). */
  readonly backplane: string;
}

/** Options of a session's `subscribe`. */
export interface SubscribeOptions {
  /**
   * Send this subscription's messages in topic envelopes (JSON text with the topic, epoch and
   * offset; see `TopicCursor`), so that the client can recover after a reconnect.
   *
   * @default {false}
   */
  envelope?: boolean;
  /**
   * Recover: first send the messages published after this position (the last one the client
   * saw), then the new ones. If that is impossible, the result says why (and an envelope
   * subscriber gets a `reset` envelope).
   *
   * @default {undefined}
   */
  since?: TopicPosition;
}

/** What a `subscribe` did. */
export interface SubscribeResult {
  /** The topic. */
  readonly topic: string;
  /** The topic's head when the subscription started. */
  readonly head: TopicPosition;
  /** How many missed messages were replayed (0 without `since`). */
  readonly recovered: number;
  /** Why recovery was impossible, if it was asked for and was. */
  readonly reset?: "epoch-changed" | "offset-too-old" | "offset-ahead" | "no-history";
}

/** A session that can subscribe to topics (managed server sessions). */
export interface TopicSubscriber {
  /**
   * Subscribes to a topic (again: updates the options; recovery runs again if `since` is given).
   *
   * @param topic The topic.
   * @param options Envelopes, recovery.
   */
  subscribe(topic: string, options?: SubscribeOptions): Promise<SubscribeResult>;
  /**
   * Unsubscribes from a topic.
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void;
  /** The topics this session is subscribed to. */
  readonly topics: ReadonlySet<string>;
}

/** What the hub needs from a session (internal). */
export interface TopicSink {
  /** The session (what `publish`'s `exclude` names). */
  readonly owner: unknown;
  /** Bytes queued for the socket and not yet taken by it (with those waiting for room). */
  readonly queued: number;
  /** The bound past which the slow-subscriber policy applies, in bytes. */
  readonly topicBound: number;
  /** Whether the session still sends data. */
  readonly open: boolean;
  /**
   * Queues a message.
   *
   * @returns Whether it was queued (false: the session is closing).
   */
  deliverTopic(message: PreparedMessage, envelope: boolean): boolean;
  /** Queues a notice (a reset or gap envelope). */
  sendTopicNotice(text: string): void;
  /** Resolves once under half the bound again, or the session ended. */
  topicRoom(): Promise<void>;
  /** Closes the session for being slow (1013). */
  closeSlow(): void;
}
