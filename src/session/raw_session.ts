/**
 * The raw session: every frame surfaced, nothing automatic.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
// deno-lint-ignore no-unused-vars -- named by the class documentation's {@linkcode ProtocolError}
import type { ProtocolError } from "../core/errors.ts";
import type { EncodedFrame } from "../core/encoded_frame.ts";
import { Frame } from "../core/frame.ts";
import { closeSentError, Protocol } from "../core/protocol.ts";
import { Link } from "./_link.ts";
import { OutgoingQueue } from "./_outgoing.ts";
import { RawReader } from "./_raw_reader.ts";
import { SESSION_DEFAULTS } from "./options.ts";
import {
  blobBytes,
  handled,
  type Sendable,
  type SessionInit,
  toFrame,
  type UpgradeCall,
} from "./session_types.ts";

export {
  handled,
  type Sendable,
  type SessionInit,
  toFrame,
  type UpgradeCall,
  type UpgradeRequest,
  type UpgradeResponse,
} from "./session_types.ts";

/**
 * A raw WebSocket session (Ktor's `ClientWebSocketSession` over the CIO engine, and the
 * server's `webSocketRaw` route): every frame is surfaced as it arrives (fragments, with
 * continuation frames typed as their message; ping; pong; close) and nothing is automatic: no
 * pong, no close echo, no ping, no reassembly.
 *
 * - `incoming` reads the socket only as it is pulled, so TCP backpressure reaches the peer.
 * - `send()` and `outgoing` writes resolve once the frame is accepted into the outgoing queue
 *   (at once below 1 MiB waiting for the socket; beyond it when the queue has drained);
 *   `flush()` resolves when the socket has taken everything. After a close frame is written,
 *   `outgoing` is closed.
 * - The socket is closed once both sides have sent a close frame (a client waits up to
 *   `closeTimeout` for the server to end the TCP connection first), when the peer's TCP
 *   connection ends, on a protocol error (after sending the matching close frame), or on
 *   {@linkcode RawWebSocketSession.abort}.
 *
 * Leaving a `for await` loop over `incoming` early does not cancel it: later frames stay
 * readable. `incoming.cancel()` aborts the session.
 *
 * `incoming` ends normally after the peer's close frame and the end of the connection; it fails
 * with a {@linkcode ProtocolError} on a protocol error, and with a `ConnectionClosedError`
 * (`CLOSED_ABNORMALLY`) when the connection ends without a close frame.
 *
 * @example Echo one frame, then close (needs a server)
 * ```ts ignore
 * import { CloseReason, Frame, webSocketRawSession } from "@wirestream/ws/raw";
 *
 * const session = await webSocketRawSession("ws://127.0.0.1:9001/");
 * await session.send("hello");
 * for await (const frame of session.incoming) {
 *   if (frame.type === "text") await session.close(new CloseReason(1000, "bye"));
 *   if (frame.type === "close") break;
 * }
 * ```
 */
export class RawWebSocketSession implements AsyncDisposable {
  /** The HTTP upgrade exchange. */
  readonly call: UpgradeCall;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** Negotiated extensions (empty unless a raw route asked for them). */
  readonly extensions: readonly unknown[];
  readonly #link: Link;
  readonly #protocol: Protocol;
  readonly #closeTimeout: number;
  /** Whether our close frame was taken by the socket (`outgoing` is then closed to writes). */
  #closeWritten = false;
  /** `incoming` and the reads that feed it. */
  readonly #reader: RawReader;
  /** The bounded queue between `send()` and the writer (made at the first send). */
  #out: OutgoingQueue | null = null;
  /** Settles once the `Blob`s sent so far have been read and their frames handed on. */
  #reading: Promise<void> | null = null;
  /** `outgoing`, made on first use. */
  #outgoing: WritableStream<Frame> | null = null;
  #outController: WritableStreamDefaultController | null = null;

