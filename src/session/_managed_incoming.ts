/**
 * Where a managed session's messages go: the `incoming` stream (made on first use) and
 * `receive()`, or the sink of a route in event form. The read loop (`ManagedReader`) fills it.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import {
  type IncomingFeed,
  type IncomingGuard,
  IncomingSource,
  IncomingStream,
  receiveOne,
} from "./_incoming_stream.ts";
import type { MessageSink, SinkHost } from "./_message_sink.ts";
import type { ReaderHost } from "./_managed_parts.ts";

const NOOP = (): void => {};

/** How `end()` ended a stream not made yet: cleanly. */
const ENDED_CLEANLY = Symbol("ended cleanly");

/**
 * The incoming side of a managed session.
 *
 * The stream is made when the application first reads it (or `receive()`s) or when the first
 * message arrives, not with the session: a session that only sends, or whose messages nobody
 * has read yet, holds no stream, controller and queue (about 1.7 KB of resident memory per idle
 * client connection in W5, `deno task bench --only=W5`).
 */
export class ManagedIncoming implements IncomingFeed<Frame>, IncomingGuard, SinkHost {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  /** Whether the application cancelled `stream` (messages are dropped, reading goes on). */
  cancelled = false;
  readonly #protocol: Protocol;
  readonly #host: ReaderHost;
  /** The read loop, resumed once there is room. */
  readonly #loop: { wake(): void };
  readonly #strategy: QueuingStrategy<Frame>;
  readonly #highWaterMark: number;
  /** Where messages go instead of the stream (a route in event form), else `null`. */
  readonly #sink: MessageSink<never> | null;
  #stream: IncomingStream<Frame> | null = null;
  /** Set by `stream`'s start, synchronously as it is made. */
  #controller: ReadableStreamDefaultController<Frame> | null = null;
  /** How `end()` ended the stream before it was made (`null`: not ended). */
  #endedEarly: unknown = null;
  /** The failure, raised once the queued messages have been read. */
  #pendingError: unknown = null;
  #receiving: Promise<unknown> | null = null;

  /**
   * Makes the incoming side (the stream itself is made on first use).
   *
   * @param protocol The session's protocol.
   * @param host The session's ending.
   * @param loop The read loop (its `wake()` resumes it).
   * @param options The incoming queue's strategy (see `incomingStrategy`), and the sink of a
   *   route in event form.
   */
  constructor(
    protocol: Protocol,
    host: ReaderHost,
    loop: { wake(): void },
    options: { strategy: QueuingStrategy<Frame>; sink: MessageSink<never> | null },
  ) {
    this.#protocol = protocol;
    this.#host = host;
    this.#loop = loop;
    this.#strategy = options.strategy;
    this.#highWaterMark = options.strategy.highWaterMark!;
    this.#sink = options.sink;
    options.sink?.bind(this, options.strategy);
  }

  /** The sink has room again (see `MessageSink`). */
  onSinkRoom(): void {
    if (!this.#sink!.pending) this.#host.onDrained();
    this.#loop.wake();
  }

  /** Complete text and binary messages from the peer (made on first use). */
  get stream(): ReadableStream<Frame> {
    return this.#stream ?? this.#makeStream();
  }

  /** Whether the stream is made and locked. */
  get locked(): boolean {
    return this.#stream !== null && this.#stream.locked;
  }

  #makeStream(): IncomingStream<Frame> {
    // Leaving a `for await` loop early does not cancel the session's incoming messages.
    const stream = this.#stream = new IncomingStream<Frame>(
      new IncomingSource(this),
      this.#strategy,
      this,
    );
    const ended = this.#endedEarly;
    if (ended !== null) {
      this.#endedEarly = null;
      this.end(ended === ENDED_CLEANLY ? null : ended);
    }
    return stream;
  }

  /** The stream started (see `IncomingSource`). */
  feedStart(controller: ReadableStreamDefaultController<Frame>): void {
    this.#controller = controller;
  }

  /** The stream pulled. */
  feedPull(controller: ReadableStreamDefaultController<Frame>): void {
    this.#onPull(controller);
  }

  /** The application cancelled the stream. */
  feedCancel(): void {
    this.cancelled = true;
    this.#loop.wake();
  }

  /** Whether messages wait in the incoming queue. */
  get queued(): boolean {
    if (this.#sink !== null) return this.#sink.pending;
    const controller = this.#controller;
    return controller !== null && (controller.desiredSize ?? 0) < this.#highWaterMark;
  }

  /**
   * Ends `stream`: closed when `err` is `null`; otherwise errored at once when empty (or
   * cancelled), else once the queued messages have been read.
   *
   * @param err The session's failure, or `null` for a clean end.
   */
  end(err: unknown): void {
    const controller = this.#controller;
    if (controller === null) {
      // Not made yet: it is made ended (nothing was queued).
      this.#endedEarly ??= err === null ? ENDED_CLEANLY : err;
      return;
    }
    try {
      if (err === null) {
        controller.close();
      } else if (this.cancelled || controller.desiredSize === this.#highWaterMark) {
        controller.error(err);
      } else {
        // Messages are still queued: raise the error once they have been read.
        this.#pendingError = err;
      }
    } catch {
      // The stream already ended (cancelled).
    }
  }

  /**
   * The next message, leaving `stream` unlocked; receives queue behind each other.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    const next = (this.#receiving ?? Promise.resolve()).then(() =>
      receiveOne(this.stream, () => this.#protocol.closeReason)
    );
    this.#receiving = next.catch(NOOP);
    return next;
  }

  #onPull(controller: ReadableStreamDefaultController<Frame>): void {
    if (controller.desiredSize === this.#highWaterMark) {
      this.#host.onDrained();
      if (this.#pendingError !== null) {
        // The queue has drained: now raise the failure.
        const err = this.#pendingError;
        this.#pendingError = null;
        try {
          controller.error(err);
        } catch {
          // Already ended.
        }
        return;
      }
    }
    this.#loop.wake();
  }

  /** Whether the incoming queue (or the sink's backlog) is full. */
  get full(): boolean {
    if (this.#sink !== null) return this.#sink.full;
    const controller = this.#controller;
    return controller !== null && (controller.desiredSize ?? 0) <= 0;
  }

  /**
   * Hands a complete message to `stream` or the sink (dropped when cancelled, or closing with no
   * room).
   *
   * @param frame The message.
   * @returns Whether it was handed over.
   */
  deliver(frame: Frame): boolean {
    if (this.cancelled || this.#host.finished) return false;
    const sink = this.#sink;
    if (sink !== null) {
      if (this.#protocol.closeSent && sink.full) return false;
      sink.offer(frame);
      return true;
    }
    const controller = this.#controller ?? (this.#makeStream(), this.#controller!);
    if (this.#protocol.closeSent && (controller.desiredSize ?? 0) <= 0) return false;
    controller.enqueue(frame);
    return true;
  }
}
