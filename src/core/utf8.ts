/**
 * Incremental UTF-8 validation (RFC 3629) for WebSocket text messages (RFC 6455 §8.1).
 *
 * A text message may arrive in any number of fragments, and a code point may be split across
 * them. {@linkcode Utf8Validator} carries the partial sequence from one
 * {@linkcode Utf8Validator.update} to the next and fails as soon as a byte is seen that no
 * continuation could make valid (a surrogate after `ED A0`, a code point above U+10FFFF after
 * `F4 90`, an overlong form after `E0 80` or `F0 80`, a `C0`, `C1` or `F5`..`FF` at once), so a
 * connection can be failed without waiting for the rest of the message.
 *
 * The scanner is written for speed: long runs of ASCII are skipped four bytes at a time through
 * a 32-bit view of the buffer, and complete multi-byte sequences are checked inline with a few
 * range tests. Only a sequence cut by the end of a chunk goes through the stateful path. It
 * allocates nothing but, for chunks with a long ASCII run, one 32-bit view (no copy) per call;
 * it never builds a string, unlike a fatal `TextDecoder` (see `bench/utf8_bench.ts`).
 *
 * @module
 */

/** `scan` result for a byte that cannot start or continue valid UTF-8. */
const INVALID = -1;

/** An ASCII run this long hands over to the word loop... */
const WORD_RUN = 16;

/** ...if at least this many bytes are left in the chunk. */
const WORD_MIN_LEFT = 32;

/** The top bit of each byte of a 32-bit word: a set bit marks a non-ASCII byte. */
const HIGH_BITS = 0x80808080;

const NO_WORDS = new Uint32Array(0);
// A 32-bit view of the whole buffer being scanned, made on the first long ASCII run of a scan
// and dropped when the scan returns (so no buffer is kept alive). Word k covers bytes 4k..4k+3
// of the buffer, whatever the byte offset of the Uint8Array.
let wordsBuffer: ArrayBufferLike | null = null;
let words: Uint32Array = NO_WORDS;

/**
 * Checks the complete UTF-8 sequences of `b[i, end)`, one byte at a time for ASCII.
 *
 * Kept free of calls so that V8 keeps its loop state in registers; {@linkcode scan} drives it.
 *
 * @returns `end` when every byte belongs to a complete valid sequence; {@linkcode INVALID} at
 *   the first impossible byte; otherwise the index of either a lead byte whose sequence the
 *   chunk cuts short (its available bytes are **not** checked) or an ASCII byte inside a long
 *   ASCII run that the caller should skip by words.
 */
function scanSequences(b: Uint8Array, i: number, end: number): number {
  let run = 0;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      // After a long run, hand over at this (ASCII) byte.
      if (++run === WORD_RUN && end - i > WORD_MIN_LEFT) return i;
      i++;
      continue;
    }
    run = 0;
    if (c < 0xe0) {
      // C2..DF 80..BF. 80..BF (a stray continuation), C0 and C1 (overlong) never start one.
      if (c < 0xc2) return INVALID;
      if (i + 1 >= end) return i;
      if ((b[i + 1]! & 0xc0) !== 0x80) return INVALID;
      i += 2;
    } else if (c < 0xf0) {
      // E0..EF then two continuations (10xxxxxx, both tested at once); after E0 only A0..BF
      // (no overlongs), after ED only 80..9F (no surrogates).
      if (i + 2 >= end) return i;
      const c1 = b[i + 1]!;
      if ((((c1 & 0xc0) << 2) | (b[i + 2]! & 0xc0)) !== 0x280) return INVALID;
      if (c === 0xe0 ? c1 < 0xa0 : c === 0xed && c1 > 0x9f) return INVALID;
      i += 3;
    } else {
      // F0..F4 then three continuations; after F0 only 90..BF (no overlongs), after F4 only
      // 80..8F (nothing above U+10FFFF). F5..FF never start one.
      if (c > 0xf4) return INVALID;
      if (i + 3 >= end) return i;
      const c1 = b[i + 1]!;
      if ((((c1 & 0xc0) << 4) | ((b[i + 2]! & 0xc0) << 2) | (b[i + 3]! & 0xc0)) !== 0xa80) {
        return INVALID;
      }
      if (c === 0xf0 ? c1 < 0x90 : c === 0xf4 && c1 > 0x8f) return INVALID;
      i += 4;
    }
  }
  return i;
}

