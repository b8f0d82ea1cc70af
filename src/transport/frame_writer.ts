/**
 * Writes frames to a socket: small frames coalesced into one reused buffer per write, large
 * payloads written without a copy, urgent control frames ahead of queued data.
 *
 * @module
 */

import { ConnectionClosedError, ConnectionError } from "../core/errors.ts";
import { EncodedFrame } from "../core/encoded_frame.ts";
import type { Frame } from "../core/frame.ts";
import type { FrameEncoder } from "../core/frame_encoder.ts";
import { closeSentError } from "../core/protocol.ts";
import { appendBytes, appendFrame, type Batch, newBatch, NOOP } from "./_batch.ts";
import type { ByteSink } from "./byte_sink.ts";

export { type ByteSink, writeAll } from "./byte_sink.ts";

/** The empty urgent list (shared, never written to: a list is made at the first urgent frame). */
const NO_URGENT: Uint8Array[] = [];

/** A rejected promise that is no unhandled rejection when nobody awaits it. */
function rejected(err: unknown): Promise<never> {
  const promise = Promise.reject(err);
  promise.catch(() => {});
  return promise;
}

/**
 * Serialises frames onto a {@linkcode ByteSink} in order.
 *
 * A frame is encoded as soon as it is queued. While one write is in flight, the frames queued
 * meanwhile gather into the next batch and go out in one write; every `write` promise of a batch
 * resolves when the socket has taken the whole batch. Urgent control frames (pongs) go ahead of
 * every frame that is queued and not yet in flight.
 */
export class FrameWriter {
  readonly #sink: ByteSink;
  readonly #encoder: FrameEncoder;
  /** Frames queued behind the write in flight (made at the first write: an idle writer has none). */
  #next: Batch | null = null;
  /** A second buffer, swapped in while `#next` is being written (made at the first write). */
  #spare: Batch | null = null;
  #urgent: Uint8Array[] = NO_URGENT;
  #writing = false;
  #closed = false;
  #error: unknown = null;
  #queued = 0;
  #idle: PromiseWithResolvers<void> | null = null;
  /**
   * Called with the error of every batch that fails (one handler per batch, shared by its
   * frames), set by the session before it writes.
   */
  onError: ((err: unknown) => void) | null = null;
  /** The batch being written, the part and the offset in it, and its urgent bytes. */
  #inflight: Batch | null = null;
  #part = 0;
  #offset = 0;
  #inflightUrgent = 0;
  /** One waiter for room (see `whenBelow`): its mark and callbacks. */
  #roomMark = 0;
  #onRoom: (() => void) | null = null;
  #onNoRoom: ((err: unknown) => void) | null = null;
  /** The socket write callbacks (made at the first write: an idle writer holds none). */
  #onWrittenCb: ((n: number) => void) | null = null;
  #onFailedCb: ((err: unknown) => void) | null = null;

  /**
   * Creates a writer.
   *
   * @param sink The socket.
   * @param encoder The connection's encoder (its `mask` setting decides masking).
   */
  constructor(sink: ByteSink, encoder: FrameEncoder) {
    this.#sink = sink;
    this.#encoder = encoder;
  }

  /** The number of bytes queued and not yet taken by the socket. */
  get bufferedAmount(): number {
    return this.#queued;
  }

  /** Whether a close frame was queued (no data frame may follow). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The error that broke the writer, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** The encoder. */
  get encoder(): FrameEncoder {
    return this.#encoder;
  }

