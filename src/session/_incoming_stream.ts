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