/**
 * Skips ASCII from `b[i]`, four bytes per step once aligned.
 *
 * @returns An index in `[i, end]` at or before the first non-ASCII byte.
 */
function skipAscii(b: Uint8Array, i: number, end: number): number {
  const offset = b.byteOffset;
  let at = offset + i; // position in the buffer
  while ((at & 3) !== 0) {
    if (b[at - offset]! >= 0x80) return at - offset;
    at++;
  }
  const buffer = b.buffer;
  if (wordsBuffer !== buffer) {
    wordsBuffer = buffer;
    words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  let w = at >>> 2;
  const last = ((offset + end) >>> 2) - 1; // the last word wholly inside the chunk
  while (w < last && ((words[w]! | words[w + 1]!) & HIGH_BITS) === 0) w += 2;
  if (w <= last && (words[w]! & HIGH_BITS) === 0) w++;
  return (w << 2) - offset;
}

/** {@linkcode scanSequences} over the whole chunk, with long ASCII runs skipped by words. */
function scan(b: Uint8Array, i: number, end: number): number {
  for (;;) {
    i = scanSequences(b, i, end);
    if (i < 0 || i === end || b[i]! >= 0x80) break;
    i = skipAscii(b, i, end);
  }
  if (wordsBuffer !== null) {
    wordsBuffer = null;
    words = NO_WORDS;
  }
  return i;
}

function checkRange(bytes: Uint8Array, start: number, end: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end ||
    end > bytes.length
  ) {
    throw new RangeError(
      `Invalid range [${start}, ${end}) for a buffer of ${bytes.length} bytes`,
    );
  }
}

/**
 * Checks that `bytes[start, end)` is complete, valid UTF-8 (RFC 3629): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut short at the end. A
 * leading byte order mark (`EF BB BF`) is valid UTF-8 and is accepted.
 *
 * @example
 * ```ts
 * import { isValidUtf8 } from "@wirestream/ws/raw";
 *
 * console.log(isValidUtf8(new TextEncoder().encode("κόσμε"))); // true
 * console.log(isValidUtf8(new Uint8Array([0xed, 0xa0, 0x80]))); // false (a surrogate)
 * console.log(isValidUtf8(new Uint8Array([0x61, 0xe2, 0x82]))); // false (cut short)
 * ```
 *
 * @param bytes The buffer.
 * @param start The first byte to check.
 * @param end One past the last byte to check.
 * @returns Whether the range is valid UTF-8.
 * @throws {TypeError} When `bytes` is not a `Uint8Array`.
 * @throws {RangeError} When `[start, end)` is not a range of `bytes`.
 */
export function isValidUtf8(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
  checkRange(bytes, start, end);
  return scan(bytes, start, end) === end;
}

