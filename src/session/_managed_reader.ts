/**
 * The incoming side of a managed session: the `incoming` stream, the read loop that fills it
 * while it has room, the pongs owed, and `receive()`.
 *
 * What a frame means is decided by the protocol; what the end of the read means (end of stream,
 * a broken read, the peer's close frame) is decided by the session's {@linkcode ReaderHost}.
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import {
  type IncomingFeed,
  type IncomingGuard,
  IncomingSource,
  IncomingStream,
} from "./_incoming_stream.ts";
import type { Link } from "./_link.ts";
import type { MessageSink, SinkHost } from "./_message_sink.ts";
import type { ReaderHost } from "./_managed_parts.ts";

const NOOP = (): void => {};

// Where the read loop resumes (`ManagedReader.#waitingFor`).
/** The top of the loop: check the end and the room in the queue. */
const TOP = 0;
/** A read posted while decoding pauses: hand its bytes to the decoder, then the top. */
const AFTER_PAUSED_READ = 1;
/** A read posted for the next frame: hand its bytes to the decoder and decode. */
const AFTER_FRAME_READ = 2;
/** An extension worked asynchronously: decode again. */
const AFTER_PENDING = 3;
/** Waiting for room in the queue or a written pong: `wake()` resumes at the top. */
const WAITING_ROOM = 4;
/** Not waiting for anything (running or stopped). */
const STOPPED = 5;

/**
 * While the incoming queue is full, reads go on (and their messages are queued over its bound)
 * until this many bytes came: the end of stream of a peer that sent up to this much and vanished
 * is noticed.
 */
const PAUSED_READ_BYTES = 16 * 1024;

// The read loop's state (`ManagedReader.#state`).
const LOOP_IDLE = 0;
const LOOP_RUNNING = 1;
const LOOP_STOPPED = 2;

/** How `end()` ended a stream not made yet: cleanly. */
const ENDED_CLEANLY = Symbol("ended cleanly");

/**
 * The incoming stream and the read loop feeding it. The read loop starts with `start()`, once
 * the host is ready.
 *
 * The stream is made when the application first reads it (or `receive()`s) or when the first
 * message arrives, not with the session: a session that only sends, or whose messages nobody
 * has read yet, holds no stream, controller and queue (about 1.7 KB of resident memory per idle
 * client connection in W5, `deno task bench --only=W5`).
 */
export class ManagedReader implements IncomingFeed<Frame>, IncomingGuard, SinkHost {
  /** See `IncomingGuard`. */
  blockGrace = 0;
  /** See `IncomingGuard`. */
  leftEarly = false;
  /** Whether the application cancelled `stream` (messages are dropped, reading goes on). */
  cancelled = false;
  /** Whether the current socket read delivered a message to `stream`. */
  deliveredThisRead = false;
  readonly #protocol: Protocol;
  readonly #link: Link;
  readonly #host: ReaderHost;
  readonly #strategy: QueuingStrategy<Frame>;
  /** Where messages go instead of the stream (a route in event form), else `null`. */
  readonly #sink: MessageSink<never> | null;
  readonly #highWaterMark: number;
  #stream: IncomingStream<Frame> | null = null;
  /** Set by `stream`'s start, synchronously as it is made. */
  #controller: ReadableStreamDefaultController<Frame> | null = null;
  /** How `end()` ended the stream before it was made (`null`: not ended). */
  #endedEarly: unknown = null;
  /** The failure, raised once the queued messages have been read. */
  #pendingError: unknown = null;
  /** Whether the read loop has not started, runs, or stopped. */
  #state = LOOP_IDLE;
  /** Where the read loop resumes once what it waits for settles (see `#run`). */
  #waitingFor = STOPPED;
  /** Resumes the read loop (made at `start()`, once per session). */
  #onSettled: ((n?: number | null | void) => void) | null = null;
  /** Stops the read loop on a failed read or extension (made at `start()`). */
  #onFailed: ((err: unknown) => void) | null = null;
  /** Made when `loopDone` is asked for while the loop runs. */
  #loopDone: Promise<void> | null = null;
  #resolveLoopDone: (() => void) | null = null;
  #receiving: Promise<unknown> | null = null;
  /** Bytes read since decoding paused for a full queue (see PAUSED_READ_BYTES). */
  #pausedBytes = 0;
  /** Takes the next owed pong once the socket took the last one (made at the first ping). */
  #onPongWrittenCb: (() => void) | null = null;
  /** Reports a pong that the socket refused: the peer is gone (made at the first ping). */
  #onPongFailedCb: ((err: unknown) => void) | null = null;

