/**
 * The state and the end of a session served through `Deno.serve`: Deno's socket events, the
 * close handshake (Deno sends and echoes close frames; we time it), failures, and dropping or
 * giving up on a socket whose client does not close it.
 *
 * @module
 */

import { CloseReason, truncateUtf8 } from "../core/close.ts";
import { ConnectionClosedError, ProtocolError, WebSocketError } from "../core/errors.ts";
import type { SessionState } from "../session/managed_session.ts";
import { ABNORMAL, closedAbnormally, NO_STATUS, socketError } from "./_native_errors.ts";
import type { NativeIncoming, NativeIncomingHost } from "./_native_incoming.ts";
import { dropNativeSocket } from "./native_drop.ts";

/** How often `flush()` and an over-bound `send()` look at `bufferedAmount` again. */
const DRAIN_POLL = 10;

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATES: SessionState[] = ["open", "closing", "closed"];

/**
 * The end of one native session. The session makes it, then its incoming side (which reports
 * here), sets `incoming`, and calls `listen()` to take Deno's socket events.
 */
export class NativeEnding implements NativeIncomingHost {
  /** The session's incoming side (set by the session right after construction). */
  incoming!: NativeIncoming;
  /** The session's close reason once it ended, else `null`. */
  reason: CloseReason | null = null;
  /** The failure the session ended with, or `null`. */
  endError: unknown = null;
  readonly #socket: WebSocket;
  readonly #closeTimeout: number;
  #state = OPEN;
  #opened = false;
  readonly #open = Promise.withResolvers<boolean>();
  #localReason: CloseReason | null = null;
  #socketError: unknown = null;
  readonly #closeReason = Promise.withResolvers<CloseReason>();
  readonly #closed = Promise.withResolvers<void>();
  readonly #released = Promise.withResolvers<void>();
  readonly #abort = new AbortController();
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether Deno's `close()` was asked for (it takes one call). */
  #closeAsked = false;
  /** The deferred `close()` call (see `#closeSocket`). */
  #closeCall: ReturnType<typeof setTimeout> | undefined;
  /** Whether Deno's socket is closed (its `close` event came). */
  #socketClosed = false;

  /**
   * Creates the end of a session.
   *
   * @param socket The socket of `Deno.upgradeWebSocket` (before it opens).
   * @param closeTimeout How long to wait for the client's close, in milliseconds.
   */
  constructor(socket: WebSocket, closeTimeout: number) {
    this.#socket = socket;
    this.#closeTimeout = closeTimeout;
  }

