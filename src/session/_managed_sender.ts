/**
 * The outgoing side of a managed session: `send()` and `flush()`, the extensions' chain (kept in
 * order when an extension or a `Blob` goes async), the bounded queue, the `outgoing` stream, and
 * send errors that say why the session closed.
 *
 * @module
 */

import { CloseReason, truncateUtf8 } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  WebSocketError,
} from "../core/errors.ts";
import { runOutgoingExtensions } from "../core/extension_chain.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import type { EncodedFrame } from "../core/encoded_frame.ts";
import { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import type { Link } from "./_link.ts";
import type { OutgoingOwner, SenderHost } from "./_managed_parts.ts";
import { OutgoingQueue, rejected } from "./_outgoing.ts";
import type { Sendable } from "./raw_session.ts";
import { blobBytes, NOT_SENDABLE, viewBytes } from "./session_types.ts";

const NOOP = (): void => {};

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The send path of a managed session. */
export class ManagedSender {
  readonly #protocol: Protocol;
  readonly #link: Link;
  readonly #extensions: readonly WebSocketExtension[];
  readonly #budget: number;
  readonly #host: SenderHost;
  /** `outgoing`, made on first use. */
  #outgoing: WritableStream<Frame> | null = null;
  #outController: WritableStreamDefaultController | null = null;
  /** The frames whose extension processing (or `Blob` read) is still pending. */
  #outTail: Promise<void> | null = null;
  /** The bounded queue between `send()` and the writer (made at the first send). */
  #out: OutgoingQueue | null = null;
  /** The last error {@linkcode withCloseReason} made, and the one it was made from. */
  #explained: { from: unknown; to: unknown } | null = null;
  /** The promise of the parked sends {@linkcode #explainParked} saw last, and its own. */
  #parkedFrom: Promise<void> | null = null;
  #parkedTo: Promise<void> | null = null;

  /**
   * Creates the send path of a session.
   *
   * @param link The socket.
   * @param host The session's ending.
   * @param options The protocol, the negotiated extensions and the outgoing bound in bytes.
   */
  constructor(
    link: Link,
    host: SenderHost,
    options: { protocol: Protocol; extensions: readonly WebSocketExtension[]; budget: number },
  ) {
    this.#link = link;
    this.#host = host;
    this.#protocol = options.protocol;
    this.#extensions = options.extensions;
    this.#budget = options.budget;
  }

  /**
   * Frames to the peer (made on first use).
   *
   * @param owner The session.
   * @returns The stream.
   */
  outgoing(owner: OutgoingOwner): WritableStream<Frame> {
    if (this.#outgoing === null) {
      this.#outgoing = new WritableStream<Frame>({
        start: (controller) => {
          this.#outController = controller;
          if (this.#host.finished) controller.error(this.#host.abortReason);
        },
        write: (frame) => this.#writeOutgoing(owner, frame),
        close: () => owner.flush(),
        abort: (reason) => owner.close(new CloseReason(1011, truncateUtf8(errorText(reason), 123))),
      });
    }
    return this.#outgoing;
  }

  /** Settles once the frames in the extensions' chain are queued (`null`: none pending). */
  get tail(): Promise<void> | null {
    return this.#outTail;
  }

  /**
   * Sends a message (see `ManagedWebSocketSession.send`).
   *
   * @param data What to send.
   * @param options Per-message hints for extensions.
   * @returns Resolves once the frame is accepted into the outgoing queue.
   */
  send(data: Sendable, options: OutgoingHints | undefined): Promise<void> {
    if (this.#host.finished || this.#protocol.closeSent) return rejected(this.sendError());
    let frame: Frame;
    if (typeof data === "string") {
      // No extensions: the string goes to the queue as it is (encoded at the writer).
      if (this.#extensions.length === 0 && this.#outTail === null) {
        const queued = this.#queue.send(data);
        return this.#out!.parked ? this.#explainParked(queued) : queued;
      }
      frame = Frame.text(data);
    } else if (data instanceof Uint8Array) frame = Frame.binary(data);
    else if (data instanceof Frame) frame = data;
    else if (data instanceof Blob) {
      // Read first, queued now: later sends wait behind it.
      return this.#chain(blobBytes(data).then((bytes) => Frame.binary(bytes)), null, 0, options);
    } else {
      const bytes = viewBytes(data);
      if (bytes === null) return Promise.reject(new TypeError(NOT_SENDABLE));
      frame = Frame.binary(bytes);
    }
    const type = frame.type;
    if (type === "close") {
      return this.#host.startClose(frame);
    }
    if (type === "text" || type === "binary") {
      if (this.#extensions.length > 0) return this.#sendThroughExtensions(frame, options);
      // Behind a Blob still being read.
      if (this.#outTail !== null) return this.#chain(frame, null, 0, options);
    }
    return this.#enqueue(frame);
  }

  /**
   * Resolves when everything sent so far has been taken by the socket (see
   * `ManagedWebSocketSession.flush`).
   *
   * @returns A promise for the queued frames.
   */
  async flush(): Promise<void> {
    try {
      if (this.#outTail !== null) await this.#outTail;
      while (this.#out?.parked) await this.#out.idle();
      await this.#link.writer.flush();
    } catch (err) {
      if (this.#host.finished && this.#protocol.error === null) return;
      throw this.withCloseReason(this.#protocol.error ?? err);
    }
  }

  /**
   * Queues our close frame after everything already sent (some may still be in the
   * extensions' chain, which a close frame skips).
   *
   * @param frame The close frame.
   * @returns Resolves once the frame is accepted.
   */
  queueClose(frame: Frame): Promise<void> {
    return this.#outTail !== null
      ? this.#chain(frame, null, this.#extensions.length, undefined)
      : this.#enqueue(frame);
  }

  /**
   * Writes the answer to the peer's close frame after the frames already sent, bypassing the
   * queue's bound.
   *
   * @param frame The close frame.
   * @returns Resolves once the socket took it.
   */
  writeCloseAnswer(frame: Frame): Promise<void> {
    return this.#outTail !== null
      ? this.#chain(frame, null, this.#extensions.length, undefined)
      : this.#link.writer.write(frame);
  }

  /**
   * Fails every parked send with `err`.
   *
   * @param err The error.
   */
  rejectAll(err: unknown): void {
    this.#out?.rejectAll(err);
  }

  /**
   * Errors `outgoing` (if made) at the end of the session.
   *
   * @param reason What `outgoing` errors with.
   */
  errorOutgoing(reason: unknown): void {
    try {
      this.#outController?.error(reason);
    } catch {
      // Already errored.
    }
  }

  /**
   * The error a send gets once the session is closed, or a close frame was sent.
   *
   * @returns The error.
   */
  sendError(): unknown {
    const protocol = this.#protocol;
    return this.withCloseReason(
      protocol.error ??
        new ConnectionClosedError(
          "SESSION_CLOSED",
          protocol.closeSent
            ? "Cannot send: a close frame was already sent"
            : "Cannot send: the session is closed",
          { closeReason: protocol.closeReason },
        ),
    );
  }

  /**
   * A connection error from a send, made to say why the session closed once that is known: the
   * close reason goes into the message (`Failed to write to the socket: the peer closed the
   * session with 1009 "Message is too big"`) and is the `cause`. Protocol errors, which say it
   * themselves, errors of a 1006 end (no close frame: nothing to add) and other errors pass
   * through unchanged.
   *
   * @param err The error.
   * @returns `err`, or the error that explains it.
   */
  withCloseReason(err: unknown): unknown {
    const reason = this.#protocol.closeReason ?? this.#protocol.receivedReason;
    // 1006 is no news: the connection broke, as the error already says.
    if (reason === null || reason.code === 1006 || err instanceof ProtocolError) return err;
    if (!(err instanceof ConnectionError || err instanceof ConnectionClosedError)) return err;
    if (err.cause === reason) return err;
    if (this.#explained?.from === err) return this.#explained.to;
    const who = this.#protocol.receivedReason === reason
      ? "the peer closed the session"
      : "the session closed";
    const why = `${reason.code}${reason.message ? ` ${JSON.stringify(reason.message)}` : ""}`;
    const message = `${err.message}: ${who} with ${why}`;
    const to = err instanceof ConnectionError
      ? new ConnectionError(err.code, message, { cause: reason })
      : new ConnectionClosedError(err.code, message, { cause: reason, closeReason: reason });
    this.#explained = { from: err, to };
    return to;
  }

  #writeOutgoing(owner: OutgoingOwner, frame: Frame): Promise<void> | undefined {
    if (!(frame instanceof Frame)) throw new TypeError("outgoing accepts Frame objects only");
    const p = owner.send(frame);
    // Within the outgoing bound the stream moves on at once; beyond it, the write waits.
    if (this.#host.finished || this.#protocol.closeSent || this.#out?.parked) return p;
    if (this.#outTail !== null) return p;
    return undefined;
  }

  /** Runs a data frame through the extensions in order, keeping async results in order. */
  #sendThroughExtensions(frame: Frame, hints: OutgoingHints | undefined): Promise<void> {
    if (this.#outTail === null) {
      let out: Frame | Promise<Frame>;
      try {
        out = runOutgoingExtensions(this.#extensions, frame, hints);
      } catch (err) {
        return this.#outgoingExtensionFailed(err);
      }
      return out instanceof Promise ? this.#chain(frame, out, 0, hints) : this.#enqueue(out);
    }
    return this.#chain(frame, null, 0, hints);
  }

  /**
   * Queues a frame behind the frames whose extension processing is still pending: `started`
   * is the pending result of the extensions (when processing went async at once), or `null` to
   * run them (`from` 0) or skip them (`from` = their count, for a close frame) once the
   * earlier frames are queued.
   */
  #chain(
    frame: Frame | Promise<Frame>,
    started: Promise<Frame> | null,
    from: number,
    hints: OutgoingHints | undefined,
  ): Promise<void> {
    const previous = this.#outTail;
    const exts = this.#extensions;
    // A `Blob` that could not be read fails its send only, not the session.
    let unreadable: { error: unknown } | null = null;
    const processed = (async () => {
      if (previous !== null) await previous;
      if (started !== null) return await started;
      let input: Frame;
      try {
        input = await frame;
      } catch (error) {
        unreadable = { error };
        return null;
      }
      return from < exts.length ? await runOutgoingExtensions(exts, input, hints) : input;
    })();
    let result: Promise<void> = Promise.resolve();
    const tail: Promise<void> = processed.then(
      (out) => {
        result = out === null ? Promise.reject(unreadable?.error) : this.#enqueue(out);
      },
      (err) => {
        result = this.#outgoingExtensionFailed(err);
      },
    );
    this.#outTail = tail;
    tail.then(() => {
      if (this.#outTail === tail) this.#outTail = null;
    });
    const done = tail.then(() => result);
    done.catch(NOOP);
    return done;
  }

  #outgoingExtensionFailed(err: unknown): Promise<void> {
    const wrapped = err instanceof WebSocketError ? err : new ProtocolError(
      "EXTENSION_ERROR",
      1011,
      `Extension failed on an outgoing message: ${errorText(err)}`,
      { cause: err },
    );
    this.#host.fail(wrapped, new CloseReason(1011, truncateUtf8(wrapped.message, 123)));
    return rejected(wrapped);
  }

  /** Hands a processed frame to the writer, in order, waiting while over the outgoing bound. */
  #enqueue(frame: Frame): Promise<void> {
    if (this.#host.finished) return rejected(this.sendError());
    const queued = this.#queue.send(frame);
    return this.#out!.parked ? this.#explainParked(queued) : queued;
  }

  /**
   * The promise of a parked send, whose failure (the writer's, when the socket breaks) says why
   * the session closed once that is known. Parked sends share a promise until the next drain:
   * so do their explained ones.
   */
  #explainParked(queued: Promise<void>): Promise<void> {
    if (this.#parkedFrom === queued) return this.#parkedTo!;
    const explained = queued.catch((err) => {
      throw this.withCloseReason(err);
    });
    explained.catch(NOOP);
    this.#parkedFrom = queued;
    this.#parkedTo = explained;
    return explained;
  }

  /** The outgoing queue (made at the first send: an idle session holds none). */
  get #queue(): OutgoingQueue {
    if (this.#out === null) {
      this.#out = new OutgoingQueue(this.#link.writer, {
        write: (frame) => this.#write(frame),
        ended: () => this.#host.finished,
        sendError: () => this.sendError(),
      }, this.#budget);
    }
    return this.#out;
  }

  /** Bytes queued for the socket, and waiting for room in the queue. */
  get queuedBytes(): number {
    return this.#link.writer.bufferedAmount + (this.#out?.parkedBytes ?? 0);
  }

  /** The outgoing queue's bound, in bytes. */
  get budget(): number {
    return this.#budget;
  }

  /**
   * Whether frames encoded once for many sessions can be sent as they are: no extension
   * transforms outgoing frames, and the connection does not mask.
   */
  get sharesEncoded(): boolean {
    return this.#extensions.length === 0 && this.#outTail === null &&
      !this.#link.writer.encoder.mask;
  }

  /**
   * Queues a data frame encoded already (a topic's message, shared with other sessions), in
   * order with `send`. Check {@linkcode ManagedSender.sharesEncoded} first.
   *
   * @param frame The encoded frame.
   * @returns Whether it was queued (`false`: the session no longer sends).
   */
  sendShared(frame: EncodedFrame): boolean {
    if (this.#host.finished || this.#protocol.closeSent) return false;
    this.#queue.offer(frame);
    return true;
  }

  /** Hands `frame` to the writer; returns `null` or the error that refused it. */
  #write(frame: Frame | EncodedFrame): unknown {
    const writer = this.#link.writer;
    // The writer calls it once per failed batch: it notices a broken socket. Set at the first
    // send, so that an idle session holds no closure.
    writer.onError ??= (err) => this.#host.onWriteError(err);
    const refused = writer.enqueue(frame);
    // Broken before this send (say, by a pong written before the first send): notice it now.
    if (writer.error !== null) this.#host.onWriteError(writer.error);
    return refused === null ? null : this.withCloseReason(refused);
  }
}
