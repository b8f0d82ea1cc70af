/**
 * The `incoming` of every session kind: a bounded queue of messages that passes for a
 * `ReadableStream` (its prototype chain holds `ReadableStream.prototype`), iterated by
 * `for await` straight from the queue. A real `ReadableStream` is made only for the other uses
 * (`getReader()`, `pipeTo()`, `pipeThrough()`, `tee()`), and then reads from the same queue. A
 * managed session pushes what its read loop decoded; a raw session reads the socket when a read
 * waits (`MessageStreamHost.onWait`); a `Deno.serve` session pushes Deno's messages.
 *
 * Why: an idle session whose handler waits in `for await (const m of session.incoming)` held a
 * `ReadableStream` (its controller, queue, algorithms and start promise: about 1.8 KB of live
 * heap) and, while iterated, a reader, an async iterator and a read request (about 0.8 KB). Here
 * it holds this object, its iterator and the one pending read's promise.
 *
 * @module
 */

import type { CloseReason } from "../core/close.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import { Fifo } from "./_fifo.ts";
import type { IncomingGuard } from "./_incoming_guard.ts";

/** What the queue tells its owner (the session's incoming side). */
export interface MessageStreamHost {
  /** A message was taken: the read loop may go on; `empty` when the queue is now empty. */
  onTaken(empty: boolean): void;
  /** The application cancelled the stream: messages are dropped from now on. */
  onCancel(reason: unknown): void;
  /** A read waits on the empty queue (a pulled source reads now). */
  onWait(): void;
}

/** What a stream's `values()` returns. */
type StreamIterator<T> = ReturnType<ReadableStream<T>["values"]>;

const OPEN = 0;
/** Ended cleanly (or cancelled): reads are done once the queue is empty. */
const CLOSED = 1;
/** Failed: reads fail with the error once the queue is empty. */
const ERRORED = 2;

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

const NOOP = (): void => {};

function lockedError(): TypeError {
  return new TypeError("ReadableStream is locked");
}

/** A pending read: the promise's settle functions. */
interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(err: unknown): void;
  /** The iterator reading, let go of the stream at the end. */
  iterator: MessageIterator<T> | null;
}

/**
 * The queue and its stream face. See the module documentation.
 *
 * @typeParam T The message type.
 */
export class MessageStream<T> {
  readonly #host: MessageStreamHost;
  readonly #guard: IncomingGuard;
  readonly #strategy: QueuingStrategy<T>;
  /** The messages that wait (made at the first one). */
  #items: Fifo<T> | null = null;
  #state = OPEN;
  #error: unknown = null;
  #cancelled = false;
  /** The read waiting for a message (one at a time: reads queue behind each other). */
  #waiter: Waiter<T> | null = null;
  /** A read in flight, for a read made while another waits. */
  #reading: Promise<IteratorResult<T>> | null = null;
  /** Whether an iterator of this object holds the lock. */
  #iterating = false;
  /** The real stream, made for the uses other than iteration (it then holds the lock). */
  #real: ReadableStream<T> | null = null;
  /** The last `receive()`, which the next one follows. */
  #receiving: Promise<unknown> | null = null;

  /**
   * Makes the queue.
   *
   * @param host Told when messages are taken and when the stream is cancelled.
   * @param strategy The bound: its high-water mark, counted with its `size`.
   * @param guard Where a `for await` loop left early is noted (see `runBlock`).
   */
  constructor(host: MessageStreamHost, strategy: QueuingStrategy<T>, guard: IncomingGuard) {
    this.#host = host;
    this.#guard = guard;
    this.#strategy = strategy;
  }

  /** Whether the queue reached its bound. */
  get full(): boolean {
    // No queue yet: empty, which is full only with a high-water mark of 0 (raw sessions, which
    // do not ask).
    return this.#items !== null ? this.#items.full : (this.#strategy.highWaterMark ?? 1) <= 0;
  }

  /** Whether messages wait in the queue. */
  get queued(): boolean {
    return this.#items !== null && this.#items.length > 0;
  }

