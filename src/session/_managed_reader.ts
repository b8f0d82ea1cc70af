/**
 * The read loop of a managed session: it fills the incoming side (`ManagedIncoming`: the
 * `incoming` stream or the sink of a route in event form) while it has room, and writes the pongs
 * owed.
 *
 * What a frame means is decided by the protocol; what the end of the read means (end of stream,
 * a broken read, the peer's close frame) is decided by the session's {@linkcode ReaderHost}.
 *
 * @module
 */

import { ProtocolError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import type { Link } from "./_link.ts";
import { ManagedIncoming } from "./_managed_incoming.ts";
import type { MessageSink } from "./_message_sink.ts";
import type { ReaderHost } from "./_managed_parts.ts";

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

/**
 * The read loop feeding a session's incoming side. It starts with `start()`, once the host is
 * ready.
 */
export class ManagedReader {
  /** Where the messages go: `incoming`, `receive()`, or a route's sink. */
  readonly incoming: ManagedIncoming;
  /** Whether the current socket read delivered a message. */
  deliveredThisRead = false;
  readonly #protocol: Protocol;
  readonly #link: Link;
  readonly #host: ReaderHost;
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
  /** Bytes read since decoding paused for a full queue (see PAUSED_READ_BYTES). */
  #pausedBytes = 0;
  /** Takes the next owed pong once the socket took the last one (made at the first ping). */
  #onPongWrittenCb: (() => void) | null = null;
  /** Reports a pong that the socket refused: the peer is gone (made at the first ping). */
  #onPongFailedCb: ((err: unknown) => void) | null = null;

  /**
   * Makes the reader and the incoming side (reading starts with `start()`).
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
    this.incoming = new ManagedIncoming(protocol, host, this, { strategy, sink });
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

  /** Resumes a read loop that waits for room in the queue. */
  wake(): void {
    if (this.#waitingFor === WAITING_ROOM) {
      this.#waitingFor = TOP;
      // Resumed in a microtask, not inside the caller (a stream pull, the session's ending).
      queueMicrotask(this.#onSettled as () => void);
    }
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
              (!this.incoming.cancelled && !protocol.closeSent && this.incoming.full))
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
          if (type === "text" || type === "binary") {
            if (this.incoming.deliver(frame)) this.deliveredThisRead = true;
          } else if (type === "ping") {
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
    if (err instanceof ProtocolError && this.deliveredThisRead && !this.incoming.cancelled) {
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
}
