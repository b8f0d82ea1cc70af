/**
 * The permessage-deflate extension on one connection (RFC 7692 §6, §7.2), without the
 * compressor: RSV1 on the first frame of a compressed message only, control frames untouched,
 * the decompressed size counted across the fragments of a message.
 *
 * The DEFLATE byte transform itself is behind two small interfaces,
 * {@linkcode DeflateCompressor} and {@linkcode DeflateDecompressor}; the zlib-backed ones live in
 * the transport layer and `perMessageDeflate()` wires everything together. Negotiation is in
 * `deflate_negotiation.ts`, the parameters in `deflate_params.ts`.
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError } from "./errors.ts";
import { type Frame, makeFrame, RSV1 } from "./frame.ts";
import type { ExtensionOffer } from "./extension_header.ts";
import type { OutgoingHints, WebSocketExtension } from "./extension.ts";
import { type DeflateParameters, PERMESSAGE_DEFLATE } from "./deflate_params.ts";

/**
 * A DEFLATE compressor for one direction of one connection (RFC 7692 §7.2.1). It keeps or drops
 * its LZ77 context between messages as negotiated.
 */
export interface DeflateCompressor {
  /**
   * Compresses one frame's payload and flushes to a byte boundary (`Z_SYNC_FLUSH`). On the last
   * frame of a message the trailing `00 00 ff ff` is removed (an empty message gives `00`).
   *
   * @param data The payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @returns The compressed bytes (owned by the caller).
   */
  compress(data: Uint8Array, first: boolean, last: boolean): Uint8Array;
  /** Releases the compressor. */
  dispose(): void;
}

/**
 * A DEFLATE decompressor for one direction of one connection (RFC 7692 §7.2.2).
 */
export interface DeflateDecompressor {
  /**
   * Decompresses one frame's payload; after the last frame of a message, inflates
   * `00 00 ff ff` too. Stops as soon as more than `limit` bytes would come out, without
   * producing them.
   *
   * @param data The compressed payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @param limit How many bytes may come out of this frame.
   * @returns The bytes (owned by the caller), or `null` when the limit was passed.
   * @throws {Error} When the data is not valid DEFLATE (the decompressor is then unusable).
   */
  decompress(data: Uint8Array, first: boolean, last: boolean, limit: number): Uint8Array | null;
  /** Releases the decompressor. */
  dispose(): void;
}

/** Per-connection behaviour of {@linkcode PerMessageDeflate} beyond the negotiated parameters. */
export interface PerMessageDeflateRuntime {
  /**
   * Messages whose first frame carries fewer bytes are sent uncompressed.
   * @default {0}
   */
  threshold?: number;
  /**
   * Called with the first frame of each outgoing message; `false` sends the message
   * uncompressed. Combined with `threshold` (both must allow compression).
   * @default {undefined}
   */
  compressIf?: (frame: Frame) => boolean;
  /**
   * The largest decompressed message, in bytes; a larger one fails with close code 1009.
   * @default {Infinity}
   */
  maxInflatedSize?: number;
}

const IDLE = 0;
const COMPRESSED = 1;
const PLAIN = 2;
const FAILED = 3;

/**
 * The `permessage-deflate` extension on one connection (a {@linkcode WebSocketExtension}):
 *
 * - Outgoing: the first frame of a message decides (hint `compress: false`, `threshold`,
 *   `compressIf`); a compressed message has RSV1 on its first frame only and every fragment
 *   compressed in order. A frame that already has RSV1 is taken as compressed by the caller and
 *   passes through untouched, with the rest of its message.
 * - Incoming: a message whose first frame has RSV1 is decompressed fragment by fragment (RSV1
 *   cleared); other messages pass through. The decompressed size is counted across the message
 *   and limited (1009); corrupt data fails with 1007 for text and 1002 for binary; RSV1 on a
 *   continuation frame fails with 1002.
 * - Control frames are never touched.
 *
 * The frames of one connection must come in order, one message at a time in each direction
 * (RFC 6455 forbids interleaving data messages); the compressor and decompressor answer
 * synchronously, so no other work can slip between two frames of a message.
 */
export class PerMessageDeflate implements WebSocketExtension {
  /** `permessage-deflate`. */
  readonly name: string = PERMESSAGE_DEFLATE;
  /** RSV1. */
  readonly rsv: number = RSV1;
  /** The response entry agreed in the handshake. */
  readonly params: ExtensionOffer;
  /** The agreed parameters. */
  readonly parameters: DeflateParameters;
  /** Which end this is. */
  readonly role: "client" | "server";
  readonly #compressor: DeflateCompressor;
  readonly #decompressor: DeflateDecompressor;
  readonly #threshold: number;
  readonly #compressIf: ((frame: Frame) => boolean) | undefined;
  readonly #maxInflatedSize: number;
  #out = IDLE;
  #in = IDLE;
  #inflated = 0;
  #error: ProtocolError | null = null;
  #disposed = false;

