/**
 * The incoming side of a session served through `Deno.serve`: Deno's messages queued on
 * `incoming` up to the incoming bounds (Deno offers no read backpressure), the message size
 * limit, and `receive()`.
 *
 * @module
 */

import { type IncomingGuard, IncomingStream, receiveOne } from "../session/_incoming_stream.ts";
import type { MessageSink, SinkHost } from "../session/_message_sink.ts";
import { CloseReason, truncateUtf8 } from "../core/close.ts";
import { ProtocolError, WebSocketError } from "../core/errors.ts";
import { Frame } from "../core/frame.ts";

const NOOP = (): void => {};

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
export class NativeIncoming implements IncomingGuard, SinkHost {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  /** Complete text and binary messages from the client. */
  readonly stream: ReadableStream<Frame>;
  /** The largest message; a larger one closes the session with 1009 once received. */
  maxMessageSize: number;
  readonly #host: NativeIncomingHost;
  readonly #highWaterMark: number;
  #controller!: ReadableStreamDefaultController<Frame>;
  #cancelled = false;
  #pendingError: unknown = null;
  readonly #sink: MessageSink<never> | null;
  #receiving: Promise<unknown> = Promise.resolve();

  /**
   * Makes the stream.
   *
   * @param host The session's ending.
   * @param options The message size limit and the queue's bounds.
   */
  constructor(host: NativeIncomingHost, options: NativeIncomingOptions) {
    this.#host = host;
    this.maxMessageSize = options.maxMessageSize;
    const messages = options.incomingMessages;
    const bytes = options.incomingBytes;
    let strategy: QueuingStrategy<Frame>;
    if (bytes === Infinity) strategy = { highWaterMark: messages, size: () => 1 };
    else if (messages === Infinity) {
      strategy = { highWaterMark: bytes, size: (f) => f.data.length || 1 };
    } else {
      const unit = Math.max(1, Math.ceil(bytes / messages));
      strategy = {
        highWaterMark: unit * messages,
        size: (f) => (f.data.length > unit ? f.data.length : unit),
      };
    }
    this.#highWaterMark = strategy.highWaterMark!;
    const sink = this.#sink = options.sink ?? null;
    sink?.bind(this, strategy);
    const incoming = new IncomingStream<Frame>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: (controller) => {
          if (this.#pendingError !== null && controller.desiredSize === this.#highWaterMark) {
            const err = this.#pendingError;
            this.#pendingError = null;
            try {
              controller.error(err);
            } catch {
              // Already ended.
            }
          }
        },
        cancel: () => {
          this.#cancelled = true;
        },
      },
      strategy,
      this,
    );
    this.stream = incoming;
  }

  /** The sink has room again: Deno reads on regardless (see `MessageSink`). */
  onSinkRoom(): void {}

  /** Whether the stream is locked. */
  get locked(): boolean {
    return this.stream.locked;
  }

  /**
   * Queues a message of Deno's `message` event (the session is open or closing).
   *
   * @param data The event's data.
   * @param closing Whether our close frame was sent: what does not fit is dropped.
   */
  onMessage(data: unknown, closing: boolean): void {
    if (this.#cancelled) return;
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
    const controller = this.#controller;
    const full = sink !== null ? sink.full : (controller.desiredSize ?? 0) <= 0;
    if (closing) {
      // Closing: keep what fits, drop the rest.
      if (!full) {
        if (sink !== null) sink.offer(frame);
        else controller.enqueue(frame);
      }
      return;
    }
    if (sink !== null) sink.offer(frame);
    else controller.enqueue(frame);
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
    const controller = this.#controller;
    try {
      if (err === null) controller.close();
      else if (this.#cancelled || controller.desiredSize === this.#highWaterMark) {
        controller.error(err);
      } else this.#pendingError = err;
    } catch {
      // Already ended.
    }
  }

  /**
   * The next message, leaving `stream` unlocked; receives queue behind each other.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    const next = this.#receiving.then(() => receiveOne(this.stream, () => this.#host.reason));
    this.#receiving = next.catch(NOOP);
    return next;
  }
}
