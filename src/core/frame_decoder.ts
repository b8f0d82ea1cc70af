/**
 * The incremental frame decoder (RFC 6455 §5): bytes in, validated frames out.
 *
 * @module
 */

import { parseClosePayload } from "./close.ts";
import {
  frameTooBig,
  invalidUtf8,
  maskingError,
  messageTooBig,
  OPCODE_TYPES,
  readLength64,
  violation,
} from "./_frame_header.ts";
import { ProtocolError } from "./errors.ts";
import { type Frame, type FrameType, makeFrame } from "./frame.ts";
import { applyMask } from "./mask.ts";
import { Utf8Validator } from "./utf8.ts";

/** Options of {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Which end decodes: a `"server"` requires masked frames, a `"client"` refuses them.
   */
  role: "client" | "server";
  /**
   * The largest frame payload accepted, checked from the header before any payload is
   * buffered; a larger frame fails with close code 1009.
   * @default {16777216}
   */
  maxFrameSize?: number;
  /**
   * The largest data message (the sum of its fragments' payloads), checked from each header;
   * a larger message fails with close code 1009.
   * @default {Infinity}
   */
  maxMessageSize?: number;
  /**
   * RSV bits (as in the first header byte: 0x40, 0x20, 0x10) that negotiated extensions allow on
   * the first frame of a data message. Any other RSV bit is a protocol error.
   * @default {0}
   */
  allowedRsv?: number;
  /**
   * The RSV bit that marks a message as compressed (0x40 for permessage-deflate): the text of
   * such a message is not UTF-8 checked here, but after inflation.
   * @default {0}
   */
  compressedRsv?: number;
  /**
   * Whether to check that text messages are valid UTF-8 (failing with close code 1007).
   * @default {true}
   */
  validateUtf8?: boolean;
}

const HEADER = 0;
const PAYLOAD = 1;
const FAILED = 2;

const EMPTY = new Uint8Array(0);

/**
 * Decodes frames from bytes that may be split at any point. {@linkcode FrameDecoder.push}
 * hands over a chunk (the decoder owns it from then on and may unmask it in place);
 * {@linkcode FrameDecoder.next} returns the next complete frame or `null`.
 *
 * A payload that arrives whole in one chunk is returned as a view of that chunk, without a
 * copy. A payload split across chunks is collected into a buffer of the frame's exact size,
 * which is allocated only after the header's length passed the limits; an I/O layer can read
 * straight into {@linkcode FrameDecoder.payloadTarget} to skip one more copy.
 *
 * Every violation throws a {@linkcode ProtocolError} with the close code to send (1002, 1007 or
 * 1009); after that the decoder stays failed.
 *
 * @example RFC 6455 §5.7: a fragmented unmasked text message
 * ```ts
 * import { FrameDecoder } from "@wirestream/ws/raw";
 *
 * const decoder = new FrameDecoder({ role: "client" });
 * decoder.push(new Uint8Array([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]));
 * for (let frame = decoder.next(); frame; frame = decoder.next()) {
 *   console.log(frame.type, frame.fin, frame.data.length);
 * }
 * // text false 3
 * // text true 2
 * ```
 */
export class FrameDecoder {
  /** The largest frame payload accepted. */
  maxFrameSize: number;
  /** The largest data message accepted. */
  maxMessageSize: number;
  /** RSV bits allowed on the first frame of a data message. */
  allowedRsv: number;
  /** The RSV bit that marks a compressed message. */
  compressedRsv: number;
  readonly #server: boolean;
  readonly #validateUtf8: boolean;
  /** Made at the first checked text message (an idle connection holds none). */
  #utf8: Utf8Validator | null = null;

  #state = HEADER;
  #error: ProtocolError | null = null;
  /** Unparsed bytes. */
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  /** A header split across chunks is gathered here. */
  /** The start of a header split across chunks (made when one first is). */
  #hdr: Uint8Array | null = null;
  #hdrLen = 0;

  // The frame being decoded.
  #fin = false;
  #rsv = 0;
  #opcode = 0;
  #type: FrameType = "binary";
  #length = 0;
  #masked = false;
  /** The masking key of the current frame (made at the first masked frame). */
  #key: Uint8Array | null = null;
  #payload: Uint8Array = EMPTY;
  #filled = 0;

  // The data message in progress (opcode 1 or 2 when a fragment without FIN was seen).
  #messageOpcode = 0;
  #messageSize = 0;
  #checkText = false;
  /** Whether the current frame's payload is checked as UTF-8. */
  #frameText = false;