  /** Takes Deno's socket events. */
  listen(): void {
    const socket = this.#socket;
    socket.onopen = () => {
      this.#opened = true;
      this.#open.resolve(true);
    };
    socket.onmessage = (event) => {
      if (this.#state !== CLOSED) this.incoming.onMessage(event.data, this.#state === CLOSING);
    };
    socket.onerror = (event) => {
      this.#socketError = socketError((event as ErrorEvent).message);
      // Before the socket opened, an error means the upgrade failed: no close event follows.
      if (!this.#opened) this.#onClose(1006, "", false);
    };
    socket.onclose = (event) => this.#onClose(event.code, event.reason, event.wasClean);
  }

  /** Resolves `true` once the socket is open, `false` if it closed first. */
  get opened(): Promise<boolean> {
    return this.#open.promise;
  }

  /** Why the session ended; resolves once, never rejects. */
  get closeReason(): Promise<CloseReason> {
    return this.#closeReason.promise;
  }

  /** Aborted when the session ends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Open, closing or closed. */
  get state(): SessionState {
    return STATES[this.#state]!;
  }

  /** Whether the session is open (no close frame sent, not ended). */
  get isOpen(): boolean {
    return this.#state === OPEN;
  }

  /** Resolves once the connection is closed, dropped, or given up on. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves once Deno's socket is gone (its `close` event). */
  get released(): Promise<void> {
    return this.#released.promise;
  }

  /**
   * Starts the close handshake, once: Deno sends the close frame (an empty payload for `null`,
   * RFC 6455 §5.5.1) and waits for the client's, for up to `closeTimeout`.
   *
   * @param reason The close code and message, or `null` for an empty close payload.
   */
  startClose(reason: CloseReason | null): void {
    if (this.#state !== OPEN) return;
    const local = reason ?? NO_STATUS;
    this.#state = CLOSING;
    this.#localReason = local;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#finish(local, null);
      this.#giveUp();
    }, this.#closeTimeout);
    this.#closeSocket(reason);
  }

  /**
   * Ends the session at once (see `NativeWebSocketServerSession.abort`).
   *
   * @param reason Why; `incoming` fails with it.
   */
  abort(reason?: unknown): void {
    if (this.#state !== CLOSED) {
      const err = reason instanceof WebSocketError
        ? reason
        : new WebSocketError("ABORTED", "The session was aborted", { cause: reason });
      if (this.#localReason !== null) this.#finish(this.#localReason, null);
      else this.#finish(new CloseReason(1006, ""), err);
    }
    if (this.#socketClosed) return;
    if (this.#drop()) {
      this.#closed.resolve();
      return;
    }
    this.#closeSocket(null);
    this.#giveUpLater();
  }

  /**
   * The error a send gets once the session is closing or closed.
   *
   * @returns The error.
   */
  sendError(): unknown {
    return this.endError ??
      new ConnectionClosedError(
        "SESSION_CLOSED",
        this.#state === CLOSING
          ? "Cannot send: a close frame was already sent"
          : "Cannot send: the session is closed",
        { closeReason: this.reason },
      );
  }

  /**
   * Waits while Deno holds more than `limit` bytes unsent, until the session ends.
   *
   * @param limit The bound, in bytes.
   */
  async drain(limit: number): Promise<void> {
    while (this.#state !== CLOSED && this.#socket.bufferedAmount > limit) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, DRAIN_POLL);
        const signal = this.#abort.signal;
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done);
      });
    }
  }

  /**
   * Fails the session: Deno is asked to close with `reason`, and the socket is given up on
   * `closeTimeout` later unless the client closes it first.
   *
   * @param err The failure.
   * @param reason The close code and message.
   */
  fail(err: unknown, reason: CloseReason): void {
    if (this.#state === CLOSED) return;
    this.#localReason = reason;
    this.#closeSocket(reason);
    this.#finish(reason, err);
    this.#giveUpLater();
  }

  /**
   * Asks Deno to close; without a reason, Deno's `close()` sends an empty close payload. Deno
   * ends a server connection as soon as a message comes in after `close()`; when `close()` runs
   * in its message dispatch (or the microtasks after it) while more messages are already
   * buffered, that happens before the close frame is written, and the client sees 1006. So the
   * call waits for a task of its own: Deno then writes the frame before it reads on.
   */
  #closeSocket(reason: CloseReason | null): void {
    if (this.#closeAsked || this.#socketClosed) return;
    this.#closeAsked = true;
    const call = (): void => {
      this.#closeCall = setTimeout(() => {
        this.#closeCall = undefined;
        try {
          if (reason === null) this.#socket.close();
          else this.#socket.close(reason.code, reason.message);
        } catch {
          // Already closing or closed.
        }
      }, 0);
    };
    if (this.#opened) call();
    else this.#open.promise.then((open) => open && !this.#socketClosed && call());
  }

  /**
   * Drops the connection at once, without a close frame (see `native_drop.ts`); Deno then fires
   * `close`, which releases it.
   *
   * @returns Whether the connection is gone or going; `false` when Deno offers no way here.
   */
  #drop(): boolean {
    if (this.#socketClosed) return true;
    if (!dropNativeSocket(this.#socket)) return false;
    clearTimeout(this.#closeCall);
    this.#closeCall = undefined;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    return true;
  }

  /**
   * `closeTimeout` passed and the client has not closed the connection: drop it. Where Deno
   * offers no way to, the session gives up on the socket, which stays counted in
   * `maxConnections` (`released`) until the client or `Deno.serve` ends it.
   */
  #giveUp(): void {
    this.#drop();
    this.#closed.resolve();
  }

  /** The session ended before the socket closed: give up on it `closeTimeout` later, unless the
   * client closes it first. */
  #giveUpLater(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#giveUp();
    }, this.#closeTimeout);
  }

  #onClose(code: number, message: string, wasClean: boolean): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    clearTimeout(this.#closeCall);
    this.#closeCall = undefined;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#open.resolve(false);
    if (this.#state !== CLOSED) {
      if (this.#localReason !== null) {
        this.#finish(this.#localReason, null);
      } else if (!wasClean || code === 1006) {
        const err = this.#socketError ?? closedAbnormally();
        this.#finish(
          err instanceof ProtocolError
            ? new CloseReason(err.closeCode, truncateUtf8(err.message, 123))
            : ABNORMAL,
          err,
        );
      } else {
        let reason: CloseReason;
        try {
          reason = new CloseReason(code, message);
        } catch {
          reason = new CloseReason(code, "");
        }
        this.#finish(reason, null);
      }
    }
    this.#closed.resolve();
    this.#released.resolve();
  }

  #finish(reason: CloseReason, err: unknown): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.reason = reason;
    this.endError = err;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const closedError = new ConnectionClosedError("SESSION_CLOSED", "The session is closed", {
      closeReason: reason,
    });
    this.incoming.end(err);
    this.#closeReason.resolve(reason);
    this.#abort.abort(err ?? closedError);
  }
}
