/**
 * The backplane interface: what carries a topic's messages between the server processes that
 * publish and subscribe to it, and keeps its history.
 *
 * A backplane gives every message of a topic an **offset** (1, 2, 3…, contiguous per topic) and
 * belongs to an **epoch** (a string that changes whenever the topic's history and counter are
 * lost, say when a Redis without persistence restarts). The pair (epoch, offset) names one
 * message for ever.
 *
 * What a backplane promises its host (the server's topic hub):
 * - for every topic the host subscribed to, {@linkcode BackplaneHost.deliver} is called for
 *   every message published from then on, by any process **including this one**, once, in offset
 *   order;
 * - messages it could not deliver (lost while the backplane was down, or trimmed from history
 *   before it could fetch them) are reported with a `gap` event, so that the host can tell its
 *   subscribers; a new epoch is reported with an `epoch` event;
 * - a message published by this process is delivered with the `ref` it was published with
 *   (other processes' messages have `ref` `undefined`).
 *
 * The in-process backplane ({@linkcode memoryBackplane}) is the default. `@wirestream/ws/redis`
 * and `@wirestream/ws/kv` carry topics across processes and hosts.
 *
 * @module
 */

/** A topic message's payload: a string is sent as a text message, bytes as a binary one. */
export type TopicData = string | Uint8Array;

/** A position in a topic's history. */
export interface TopicPosition {
  /** The offset of the last message (0 before the first). */
  readonly offset: number;
  /** The topic's epoch. */
  readonly epoch: string;
}

/** What {@linkcode Backplane.publish} carries. */
export interface PublishedData {
  /** The payload. */
  readonly data: TopicData;
  /** A number this process uses to recognise the message when it is delivered back. */
  readonly ref: number;
}

/** What {@linkcode Backplane.recover} is asked. */
export interface RecoveryRequest {
  /** The last position the caller saw. */
  readonly since: TopicPosition;
  /** The most messages to return; more than that is `offset-too-old`. */
  readonly limit: number;
}

/** A message as the backplane delivers it. */
export interface TopicMessage extends TopicPosition {
  /** The topic. */
  readonly topic: string;
  /** The payload. */
  readonly data: TopicData;
  /** For a message this process published: the `ref` it was published with. */
  readonly ref?: number;
}

/** The outcome of asking for the messages after a position. */
export type TopicRecovery =
  | {
    /** Every message after the position is here. */
    readonly ok: true;
    /** The messages after the position, in offset order (at most the limit asked for). */
    readonly messages: readonly TopicMessage[];
    /** The topic's head when the history was read. */
    readonly head: TopicPosition;
  }
  | {
    /** Recovery is impossible: the application must reload its state. */
    readonly ok: false;
    /**
     * Why: the epoch changed (history was lost), the offset is older than the history kept,
     * the offset is ahead of the topic's head, or the backplane keeps no history.
     */
    readonly reason: "epoch-changed" | "offset-too-old" | "offset-ahead" | "no-history";
    /** The topic's head now. */
    readonly head: TopicPosition;
  };

/** Something the host should know about the backplane's health. */
export type BackplaneEvent =
  | {
    /** The backplane lost its connection; deliveries stopped. */
    readonly type: "down";
    /** What broke. */
    readonly error: unknown;
  }
  | {
    /** The backplane is connected again and resubscribed to every topic. */
    readonly type: "up";
  }
  | {
    /**
     * Messages `from`…`to` (inclusive) of `topic` were published but cannot be delivered (they
     * were lost while the backplane was down, or left its history before it could fetch them).
     */
    readonly type: "gap";
    readonly topic: string;
    readonly from: number;
    readonly to: number;
  }
  | {
    /** `topic` has a new epoch: its history is gone and offsets start again after `offset`. */
    readonly type: "epoch";
    readonly topic: string;
    readonly epoch: string;
    readonly offset: number;
  };

/** What a backplane calls back into (the server's topic hub). */
export interface BackplaneHost {
  /**
   * A message of a subscribed topic, in offset order per topic.
   *
   * @param message The message.
   */
  deliver(message: TopicMessage): void;
  /**
   * A change of health, a gap or a new epoch.
   *
   * @param event The event.
   */
  event(event: BackplaneEvent): void;
}

/** How long a topic's history is kept. */
export interface HistoryOptions {
  /**
   * The most messages kept per topic (0: no history; recovery then always fails with
   * `no-history`).
   *
   * @default {0}
   */
  size?: number;
  /**
   * How long a message is kept, in milliseconds (0: as long as `size` allows).
   *
   * @default {0}
   */
  ttl?: number;
}

/**
 * Carries topic messages between processes and keeps their history. Implementations:
 * {@linkcode memoryBackplane} (one process), `redisBackplane` (`@wirestream/ws/redis`),
 * `kvBackplane` (`@wirestream/ws/kv`).
 */
export interface Backplane {
  /** A short name for logs and results (`"memory"`, `"redis"`, `"kv"`). */
  readonly name: string;
  /**
   * Starts the backplane. Called once, by the server, before any other method.
   *
   * @param host Where messages and events go.
   */
  start(host: BackplaneHost): Promise<void>;
  /**
   * Publishes a message to every process subscribed to `topic`, this one included.
   *
   * Messages published by one process on one topic get increasing offsets in call order.
   *
   * @param topic The topic.
   * @param message The payload (`data`), and the number this process uses to recognise the
   *   message when it is delivered back (`ref`).
   * @returns The message's offset and epoch.
   */
  publish(topic: string, message: PublishedData): Promise<TopicPosition>;
  /**
   * Starts delivering `topic`'s messages to the host.
   *
   * @param topic The topic.
   * @returns The topic's head once the subscription is active: every later message is
   *   delivered.
   */
  subscribe(topic: string): Promise<TopicPosition>;
  /**
   * Stops delivering `topic`'s messages.
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): Promise<void>;
  /**
   * The messages after `since`, from the history.
   *
   * @param topic The topic.
   * @param request `since`: the last position the caller saw; `limit`: the most messages to
   *   return (more than that is `offset-too-old`).
   */
  recover(topic: string, request: RecoveryRequest): Promise<TopicRecovery>;
  /** Stops the backplane and releases its connections and timers. */
  close(): Promise<void>;
}