/**
 * Validates one UTF-8 message fed in pieces, as WebSocket text fragments arrive. A code point
 * may be split across pieces. {@linkcode Utf8Validator.update} returns `false` at the first
 * piece that makes the bytes so far impossible as the start of valid UTF-8 (fail fast, as RFC
 * 6455 §8.1 and Autobahn cases 6.x expect); {@linkcode Utf8Validator.finish} then tells whether
 * the message may end where it is.
 *
 * One validator serves any number of messages in turn: call {@linkcode Utf8Validator.reset}
 * between them. It holds no reference to the bytes it was given.
 *
 * @example Validate a message split inside a code point
 * ```ts
 * import { Utf8Validator } from "@wirestream/ws/raw";
 *
 * const bytes = new TextEncoder().encode("€10"); // E2 82 AC 31 30
 * const v = new Utf8Validator();
 * console.log(v.update(bytes.subarray(0, 2))); // true: E2 82 may still become "€"
 * console.log(v.finish()); // false: the message cannot end here
 * console.log(v.update(bytes, 2)); // true
 * console.log(v.finish()); // true
 * ```
 *
 * @example Fail fast on an impossible prefix
 * ```ts
 * import { Utf8Validator } from "@wirestream/ws/raw";
 *
 * const v = new Utf8Validator();
 * console.log(v.update(new Uint8Array([0x41, 0xed]))); // true: ED may start U+D000..U+D7FF
 * console.log(v.update(new Uint8Array([0xa0]))); // false: ED A0 starts a surrogate
 * console.log(v.update(new Uint8Array([0x41]))); // false until reset()
 * v.reset();
 * console.log(v.update(new Uint8Array([0x41])), v.finish()); // true true
 * ```
 */
export class Utf8Validator {
  // Continuation bytes still expected by the pending sequence; 0 between code points, -1 once
  // the message has failed.
  #need = 0;
  // Allowed range of the next continuation byte (narrower than 80..BF right after E0, ED, F0
  // and F4).
  #lo = 0x80;
  #hi = 0xbf;

  /**
   * Feeds the next bytes of the message, `bytes[start, end)`.
   *
   * @param bytes The buffer.
   * @param start The first byte to feed.
   * @param end One past the last byte to feed.
   * @returns `false` as soon as the bytes fed so far cannot begin valid UTF-8; the validator
   *   then stays failed until {@linkcode Utf8Validator.reset}. `true` otherwise (the message
   *   may still be cut inside a code point: see {@linkcode Utf8Validator.finish}).
   * @throws {TypeError} When `bytes` is not a `Uint8Array`.
   * @throws {RangeError} When `[start, end)` is not a range of `bytes`.
   */
  update(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    checkRange(bytes, start, end);
    let need = this.#need;
    if (need < 0) return false;
    let i = start;
    if (need > 0) {
      // Complete the sequence left open by the previous chunk.
      let lo = this.#lo, hi = this.#hi;
      for (; need > 0 && i < end; i++, need--) {
        const c = bytes[i]!;
        if (c < lo || c > hi) return this.#fail();
        lo = 0x80;
        hi = 0xbf;
      }
      if (need > 0) {
        this.#need = need;
        this.#lo = lo;
        this.#hi = hi;
        return true;
      }
    }
    const stop = scan(bytes, i, end);
    if (stop === end) {
      this.#need = 0;
      return true;
    }
    if (stop === INVALID) return this.#fail();
    return this.#open(bytes, stop, end);
  }

  /**
   * Tells whether the message may end here: nothing failed and no code point is cut short.
   * The state is kept; call {@linkcode Utf8Validator.reset} before the next message.
   *
   * @returns Whether the bytes fed since the last reset are complete, valid UTF-8.
   */
  finish(): boolean {
    return this.#need === 0;
  }

  /** Forgets the current message (and any failure) to start a new one. */
  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }

  /** Whether the validator has failed (and returns `false` until reset). */
  get failed(): boolean {
    return this.#need < 0;
  }

  // The chunk ends inside the sequence led by bytes[i] (a valid lead byte, checked by scan):
  // check the bytes that are there and remember what the rest must be.
  #open(bytes: Uint8Array, i: number, end: number): boolean {
    const c = bytes[i]!;
    let need: number;
    let lo = 0x80, hi = 0xbf;
    if (c < 0xe0) {
      need = 1;
    } else if (c < 0xf0) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    }
    for (i++; i < end; i++, need--) {
      const d = bytes[i]!;
      if (d < lo || d > hi) return this.#fail();
      lo = 0x80;
      hi = 0xbf;
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }

  #fail(): false {
    this.#need = -1;
    return false;
  }
}