  /**
   * Queues a frame. Resolves when the socket has taken it.
   *
   * @param frame The frame.
   * @returns A promise for the write.
   * @throws {ConnectionClosedError} (rejects) When a close frame was already queued.
   */
  write(frame: Frame): Promise<void> {
    const refusal = this.#refusal();
    if (refusal !== null) return rejected(refusal);
    let batch: Batch;
    try {
      batch = this.#append(frame);
    } catch (err) {
      return rejected(err);
    }
    if (frame.type === "close") this.#closed = true;
    const promise = this.#settle(batch);
    if (!this.#writing) this.#pump();
    return promise;
  }

  /**
   * Queues a frame without a promise of its own (a send that resolves at acceptance needs
   * none): a failure of its batch goes to {@linkcode FrameWriter.onError}.
   *
   * @param frame The frame, or a data frame encoded already (unmasked: server role only).
   * @returns `null`, or the error that refused the frame (a broken writer, a frame after the
   *   close frame, or a fragment the encoder refuses); nothing is queued then.
   */
  enqueue(frame: Frame | EncodedFrame): unknown {
    const refusal = this.#refusal();
    if (refusal !== null) return refusal;
    if (frame instanceof EncodedFrame) {
      if (this.#encoder.mask || this.#encoder.inMessage) {
        return new TypeError(
          this.#encoder.mask
            ? "An encoded frame cannot be sent on a connection that masks"
            : "Cannot send a message before the fragmented message is finished",
        );
      }
      this.#appendEncoded(frame.bytes);
    } else {
      try {
        this.#append(frame);
      } catch (err) {
        return err;
      }
      if (frame.type === "close") this.#closed = true;
    }
    if (!this.#writing) this.#pump();
    return null;
  }

  /**
   * Queues a control frame ahead of every queued data frame (a pong must not wait behind
   * megabytes of data). Resolves when the socket has taken it.
   *
   * @param frame A ping or pong frame (a close frame is queued as by `write`, in order).
   * @returns A promise for the write; rejects with a `TypeError` for a data frame.
   */
  writeUrgent(frame: Frame): Promise<void> {
    if (!frame.isControl) {
      return rejected(new TypeError(`Only control frames can jump the queue, got ${frame.type}`));
    }
    // While a write is in flight every urgent frame joins the urgent list (in order), even when
    // no data is queued yet: sending one through the batch would let a later urgent frame
    // overtake it (pongs to 10 pings came back out of order).
    if (frame.type === "close" || !this.#writing) return this.write(frame);
    const refusal = this.#refusal();
    if (refusal !== null) return rejected(refusal);
    const bytes = this.#encoder.encode(frame);
    if (this.#urgent === NO_URGENT) this.#urgent = [bytes];
    else this.#urgent.push(bytes);
    this.#queued += bytes.length;
    // Urgent bytes go out with the next batch, in front of it.
    return this.#settle(this.#next ??= newBatch());
  }

  /** Why nothing more may be queued (the writer broke, or a close frame was queued), or `null`. */
  #refusal(): unknown {
    if (this.#error !== null) return this.#error;
    return this.#closed ? closeSentError() : null;
  }

  /**
   * Resolves when every frame queued so far has been taken by the socket.
   *
   * @returns A promise that rejects if the writer broke.
   */
  flush(): Promise<void> {
    if (this.#error !== null) return rejected(this.#error);
    if (!this.#writing) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  /**
   * Calls `onRoom` once fewer than `bytes` are queued (at once when that is so already), or
   * `onFail` if the writer breaks first. One waiter at a time: a second call replaces the first.
   *
   * @param bytes The mark.
   * @param onRoom Called once there is room.
   * @param onFail Called with the error when the writer breaks.
   */
  whenBelow(bytes: number, onRoom: () => void, onFail: (err: unknown) => void): void {
    if (this.#error !== null) {
      onFail(this.#error);
      return;
    }
    if (this.#queued < bytes) {
      onRoom();
      return;
    }
    this.#roomMark = bytes;
    this.#onRoom = onRoom;
    this.#onNoRoom = onFail;
  }

  /**
   * Fails every queued write with `err` and refuses further writes.
   *
   * @param err The reason.
   */
  fail(err: unknown): void {
    if (this.#error !== null) return;
    this.#error = err;
    this.#closed = true;
    const batch = this.#next;
    if (batch !== null && batch.promise !== null) batch.reject(err);
    this.#next = null;
    this.#urgent = NO_URGENT;
    this.#queued = 0;
    const onNoRoom = this.#onNoRoom;
    this.#onRoom = this.#onNoRoom = null;
    onNoRoom?.(err);
    if (this.#idle) {
      this.#idle.promise.catch(() => {});
      this.#idle.reject(err);
      this.#idle = null;
    }
  }

  /**
   * The promise every writer of `batch` gets. A failure is reported to whoever awaits it, and to
   * {@linkcode FrameWriter.onError}; an unawaited write (fire and forget) never becomes an
   * unhandled rejection: the session surfaces the broken connection on its own.
   */
  #settle(batch: Batch): Promise<void> {
    if (batch.promise === null) {
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      promise.catch(this.onError ?? NOOP);
      batch.promise = promise;
      batch.resolve = resolve;
      batch.reject = reject;
    }
    return batch.promise;
  }

  /** Encodes `frame` into the pending batch. */
  #append(frame: Frame): Batch {
    const batch = this.#next ??= newBatch();
    this.#queued += appendFrame(batch, this.#encoder, frame);
    return batch;
  }

  /** Adds encoded bytes to the pending batch. */
  #appendEncoded(bytes: Uint8Array): void {
    this.#queued += appendBytes(this.#next ??= newBatch(), bytes);
  }

  /**
   * Writes batches until none is pending. Driven by the socket's write promises with callbacks
   * made once per writer rather than by an async function per batch: a small message then costs
   * no suspended function, only the socket's promise and one reaction.
   */
  #pump(): void {
    this.#writing = true;
    this.#onWrittenCb ??= (n) => this.#onWritten(n);
    this.#onFailedCb ??= (err) => this.#onFailed(err);
    this.#startBatch();
  }

  /** Takes the pending batch, urgent frames first, and writes it; or goes idle. */
  #startBatch(): void {
    const next = this.#next;
    if ((next === null || next.bytes === 0) && this.#urgent.length === 0) {
      this.#writing = false;
      if (this.#idle && this.#error === null) {
        this.#idle.resolve();
        this.#idle = null;
      }
      return;
    }
    const batch = next ?? newBatch();
    this.#next = this.#spare;
    this.#spare = null;
    if (batch.len > batch.mark) batch.parts.push(batch.buf.subarray(batch.mark, batch.len));
    const urgent = this.#urgent;
    let urgentBytes = 0;
    if (urgent.length > 0) {
      this.#urgent = NO_URGENT;
      for (let i = 0; i < urgent.length; i++) urgentBytes += urgent[i]!.length;
      batch.parts.unshift(...urgent);
    }
    this.#inflight = batch;
    this.#inflightUrgent = urgentBytes;
    this.#part = 0;
    this.#offset = 0;
    this.#writePart();
  }

  /** Writes (the rest of) the current part of the batch in flight. */
  #writePart(): void {
    const part = this.#inflight!.parts[this.#part]!;
    let written: Promise<number>;
    try {
      written = this.#sink.write(this.#offset === 0 ? part : part.subarray(this.#offset));
    } catch (err) {
      this.#onFailed(err);
      return;
    }
    written.then(this.#onWrittenCb, this.#onFailedCb);
  }

  #onWritten(n: number): void {
    const batch = this.#inflight!;
    this.#offset += n;
    if (this.#offset < batch.parts[this.#part]!.length) {
      this.#writePart();
      return;
    }
    this.#part++;
    this.#offset = 0;
    if (this.#part < batch.parts.length) {
      this.#writePart();
      return;
    }
    this.#queued -= batch.bytes + this.#inflightUrgent;
    if (this.#queued < 0) this.#queued = 0;
    const resolve = batch.promise !== null ? batch.resolve : null;
    // Reset and keep the buffer (and the parts array) for reuse.
    batch.parts.length = 0;
    batch.mark = 0;
    batch.len = 0;
    batch.bytes = 0;
    batch.promise = null;
    this.#inflight = null;
    this.#spare = batch;
    resolve?.();
    this.#startBatch();
    // After the next batch started: a waiter that queues more joins the batch after it.
    const onRoom = this.#onRoom;
    if (onRoom !== null && this.#queued < this.#roomMark) {
      this.#onRoom = this.#onNoRoom = null;
      onRoom();
    }
  }

  #onFailed(err: unknown): void {
    const batch = this.#inflight;
    this.#inflight = null;
    this.#writing = false;
    const wrapped = err instanceof ConnectionClosedError || err instanceof ConnectionError
      ? err
      : new ConnectionError("CONNECTION_RESET", "Failed to write to the socket", { cause: err });
    if (batch !== null && batch.promise !== null) batch.reject(wrapped);
    else this.onError?.(wrapped);
    this.fail(wrapped);
  }
}
