/**
 * The reconnecting client: `for await (const session of client.webSocketSessions(url))` yields
 * a session, and when the loop asks for the next one, reconnects with backoff if the last one
 * ended transiently. An optional, bounded queue carries messages sent while disconnected.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import { ConnectionClosedError, WebSocketError } from "../core/errors.ts";
import { Frame } from "../core/frame.ts";
import { isTransientError } from "../core/transient.ts";
import type { Sendable } from "../session/raw_session.ts";
import { abortError } from "../transport/connect.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { DefaultClientWebSocketSession, WebSocketCallOptions } from "./client_options.ts";

/** A retry about to happen, as `onRetry` reports it. */
export interface RetryEvent {
  /** The attempt about to be made: 1 for the first reconnect after a drop or a failure. */
  readonly attempt: number;
  /** Milliseconds until it is made. */
  readonly delay: number;
  /** Why: the connect error, or the `ConnectionClosedError` the last session ended with. */
  readonly cause: Error;
}

/** The bound of the queue of messages sent while disconnected. */
export interface ReconnectQueueOptions {
  /**
   * The most messages queued.
   * @default {16}
   */
  messages?: number;
  /**
   * The most bytes queued (strings count their UTF-8 length).
   * @default {1048576}
   */
  bytes?: number;
}

/** Options of {@linkcode ReconnectingWebSocket}: a call's options plus the reconnect policy. */
export interface ReconnectOptions extends WebSocketCallOptions {
  /**
   * The delays between attempts (see {@linkcode BackoffOptions}).
   * @default {BACKOFF_DEFAULTS}
   */
  backoff?: BackoffOptions;
  /**
   * Decides whether to retry after `error` (a failed connect, or the `ConnectionClosedError` a
   * session ended with); `transient` is the default verdict ({@linkcode isTransientError}).
   * Return `true` to retry, `false` to stop: a fatal error is then thrown by the loop, and a
   * session that ended with 1000 or 1005 ends it quietly.
   * @default {(error, transient) => transient}
   */
  retry?: (error: Error, transient: boolean) => boolean;
  /**
   * Called before each retry, with the attempt number, the delay and the cause.
   * @default {undefined}
   */
  onRetry?: (event: RetryEvent) => void;
  /**
   * The most consecutive failed attempts (connects that fail, sessions that end transiently
   * before `backoff.minUptime`) before the last error is thrown.
   * @default {Infinity}
   */
  maxRetries?: number;
  /**
   * Queue messages given to `send()` while disconnected, up to these bounds, and send them, in
   * order, on the next session before it is yielded. Off by default: a message written for one
   * connection may be wrong for the next (stale state, a subscription the server already
   * dropped, an order that must not be placed twice), an unbounded buffer hides an outage while
   * memory grows, and a message given to a session that then broke may or may not have arrived,
   * so nothing already sent is ever replayed. Turn it on for messages that are safe to deliver
   * late.
   * @default {false}
   */
  queue?: ReconnectQueueOptions | false;
}

/** A message waiting for a session. */
interface Queued {
  message: Sendable;
  size: number;
  done: PromiseWithResolvers<void>;
}

/** Opens one session; `signal` cancels the connect and, once connected, aborts the session. */
export type SessionOpener = (signal: AbortSignal) => Promise<DefaultClientWebSocketSession>;

function sizeOf(message: Sendable): number {
  if (typeof message === "string") return new TextEncoder().encode(message).length;
  if (message instanceof Uint8Array) return message.length;
  if (message instanceof Frame) return message.data.length;
  if (message instanceof Blob) return message.size;
  return message.byteLength;
}

