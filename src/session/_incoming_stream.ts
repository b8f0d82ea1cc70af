/**
 * The `incoming` stream of both session kinds: a `ReadableStream` whose async iteration does not
 * cancel it when a `for await` loop is left early.
 *
 * @module
 */

/**
 * A `ReadableStream` iterated with `preventCancel: true` by default: leaving a `for await` loop
 * early (`break`, `return`, a throw) releases the reader without cancelling the stream, so the
 * frames that follow stay readable and a close handshake can still run.
 *
 * A subclass rather than an own `Symbol.asyncIterator` property per stream: an idle session then
 * holds no extra closure, and every stream keeps the same shape.
 */
export class IncomingStream<T> extends ReadableStream<T> {
  /**
   * While a block's handler runs (see `runBlock`): how long `closeReason`, read after the
   * handler left its loop over this stream early, waits for a close before it rejects; 0 when
   * no block runs.
   */
  blockGrace = 0;
  /** Whether the last `for await` loop over the stream was left early (tracked in blocks). */
  leftEarly = false;

  /**
   * Iterates the stream; `preventCancel` defaults to `true`.
   *
   * @param options Iterator options.
   * @returns The async iterator.
   */
  override [Symbol.asyncIterator](
    options?: ReadableStreamIteratorOptions,
  ): ReturnType<ReadableStream<T>["values"]> {
    const iterator = this.values({ preventCancel: options?.preventCancel ?? true });
    this.leftEarly = false;
    const leave = iterator.return;
    // In a block only (one closure per loop, none per message): note a loop left early.
    if (this.blockGrace > 0 && leave !== undefined) {
      iterator.return = (value?: unknown) => {
        this.leftEarly = true;
        return leave.call(iterator, value);
      };
    }
    return iterator;
  }
}

/** What feeds an incoming stream: its session's reader. */
export interface IncomingFeed<T> {
  /** The stream starts: keep its controller. */
  feedStart(controller: ReadableStreamDefaultController<T>): void;
  /** The stream wants more. */
  feedPull(controller: ReadableStreamDefaultController<T>): void | Promise<void>;
  /** The application cancelled the stream. */
  feedCancel(reason: unknown): void;
}

/**
 * The underlying source of an incoming stream: one small object whose methods (on the prototype,
 * called with the source as `this`) pass on to the reader, instead of three closures and their
 * scope per session.
 */
export class IncomingSource<T> implements UnderlyingDefaultSource<T> {
  readonly #feed: IncomingFeed<T>;

  /**
   * Wraps a reader.
   *
   * @param feed The reader.
   */
  constructor(feed: IncomingFeed<T>) {
    this.#feed = feed;
  }

  /** Passes the controller on. */
  start(controller: ReadableStreamDefaultController<T>): void {
    this.#feed.feedStart(controller);
  }

  /** Passes the pull on. */
  pull(controller: ReadableStreamDefaultController<T>): void | Promise<void> {
    return this.#feed.feedPull(controller);
  }

  /** Passes the cancellation on. */
  cancel(reason: unknown): void {
    this.#feed.feedCancel(reason);
  }
}
