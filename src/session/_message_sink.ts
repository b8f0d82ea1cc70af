/**
 * Where a session of the event form delivers its messages: the route's `message` handler, one
 * message at a time, with the messages that wait for a pending handler held in a bounded
 * backlog. Shared by the listener's sessions (`ManagedReader`) and `Deno.serve`'s
 * (`NativeIncoming`).
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import { Fifo } from "./_fifo.ts";
import type { WebSocketEvents } from "./message_events.ts";

/** What the sink tells the session's reader. */
export interface SinkHost {
  /** The backlog went below its bound, or emptied: reading may go on. */
  onSinkRoom(): void;
}

/** How the sink reports a failed handler (set by `runEvents`). */
export type SinkFailure = (err: unknown) => void;

/**
 * Hands messages to `events.message`, in order, one at a time; holds the others while a handler
 * promise is pending, counted with the incoming queue's strategy (`full` past its high-water
 * mark: the reader then stops reading).
 */
export class MessageSink<S = unknown> {
  readonly #events: WebSocketEvents<S>;
  #session: S | null = null;
  #host: SinkHost | null = null;
  /** The incoming queue's strategy, which bounds the backlog (set by `bind`). */
  #strategy: QueuingStrategy<Frame> | undefined;
  /** Messages waiting for the handler (made at the first wait). */
  #backlog: Fifo<Frame> | null = null;
  /** Not begun, or a handler's promise is pending. */
  #busy = true;
  #failed = false;
  #onFailure: SinkFailure | null = null;
  /** Resolves `idle` (made when asked for while busy). */
  #idle: (() => void) | null = null;
  #idlePromise: Promise<void> | null = null;
  /** The two reactions to a handler's promise (made at the first one). */
  #resumeCb: (() => void) | null = null;
  #failCb: ((err: unknown) => void) | null = null;

  /**
   * Wraps the route's handlers.
   *
   * @param events The handlers.
   */
  constructor(events: WebSocketEvents<S>) {
    this.#events = events;
  }

  /** The handlers. */
  get events(): WebSocketEvents<S> {
    return this.#events;
  }

  /**
   * Binds the sink to its session's reader and the incoming queue's strategy.
   *
   * @param host The reader.
   * @param strategy The incoming queue's strategy (its high-water mark and size).
   */
  bind(host: SinkHost, strategy: QueuingStrategy<Frame>): void {
    this.#host = host;
    this.#strategy = strategy;
  }

  /** Whether the backlog reached its bound (the reader stops reading). */
  get full(): boolean {
    return this.#backlog !== null && this.#backlog.full;
  }

  /** Whether messages wait for the handler. */
  get queued(): boolean {
    return this.#backlog !== null && this.#backlog.length > 0;
  }

  /** Whether a handler is pending (or `open` was not called yet) or messages wait. */
  get pending(): boolean {
    return this.#busy || this.queued;
  }

  /** Settles once no handler is pending and nothing waits (never rejects). */
  get idle(): Promise<void> {
    if (!this.#busy && !this.queued) return Promise.resolve();
    return this.#idlePromise ??= new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
  }

  /**
   * Starts delivering: calls `open`, then hands over what waits.
   *
   * @param session The session given to the handlers.
   * @param onFailure Takes a handler's error (the session is then failed).
   */
  begin(session: S, onFailure: SinkFailure): void {
    this.#session = session;
    this.#onFailure = onFailure;
    const open = this.#events.open;
    if (open === undefined) {
      this.#resume();
      return;
    }
    let result: unknown;
    try {
      result = open.call(this.#events, session);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (isThenable(result)) this.#wait(result);
    else this.#resume();
  }

  /**
   * A complete message: handed to `message` now, or held while a handler is pending.
   *
   * @param frame The message.
   */
  offer(frame: Frame): void {
    if (this.#failed) return;
    if (this.#busy) {
      (this.#backlog ??= new Fifo(this.#strategy)).push(frame);
      return;
    }
    this.#call(frame);
  }

  #call(frame: Frame): void {
    let result: unknown;
    try {
      result = this.#events.message(this.#session as S, frame);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (isThenable(result)) this.#wait(result);
  }

  #wait(result: PromiseLike<unknown>): void {
    this.#busy = true;
    this.#resumeCb ??= () => this.#resume();
    this.#failCb ??= (err) => this.#fail(err);
    result.then(this.#resumeCb, this.#failCb);
  }

  /** The pending handler settled: hand over what waits until a handler is pending again. */
  #resume(): void {
    this.#busy = false;
    const backlog = this.#backlog;
    if (backlog !== null) {
      const wasFull = this.full;
      while (!this.#busy && !this.#failed && backlog.length > 0) {
        this.#call(backlog.shift()!);
      }
      if (wasFull && !this.full) this.#host?.onSinkRoom();
      if (this.#busy) return;
    }
    this.#host?.onSinkRoom();
    this.#settleIdle();
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#busy = false;
    this.#backlog?.clear();
    this.#settleIdle();
    this.#onFailure?.(err);
  }

  #settleIdle(): void {
    const idle = this.#idle;
    if (idle !== null) {
      this.#idle = null;
      this.#idlePromise = null;
      idle();
    }
  }
}

/** @internal Whether a handler returned a promise (or any thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" &&
    typeof (value as PromiseLike<unknown>).then === "function";
}