  /**
   * Makes the incoming stream (reading starts with `start()`).
   *
   * @param protocol The session's protocol.
   * @param link The socket.
   * @param strategy The incoming queue's strategy (see `incomingStrategy`).
   * @param host The session's ending.
   * @param sink Where messages go instead of the stream (a route in event form), or `null`.
   */
  constructor(
    protocol: Protocol,
    link: Link,
    strategy: QueuingStrategy<Frame>,
    host: ReaderHost,
    sink: MessageSink<never> | null,
  ) {
    this.#protocol = protocol;
    this.#link = link;
    this.#host = host;
    this.#strategy = strategy;
    this.#highWaterMark = strategy.highWaterMark!;
    this.#sink = sink;
    sink?.bind(this, strategy);
  }

  /** The sink has room again (see `MessageSink`). */
  onSinkRoom(): void {
    if (!this.#sink!.pending) this.#host.onDrained();
    this.wake();
  }

  /** Complete text and binary messages from the peer (made on first use). */
  get stream(): ReadableStream<Frame> {
    return this.#stream ?? this.#makeStream();
  }

  /** Whether the stream is made and locked. */
  get locked(): boolean {
    return this.#stream !== null && this.#stream.locked;
  }

  #makeStream(): IncomingStream<Frame> {
    // Leaving a `for await` loop early does not cancel the session's incoming messages.
    const stream = this.#stream = new IncomingStream<Frame>(
      new IncomingSource(this),
      this.#strategy,
      this,
    );
    const ended = this.#endedEarly;
    if (ended !== null) {
      this.#endedEarly = null;
      this.end(ended === ENDED_CLEANLY ? null : ended);
    }
    return stream;
  }

  /** The stream started (see `IncomingSource`). */
  feedStart(controller: ReadableStreamDefaultController<Frame>): void {
    this.#controller = controller;
  }

  /** The stream pulled. */
  feedPull(controller: ReadableStreamDefaultController<Frame>): void {
    this.#onPull(controller);
  }

  /** The application cancelled the stream. */
  feedCancel(): void {
    this.cancelled = true;
    this.wake();
  }

  /** Starts the read loop (once). */
  start(): void {
    if (this.#state !== LOOP_IDLE) return;
    this.#state = LOOP_RUNNING;
    this.#onSettled = (n) => this.#run(this.#waitingFor, n as number | null | undefined);
    this.#onFailed = (err) => this.#fail(err);
    this.#run(TOP, undefined);
  }

  /** Settles once the read loop stopped (`null` before it started). */
  get loopDone(): Promise<void> | null {
    const state = this.#state;
    if (state === LOOP_IDLE) return null;
    if (state === LOOP_STOPPED) return this.#loopDone ?? Promise.resolve();
    this.#loopDone ??= new Promise<void>((resolve) => {
      this.#resolveLoopDone = resolve;
    });
    return this.#loopDone;
  }

  /** Whether messages wait in the incoming queue. */
  get queued(): boolean {
    if (this.#sink !== null) return this.#sink.pending;
    const controller = this.#controller;
    return controller !== null && (controller.desiredSize ?? 0) < this.#highWaterMark;
  }

  /** Resumes a read loop that waits for room in the queue. */
  wake(): void {
    if (this.#waitingFor === WAITING_ROOM) {
      this.#waitingFor = TOP;
      // Resumed in a microtask, not inside the caller (a stream pull, the session's ending).
      queueMicrotask(this.#onSettled as () => void);
    }
  }

  /**
   * Ends `stream`: closed when `err` is `null`; otherwise errored at once when empty (or
   * cancelled), else once the queued messages have been read.
   *
   * @param err The session's failure, or `null` for a clean end.
   */
  end(err: unknown): void {
    const controller = this.#controller;
    if (controller === null) {
      // Not made yet: it is made ended (nothing was queued).
      this.#endedEarly ??= err === null ? ENDED_CLEANLY : err;
      return;
    }
    try {
      if (err === null) {
        controller.close();
      } else if (this.cancelled || controller.desiredSize === this.#highWaterMark) {
        controller.error(err);
      } else {
        // Messages are still queued: raise the error once they have been read.
        this.#pendingError = err;
      }
    } catch {
      // The stream already ended (cancelled).
    }
  }

  /**
   * The next message, leaving `stream` unlocked; receives queue behind each other.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    const next = (this.#receiving ?? Promise.resolve()).then(async () => {
      const reader = this.stream.getReader();
      try {
        const { done, value } = await reader.read();
        if (done) {
          throw new ConnectionClosedError(
            "SESSION_CLOSED",
            "Cannot receive: the session is closed",
            { closeReason: this.#protocol.closeReason },
          );
        }
        return value;
      } finally {
        reader.releaseLock();
      }
    });
    this.#receiving = next.catch(NOOP);
    return next;
  }

  #onPull(controller: ReadableStreamDefaultController<Frame>): void {
    if (controller.desiredSize === this.#highWaterMark) {
      this.#host.onDrained();
      if (this.#pendingError !== null) {
        // The queue has drained: now raise the failure.
        const err = this.#pendingError;
        this.#pendingError = null;
        try {
          controller.error(err);
        } catch {
          // Already ended.
        }
        return;
      }
    }
    this.wake();
  }

  /**
   * Reads the socket while the incoming queue has room (always once the consumer cancelled or
   * a close frame was sent), and handles every frame one read delivers. A callback loop, not an
   * async function: an idle session waits in one socket read and its reaction, not in a
   * suspended function frame (about 450 bytes less per idle connection, measured with
   * `bench/session_memory.ts`). It runs until it must wait, then posts the wait with the two
   * callbacks made at `start()`; `#waitingFor` says where it resumes.
   *
   * @param phase Where to resume: the top of the loop, or decoding (after a read or a wait for
   *   an extension).
   * @param n What the socket read returned (a byte count, `null` at end of stream), when the
   *   loop resumes after one.
   */
  #run(phase: number, n: number | null | undefined): void {
    const link = this.#link;
    const reader = link.reader;
    const protocol = this.#protocol;
    const host = this.#host;
    try {
      if (phase === AFTER_PAUSED_READ) {
        if (reader.commit(n!) && !protocol.pongBlocked) {
          // Decoded at once, over the queue's bound (PAUSED_READ_BYTES at most): what waits
          // undecoded is then at most one split frame, which a wake could not decode anyway.
          this.#pausedBytes += n!;
          phase = AFTER_FRAME_READ;
        } else {
          // The end of stream (the top decodes what waits, then ends), or bytes that wait
          // undecoded while a pong must wait for the socket.
          phase = TOP;
        }
      } else if (phase === AFTER_FRAME_READ) {
        if (!reader.commit(n!)) {
          host.onEof();
          this.#stopped();
          return;
        }
      }
      for (;;) {
        if (phase === TOP) {
          if (host.finished || protocol.closeReceived) break;
          if (
            !reader.eof && (protocol.pongBlocked ||
              (!this.cancelled && !protocol.closeSent && this.#full()))
          ) {
            // Decoding stops while the incoming queue is full (the application does not read)
            // or while a pong is owed that must wait for the socket (MAX_PONGS_IN_FLIGHT pongs
            // wait: the peer does not read), so that TCP backpressure reaches the peer: a ping
            // flood is held back instead of decoded and discarded as fast as it comes. Reads stay
            // posted so that a peer that vanished is noticed (its end of stream or reset ends the
            // session with 1006), and a peer that goes on sending is held back by TCP:
            // - while the queue is full, until PAUSED_READ_BYTES came since the pause (decoded
            //   into the queue over its bound, so that nothing decodable waits for a wake);
            // - while a pong must wait, while nothing waits undecoded; what that read brings
            //   waits in the decoder, and the write in flight notices a reset (see #writePong).
            const pongPause = protocol.pongBlocked;
            const rest = PAUSED_READ_BYTES - this.#pausedBytes;
            if (pongPause ? protocol.decoder.buffered === 0 : rest > 0) {
              this.#waitingFor = AFTER_PAUSED_READ;
              const window = reader.window();
              link.conn.read(
                pongPause || window.length <= rest ? window : window.subarray(0, rest),
              ).then(this.#onSettled, this.#onFailed);
            } else {
              // `wake()` resumes the loop.
              this.#waitingFor = WAITING_ROOM;
            }
            return;
          }
          this.deliveredThisRead = false;
          this.#pausedBytes = 0;
        }
        phase = TOP;
        // The protocol decodes, reassembles, runs the extensions and notes pings and the close.
        let frame = protocol.next();
        if (frame === null) {
          // Read until the protocol yields a frame (as `readFrame` does, with no promise but
          // the socket read's own).
          const pending = protocol.pending;
          if (pending !== null) {
            // An extension works asynchronously: decode again once it is done.
            this.#waitingFor = AFTER_PENDING;
            pending.then(this.#onSettled, this.#onFailed);
            return;
          }
          if (reader.eof) {
            host.onEof();
            break;
          }
          this.#waitingFor = AFTER_FRAME_READ;
          link.conn.read(reader.window()).then(this.#onSettled, this.#onFailed);
          return;
        }
        // Every frame the read delivered, handled as it is decoded (no array per read): the
        // frames before bad bytes are handled before the protocol throws.
        do {
          const type = frame.type;
          if (type === "text" || type === "binary") this.#deliver(frame);
          else if (type === "ping") {
            this.#writePong();
            // The pong owed must wait for the socket: stop decoding (see above).
            if (protocol.pongBlocked) break;
          } else if (type === "pong") host.onPong(frame.data);
          else if (type === "close") {
            this.#writePong();
            host.onPeerClose();
            break;
          }
          if (host.finished) break;
          frame = protocol.next();
        } while (frame !== null);
      }
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#stopped();
  }

  /** Reading or decoding failed: the host ends the session, and the loop stops. */
  #fail(err: unknown): void {
    this.#waitingFor = STOPPED;
    if (err instanceof ProtocolError && this.deliveredThisRead && !this.cancelled) {
      // Messages that came just before the violation are in the application's hands: one
      // macrotask lets it answer them before the connection is failed (Autobahn 3.2, 4.1.3,
      // 5.15 expect the echo of the message sent before the bad frame).
      setTimeout(() => {
        try {
          this.#host.onReadError(err);
        } finally {
          this.#stopped();
        }
      }, 0);
      return;
    }
    try {
      this.#host.onReadError(err);
    } finally {
      this.#stopped();
    }
  }

  /** The loop stopped: `loopDone` settles. */
  #stopped(): void {
    this.#waitingFor = STOPPED;
    this.#state = LOOP_STOPPED;
    const resolve = this.#resolveLoopDone;
    if (resolve !== null) {
      this.#resolveLoopDone = null;
      resolve();
    }
  }

  /**
   * Writes the pong owed, ahead of queued data (RFC 6455 §5.5.2: "as soon as practical"). The
   * protocol bounds the pongs waiting for the socket (see `Protocol.takePong`): a peer that
   * floods pings and does not read holds a few KiB of pongs here, not one per ping.
   */
  #writePong(): void {
    const pong = this.#protocol.takePong();
    if (pong === null) return;
    this.#onPongWrittenCb ??= () => {
      this.#protocol.pongWritten();
      this.#writePong();
      // The read loop may wait for this (a spurious wake only makes it look again).
      if (!this.#protocol.pongBlocked) this.wake();
    };
    // A failed write ends the session (1006) even when the application never sent anything
    // (the writer's own error callback is set at the first send): the read loop may be waiting
    // for this pong, and only the write notices that the peer is gone.
    this.#onPongFailedCb ??= (err) => this.#host.onWriteError(err);
    this.#link.writer.writeUrgent(pong).then(this.#onPongWrittenCb, this.#onPongFailedCb);
  }

  /** Whether the incoming queue (or the sink's backlog) is full. */
  #full(): boolean {
    if (this.#sink !== null) return this.#sink.full;
    const controller = this.#controller;
    return controller !== null && (controller.desiredSize ?? 0) <= 0;
  }

  /** Hands a complete message to `stream` (dropped when cancelled, or closing with no room). */
  #deliver(frame: Frame): void {
    if (this.cancelled || this.#host.finished) return;
    const sink = this.#sink;
    if (sink !== null) {
      if (this.#protocol.closeSent && sink.full) return;
      sink.offer(frame);
      this.deliveredThisRead = true;
      return;
    }
    const controller = this.#controller ?? (this.#makeStream(), this.#controller!);
    if (this.#protocol.closeSent && (controller.desiredSize ?? 0) <= 0) return;
    controller.enqueue(frame);
    this.deliveredThisRead = true;
  }
}
