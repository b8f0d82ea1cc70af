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
   * Iterates the stream; `preventCancel` defaults to `true`.
   *
   * @param options Iterator options.
   * @returns The async iterator.
   */
  override [Symbol.asyncIterator](
    options?: ReadableStreamIteratorOptions,
  ): ReturnType<ReadableStream<T>["values"]> {
    return this.values({ preventCancel: options?.preventCancel ?? true });
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