  /**
   * Creates the extension for one connection. `perMessageDeflate()` does this during the
   * handshake; call it directly only to plug in another compressor.
   *
   * @param init The role, the agreed entry and parameters, the compressor pair and the runtime
   *   settings.
   */
  constructor(
    init: {
      role: "client" | "server";
      response: ExtensionOffer;
      parameters: DeflateParameters;
      compressor: DeflateCompressor;
      decompressor: DeflateDecompressor;
    } & PerMessageDeflateRuntime,
  ) {
    this.role = init.role;
    this.params = init.response;
    this.parameters = init.parameters;
    this.#compressor = init.compressor;
    this.#decompressor = init.decompressor;
    this.#threshold = init.threshold ?? 0;
    this.#compressIf = init.compressIf;
    this.#maxInflatedSize = init.maxInflatedSize ?? Infinity;
  }

  /** The largest decompressed message accepted. */
  get maxInflatedSize(): number {
    return this.#maxInflatedSize;
  }

  #checkOpen(): void {
    if (this.#disposed) {
      throw new ConnectionClosedError("SESSION_CLOSED", "permessage-deflate was disposed");
    }
  }

  /**
   * Compresses an outgoing data frame when its message is to be compressed.
   *
   * @param frame A data frame (whole message or fragment).
   * @param hints `compress: false` sends the message uncompressed.
   * @returns The frame to write.
   * @throws {TypeError} When RSV1 is set on a frame that does not start a message.
   */
  processOutgoing(frame: Frame, hints?: OutgoingHints): Frame {
    this.#checkOpen();
    if (frame.isControl) return frame;
    if (this.#out === IDLE) {
      if (frame.rsv1) {
        if (!frame.fin) this.#out = PLAIN;
        return frame;
      }
      const compress = hints?.compress !== false && frame.data.length >= this.#threshold &&
        (this.#compressIf === undefined || this.#compressIf(frame));
      if (!compress) {
        if (!frame.fin) this.#out = PLAIN;
        return frame;
      }
      const data = this.#compressor.compress(frame.data, true, frame.fin);
      if (!frame.fin) this.#out = COMPRESSED;
      return makeFrame(frame.type, data, frame.fin, frame.rsvBits | RSV1);
    }
    if (frame.rsv1) {
      throw new TypeError("RSV1 may only be set on the first frame of a message");
    }
    if (frame.fin) {
      const state = this.#out;
      this.#out = IDLE;
      if (state === PLAIN) return frame;
      return makeFrame(
        frame.type,
        this.#compressor.compress(frame.data, false, true),
        true,
        frame.rsvBits,
      );
    }
    if (this.#out === PLAIN) return frame;
    return makeFrame(
      frame.type,
      this.#compressor.compress(frame.data, false, false),
      false,
      frame.rsvBits,
    );
  }

  /**
   * Decompresses an incoming data frame of a compressed message.
   *
   * @param frame A data frame as received.
   * @returns The frame to deliver (RSV1 cleared).
   * @throws {ProtocolError} 1009 over the size limit, 1007/1002 on corrupt data, 1002 on RSV1
   *   in a continuation frame.
   */
  processIncoming(frame: Frame): Frame {
    this.#checkOpen();
    if (this.#error) throw this.#error;
    if (frame.isControl) {
      if (frame.rsv1) throw this.#fail("PROTOCOL_ERROR", 1002, "RSV1 set on a control frame");
      return frame;
    }
    let first = false;
    if (this.#in === IDLE) {
      if (!frame.rsv1) {
        if (!frame.fin) this.#in = PLAIN;
        return frame;
      }
      first = true;
      this.#in = COMPRESSED;
      this.#inflated = 0;
    } else if (frame.rsv1) {
      throw this.#fail("PROTOCOL_ERROR", 1002, "RSV1 set on a continuation frame");
    } else if (this.#in === PLAIN) {
      if (frame.fin) this.#in = IDLE;
      return frame;
    }
    const limit = this.#maxInflatedSize - this.#inflated;
    let data: Uint8Array | null;
    try {
      data = this.#decompressor.decompress(frame.data, first, frame.fin, limit);
    } catch (cause) {
      const code = frame.type === "text" ? 1007 : 1002;
      throw this.#fail(
        "EXTENSION_ERROR",
        code,
        `Invalid compressed data: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
    if (data === null) {
      throw this.#fail(
        "MESSAGE_TOO_BIG",
        1009,
        `Decompressed message exceeds ${this.#maxInflatedSize} bytes`,
      );
    }
    this.#inflated += data.length;
    if (frame.fin) this.#in = IDLE;
    return makeFrame(frame.type, data, frame.fin, frame.rsvBits & ~RSV1);
  }

  #fail(
    code: "PROTOCOL_ERROR" | "EXTENSION_ERROR" | "MESSAGE_TOO_BIG",
    closeCode: number,
    message: string,
    cause?: unknown,
  ): ProtocolError {
    this.#in = FAILED;
    this.#error = new ProtocolError(code, closeCode, message, { cause });
    return this.#error;
  }

  /** Releases the compressor and decompressor. Later calls fail with `SESSION_CLOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      this.#compressor.dispose();
    } finally {
      this.#decompressor.dispose();
    }
  }
}
