/**
 * The zlib-backed DEFLATE byte transform for permessage-deflate: a
 * {@linkcode ZlibCompressor} and a {@linkcode ZlibDecompressor} per connection.
 *
 * They drive `node:zlib`'s raw deflate handle synchronously (`handle.writeSync` with
 * `Z_SYNC_FLUSH`, the call Node's own `deflateRawSync` is built on), which keeps the LZ77 context
 * between messages, needs no event-loop turn per message, and lets inflation stop at a size
 * limit. The public stream API (`write` + `flush(Z_SYNC_FLUSH, cb)`) keeps context too, but
 * costs several ticks per message (about 4x slower for 1 KiB messages); `deflateRawSync` starts
 * a fresh stream every call.
 *
 * Memory:
 *
 * - zlib state is created on first use, so a connection that never compresses holds none;
 * - without context takeover a whole-message frame is compressed and inflated with a handle
 *   shared by every connection with the same settings (calls are synchronous, so they cannot
 *   interleave), and a fragmented message gets its own handle only until its last frame: an
 *   idle connection holds no zlib state at all;
 * - output goes through one module-wide scratch buffer and is copied out at its exact size.
 *
 * @module
 */

import { dropNative, Native, Output, pump, sharedNative, TAIL } from "./_zlib.ts";

/** Payloads up to this size are inflated together with the tail in one call. */
const JOIN_LIMIT = 16 * 1024;
let joinBuffer: Uint8Array | null = null;

/** Settings of a {@linkcode ZlibCompressor}. */
export interface ZlibCompressorOptions {
  /**
   * The agreed LZ77 window, 8-15 (8 is compressed with zlib's 9, whose matches never reach
   * back more than 250 bytes).
   * @default {15}
   */
  windowBits?: number;
  /**
   * Whether to drop the context after every message.
   * @default {false}
   */
  noContextTakeover?: boolean;
  /**
   * zlib compression level, 0-9 (-1: zlib's default, 6).
   * @default {-1}
   */
  level?: number;
  /**
   * zlib memLevel, 1-9: memory for the match finder (more is faster and smaller output).
   * @default {8}
   */
  memLevel?: number;
}

/**
 * Compresses one direction of one connection with zlib raw deflate and `Z_SYNC_FLUSH`
 * (RFC 7692 §7.2.1). Synchronous.
 *
 * @example
 * ```ts
 * import { ZlibCompressor } from "./deflate.ts";
 *
 * const c = new ZlibCompressor();
 * const hello = new TextEncoder().encode("Hello");
 * console.log(c.compress(hello, true, true)); // Uint8Array(7) [242, 72, 205, 201, 201, 7, 0]
 * console.log(c.compress(hello, true, true)); // Uint8Array(5) [242, 0, 17, 0, 0]
 * c.dispose();
 * ```
 */
export class ZlibCompressor {
  readonly #windowBits: number;
  readonly #noContextTakeover: boolean;
  readonly #level: number;
  readonly #memLevel: number;
  #own: Native | null = null;
  #disposed = false;

