/**
 * What the topic hub sees of a server session: its queue, its bound, and how to hand it a
 * message encoded once for every subscriber.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import {
  type ManagedWebSocketSession,
  senderOf,
  type SessionState,
} from "../session/managed_session.ts";
import type { ManagedSender } from "../session/_managed_sender.ts";
import type { PreparedMessage } from "../topics/prepared_message.ts";
import type { TopicSink } from "../topics/topic_types.ts";

const NOOP = (): void => {};
/** The close reason of a subscriber too slow for its topics (1013: Try Again Later). */
export const SLOW_SUBSCRIBER: CloseReason = new CloseReason(1013, "Subscriber too slow");

/** A managed listener session as a topic subscriber. */
export class ManagedTopicSink implements TopicSink {
  readonly owner: ManagedWebSocketSession;
  readonly topicBound: number;
  /** The session's send path (looked up once: a publish reads it for every subscriber). */
  readonly #sender: ManagedSender;

  constructor(session: ManagedWebSocketSession) {
    this.owner = session;
    this.#sender = senderOf(session);
    this.topicBound = this.#sender.budget;
  }

  get queued(): number {
    return this.#sender.queuedBytes;
  }

  get open(): boolean {
    return this.owner.state === "open";
  }

  deliverTopic(message: PreparedMessage, envelope: boolean): boolean {
    const sender = this.#sender;
    // Shared bytes when nothing per-session changes them (no extension, no masking); otherwise
    // the frame goes through the session's extensions (deflate compresses it per session).
    if (sender.sharesEncoded) return sender.sendShared(message.encoded(envelope));
    if (this.owner.state !== "open") return false;
    this.owner.send(message.frame(envelope)).catch(NOOP);
    return true;
  }

  sendTopicNotice(text: string): void {
    if (this.owner.state === "open") this.owner.send(text).catch(NOOP);
  }

  topicRoom(): Promise<void> {
    return this.owner.flush().catch(NOOP);
  }

  closeSlow(): void {
    this.owner.close(SLOW_SUBSCRIBER).catch(NOOP);
  }
}

/** How often a `"wait"` publisher looks at a `Deno.serve` session's `bufferedAmount`. */
const ROOM_POLL_MS = 5;

/** What the `Deno.serve` sink needs of its session. */
interface NativeOwner {
  readonly state: SessionState;
  close(reason?: CloseReason): Promise<void>;
}

/**
 * A `Deno.serve` session as a topic subscriber: Deno's `WebSocket` takes the payload (it
 * encodes each frame itself, so nothing is shared), and says nothing when its buffer drains, so
 * a `"wait"` publisher polls `bufferedAmount`.
 */
export class NativeTopicSink implements TopicSink {
  readonly owner: NativeOwner;
  readonly #socket: WebSocket;
  readonly topicBound: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #waiters: (() => void)[] = [];

  constructor(owner: NativeOwner, socket: WebSocket, bound: number) {
    this.owner = owner;
    this.#socket = socket;
    this.topicBound = bound;
  }

  get queued(): number {
    return this.#socket.bufferedAmount;
  }

  get open(): boolean {
    return this.owner.state === "open" && this.#socket.readyState === WebSocket.OPEN;
  }

  deliverTopic(message: PreparedMessage, envelope: boolean): boolean {
    if (!this.open) return false;
    this.#socket.send(message.payload(envelope));
    return true;
  }

  sendTopicNotice(text: string): void {
    if (this.open) this.#socket.send(text);
  }

  topicRoom(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push(resolve);
    this.#timer ??= setInterval(() => {
      if (this.open && this.#socket.bufferedAmount >= this.topicBound / 2) return;
      this.stop();
    }, ROOM_POLL_MS);
    return promise;
  }

  /** Releases every waiter and the timer (room, or the session ended). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  closeSlow(): void {
    this.owner.close(SLOW_SUBSCRIBER).catch(NOOP);
  }
}
