/**
 * How a managed session ends: the close handshake (ours, or the answer to the peer's, deferred
 * while messages that came with it are unread), failures, a broken or ended socket, and the
 * end itself (`closeReason`, `signal`, `incoming`, `outgoing`, pings, extensions) exactly once.
 *
 * It is the host of the session's reader and sender: they report what they see here.
 *
 * @module
 */

import type { ManagedEndingOptions, ReaderHost, SenderHost } from "./_managed_parts.ts";
import { CloseReason } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import { disposeExtensions } from "../core/extension_chain.ts";
import type { WebSocketExtension } from "../core/extension.ts";
import { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import { Keepalive } from "./_keepalive.ts";
import type { Link } from "./_link.ts";
import { ManagedReader } from "./_managed_reader.ts";
import { ManagedSender } from "./_managed_sender.ts";

const NOOP = (): void => {};
const NORMAL = new CloseReason(1000, "");
/** How the session ends when the connection breaks without a close handshake. */
const BROKEN = new CloseReason(1006, "Connection was closed without close frame");

/** The peer's close frame, when received before ours; its answer may be deferred. */
interface PeerClose {
  timer: ReturnType<typeof setTimeout> | undefined;
  soon: ReturnType<typeof setTimeout> | undefined;
  answered?: boolean;
}

/**
 * The end of one managed session. It makes the session's reader and sender, which report to it;
 * the session starts the reader's loop once it is built.
 */
export class ManagedEnding implements ReaderHost, SenderHost {
  /** The session's incoming side. */
  readonly reader: ManagedReader;
  /** The session's send path. */
  readonly sender: ManagedSender;
  /** The pinger and waiting pings: made when the pinger starts or at the first `ping()`. */
  keepalive: Keepalive | null = null;
  /** Whether the session's end was handled (closeReason, incoming, signal, timers). */
  finished = false;
  /** The failure, or the `SESSION_CLOSED` error, once finished. */
  abortReason: unknown = undefined;
  readonly #protocol: Protocol;
  readonly #link: Link;
  readonly #closeTimeout: number;
  readonly #extensions: readonly WebSocketExtension[];
  // Made on first use (an idle session holds neither): see `closeReason` and `signal`.
  #closeReasonDeferred: PromiseWithResolvers<CloseReason> | null = null;
  #abort: AbortController | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | null = null;
  #peerClose: PeerClose | null = null;
  #disposed = false;

  /**
   * Creates the end of a session.
   *
   * @param protocol The session's protocol.
   * @param link The socket.
   * @param options The close timeout, the extensions and the queues' bounds.
   */
  constructor(protocol: Protocol, link: Link, options: ManagedEndingOptions) {
    this.#protocol = protocol;
    this.#link = link;
    this.#closeTimeout = options.closeTimeout;
    this.#extensions = options.extensions;
    this.reader = new ManagedReader(protocol, link, options.incoming, this, options.sink ?? null);
    this.sender = new ManagedSender(link, this, {
      protocol,
      extensions: options.extensions,
      budget: options.outgoingBytes,
    });
  }

  /**
   * The keepalive, made when the pinger starts or the application first pings.
   *
   * @param interval Milliseconds between the pinger's pings; 0 = off.
   * @param timeout Milliseconds to wait for a pong (2 × interval when absent).
   * @returns The keepalive.
   */
  pinger(interval: number, timeout: number | undefined): Keepalive {
    return this.keepalive ??= new Keepalive(
      {
        canPing: () => this.#protocol.state === "open",
        sendUrgent: (frame) => this.#link.writer.writeUrgent(frame),
        pongTimedOut: (timeout) =>
          this.fail(
            new TimeoutError("PING_TIMEOUT", `Ping timeout: no pong within ${timeout} ms`),
            new CloseReason(1011, "Ping timeout"),
          ),
      },
      interval,
      timeout,
    );
  }

  /** Why the session ended; resolves exactly once, never rejects. */
  get closeReason(): Promise<CloseReason> {
    if (this.#closeReasonDeferred === null) {
      this.#closeReasonDeferred = Promise.withResolvers<CloseReason>();
      // Once finished, the protocol holds the reason (set before the session finishes).
      if (this.finished) this.#closeReasonDeferred.resolve(this.#protocol.closeReason!);
    }
    return this.#closeReasonDeferred.promise;
  }

  /** Aborted when the session ends, with the failure error or a `SESSION_CLOSED` error. */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.finished) this.#abort.abort(this.abortReason);
    }
    return this.#abort.signal;
  }

  /**
   * Starts the close handshake (see `ManagedWebSocketSession.close`).
   *
   * @param reason The close code and message.
   * @returns Resolves once the socket is released.
   */
  close(reason?: CloseReason): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (reason !== undefined && !(reason instanceof CloseReason)) {
      return Promise.reject(new TypeError("close() takes a CloseReason"));
    }
    const chosen = reason ?? NORMAL;
    let frame: Frame;
    try {
      frame = Frame.close(chosen);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#peerClose !== null) this.#answerPeerClose();
    else if (!this.finished && !this.#protocol.closeSent) this.startClose(frame).catch(NOOP);
    this.#closing = this.#link.released;
    return this.#closing;
  }

  /**
   * Closes the socket at once (see `ManagedWebSocketSession.abort`).
   *
   * @param reason Why.
   */
  abort(reason?: unknown): void {
    if (!this.finished) {
      const err = reason instanceof WebSocketError
        ? reason
        : new WebSocketError("ABORTED", "The session was aborted", { cause: reason });
      this.#protocol.abort(err);
      this.#finish();
    }
    this.#link.release(this.#protocol.error ?? undefined);
  }

  /**
   * Sends our close frame (after everything already sent) and starts the close timer.
   *
   * @param frame The close frame.
   * @returns Resolves once the frame is accepted.
   */
  startClose(frame: Frame): Promise<void> {
    try {
      this.#protocol.send(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    this.keepalive?.stop();
    const sent = this.sender.queueClose(frame);
    sent.catch(NOOP);
    if (this.#protocol.ended) {
      // The application answered the peer's close frame itself: the handshake is complete.
      this.#finish();
      this.#releaseClean();
      return sent;
    }
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      // No answer in time: end with our reason and let go of the socket.
      this.#protocol.closeTimedOut();
      this.#finish();
      this.#link.release();
    }, this.#closeTimeout);
    // Keep reading: the peer's close frame must not wait behind unread messages.
    this.reader.wake();
    return sent;
  }

  /**
   * Fails the session: sends a close frame with `reason` (unless one was sent), ends it with
   * `err`, and releases the socket once the frame is written (at most `closeTimeout` later).
   *
   * @param err The failure.
   * @param reason The close code and message (the protocol's choice for `err` when absent).
   */
  fail(err: unknown, reason?: CloseReason): void {
    if (this.finished) return;
    let written: Promise<void> | null = null;
    const frame = this.#protocol.fail(err, reason);
    if (frame !== null) {
      this.sender.rejectAll(err);
      written = this.#link.writer.write(frame);
    }
    this.#finish();
    const link = this.#link;
    if (written === null) {
      link.release(err);
      return;
    }
    const timer = setTimeout(() => link.release(err), this.#closeTimeout);
    written.catch(NOOP).finally(() => {
      clearTimeout(timer);
      link.release(err);
    });
  }

  /**
   * Settles the ping a pong answers.
   *
   * @param data The pong's payload.
   */
  onPong(data: Uint8Array): void {
    const keepalive = this.keepalive;
    if (keepalive !== null && keepalive.waiting) keepalive.onPong(data);
  }

  /** The peer's close frame was read (the protocol noted it). */
  onPeerClose(): void {
    if (this.#protocol.ended) {
      // Our close was answered: the handshake is complete.
      this.#finish();
      this.#releaseClean();
      return;
    }
    this.keepalive?.stop();
    const reader = this.reader;
    const queued = reader.incoming.queued;
    if (!reader.incoming.cancelled && (queued || reader.deliveredThisRead)) {
      // Messages that came with the close frame are queued, or in the application's hands: let
      // it read (and answer) them before our close frame goes out, which RFC 6455 §5.5.1 allows
      // ("MAY delay sending a Close frame until its current message is sent"). Autobahn 7.1.1
      // sends a message and a close back to back and expects the echo. The answer goes out one
      // macrotask after the queue has drained (see onDrained), so that a send the application
      // makes on receipt is queued first, or after closeTimeout at the latest.
      this.#peerClose = {
        timer: setTimeout(() => this.#answerPeerClose(), this.#closeTimeout),
        soon: queued ? undefined : setTimeout(() => this.#answerPeerClose(), 0),
      };
      return;
    }
    this.#peerClose = { timer: undefined, soon: undefined };
    this.#answerPeerClose();
  }

  /** The application took the last queued message: a deferred answer may go out now. */
  onDrained(): void {
    const pending = this.#peerClose;
    if (pending !== null && !pending.answered && pending.soon === undefined) {
      // The application took the last message queued before the peer's close frame; it is
      // answering it in this turn (its send is queued in a microtask): close after that.
      pending.soon = setTimeout(() => this.#answerPeerClose(), 0);
    }
  }

  /** The socket reached its end of stream. */
  onEof(): void {
    if (this.finished) return;
    const err = this.#protocol.receiveEof();
    this.#finish();
    this.#link.release(err ?? undefined);
  }

  /**
   * Reading or decoding failed.
   *
   * @param err The error.
   */
  onReadError(err: unknown): void {
    if (this.finished) return;
    const protocol = this.#protocol;
    if (protocol.closeSent) {
      // Our close frame is out: whatever broke the read, the session ends with our reason.
      protocol.abort(err);
      this.#finish();
      this.#link.release();
      return;
    }
    if (err instanceof ProtocolError) {
      this.fail(err);
      return;
    }
    const wrapped = err instanceof WebSocketError
      ? err
      : new ConnectionError("CONNECTION_RESET", "The connection broke while reading", {
        cause: err,
      });
    protocol.abort(wrapped, BROKEN);
    this.#finish();
    this.#link.release(wrapped);
  }

  /**
   * The writer reported a failed batch.
   *
   * @param err The error.
   */
  onWriteError(err: unknown): void {
    // A refused frame (say, a fragment of the wrong type) leaves the writer working.
    if (this.finished || this.#link.writer.error === null) return;
    const wrapped = err instanceof WebSocketError
      ? err
      : new ConnectionError("CONNECTION_RESET", "The connection broke while writing", {
        cause: err,
      });
    // After our close frame the session ends with our reason; otherwise with 1006.
    this.#protocol.abort(wrapped, BROKEN);
    this.#finish();
    this.#link.release(this.#protocol.error ?? undefined);
  }

  /** Answers the peer's close frame (deferred by onPeerClose while messages were queued). */
  #answerPeerClose(): void {
    const pending = this.#peerClose;
    if (pending === null || pending.answered) return;
    pending.answered = true;
    clearTimeout(pending.timer);
    clearTimeout(pending.soon);
    if (this.finished) return;
    // The echo of the peer's status code and message (RFC 6455 §5.5.1); an empty close is
    // echoed empty. The session then ends with the peer's reason.
    const frame = this.#protocol.answerClose();
    if (frame === null) return;
    const sender = this.sender;
    sender.rejectAll(
      sender.withCloseReason(
        new ConnectionClosedError("SESSION_CLOSED", "The peer closed the session"),
      ),
    );
    sender.writeCloseAnswer(frame).catch(NOOP);
    this.#finish();
    this.#releaseClean();
  }

  /** After the close handshake: a server closes TCP, a client waits for the server to. */
  #releaseClean(): void {
    const link = this.#link;
    const timeout = this.#closeTimeout;
    // Link.finish flushes first; a peer that stopped reading must not hold us for ever.
    const timer = setTimeout(() => link.release(), timeout);
    link.finish(timeout).finally(() => clearTimeout(timer));
  }

  /** Ends the session once: closeReason, incoming, outgoing, signal, pings, extensions. */
  #finish(): void {
    if (this.finished) return;
    this.finished = true;
    const reason = this.#protocol.closeReason!;
    const err = this.#protocol.error;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    if (this.#peerClose !== null) {
      clearTimeout(this.#peerClose.timer);
      clearTimeout(this.#peerClose.soon);
    }
    this.keepalive?.end(
      err ??
        new ConnectionClosedError("SESSION_CLOSED", "The session closed before the pong", {
          closeReason: reason,
        }),
    );
    const closedError = new ConnectionClosedError(
      "SESSION_CLOSED",
      "The session is closed",
      { closeReason: reason },
    );
    const sender = this.sender;
    sender.rejectAll(sender.withCloseReason(err ?? closedError));
    this.reader.incoming.end(err);
    this.abortReason = err ?? closedError;
    sender.errorOutgoing(this.abortReason);
    this.#closeReasonDeferred?.resolve(reason);
    this.#abort?.abort(this.abortReason);
    this.reader.wake();
    Promise.allSettled([this.reader.loopDone, this.sender.tail, this.#link.released]).then(() =>
      this.#disposeExtensions()
    );
  }

  #disposeExtensions(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      disposeExtensions(this.#extensions);
    } catch {
      // Every extension was disposed; one that failed to clean up has nothing left to tell.
    }
  }
}