  /**
   * Creates a decoder.
   *
   * @param options The role and the limits.
   */
  constructor(options: FrameDecoderOptions) {
    if (options?.role !== "client" && options?.role !== "server") {
      throw new TypeError('FrameDecoder role must be "client" or "server"');
    }
    this.#server = options.role === "server";
    this.maxFrameSize = options.maxFrameSize ?? 16 * 1024 * 1024;
    this.maxMessageSize = options.maxMessageSize ?? Infinity;
    this.allowedRsv = options.allowedRsv ?? 0;
    this.compressedRsv = options.compressedRsv ?? 0;
    this.#validateUtf8 = options.validateUtf8 ?? true;
  }

  /** The number of bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buf.length - this.#pos + this.#hdrLen +
      (this.#state === PAYLOAD ? this.#filled : 0);
  }

  /** Whether a data message is partly received (a fragment without FIN came). */
  get inMessage(): boolean {
    return this.#messageOpcode !== 0;
  }

  /**
   * Hands over the next bytes. The decoder keeps views of `chunk` and may unmask it in place,
   * so the caller must not reuse it.
   *
   * @param chunk The received bytes.
   */
  push(chunk: Uint8Array): void {
    if (this.#state === FAILED || chunk.length === 0) return;
    if (this.#pos < this.#buf.length) {
      // next() was not called until it returned null: keep the unparsed bytes in front.
      const rest = this.#buf.subarray(this.#pos);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest, 0);
      joined.set(chunk, rest.length);
      chunk = joined;
    }
    this.#buf = chunk;
    this.#pos = 0;
  }

  /**
   * The unfilled part of the payload buffer of a frame split across chunks, or `null`.
   * An I/O layer may read into it and then call {@linkcode FrameDecoder.commit}.
   */
  get payloadTarget(): Uint8Array | null {
    if (this.#state !== PAYLOAD || this.#pos < this.#buf.length) return null;
    if (this.#filled >= this.#length) return null;
    return this.#payload.subarray(this.#filled);
  }

  /**
   * Records that `n` bytes were read into {@linkcode FrameDecoder.payloadTarget}.
   *
   * @param n The number of bytes read.
   */
  commit(n: number): void {
    if (this.#state !== PAYLOAD) throw new TypeError("No payload is being collected");
    if (n < 0 || this.#filled + n > this.#length) throw new RangeError("Commit out of range");
    this.#fillPayload(this.#filled, n);
  }

  /**
   * Returns the next complete frame, or `null` when more bytes are needed.
   *
   * @returns The frame or `null`.
   * @throws {ProtocolError} When the bytes break the protocol.
   */
  next(): Frame | null {
    if (this.#state === FAILED) throw this.#error!;
    try {
      if (this.#state === PAYLOAD) {
        const avail = this.#buf.length - this.#pos;
        if (avail > 0) {
          const n = Math.min(avail, this.#length - this.#filled);
          this.#payload.set(this.#buf.subarray(this.#pos, this.#pos + n), this.#filled);
          this.#pos += n;
          this.#fillPayload(this.#filled, n);
        }
        if (this.#filled < this.#length) return null;
        this.#state = HEADER;
        return this.#finish(this.#payload);
      }
      if (this.#hdrLen > 0) {
        if (!this.#completeSplitHeader()) return null;
      } else if (this.#pos >= this.#buf.length) {
        // Every byte consumed (the usual end of a read): let go of the chunk.
        this.#buf = EMPTY;
        this.#pos = 0;
        return null;
      } else if (this.#readHeader(this.#buf, this.#pos) === 0) {
        this.#saveHeaderBytes();
        return null;
      }
      const avail = this.#buf.length - this.#pos;
      const length = this.#length;
      if (avail >= length) {
        const start = this.#pos;
        this.#pos = start + length;
        const buf = this.#buf;
        // The constructor, not subarray(): no species lookup, about 1.5x faster per view.
        const data = length === 0
          ? EMPTY
          : new Uint8Array(buf.buffer, buf.byteOffset + start, length);
        if (this.#masked && length > 0) applyMask(data, this.#key!);
        if (this.#frameText && length > 0 && !this.#utf8!.update(data)) throw invalidUtf8();
        return this.#finish(data);
      }
      // The payload continues in later chunks.
      this.#payload = new Uint8Array(length);
      this.#payload.set(this.#buf.subarray(this.#pos), 0);
      this.#state = PAYLOAD;
      this.#filled = 0;
      this.#pos = this.#buf.length;
      this.#fillPayload(0, avail);
      return null;
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#state = FAILED;
        this.#error = err;
        this.#buf = EMPTY;
        this.#payload = EMPTY;
      }
      throw err;
    }
  }

  /** Unmasks and (for text) checks `n` newly arrived payload bytes at `from`. */
  #fillPayload(from: number, n: number): void {
    if (n === 0) return;
    const part = this.#payload.subarray(from, from + n);
    if (this.#masked) applyMask(part, this.#key!, from & 3);
    this.#filled = from + n;
    if (this.#frameText && !this.#utf8!.update(part)) throw invalidUtf8();
  }

  /** Keeps the bytes of a header that is not complete yet. */
  #saveHeaderBytes(): void {
    const rest = this.#buf.subarray(this.#pos);
    (this.#hdr ??= new Uint8Array(14)).set(rest, 0);
    this.#hdrLen = rest.length;
    this.#buf = EMPTY;
    this.#pos = 0;
  }

  /** Completes a header whose first bytes came in an earlier chunk. */
  #completeSplitHeader(): boolean {
    const had = this.#hdrLen;
    const take = Math.min(14 - had, this.#buf.length - this.#pos);
    const hdr = this.#hdr!;
    hdr.set(this.#buf.subarray(this.#pos, this.#pos + take), had);
    const size = this.#readHeader(hdr.subarray(0, had + take), 0);
    if (size === 0) {
      this.#hdrLen = had + take;
      this.#pos += take;
      return false;
    }
    this.#hdrLen = 0;
    this.#pos += size - had;
    return true;
  }

  /**
   * Parses and checks a header at `buf[pos]`. Returns its size and moves `#pos` past it, or 0
   * when the header is incomplete.
   */
  #readHeader(buf: Uint8Array, pos: number): number {
    const avail = buf.length - pos;
    if (avail < 2) return 0;
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    const size = 2 + (masked ? 4 : 0) + (length === 126 ? 2 : length === 127 ? 8 : 0);
    if (avail < size) return 0;

    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const type = OPCODE_TYPES[opcode];

    if (opcode === 0) {
      if (this.#messageOpcode === 0) {
        throw violation("Continuation frame without a message to continue");
      }
      if (rsv !== 0) throw violation("RSV bits set on a continuation frame");
    } else if (type === undefined) {
      throw violation(`Unsupported opcode: ${opcode}`);
    } else if (opcode >= 8) {
      if (!fin) throw violation("Control frames must not be fragmented");
      if (length > 125) throw violation("Control frames must not be larger than 125 bytes");
      if (rsv !== 0) throw violation("RSV bits set on a control frame");
    } else {
      if (this.#messageOpcode !== 0) {
        throw violation("Can't start a new data message before finishing the previous one");
      }
      if ((rsv & ~this.allowedRsv) !== 0) {
        throw violation("RSV bits set without a negotiated extension");
      }
    }
    if (masked !== this.#server) throw maskingError(this.#server);

    let p = pos + 2;
    if (length === 126) {
      length = (buf[p]! << 8) | buf[p + 1]!;
      p += 2;
    } else if (length === 127) {
      length = readLength64(buf, p);
      p += 8;
    }
    if (length > this.maxFrameSize) throw frameTooBig(length, this.maxFrameSize);
    if (masked) {
      const key = this.#key ??= new Uint8Array(4);
      key[0] = buf[p]!;
      key[1] = buf[p + 1]!;
      key[2] = buf[p + 2]!;
      key[3] = buf[p + 3]!;
    }

    if (opcode < 8) {
      // Data frame: message bookkeeping.
      if (opcode !== 0) {
        this.#messageSize = 0;
        this.#checkText = opcode === 1 && this.#validateUtf8 &&
          (rsv & this.compressedRsv) === 0;
        if (this.#checkText) (this.#utf8 ??= new Utf8Validator()).reset();
      }
      this.#messageSize += length;
      if (this.#messageSize > this.maxMessageSize) {
        throw messageTooBig(this.#messageSize, this.maxMessageSize);
      }
      const messageOpcode = opcode === 0 ? this.#messageOpcode : opcode;
      this.#type = OPCODE_TYPES[messageOpcode]!;
      this.#messageOpcode = fin ? 0 : messageOpcode;
      this.#frameText = this.#checkText;
    } else {
      this.#type = type!;
      this.#frameText = false;
    }
    this.#fin = fin;
    this.#rsv = rsv;
    this.#opcode = opcode;
    this.#length = length;
    this.#masked = masked;
    if (buf === this.#buf) this.#pos = pos + size;
    return size;
  }

  /** Final checks on a complete payload, then the frame. */
  #finish(data: Uint8Array): Frame {
    const opcode = this.#opcode;
    if (opcode >= 8) {
      if (opcode === 8) parseClosePayload(data);
    } else if (this.#frameText && this.#fin && !this.#utf8!.finish()) {
      throw invalidUtf8();
    }
    return makeFrame(this.#type, data, this.#fin, this.#rsv);
  }
}
