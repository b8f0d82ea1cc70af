/**
 * Message reassembly (RFC 6455 §5.4) for the protocol object: fragments in, whole messages out,
 * after the negotiated extensions (in reverse order of the server's list, §9.1), with the
 * UTF-8 check of a transformed text message and the message size limit enforced after them.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { WebSocketExtension } from "./extension.ts";
import { runIncomingExtensions } from "./extension_chain.ts";
import { type Frame, makeFrame } from "./frame.ts";
import type { FrameDecoder } from "./frame_decoder.ts";
import { Utf8Validator } from "./utf8.ts";

const EMPTY = new Uint8Array(0);

/**
 * Reassembles the data frames of one connection into messages. Control frames never reach it.
 *
 * @example
 * ```ts ignore
 * const assembler = new MessageAssembler(decoder, []);
 * assembler.push(Frame.text("Hel", { fin: false })); // null
 * assembler.push(new Frame("text", new TextEncoder().encode("lo"))); // the message "Hello"
 * ```
 */
export class MessageAssembler {
  readonly #decoder: FrameDecoder;
  readonly #extensions: readonly WebSocketExtension[];
  /** A pending (async) extension result, while the protocol waits for it. */
  #pending: Promise<void> | null = null;
  #ready: Frame | null = null;
  #closed = false;

  // The message being reassembled.
  #msgType: "text" | "binary" | null = null;
  #msgRsv = 0;
  #msgBuf: Uint8Array = EMPTY;
  #msgLen = 0;
  // Extension processing of the incoming message.
  #extInMessage = false;
  #extCheckUtf8 = false;
  #utf8: Utf8Validator | null = null;

  /**
   * Creates an assembler.
   *
   * @param decoder The connection's decoder (its limits and compressed RSV bit apply).
   * @param extensions The negotiated extensions.
   */
  constructor(decoder: FrameDecoder, extensions: readonly WebSocketExtension[]) {
    this.#decoder = decoder;
    this.#extensions = extensions;
  }

  /** Whether a message is half reassembled. */
  get inMessage(): boolean {
    return this.#msgType !== null;
  }

  /** The promise of an extension working asynchronously, if one is. */
  get pending(): Promise<void> | null {
    return this.#pending;
  }

  /** The message an asynchronous extension finished, once. */
  takeReady(): Frame | null {
    const ready = this.#ready;
    this.#ready = null;
    return ready;
  }

  /** Drops a half-assembled message (the connection is closing). */
  reset(): void {
    this.#closed = true;
    this.#msgType = null;
    this.#msgBuf = EMPTY;
  }

  /**
   * Takes a data frame.
   *
   * @param frame A text or binary frame (a whole message or a fragment).
   * @returns The complete message, or `null` (more fragments to come, or an extension is
   *   working: see `pending`).
   * @throws {ProtocolError} 1009 for a message over the limit, 1007 for invalid UTF-8 after
   *   an extension, or the extension's own error (1011 `EXTENSION_ERROR` for other failures).
   */
  push(frame: Frame): Frame | null {
    if (this.#extensions.length > 0) return this.#incomingThroughExtensions(frame);
    if (frame.fin && this.#msgType === null) return frame;
    return this.#append(frame);
  }

  /** Appends a fragment; returns the message at the final fragment. */
  #append(frame: Frame): Frame | null {
    const data = frame.data;
    if (this.#msgType === null) {
      this.#msgType = frame.type as "text" | "binary";
      this.#msgRsv = frame.rsvBits;
      this.#msgLen = 0;
      this.#msgBuf = frame.fin ? EMPTY : this.#newBuffer(data.length, 0);
    }
    const need = this.#msgLen + data.length;
    const max = this.#decoder.maxMessageSize;
    // Checked by the decoder already, unless an extension (decompression) grew the message.
    if (need > max) throw tooBig(need, max);
    if (need > this.#msgBuf.length) {
      const grown = this.#newBuffer(need, this.#msgBuf.length);
      grown.set(this.#msgBuf.subarray(0, this.#msgLen));
      this.#msgBuf = grown;
    }
    this.#msgBuf.set(data, this.#msgLen);
    this.#msgLen = need;
    if (!frame.fin) return null;
    const buf = this.#msgBuf;
    const len = this.#msgLen;
    // Trim a buffer that is more than a quarter empty; otherwise hand out a view of it.
    const out = len === buf.length
      ? buf
      : buf.length - len > len >> 2
      ? buf.slice(0, len)
      : buf.subarray(0, len);
    const type = this.#msgType;
    const rsv = this.#msgRsv;
    this.#msgType = null;
    this.#msgBuf = EMPTY;
    this.#msgLen = 0;
    return makeFrame(type, out, true, rsv);
  }

  /** A buffer for at least `need` bytes: doubling, at least 4 KiB, at most maxMessageSize. */
  #newBuffer(need: number, current: number): Uint8Array {
    const max = this.#decoder.maxMessageSize;
    const cap = Math.max(need, Math.min(Math.max(current * 2, need * 2, 4096), max));
    return new Uint8Array(cap);
  }

  /**
   * Runs a received data frame (one fragment) through the extensions in reverse order of the
   * server's list (RFC 6455 §9.1: the last one applied by the sender is undone first), checks
   * the text of a transformed message as UTF-8, then reassembles.
   */
  #incomingThroughExtensions(frame: Frame): Frame | null {
    if (!this.#extInMessage) {
      // First fragment: the decoder skipped the UTF-8 check of a text message with an
      // extension's RSV bit; check the extensions' output instead.
      this.#extCheckUtf8 = frame.type === "text" &&
        (frame.rsvBits & this.#decoder.compressedRsv) !== 0;
      if (this.#extCheckUtf8) (this.#utf8 ??= new Utf8Validator()).reset();
    }
    this.#extInMessage = !frame.fin;
    let out: Frame | Promise<Frame>;
    try {
      out = runIncomingExtensions(this.#extensions, frame);
    } catch (err) {
      throw incomingExtensionError(err);
    }
    if (out instanceof Promise) {
      this.#pending = this.#incomingAsync(frame, out);
      return null;
    }
    return this.#afterExtensions(frame, out);
  }

  /** Finishes an extension chain that went asynchronous; its result waits in `#ready`. */
  async #incomingAsync(frame: Frame, pending: Promise<Frame>): Promise<void> {
    let out: Frame;
    try {
      out = await pending;
    } catch (err) {
      throw incomingExtensionError(err);
    } finally {
      this.#pending = null;
    }
    if (!this.#closed) this.#ready = this.#afterExtensions(frame, out);
  }

  #afterExtensions(received: Frame, out: Frame): Frame | null {
    const max = this.#decoder.maxMessageSize;
    if (out.data.length > max) throw tooBig(out.data.length, max);
    if (this.#extCheckUtf8) {
      const utf8 = this.#utf8!;
      if (!utf8.update(out.data) || (received.fin && !utf8.finish())) {
        throw new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
      }
    }
    if (out.fin && this.#msgType === null) return out;
    return this.#append(out);
  }
}

function tooBig(size: number, max: number): ProtocolError {
  return new ProtocolError(
    "MESSAGE_TOO_BIG",
    1009,
    `Message is too big: ${size}. Max size is ${max}`,
  );
}

/** Maps an incoming extension failure to the protocol error that fails the session. */
function incomingExtensionError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(
    "EXTENSION_ERROR",
    1011,
    `Extension failed on an incoming message: ${err instanceof Error ? err.message : err}`,
    { cause: err },
  );
}