function errorOf(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * Sessions, one after another: an async iterable that yields a new managed session each time
 * the loop asks for one after the last ended, reconnecting with backoff when that end (or a
 * failed connect) is transient. Made by {@linkcode WebSocketClient.webSocketSessions}.
 *
 * - The first connect is made at once; the first reconnect after a drop waits a random delay
 *   (RFC 6455 §7.2.3), later ones a jittered exponential backoff (see `backoff`).
 * - When the loop continues while its session is still open, that session is closed (1000) and
 *   a new one opened at once.
 * - A session that ends with 1000 or 1005 ends the loop (the server said goodbye, or you closed
 *   it); a fatal error (see {@linkcode isTransientError}, and `retry`) is thrown by the loop.
 * - `signal` (or `close()`, or leaving the loop) stops it at any point: while connecting, while
 *   waiting, or with a session open (which is then aborted, or closed on `close()`).
 *
 * @example
 * ```ts ignore
 * import { createClient, readText } from "@wirestream/ws";
 *
 * await using client = createClient();
 * for await (const session of client.webSocketSessions("wss://example.com/feed", {
 *   onRetry: ({ attempt, delay, cause }) => console.log(`retry ${attempt} in ${delay} ms:`, cause),
 * })) {
 *   for await (const message of session.incoming) console.log(readText(message));
 * }
 * ```
 */
export class ReconnectingWebSocket
  implements AsyncIterableIterator<DefaultClientWebSocketSession>, AsyncDisposable {
  readonly #open: SessionOpener;
  readonly #options: ReconnectOptions;
  readonly #backoff: Backoff;
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  readonly #queue: Queued[] = [];
  #queuedBytes = 0;
  #session: DefaultClientWebSocketSession | null = null;
  #openedAt = 0;
  #failures = 0;
  #done = false;
  #busy: Promise<unknown> | null = null;

  /**
   * Use {@linkcode WebSocketClient.webSocketSessions}.
   *
   * @param open Opens one session.
   * @param options The policy (checked by the caller).
   */
  constructor(open: SessionOpener, options: ReconnectOptions) {
    this.#open = open;
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
    this.#signal = options.signal === undefined
      ? this.#stop.signal
      : AbortSignal.any([this.#stop.signal, options.signal]);
  }

  /** The open session, or `null` while disconnected. */
  get session(): DefaultClientWebSocketSession | null {
    const s = this.#session;
    return s !== null && s.state === "open" ? s : null;
  }

  /** Messages waiting for the next session. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends on the open session; while disconnected, queues the message when `queue` is set
   * (resolving once it is sent on a new session) or rejects.
   *
   * @param message A string (text), bytes (binary) or a frame.
   * @returns A promise for the send.
   * @throws {ConnectionClosedError} `SESSION_CLOSED` while disconnected without a queue, or
   *   after the end; `QUEUE_OVERFLOW` when the queue is full.
   */
  send(message: Sendable): Promise<void> {
    const open = this.session;
    if (open !== null) return open.send(message);
    const bounds = this.#options.queue;
    if (this.#done || !bounds) {
      return Promise.reject(
        new ConnectionClosedError(
          "SESSION_CLOSED",
          this.#done
            ? "Cannot send: the reconnecting client has stopped"
            : "Cannot send while disconnected: messages are not queued unless `queue` is set",
        ),
      );
    }
    const size = sizeOf(message);
    const maxMessages = bounds.messages ?? 16;
    const maxBytes = bounds.bytes ?? 1024 * 1024;
    if (this.#queue.length >= maxMessages || this.#queuedBytes + size > maxBytes) {
      return Promise.reject(
        new ConnectionClosedError(
          "QUEUE_OVERFLOW",
          `Cannot queue the message: ${this.#queue.length} messages (${this.#queuedBytes} bytes) ` +
            `wait for a session, the bound is ${maxMessages} (${maxBytes} bytes)`,
        ),
      );
    }
    const done = Promise.withResolvers<void>();
    this.#queue.push({ message, size, done });
    this.#queuedBytes += size;
    return done.promise;
  }

  /** Returns this iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next session: reconnects as the last one's end or the failures say.
   *
   * @returns The next session, or done.
   */
  next(): Promise<IteratorResult<DefaultClientWebSocketSession>> {
    // Calls made while one is running wait for it: one connect at a time.
    const run = (this.#busy ?? Promise.resolve()).then(() => this.#next(), () => this.#next());
    this.#busy = run.catch(() => {});
    return run;
  }

  /**
   * Stops: closes the open session (1000) and rejects queued messages. Called when a `for await`
   * loop is left.
   *
   * @returns Done.
   */
  async return(): Promise<IteratorResult<DefaultClientWebSocketSession>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /**
   * Stops reconnecting, closes the open session (1000, waiting up to `closeTimeout`), and
   * rejects queued messages. Idempotent.
   *
   * @returns A promise for the end.
   */
  async close(): Promise<void> {
    // The open session is closed first: stopping aborts the signal, which would abort it.
    const session = this.session;
    if (session !== null && !this.#done) await session.close(new CloseReason(1000, ""));
    this.#finish(new ConnectionClosedError("SESSION_CLOSED", "The reconnecting client is closed"));
  }

  /** Same as {@linkcode ReconnectingWebSocket.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #finish(reason: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#stop.abort(reason);
    for (const q of this.#queue.splice(0)) q.done.reject(reason);
    this.#queuedBytes = 0;
  }

  #shouldRetry(error: Error): boolean {
    const transient = isTransientError(error);
    const retry = this.#options.retry;
    return retry === undefined ? transient : retry(error, transient) === true;
  }

  async #next(): Promise<IteratorResult<DefaultClientWebSocketSession>> {
    if (this.#done) return { done: true, value: undefined };
    try {
      let cause: Error | null = null;
      const previous = this.#session;
      this.#session = null;
      if (previous !== null) {
        if (previous.state === "open") {
          // The loop moved on with its session open: it wants a fresh one, now.
          await previous.close(new CloseReason(1000, ""));
        } else {
          const reason = (await previous.closeReason) ?? new CloseReason(1006, "");
          if (Date.now() - this.#openedAt >= this.#backoff.minUptime) {
            this.#backoff.reset();
            this.#failures = 0;
          }
          const error = reason.code === 1006
            ? new ConnectionClosedError(
              "CLOSED_ABNORMALLY",
              "The session ended abnormally (1006)",
              {
                closeReason: reason,
              },
            )
            : new ConnectionClosedError(
              "SESSION_CLOSED",
              `The session ended with ${reason.code}${
                reason.message ? ` "${reason.message}"` : ""
              }`,
              { closeReason: reason },
            );
          if (!this.#shouldRetry(error)) {
            if (reason.code === 1000 || reason.code === 1005) {
              this.#finish(error);
              return { done: true, value: undefined };
            }
            throw error;
          }
          cause = error;
        }
      }
      while (true) {
        if (this.#signal.aborted) throw abortError(this.#signal);
        if (cause !== null) {
          if (++this.#failures > (this.#options.maxRetries ?? Infinity)) throw cause;
          const delay = this.#backoff.next();
          this.#options.onRetry?.({ attempt: this.#failures, delay, cause });
          await this.#sleep(delay);
        }
        let session: DefaultClientWebSocketSession;
        try {
          session = await this.#open(this.#signal);
        } catch (err) {
          if (this.#signal.aborted) throw abortError(this.#signal);
          const error = errorOf(err);
          if (!this.#shouldRetry(error)) throw error;
          cause = error;
          continue;
        }
        this.#session = session;
        this.#openedAt = Date.now();
        await this.#flush(session);
        return { done: false, value: session };
      }
    } catch (err) {
      const error = errorOf(err);
      this.#finish(error);
      throw error;
    }
  }

  /** Waits `ms`, or rejects when the signal aborts. */
  #sleep(ms: number): Promise<void> {
    const signal = this.#signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal)); // aborted by onRetry, say
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Sends the queued messages on a new session, in order. */
  async #flush(session: DefaultClientWebSocketSession): Promise<void> {
    while (this.#queue.length > 0) {
      const q = this.#queue.shift()!;
      this.#queuedBytes -= q.size;
      try {
        await session.send(q.message);
        q.done.resolve();
      } catch (err) {
        // It may or may not have left: never sent again. The rest wait for the next session.
        q.done.reject(err instanceof WebSocketError ? err : errorOf(err));
        return;
      }
    }
  }
}
