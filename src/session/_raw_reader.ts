/**
 * The incoming side of a raw session: `incoming`, read only as it is pulled (one socket read at
 * a time), and how the reading side ends (end of stream, protocol error, broken read, the
 * completed close handshake).
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  WebSocketError,
} from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import { readFrame } from "../transport/read_loop.ts";
import type { IncomingGuard } from "./_incoming_guard.ts";
import { MessageStream, type MessageStreamHost } from "./_message_stream.ts";
import type { Link } from "./_link.ts";

/** `incoming` is pulled: nothing is read ahead of the application. */
const ZERO_WATER_MARK: QueuingStrategy<Frame> = { highWaterMark: 0 };

/**
 * The incoming stream of a raw session and the reads that feed it. The stream is made when it
 * is first asked for: nothing is read before that anyway.
 */
export class RawReader implements MessageStreamHost, IncomingGuard {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  /** Whether `stream` ended. */
  ended = false;
  readonly #protocol: Protocol;
  readonly #link: Link;
  readonly #closeTimeout: number;
  readonly #cancel: (reason: unknown) => void;
  #stream: MessageStream<Frame> | null = null;
  /** How `end()` ended the stream before it was made (`undefined`: not ended). */
  #endedEarly: unknown = undefined;
  /** A protocol error found after frames that were delivered first (raised on the next pull). */
  #pendingError: ProtocolError | null = null;
  /** The socket read in flight (a pull, or closeAndRelease discarding), if any. */
  #inFlight: Promise<void> | null = null;

  /**
   * Makes the incoming stream of a session.
   *
   * @param protocol The session's protocol.
   * @param link The socket.
   * @param options The close timeout, and what cancelling `stream` does (abort the session).
   */
  constructor(
    protocol: Protocol,
    link: Link,
    options: { closeTimeout: number; cancel: (reason: unknown) => void },
  ) {
    this.#protocol = protocol;
    this.#link = link;
    this.#closeTimeout = options.closeTimeout;
    // Leaving a `for await` loop early must not cancel the stream (which aborts the session):
    // the frames that follow stay readable, and a close handshake can still run.
    this.#cancel = options.cancel;
  }

  /** Frames from the peer, as they arrive (made on first use). */
  get stream(): ReadableStream<Frame> {
    return (this.#stream ?? this.#makeStream()) as unknown as ReadableStream<Frame>;
  }

  #makeStream(): MessageStream<Frame> {
    const stream = this.#stream = new MessageStream<Frame>(this, ZERO_WATER_MARK, this);
    if (this.#endedEarly !== undefined) stream.end(this.#endedEarly);
    return stream;
  }

  /** Whether the stream is made and locked. */
  get locked(): boolean {
    return this.#stream !== null && this.#stream.locked;
  }

  /** A read of the stream waits: read the socket (see `MessageStream`). */
  onWait(): void {
    this.#pull();
  }

  /** A frame was taken: nothing is read ahead. */
  onTaken(): void {}

  /** The application cancelled the stream: the session is aborted. */
  onCancel(reason: unknown): void {
    this.#cancel(reason);
  }

  /**
   * Reads and discards the next frames (noting a close frame), or waits for the read in flight:
   * `closeAndRelease` calls it until the peer's close frame arrives.
   *
   * @returns Settles once the read is done (never rejects).
   */
  discardNext(): Promise<void> {
    return this.#inFlight ?? this.#track(this.#readOnce(null));
  }

  /** Both close frames were exchanged: `stream` ends and the socket is let go. */
  handshakeDone(): void {
    this.end(null);
    this.#link.finish(this.#closeTimeout);
  }

  /** Ends `incoming`: normally with `null`, or with an error. */
  end(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (this.#stream === null) this.#endedEarly = err;
    else this.#stream.end(err);
  }

  #pull(): void {
    if (this.#inFlight === null && this.#pendingError === null) {
      this.#track(this.#readOnce(this.#stream));
    } else {
      this.#pullSlow();
    }
  }

  async #pullSlow(): Promise<void> {
    // closeAndRelease may be reading: one socket read at a time.
    while (this.#inFlight !== null) await this.#inFlight;
    const pending = this.#pendingError;
    if (pending !== null) {
      // The application has taken the frames that came before the bad bytes and asks for more:
      // fail now, one macrotask later, so that what it sent in answer goes out before the
      // close frame.
      this.#pendingError = null;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (!this.ended) this.#fail(pending);
      return;
    }
    await this.#track(this.#readOnce(this.#stream));
  }

  /** Records `read` (which never rejects) as the read in flight until it settles. */
  #track(read: Promise<void>): Promise<void> {
    this.#inFlight = read;
    return read.then(() => {
      if (this.#inFlight === read) this.#inFlight = null;
    });
  }

  /**
   * Reads the next frames; queues them on `incoming` (or, with no stream, discards them but
   * still notes a close frame) and ends the session's reading side as they require.
   */
  async #readOnce(stream: MessageStream<Frame> | null): Promise<void> {
    if (this.ended) return;
    const link = this.#link;
    const protocol = this.#protocol;
    let delivered = 0;
    link.reading = true;
    try {
      let frame = protocol.next() ?? await readFrame(link.reader, protocol);
      link.reading = false;
      // Aborted while the read was settling: the frames go nowhere.
      if (this.ended) return;
      if (frame === null) {
        this.#onEof();
        return;
      }
      // Every frame the read delivered, enqueued as it is decoded (no array per read).
      do {
        stream?.push(frame);
        delivered++;
        frame = protocol.next();
      } while (frame !== null);
    } catch (err) {
      link.reading = false;
      if (stream !== null && delivered > 0 && err instanceof ProtocolError) {
        // The frames decoded before the bad bytes are valid and were delivered first (nothing
        // is lost; Autobahn 3.2, 4.1.3 and 5.15 expect their echo); the session fails when the
        // application comes back for more (see #pull).
        if (!this.ended) this.#pendingError = err;
        return;
      }
      this.#fail(err);
      return;
    }
    if (protocol.closeReceived && protocol.closeSent) this.handshakeDone();
  }

  /** The peer ended the TCP connection: `incoming` ends, normally after a close frame. */
  #onEof(): void {
    const received = this.#protocol.closeReceived;
    this.#protocol.receiveEof();
    // Raw sessions report the wire as it is: without the peer's close frame the end is
    // abnormal, even after ours.
    if (received) {
      this.end(null);
    } else {
      this.end(
        new ConnectionClosedError(
          "CLOSED_ABNORMALLY",
          "The connection was closed without a close frame",
          { closeReason: new CloseReason(1006, "") },
        ),
      );
    }
    this.#link.release();
  }

  #fail(err: unknown): void {
    const protocol = this.#protocol;
    if (this.#link.isReleased) {
      // Our own abort or a finished handshake broke the read.
      if (protocol.closeReceived && protocol.closeSent) this.end(null);
      else this.end(this.#link.signal.reason ?? err);
      return;
    }
    if (err instanceof ProtocolError) {
      this.end(err);
      const frame = protocol.fail(err);
      if (frame === null) {
        this.#link.release(err);
        return;
      }
      this.#link.writer.write(frame).catch(() => {}).finally(() => this.#link.release(err));
      return;
    }
    const wrapped = err instanceof WebSocketError
      ? err
      : new ConnectionError("CONNECTION_RESET", "The connection broke while reading", {
        cause: err,
      });
    protocol.abort(wrapped);
    this.end(wrapped);
    this.#link.release(wrapped);
  }
}
