/**
 * Where a managed session's messages go: the `incoming` stream (made on first use) and
 * `receive()`, or the sink of a route in event form. The read loop (`ManagedReader`) fills it.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import type { IncomingGuard } from "./_incoming_guard.ts";
import { MessageStream, type MessageStreamHost } from "./_message_stream.ts";
import type { MessageSink, SinkHost } from "./_message_sink.ts";
import type { ReaderHost } from "./_managed_parts.ts";

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
export class ManagedIncoming implements MessageStreamHost, IncomingGuard, SinkHost {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  readonly #protocol: Protocol;
  readonly #host: ReaderHost;
  /** The read loop, resumed once there is room. */
  readonly #loop: { wake(): void };
  readonly #strategy: QueuingStrategy<Frame>;
  /** Where messages go instead of the stream (a route in event form), else `null`. */
  readonly #sink: MessageSink<never> | null;
  #stream: MessageStream<Frame> | null = null;
  /** How `end()` ended the stream before it was made (`null`: not ended). */
  #endedEarly: unknown = null;

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
    return (this.#stream ?? this.#makeStream()) as unknown as ReadableStream<Frame>;
  }

  /** Whether the stream is made and locked. */
  get locked(): boolean {
    return this.#stream !== null && this.#stream.locked;
  }

  /** Whether the application cancelled `stream` (messages are dropped, reading goes on). */
  get cancelled(): boolean {
    return this.#stream !== null && this.#stream.cancelled;
  }

  #makeStream(): MessageStream<Frame> {
    const stream = this.#stream = new MessageStream<Frame>(this, this.#strategy, this);
    const ended = this.#endedEarly;
    if (ended !== null) {
      this.#endedEarly = null;
      stream.end(ended === ENDED_CLEANLY ? null : ended);
    }
    return stream;
  }

  /** A message was taken from the stream (see `MessageStream`). */
  onTaken(empty: boolean): void {
    if (empty) this.#host.onDrained();
    this.#loop.wake();
  }

  /** The application cancelled the stream. */
  onCancel(): void {
    this.#loop.wake();
  }

  /** A read waits: the read loop reads ahead anyway. */
  onWait(): void {}

  /** Whether messages wait in the incoming queue. */
  get queued(): boolean {
    if (this.#sink !== null) return this.#sink.pending;
    return this.#stream !== null && this.#stream.queued;
  }

  /**
   * Ends `stream`: closed when `err` is `null`; otherwise errored at once when empty (or
   * cancelled), else once the queued messages have been read.
   *
   * @param err The session's failure, or `null` for a clean end.
   */
  end(err: unknown): void {
    const stream = this.#stream;
    if (stream === null) {
      // Not made yet: it is made ended (nothing was queued).
      this.#endedEarly ??= err === null ? ENDED_CLEANLY : err;
      return;
    }
    stream.end(err);
  }

  /**
   * The next message, leaving `stream` unlocked; receives queue behind each other.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    return (this.#stream ?? this.#makeStream()).receive(() => this.#protocol.closeReason);
  }

  /** Whether the incoming queue (or the sink's backlog) is full. */
  get full(): boolean {
    if (this.#sink !== null) return this.#sink.full;
    return this.#stream !== null && this.#stream.full;
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
    const stream = this.#stream ?? this.#makeStream();
    if (this.#protocol.closeSent && stream.full) return false;
    stream.push(frame);
    return true;
  }
}