  /**
   * Creates a compressor; zlib state is allocated on first use.
   *
   * @param options Window, context takeover, level and memLevel.
   * @throws {RangeError} On a setting out of range.
   */
  constructor(options?: ZlibCompressorOptions) {
    const windowBits = options?.windowBits ?? 15;
    checkInt("windowBits", windowBits, 8, 15);
    this.#level = options?.level ?? -1;
    checkInt("level", this.#level, -1, 9);
    this.#memLevel = options?.memLevel ?? 8;
    checkInt("memLevel", this.#memLevel, 1, 9);
    this.#windowBits = Math.max(9, windowBits);
    this.#noContextTakeover = options?.noContextTakeover ?? false;
  }

  /**
   * Compresses one frame's payload (see `DeflateCompressor.compress`).
   *
   * @param data The payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @returns The compressed bytes, without the `00 00 ff ff` tail when `last`.
   */
  compress(data: Uint8Array, first: boolean, last: boolean): Uint8Array {
    if (this.#disposed) throw new TypeError("The compressor was disposed");
    let native = this.#own;
    let key: string | null = null;
    if (native === null) {
      if (this.#noContextTakeover && first && last) {
        ({ key, native } = sharedNative(false, this.#windowBits, this.#level, this.#memLevel));
        native.reset();
      } else {
        native = this.#own = new Native(false, this.#windowBits, this.#level, this.#memLevel);
      }
    }
    const out = new Output();
    try {
      pump(native, data, out, Infinity);
    } catch (err) {
      this.#drop(native, key);
      throw err;
    }
    let result: Uint8Array;
    if (!last) {
      result = out.take(0);
    } else if (out.endsWithTail()) {
      result = out.take(4);
    } else {
      // RFC 7692 §7.2.1: the data must end with an empty stored block before 4 bytes are
      // removed. zlib emits none when a sync flush follows another with no input in between
      // (an empty last fragment, an empty message after another): append `00 00 00 ff ff` and
      // remove the 4 bytes, which leaves a single 0x00 (RFC 7692 §7.2.3.6).
      const body = out.take(0);
      result = new Uint8Array(body.length + 1);
      result.set(body);
    }
    if (last && this.#noContextTakeover && native === this.#own) {
      // A fragmented message without context takeover: let go of its stream.
      native.close();
      this.#own = null;
    }
    return result;
  }

  #drop(native: Native, key: string | null): void {
    dropNative(native, key);
    if (native === this.#own) this.#own = null;
  }

  /** Releases the zlib stream. */
  dispose(): void {
    this.#disposed = true;
    this.#own?.close();
    this.#own = null;
  }
}

/** Settings of a {@linkcode ZlibDecompressor}. */
export interface ZlibDecompressorOptions {
  /**
   * The peer's agreed LZ77 window, 8-15.
   * @default {15}
   */
  windowBits?: number;
  /**
   * Whether the peer drops its context after every message (so this side may too).
   * @default {false}
   */
  noContextTakeover?: boolean;
}

/**
 * Decompresses one direction of one connection with zlib raw inflate (RFC 7692 §7.2.2),
 * appending `00 00 ff ff` after the last frame of a message. Synchronous; stops at a size limit
 * having produced at most 128 KiB more than it.
 *
 * @example
 * ```ts
 * import { ZlibDecompressor } from "./deflate.ts";
 *
 * const d = new ZlibDecompressor();
 * const out = d.decompress(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), true, true, 100);
 * console.log(new TextDecoder().decode(out!)); // "Hello"
 * d.dispose();
 * ```
 */
export class ZlibDecompressor {
  readonly #windowBits: number;
  readonly #noContextTakeover: boolean;
  #own: Native | null = null;
  #disposed = false;

  /**
   * Creates a decompressor; zlib state is allocated on first use.
   *
   * @param options The peer's window and context takeover.
   * @throws {RangeError} On a window out of range.
   */
  constructor(options?: ZlibDecompressorOptions) {
    this.#windowBits = options?.windowBits ?? 15;
    checkInt("windowBits", this.#windowBits, 8, 15);
    this.#noContextTakeover = options?.noContextTakeover ?? false;
  }

  /**
   * Decompresses one frame's payload (see `DeflateDecompressor.decompress`).
   *
   * @param data The compressed payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @param limit How many bytes may come out.
   * @returns The bytes, or `null` past the limit.
   * @throws {Error} On invalid DEFLATE data.
   */
  decompress(data: Uint8Array, first: boolean, last: boolean, limit: number): Uint8Array | null {
    if (this.#disposed) throw new TypeError("The decompressor was disposed");
    let native = this.#own;
    let key: string | null = null;
    if (native === null) {
      if (this.#noContextTakeover && first && last) {
        ({ key, native } = sharedNative(true, this.#windowBits, 0, 0));
        native.reset();
      } else {
        native = this.#own = new Native(true, this.#windowBits, 0, 0);
      }
    } else if (first && native.ended) {
      // The peer ended its last stream with a final block: the next message starts a new one.
      native.reset();
    }
    const out = new Output();
    let within: boolean;
    try {
      if (native.ended) {
        within = true; // data after a final block is ignored
      } else if (last && data.length <= JOIN_LIMIT) {
        // One zlib call for the payload and the tail: copy the (small) payload in front of it.
        const joined = joinBuffer ??= new Uint8Array(JOIN_LIMIT + 4);
        joined.set(data, 0);
        joined.set(TAIL, data.length);
        within = pump(native, joined.subarray(0, data.length + 4), out, limit);
      } else {
        within = pump(native, data, out, limit) &&
          (!last || native.ended || pump(native, TAIL, out, limit));
      }
    } catch (err) {
      this.#drop(native, key);
      throw err;
    }
    if (!within) {
      this.#drop(native, key);
      return null;
    }
    const result = out.take(0);
    if (last && this.#noContextTakeover && native === this.#own) {
      native.close();
      this.#own = null;
    }
    return result;
  }

  #drop(native: Native, key: string | null): void {
    dropNative(native, key);
    if (native === this.#own) this.#own = null;
  }

  /** Releases the zlib stream. */
  dispose(): void {
    this.#disposed = true;
    this.#own?.close();
    this.#own = null;
  }
}

/** @internal Checks a zlib parameter: an integer from `min` to `max`. */
export function checkInt(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
