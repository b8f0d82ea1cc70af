/**
 * Frame encoding (RFC 6455 §5.2): minimal length encoding, masking with a fresh key per frame,
 * continuation opcodes for user-fragmented messages.
 *
 * @module
 */

import type { Frame } from "./frame.ts";
import { applyMask, maskInto, writeMaskKey } from "./mask.ts";

/** The largest frame header: 2 bytes, 8 bytes of length, 4 bytes of mask key. */
export const MAX_HEADER_SIZE = 14;

/**
 * The size of a frame header for a payload of `length` bytes.
 *
 * @example
 * ```ts
 * import { frameHeaderSize } from "./frame_encoder.ts";
 *
 * console.log(frameHeaderSize(125, false), frameHeaderSize(126, false), frameHeaderSize(65536, true));
 * // 2 4 14
 * ```
 *
 * @param length The payload length.
 * @param masked Whether a mask key follows the length.
 * @returns The header size in bytes.
 */
export function frameHeaderSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * @internal Writes a frame header into `out` at `offset`. With `masked`, a fresh mask key is
 * written as the header's last 4 bytes. The encoder's plumbing, with positional arguments so
 * that nothing is allocated per frame; use {@linkcode FrameEncoder} or {@linkcode encodeFrame}.
 *
 * @example
 * ```ts
 * import { writeFrameHeader } from "./frame_encoder.ts";
 *
 * const out = new Uint8Array(14);
 * const end = writeFrameHeader(out, 0, 0x81, 5, false);
 * console.log(out.subarray(0, end)); // Uint8Array(2) [ 129, 5 ]
 * ```
 *
 * @param out The output buffer (at least {@linkcode frameHeaderSize} bytes from `offset`).
 * @param offset Where the header starts.
 * @param firstByte FIN, RSV bits and opcode.
 * @param length The payload length.
 * @param masked Whether to set the mask bit and write a mask key.
 * @returns The offset just past the header.
 */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  firstByte: number,
  length: number,
  masked: boolean,
): number {
  const maskBit = masked ? 0x80 : 0;
  out[offset] = firstByte;
  let pos = offset + 2;
  if (length < 126) {
    out[offset + 1] = maskBit | length;
  } else if (length < 65536) {
    out[offset + 1] = maskBit | 126;
    out[offset + 2] = length >>> 8;
    out[offset + 3] = length & 0xff;
    pos = offset + 4;
  } else {
    out[offset + 1] = maskBit | 127;
    const hi = Math.floor(length / 0x100000000);
    out[offset + 2] = hi >>> 24;
    out[offset + 3] = (hi >>> 16) & 0xff;
    out[offset + 4] = (hi >>> 8) & 0xff;
    out[offset + 5] = hi & 0xff;
    out[offset + 6] = length >>> 24;
    out[offset + 7] = (length >>> 16) & 0xff;
    out[offset + 8] = (length >>> 8) & 0xff;
    out[offset + 9] = length & 0xff;
    pos = offset + 10;
  }
  if (masked) {
    writeMaskKey(out, pos);
    pos += 4;
  }
  return pos;
}

/** Options of {@linkcode FrameEncoder}. */
export interface FrameEncoderOptions {
  /**
   * Whether to mask payloads: clients must (RFC 6455 §5.3), servers must not.
   * @default {false}
   */
  mask?: boolean;
}

/** The key of the frame being masked, shared by every encoder (used synchronously). */
const SCRATCH_KEY = new Uint8Array(4);

/**
 * Encodes frames for one connection. It tracks user-fragmented messages so that the second and
 * later fragments go out as continuation frames; control frames may interleave; starting a
 * different data message before the current one is finished is refused.
 *
 * @example
 * ```ts
 * import { Frame, FrameEncoder } from "@wirestream/ws/raw";
 *
 * const encoder = new FrameEncoder({ mask: false });
 * console.log(encoder.encode(Frame.text("Hel", { fin: false }))); // Uint8Array(5) [ 1, 3, 72, 101, 108 ]
 * console.log(encoder.encode(Frame.text("lo"))); // Uint8Array(4) [ 128, 2, 108, 111 ]
 * ```
 */
export class FrameEncoder {
  /** Whether payloads are masked. */
  mask: boolean;
  #inMessage: "text" | "binary" | null = null;

  /**
   * Creates an encoder.
   *
   * @param options Whether to mask.
   */
  constructor(options?: FrameEncoderOptions) {
    this.mask = options?.mask ?? false;
  }

  /** Whether a fragmented data message has been started but not finished. */
  get inMessage(): boolean {
    return this.#inMessage !== null;
  }