  /**
   * Creates a session over an upgraded socket. Use `webSocketRawSession` (client) or a
   * server route rather than this constructor.
   *
   * @param init The socket and what the handshake settled.
   */
  constructor(init: SessionInit) {
    this.call = init.call;
    this.protocol = init.protocol;
    this.extensions = init.extensions ?? [];
    this.#closeTimeout = init.closeTimeout;
    // Raw: every frame surfaced, nothing automatic (no pong, no close echo, no reassembly).
    this.#protocol = new Protocol({
      role: init.role,
      maxFrameSize: init.maxFrameSize,
      allowedRsv: init.allowedRsv ?? 0,
      compressedRsv: init.allowedRsv ?? 0,
    });
    this.#link = new Link(init.conn, this.#protocol, {
      leftover: init.leftover,
      masking: init.masking,
    });
    this.#reader = new RawReader(this.#protocol, this.#link, {
      closeTimeout: init.closeTimeout,
      cancel: (reason) => this.abort(reason),
    });
  }

  /** Frames from the peer, as they arrive (made on first use). */
  get incoming(): ReadableStream<Frame> {
    return this.#reader.stream;
  }

  /** Frames to the peer (made on first use). */
  get outgoing(): WritableStream<Frame> {
    if (this.#outgoing === null) {
      this.#outgoing = new WritableStream<Frame>({
        start: (controller) => {
          this.#outController = controller;
          if (this.#closeWritten) controller.error(closeSentError());
        },
        write: (frame) => this.#write(frame),
        close: () => this.flush(),
        abort: (reason) => this.abort(reason),
      });
    }
    return this.#outgoing;
  }

  /** Whether outgoing frames are masked (clients: true, servers: false). */
  get masking(): boolean {
    return this.#link.writer.encoder.mask;
  }
  set masking(value: boolean) {
    this.#link.writer.encoder.mask = value;
  }

  /** The largest incoming frame payload; a larger one fails the session with 1009. */
  get maxFrameSize(): number {
    return this.#link.decoder.maxFrameSize;
  }
  set maxFrameSize(value: number) {
    if (!(value > 0)) throw new RangeError(`maxFrameSize must be positive, got ${value}`);
    this.#link.decoder.maxFrameSize = value;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.Addr | undefined {
    return this.#link.conn.remoteAddr;
  }

  /** Aborted once the socket is released. */
  get signal(): AbortSignal {
    return this.#link.signal;
  }

  /** Resolves once the socket is released. */
  get closed(): Promise<void> {
    return this.#link.released;
  }

  /** Bytes queued for the socket and not yet taken by it. */
  get bufferedAmount(): number {
    return this.#link.writer.bufferedAmount;
  }

  /**
   * Sends a frame; a string goes as one text frame and bytes as one binary frame. Resolves once
   * the frame is accepted into the outgoing queue (at once below its bound; see `flush()` for
   * the socket). Sends may be left unawaited (they go out in order); one on a broken
   * connection then fails quietly, and `incoming` reports the fault. Do not modify sent bytes
   * until `flush()` resolved: a server writes payloads of 65 KiB or more without a copy.
   *
   * @param data What to send.
   * @returns A promise for the write.
   */
  send(data: Sendable): Promise<void> {
    if (data instanceof Blob || this.#reading !== null) return this.#sendInOrder(data);
    let frame: Frame;
    try {
      frame = toFrame(data);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#write(frame);
  }

  /** Sends `data` once the `Blob`s sent before it are read and handed on, reading it if a Blob. */
  #sendInOrder(data: Sendable): Promise<void> {
    const previous = this.#reading;
    let written: Promise<void> = Promise.resolve();
    const handedOn = (async () => {
      if (previous !== null) await previous;
      const frame = toFrame(data instanceof Blob ? await blobBytes(data) : data);
      written = this.#write(frame);
    })();
    const reading = handedOn.catch(() => {});
    this.#reading = reading;
    reading.then(() => {
      if (this.#reading === reading) this.#reading = null;
    });
    return handedOn.then(() => written);
  }

  /**
   * Resolves when everything sent so far has been taken by the socket.
   *
   * @returns A promise that rejects if the connection broke.
   */
  async flush(): Promise<void> {
    while (this.#out?.parked) await this.#out.idle();
    return this.#link.writer.flush();
  }

  /**
   * Sends a close frame (and nothing else: in a raw session the peer's close frame arrives on
   * `incoming`). Keep reading `incoming` until it ends, or call
   * {@linkcode RawWebSocketSession.abort}, so that the socket is released.
   *
   * @param reason The close code and message; none gives an empty close payload.
   * @returns A promise for the write.
   */
  close(reason?: CloseReason | null): Promise<void> {
    let frame: Frame;
    try {
      frame = Frame.close(reason ?? null);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#write(frame);
  }

  /**
   * Closes the socket at once, without a close handshake. `incoming` and `outgoing` fail.
   *
   * @param reason Why; becomes the streams' error.
   */
  abort(reason?: unknown): void {
    if (this.#link.isReleased) return;
    const err = reason instanceof WebSocketError
      ? reason
      : new WebSocketError("ABORTED", "The session was aborted", { cause: reason });
    this.#protocol.abort(err);
    this.#reader.end(err);
    this.#link.release(err);
  }

  /** Closes the session when an `await using` block ends: sends a close frame if none was
   * sent, waits up to `closeTimeout` for the peer's, then releases the socket. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeAndRelease();
  }

  /**
   * @internal Used by the block form and `asyncDispose`: send a close frame if none was sent,
   * discard frames until the peer's close frame or `closeTimeout`, release the socket. Works
   * whether or not `incoming` is locked by a reader: a read already in flight delivers its frames
   * to that reader; later frames are read and discarded here.
   */
  async closeAndRelease(reason?: CloseReason): Promise<void> {
    if (this.#link.isReleased) return;
    const protocol = this.#protocol;
    if (!protocol.closeSent) {
      await this.close(reason ?? new CloseReason(1000, "")).catch(() => {});
    }
    const reader = this.#reader;
    if (!protocol.closeReceived && !reader.ended && !this.#link.isReleased) {
      const timer = setTimeout(
        () =>
          this.abort(
            new TimeoutError(
              "CLOSE_TIMEOUT",
              `No close frame from the peer within ${this.#closeTimeout} ms`,
            ),
          ),
        this.#closeTimeout,
      );
      try {
        while (!protocol.closeReceived && !reader.ended && !this.#link.isReleased) {
          await reader.discardNext();
        }
      } finally {
        clearTimeout(timer);
      }
    }
    await this.#link.finish(this.#closeTimeout);
  }

  /**
   * Queues `frame` (see `OutgoingQueue`): resolves once accepted, at once below the bound. A
   * close frame's promise resolves once the socket took it; `outgoing` is then closed.
   */
  #write(frame: Frame): Promise<void> {
    try {
      this.#protocol.send(frame);
    } catch (err) {
      // Quiet when not awaited, as a failed write is: `incoming` reports the fault.
      return handled(Promise.reject(err));
    }
    const accepted = this.#queue.send(frame);
    if (frame.type !== "close") return accepted;
    return handled(
      accepted.then(() => this.#link.writer.flush()).then(() => this.#afterCloseWritten()),
    );
  }

  /** The outgoing queue (made at the first send: an idle session holds none). */
  get #queue(): OutgoingQueue {
    return this.#out ??= new OutgoingQueue(this.#link.writer, {
      write: (frame) => this.#enqueue(frame),
      ended: () => this.#link.isReleased,
      sendError: () =>
        this.#link.writer.error ??
          new ConnectionClosedError("SESSION_CLOSED", "The connection is closed"),
    }, SESSION_DEFAULTS.outgoingBytes);
  }

  /** Hands `frame` to the writer; returns `null` or the error that refused it. */
  #enqueue(frame: Frame | EncodedFrame): unknown {
    const writer = this.#link.writer;
    // Once per failed batch: a broken connection is released at once, even if nobody reads
    // `incoming` any more. Set at the first send, so that an idle session holds no closure.
    writer.onError ??= (err) => {
      if (err instanceof ConnectionError) this.#link.release(err);
    };
    const refused = writer.enqueue(frame);
    // Broken before this send (say, by a pong written before the first send): notice it now.
    if (writer.error instanceof ConnectionError) this.#link.release(writer.error);
    return refused;
  }

  /** Our close frame was taken by the socket: `outgoing` is closed to writes. */
  #afterCloseWritten(): void {
    this.#closeWritten = true;
    try {
      this.#outController?.error(closeSentError());
    } catch {
      // Already errored.
    }
    if (this.#protocol.closeReceived) this.#reader.handshakeDone();
  }
}
