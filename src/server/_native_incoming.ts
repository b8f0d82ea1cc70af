/**
 * The incoming side of a session served through `Deno.serve`: Deno's messages queued on
 * `incoming` up to the incoming bounds (Deno offers no read backpressure), the message size
 * limit, and `receive()`.
 *
 * @module
 */

import type { IncomingGuard } from "../session/_incoming_guard.ts";
import { MessageStream, type MessageStreamHost } from "../session/_message_stream.ts";
import { incomingStrategy } from "../session/_queues.ts";
import type { MessageSink, SinkHost } from "../session/_message_sink.ts";
import { CloseReason, truncateUtf8 } from "../core/close.ts";
import { ProtocolError, WebSocketError } from "../core/errors.ts";
import { Frame } from "../core/frame.ts";

/** What the incoming side needs from its session (the session's ending, `_native_ending.ts`). */
export interface NativeIncomingHost {
  /** The session's close reason once it ended, else `null`. */
  readonly reason: CloseReason | null;
  /** Fails the session with `err`, closing with `reason` (a message too big, an overflow). */
  fail(err: unknown, reason: CloseReason): void;
}

/** The bounds of the incoming queue. */
export interface NativeIncomingOptions {
  /** The largest message, in bytes. */
  maxMessageSize: number;
  /** How many messages may wait. */
  incomingMessages: number;
  /** How many bytes may wait. */
  incomingBytes: number;
  /** Where messages go instead of the stream (a route in event form). */
  sink?: MessageSink<never>;
}

/** The `incoming` stream of a native session. */
export class NativeIncoming implements IncomingGuard, SinkHost, MessageStreamHost {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  /** Complete text and binary messages from the client. */
  readonly stream: ReadableStream<Frame>;
  /** The largest message; a larger one closes the session with 1009 once received. */
  maxMessageSize: number;
  readonly #host: NativeIncomingHost;
  readonly #queue: MessageStream<Frame>;
  readonly #sink: MessageSink<never> | null;

  /**
   * Makes the stream.
   *
   * @param host The session's ending.
   * @param options The message size limit and the queue's bounds.
   */
  constructor(host: NativeIncomingHost, options: NativeIncomingOptions) {
    this.#host = host;
    this.maxMessageSize = options.maxMessageSize;
    const strategy = incomingStrategy(options.incomingMessages, options.incomingBytes);
    const sink = this.#sink = options.sink ?? null;
    sink?.bind(this, strategy);
    this.#queue = new MessageStream<Frame>(this, strategy, this);
    this.stream = this.#queue as unknown as ReadableStream<Frame>;
  }

  /** The sink has room again: Deno reads on regardless (see `MessageSink`). */
  onSinkRoom(): void {}

  /** A message was taken: Deno reads on regardless (see `MessageStream`). */
  onTaken(): void {}

  /** The application cancelled the stream: messages are dropped from now on. */
  onCancel(): void {}

  /** A read waits: Deno delivers messages as they come. */
  onWait(): void {}

  /** Whether the stream is locked. */
  get locked(): boolean {
    return this.#queue.locked;
  }

  /**
   * Queues a message of Deno's `message` event (the session is open or closing).
   *
   * @param data The event's data.
   * @param closing Whether our close frame was sent: what does not fit is dropped.
   */
  onMessage(data: unknown, closing: boolean): void {
    if (this.#queue.cancelled) return;
    let frame: Frame;
    if (typeof data === "string") frame = Frame.text(data);
    else if (data instanceof ArrayBuffer) frame = Frame.binary(new Uint8Array(data));
    else return;
    if (frame.data.length > this.maxMessageSize) {
      const err = new ProtocolError(
        "MESSAGE_TOO_BIG",
        1009,
        `Message is too big: ${frame.data.length}. Max size is ${this.maxMessageSize}`,
      );
      // The error's text, as the listener's sessions send it.
      this.#host.fail(err, new CloseReason(1009, truncateUtf8(err.message, 123)));
      return;
    }
    const sink = this.#sink;
    const full = sink !== null ? sink.full : this.#queue.full;
    if (closing) {
      // Closing: keep what fits, drop the rest.
      if (!full) {
        if (sink !== null) sink.offer(frame);
        else this.#queue.push(frame);
      }
      return;
    }
    if (sink !== null) sink.offer(frame);
    else this.#queue.push(frame);
    if (full) {
      this.#host.fail(
        new WebSocketError(
          "QUEUE_OVERFLOW",
          "Incoming queue overflow: messages arrived faster than they were read",
        ),
        new CloseReason(1008, "Incoming queue overflow"),
      );
    }
  }

  /**
   * Ends `stream`: closed for `null`; otherwise errored at once when empty (or cancelled), else
   * once the queued messages have been read.
   *
   * @param err The session's failure, or `null`.
   */
  end(err: unknown): void {
    this.#queue.end(err);
  }

  /**
   * The next message, leaving `stream` unlocked; receives queue behind each other.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    return this.#queue.receive(() => this.#host.reason);
  }
}