  /**
   * Checks the frame against the fragmentation state, advances it, and returns the header's
   * first byte (FIN, RSV bits, opcode: 0 for a continuation).
   *
   * @param frame The frame about to be written.
   * @returns The first header byte.
   * @throws {TypeError} When a data frame of another type interrupts a fragmented message.
   */
  firstByte(frame: Frame): number {
    let opcode = frame.opcode;
    if (opcode < 8) {
      const type = frame.type as "text" | "binary";
      if (this.#inMessage !== null) {
        if (this.#inMessage !== type) {
          throw new TypeError(
            `Cannot send a ${type} frame before the fragmented ${this.#inMessage} message is finished`,
          );
        }
        opcode = 0;
      }
      this.#inMessage = frame.fin ? null : type;
    }
    return (frame.fin ? 0x80 : 0) | frame.rsvBits | opcode;
  }

  /**
   * The number of bytes {@linkcode FrameEncoder.encodeInto} writes for `frame`.
   *
   * @param frame The frame.
   * @returns Header plus payload size.
   */
  encodedSize(frame: Frame): number {
    return frameHeaderSize(frame.data.length, this.mask) + frame.data.length;
  }

  /**
   * Encodes `frame` into `out` at `offset` (header and, masked if need be, payload).
   *
   * @param frame The frame.
   * @param out A buffer with at least {@linkcode FrameEncoder.encodedSize} bytes from `offset`.
   * @param offset Where to write.
   * @returns The offset just past the frame.
   */
  encodeInto(frame: Frame, out: Uint8Array, offset: number): number {
    const data = frame.data;
    const pos = writeFrameHeader(out, offset, this.firstByte(frame), data.length, this.mask);
    if (this.mask) {
      // Copied from the header (no view per frame) into a buffer every encoder shares: masking
      // is synchronous, and an encoder holds no buffer of its own.
      const key = SCRATCH_KEY;
      key[0] = out[pos - 4]!;
      key[1] = out[pos - 3]!;
      key[2] = out[pos - 2]!;
      key[3] = out[pos - 1]!;
      maskInto(data, key, out, pos);
    } else {
      out.set(data, pos);
    }
    return pos + data.length;
  }

  /**
   * Encodes `frame` into a new buffer.
   *
   * @param frame The frame.
   * @returns The frame's bytes.
   */
  encode(frame: Frame): Uint8Array {
    const out = new Uint8Array(this.encodedSize(frame));
    this.encodeInto(frame, out, 0);
    return out;
  }

  /**
   * Encodes only the header of `frame` into `out`; for an unmasked frame the payload can then be
   * written as it is, without a copy. For a masked frame, use {@linkcode FrameEncoder.encodeInto}.
   *
   * @param frame The frame.
   * @param out A buffer with at least 14 bytes from `offset`.
   * @param offset Where to write.
   * @returns The offset just past the header.
   */
  encodeHeaderInto(frame: Frame, out: Uint8Array, offset: number): number {
    return writeFrameHeader(out, offset, this.firstByte(frame), frame.data.length, this.mask);
  }
}

/**
 * Encodes one frame with no fragmentation state (a frame with `fin` unset is written with its
 * own opcode), for tests and one-off use; `maskKey` makes the output deterministic.
 *
 * @example RFC 6455 §5.7: a single-frame unmasked text message
 * ```ts
 * import { encodeFrame, Frame } from "@wirestream/ws/raw";
 *
 * console.log(encodeFrame(Frame.text("Hello")));
 * // Uint8Array(7) [ 129, 5, 72, 101, 108, 108, 111 ]
 * ```
 *
 * @param frame The frame.
 * @param options `maskKey` to mask with that key, `continuation` to write opcode 0.
 * @returns The frame's bytes.
 */
export function encodeFrame(
  frame: Frame,
  options?: { maskKey?: Uint8Array; continuation?: boolean },
): Uint8Array {
  const key = options?.maskKey;
  const data = frame.data;
  const out = new Uint8Array(frameHeaderSize(data.length, key !== undefined) + data.length);
  const opcode = options?.continuation ? 0 : frame.opcode;
  let pos = writeFrameHeader(
    out,
    0,
    (frame.fin ? 0x80 : 0) | frame.rsvBits | opcode,
    data.length,
    false,
  );
  if (key !== undefined) {
    out[1]! |= 0x80;
    out.set(key.subarray(0, 4), pos);
    pos += 4;
    out.set(data, pos);
    applyMask(out.subarray(pos), key);
  } else {
    out.set(data, pos);
  }
  return out;
}
