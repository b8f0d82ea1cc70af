/**
 * One subscribed topic of the Redis backplane: where its deliveries stand, and the rules that keep
 * them in offset order, once each, with gaps and new epochs reported. No I/O.
 *
 * @module
 */

import type { BackplaneEvent, TopicPosition } from "./backplane.ts";
import type { ReadResult } from "./_redis_client.ts";
import { decodePayload, type TopicKeys, type WireMessage } from "./_redis_protocol.ts";

/** Where a topic's deliveries and events go. */
export interface TopicSink {
  deliver(topic: string, message: WireMessage): void;
  event(event: BackplaneEvent): void;
}

/** A subscribed topic. */
export class TopicState {
  readonly topic: string;
  readonly keys: TopicKeys;
  /** The epoch of the last delivered message ("" until the head is known). */
  epoch = "";
  /** The offset of the last delivered message (or the head at subscription). */
  last = 0;
  /** False while subscribing or catching up: channel messages wait in `pending`. */
  ready = false;
  pending: Uint8Array[] = [];
  /** The subscription in progress, for concurrent `subscribe` calls. */
  subscribing: Promise<TopicPosition> | undefined;

  constructor(topic: string, keys: TopicKeys) {
    this.topic = topic;
    this.keys = keys;
  }

  /** Stops deliveries until the next {@linkcode flush} (the connection was lost or is new). */
  hold(): void {
    this.ready = false;
    this.pending = [];
  }

  /** A channel payload: delivered now, or kept until {@linkcode flush}. */
  receive(payload: Uint8Array, sink: TopicSink): void {
    if (!this.ready) {
      this.pending.push(payload);
      return;
    }
    const message = decodePayload(payload);
    if (message) this.accept(message, sink);
  }

  /** Marks the topic ready and delivers the channel messages that arrived meanwhile. */
  flush(sink: TopicSink): void {
    this.ready = true;
    const pending = this.pending;
    this.pending = [];
    for (const payload of pending) {
      const message = decodePayload(payload);
      if (message) this.accept(message, sink);
    }
  }

  /** Delivers `m` if it is the next message (reporting a new epoch or a gap first). */
  accept(m: WireMessage, sink: TopicSink): void {
    if (m.epoch !== this.epoch) {
      this.epoch = m.epoch;
      this.last = 0;
      sink.event({ type: "epoch", topic: this.topic, epoch: m.epoch, offset: 0 });
    }
    if (m.offset <= this.last) return;
    if (m.offset > this.last + 1) {
      sink.event({ type: "gap", topic: this.topic, from: this.last + 1, to: m.offset - 1 });
    }
    this.last = m.offset;
    sink.deliver(this.topic, m);
  }

  /**
   * After a reconnection: `read` is the head and the history after {@linkcode last}, read once
   * the channel was subscribed again. Delivers what the history still has, reports what it lost
   * as a gap (and a changed epoch as an `epoch` event), then the messages that came meanwhile.
   *
   * @param read The read script's reply, from `last + 1`.
   * @param entries Its entries still within the history's ttl.
   */
  catchUp(read: ReadResult, entries: readonly WireMessage[], sink: TopicSink): void {
    const { epoch, head } = read;
    if (this.epoch === "") {
      // Its subscribe() had not read the head yet: nothing was promised.
      this.epoch = epoch;
      this.last = head;
    } else {
      if (epoch !== this.epoch) {
        this.epoch = epoch;
        this.last = 0;
        sink.event({ type: "epoch", topic: this.topic, epoch, offset: 0 });
      }
      if (head > this.last) {
        const fresh = entries.filter((m) => m.offset > this.last);
        const first = fresh[0]?.offset ?? head + 1;
        if (first > this.last + 1) {
          sink.event({ type: "gap", topic: this.topic, from: this.last + 1, to: first - 1 });
          this.last = first - 1;
        }
        for (const m of fresh) this.accept(m, sink);
      }
    }
    this.flush(sink);
  }
}