  /** Whether the application cancelled the stream. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Adds a message (or hands it to the waiting read).
   *
   * @param item The message.
   */
  push(item: T): void {
    if (this.#state !== OPEN) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ done: false, value: item });
      this.#host.onTaken(true);
      return;
    }
    (this.#items ??= new Fifo(this.#strategy)).push(item);
  }

  /**
   * Ends the stream: cleanly (`null`), or with an error raised once the queued messages have
   * been read (at once when none waits).
   *
   * @param err The session's failure, or `null`.
   */
  end(err: unknown): void {
    if (this.#state !== OPEN) return;
    this.#state = err === null ? CLOSED : ERRORED;
    this.#error = err;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.iterator?.finish(false);
      if (err === null) waiter.resolve(DONE);
      else waiter.reject(err);
    }
  }

  /**
   * The next message, or the end: what a read of the stream returns.
   *
   * @param iterator The iterator reading, let go of the stream at its end.
   * @returns The result, as an iterator's `next()` has it.
   */
  read(iterator?: MessageIterator<T>): Promise<IteratorResult<T>> {
    if (this.#waiter !== null) {
      // A read waits already: this one follows it.
      const again = () => this.read(iterator);
      return this.#reading!.then(again, again);
    }
    const items = this.#items;
    if (items !== null && items.length > 0) {
      const item = items.shift()!;
      const empty = items.length === 0;
      this.#host.onTaken(empty);
      return Promise.resolve({ done: false, value: item });
    }
    if (this.#state !== OPEN) {
      iterator?.finish(false);
      return this.#state === CLOSED ? Promise.resolve(DONE) : Promise.reject(this.#error);
    }
    const reading = this.#reading = new Promise<IteratorResult<T>>((resolve, reject) => {
      this.#waiter = { resolve, reject, iterator: iterator ?? null };
    });
    this.#host.onWait();
    return reading;
  }

  /**
   * The session's `receive()`: the next message, without a lock left behind; receives queue
   * behind each other.
   *
   * @param closeReason The session's close reason, for the error once the stream has ended.
   * @returns The message.
   * @throws {ConnectionClosedError} (rejects) `SESSION_CLOSED` once the stream has ended.
   * @throws {TypeError} (rejects) While a reader or a loop holds the stream.
   */
  receive(closeReason: () => CloseReason | null): Promise<T> {
    const next = (this.#receiving ?? Promise.resolve()).then(() => {
      if (this.locked) throw lockedError();
      return this.read().then((result) => {
        if (result.done) {
          throw new ConnectionClosedError(
            "SESSION_CLOSED",
            "Cannot receive: the session is closed",
            { closeReason: closeReason() },
          );
        }
        return result.value;
      });
    });
    this.#receiving = next.catch(NOOP);
    return next;
  }

  /** Drops what waits and ends the stream: the application wants no more messages. */
  #cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#items?.clear();
    if (this.#state === OPEN) {
      this.#state = CLOSED;
      const waiter = this.#waiter;
      if (waiter !== null) {
        this.#waiter = null;
        waiter.iterator?.finish(false);
        waiter.resolve(DONE);
      }
    }
    this.#host.onCancel(reason);
  }

  // The stream face.

  /** Whether a reader or an iterator holds the stream. */
  get locked(): boolean {
    return this.#iterating || (this.#real !== null && this.#real.locked);
  }

  /**
   * Cancels the stream: the messages that wait and those to come are dropped.
   *
   * @param reason Passed to the session (a raw session is aborted with it).
   * @returns Resolves once done; rejects when the stream is locked.
   */
  cancel(reason?: unknown): Promise<void> {
    if (this.#real !== null) return this.#real.cancel(reason);
    if (this.#iterating) return Promise.reject(lockedError());
    this.#cancel(reason);
    return Promise.resolve();
  }

  /** A reader of the real stream (see the module documentation). */
  getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamDefaultReader<T> {
    return this.#realStream().getReader(options as undefined) as ReadableStreamDefaultReader<T>;
  }

  /** Pipes the real stream through `transform`. */
  pipeThrough<U>(
    transform: ReadableWritablePair<U, T>,
    options?: StreamPipeOptions,
  ): ReadableStream<U> {
    return this.#realStream().pipeThrough(transform, options);
  }

  /** Pipes the real stream to `destination`. */
  pipeTo(destination: WritableStream<T>, options?: StreamPipeOptions): Promise<void> {
    if (this.#iterating) return Promise.reject(lockedError());
    return this.#realStream().pipeTo(destination, options);
  }

  /** Tees the real stream. */
  tee(): [ReadableStream<T>, ReadableStream<T>] {
    return this.#realStream().tee();
  }

  /**
   * Iterates the messages; `preventCancel` defaults to `false`, as for any stream.
   *
   * @param options Iterator options.
   * @returns The iterator.
   */
  values(options?: ReadableStreamIteratorOptions): StreamIterator<T> {
    return this.#iterator(options?.preventCancel ?? false);
  }

  /**
   * Iterates the messages with `preventCancel: true` by default: leaving a `for await` loop
   * early does not cancel the session's incoming messages, so the ones that follow stay readable
   * and a close handshake can still run.
   *
   * @param options Iterator options.
   * @returns The iterator.
   */
  [Symbol.asyncIterator](options?: ReadableStreamIteratorOptions): StreamIterator<T> {
    return this.#iterator(options?.preventCancel ?? true);
  }

  #iterator(preventCancel: boolean): StreamIterator<T> {
    const guard = this.#guard;
    guard.leftEarly = false;
    if (this.#real !== null) {
      // The real stream exists: iterate it (its own lock), noting a loop left early in blocks.
      const iterator = this.#real.values({ preventCancel });
      const leave = iterator.return;
      if (guard.blockGrace > 0 && leave !== undefined) {
        iterator.return = (value?: unknown) => {
          guard.leftEarly = true;
          return leave.call(iterator, value);
        };
      }
      return iterator;
    }
    if (this.locked) throw lockedError();
    this.#iterating = true;
    return new MessageIterator(this, preventCancel);
  }

  /**
   * An iterator of this object let go of it.
   *
   * @param early Whether its loop was left before the end.
   * @param cancel Whether to cancel (a loop left early without `preventCancel`).
   */
  release(early: boolean, cancel: boolean): void {
    this.#iterating = false;
    if (early && this.#guard.blockGrace > 0) this.#guard.leftEarly = true;
    if (cancel) this.#cancel(undefined);
  }

  #realStream(): ReadableStream<T> {
    if (this.#iterating) throw lockedError();
    return this.#real ??= new ReadableStream<T>(new RealSource(this), { highWaterMark: 0 });
  }

  /**
   * Cancelled through the real stream.
   *
   * @param reason The reason given.
   */
  cancelFromReal(reason: unknown): void {
    this.#cancel(reason);
  }

  /** How `console.log` shows it. */
  [Symbol.for("Deno.privateCustomInspect")](): string {
    return `ReadableStream { locked: ${this.locked} }`;
  }
}

// `instanceof ReadableStream` holds, and so does the prototype lookup of anything this class
// does not define; every public member of `ReadableStream.prototype` is defined above.
Object.setPrototypeOf(MessageStream.prototype, ReadableStream.prototype);

/** The underlying source of the real stream: it reads from the queue. */
class RealSource<T> implements UnderlyingDefaultSource<T> {
  readonly #queue: MessageStream<T>;

  constructor(queue: MessageStream<T>) {
    this.#queue = queue;
  }

  pull(controller: ReadableStreamDefaultController<T>): Promise<void> {
    return this.#queue.read().then((result) => {
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    }, (err) => controller.error(err));
  }

  cancel(reason: unknown): void {
    this.#queue.cancelFromReal(reason);
  }
}

/** The iterator of a `for await` loop over a {@linkcode MessageStream}. */
class MessageIterator<T> implements StreamIterator<T> {
  readonly #queue: MessageStream<T>;
  readonly #preventCancel: boolean;
  #done = false;

  constructor(queue: MessageStream<T>, preventCancel: boolean) {
    this.#queue = queue;
    this.#preventCancel = preventCancel;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#done ? Promise.resolve(DONE) : this.#queue.read(this);
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    this.finish(true);
    return Promise.resolve({ done: true, value: value as T });
  }

  [Symbol.asyncIterator](): StreamIterator<T> {
    return this;
  }

  /**
   * Lets go of the stream (once).
   *
   * @param early Whether the loop was left before the end.
   */
  finish(early: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#queue.release(early, early && !this.#preventCancel);
  }
}
