/**
 * The `incoming` stream of both session kinds: a `ReadableStream` whose async iteration does not
 * cancel it when a `for await` loop is left early.
 *
 * @module
 */

import type { CloseReason } from "../core/close.ts";
import { ConnectionClosedError } from "../core/errors.ts";

/**
 * What `runBlock` notes about a session's `incoming` while a block's handler runs (see
 * `blockCloseReason`). Kept by the session's reader, not by the stream: the stream may not be
 * made yet when a block starts (sessions make `incoming` when it is first read).
 */
export interface IncomingGuard {
  /**
   * While a block's handler runs: how long `closeReason`, read after the handler left its loop
   * over `incoming` early, waits for a close before it rejects; 0 when no block runs.
   */
  blockGrace: number;
  /** Whether the last `for await` loop over `incoming` was left early (tracked in blocks). */
  leftEarly: boolean;
  /** Whether `incoming` is made and locked to a reader. */
  readonly locked: boolean;
}

/**
 * Where a session keeps its {@linkcode IncomingGuard} (a property keyed by this symbol), so that
 * `runBlock` reaches it without making `incoming`.
 */
export const INCOMING_GUARD: unique symbol = Symbol("wirestream.incomingGuard");

/** A session whose `incoming` has a guard. */
export interface GuardedSession {
  /** The guard of the session's `incoming`. */
  readonly [INCOMING_GUARD]: IncomingGuard;
}

/**
 * The guard of `session`, if it has one.
 *
 * @param session A session.
 * @returns Its guard, or `null`.
 */
export function incomingGuard(session: object): IncomingGuard | null {
  return (session as Partial<GuardedSession>)[INCOMING_GUARD] ?? null;
}

/**
 * A `ReadableStream` iterated with `preventCancel: true` by default: leaving a `for await` loop
 * early (`break`, `return`, a throw) releases the reader without cancelling the stream, so the
 * frames that follow stay readable and a close handshake can still run.
 *
 * A subclass rather than an own `Symbol.asyncIterator` property per stream: an idle session then
 * holds no extra closure, and every stream keeps the same shape.
 */
export class IncomingStream<T> extends ReadableStream<T> {
  readonly #guard: IncomingGuard;

  /**
   * Makes the stream.
   *
   * @param source Its underlying source.
   * @param strategy Its queuing strategy.
   * @param guard Where a loop left early is noted.
   */
  constructor(
    source: UnderlyingDefaultSource<T>,
    strategy: QueuingStrategy<T>,
    guard: IncomingGuard,
  ) {
    super(source, strategy);
    this.#guard = guard;
  }

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
    const guard = this.#guard;
    guard.leftEarly = false;
    const leave = iterator.return;
    // In a block only (one closure per loop, none per message): note a loop left early.
    if (guard.blockGrace > 0 && leave !== undefined) {
      iterator.return = (value?: unknown) => {
        guard.leftEarly = true;
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

/**
 * Reads one message of `stream` and releases it again: `receive()` of the managed sessions
 * (listener and `Deno.serve`).
 *
 * @param stream The session's `incoming`.
 * @param closeReason The session's close reason, read once the stream has ended.
 * @returns The message.
 * @throws {ConnectionClosedError} `SESSION_CLOSED` when the stream has ended.
 */
export async function receiveOne<T>(
  stream: ReadableStream<T>,
  closeReason: () => CloseReason | null,
): Promise<T> {
  const reader = stream.getReader();
  try {
    const { done, value } = await reader.read();
    if (done) {
      throw new ConnectionClosedError("SESSION_CLOSED", "Cannot receive: the session is closed", {
        closeReason: closeReason(),
      });
    }
    return value;
  } finally {
    reader.releaseLock();
  }
}
