/**
 * Reads frames from a socket: `conn.read` into adaptively sized slabs, one decoder pass over
 * everything a read delivers, large payloads read straight into their final buffer.
 *
 * @module
 */

import type { FrameDecoder } from "../core/frame_decoder.ts";

/** The byte source a {@linkcode FrameReader} reads from (a `Deno.Conn` fits). */
export interface ByteSource {
  /** Reads into `p`; resolves with the count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * The first read buffer: small, so that an idle connection, which keeps a read posted into it,
 * costs little memory (256 B rather than 1 KiB saved about 0.8 KB of resident memory per idle
 * connection in W5, `deno task bench --only=W5`).
 */
const FIRST_SLAB = 256;
/** The largest read buffer. */
const MAX_SLAB = 256 * 1024;
/**
 * Slabs grow to this size on busy connections even when no single read fills them: a slab used
 * up by small reads would otherwise be replaced (allocated and zeroed) on almost every read.
 */
const BUSY_SLAB = 16 * 1024;
/** A slab with less room than this left (or than half its size, if smaller) is replaced. */
const MIN_WINDOW = 512;
/**
 * A slab used up within this many milliseconds of its first bytes means traffic: the next one is
 * larger. One used up more slowly (a quiet connection's pings and pongs, over minutes) is followed
 * by a first-size one, so that a connection that is mostly idle does not creep up to a 16 KiB read
 * buffer.
 */
const BUSY_MS = 1000;
/** A split payload with at least this much left is read into directly. */
const DIRECT_READ = 16 * 1024;

/**
 * Pulls frames from a {@linkcode ByteSource} through a {@linkcode FrameDecoder}.
 *
 * Each socket read lands in the unused tail of a slab; the decoder returns frames whose
 * payloads are views into it, so nothing is copied. A slab is never written again once handed
 * over, so frames stay valid; a new slab is allocated when the old one is used up, growing
 * while reads keep filling it (up to 256 KiB) or while many small reads use slabs up (up to
 * 16 KiB), and staying small (256 B) on quiet connections. A payload view keeps its whole slab
 * alive: an application that stores many small messages for long should copy them
 * (`data.slice()`).
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #decoder: FrameDecoder;
  #slab: Uint8Array;
  #pos = 0;
  #nextSize = FIRST_SLAB;
  /** When the current slab got its first bytes (`performance.now()`). */
  #slabAt = 0;
  #eof = false;
  /** Whether the last window was a payload target (not the slab). */
  #direct = false;

  /**
   * Creates a reader.
   *
   * @param source The socket.
   * @param decoder The decoder, configured for the session's role and limits.
   * @param leftover Bytes already read past the handshake head, decoded first.
   */
  constructor(source: ByteSource, decoder: FrameDecoder, leftover?: Uint8Array) {
    this.#source = source;
    this.#decoder = decoder;
    this.#slab = new Uint8Array(0);
    if (leftover && leftover.length > 0) decoder.push(leftover);
  }

  /** The decoder. */
  get decoder(): FrameDecoder {
    return this.#decoder;
  }

  /** The connection read from. */
  get source(): ByteSource {
    return this.#source;
  }

  /** Whether the peer ended the stream. */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * The buffer the next socket read should fill: the unfilled rest of a large split payload
   * (read straight into place), or the free tail of the current slab. Pass what the read
   * returned to {@linkcode FrameReader.commit} before calling this again.
   *
   * @returns A view to read into.
   */
  window(): Uint8Array {
    const target = this.#decoder.payloadTarget;
    if (target !== null && target.length >= DIRECT_READ) {
      this.#direct = true;
      return target;
    }
    this.#direct = false;
    const length = this.#slab.length;
    // (`|| 1`: the first, empty slab is always replaced.)
    if (length - this.#pos < (length < 2 * MIN_WINDOW ? (length >> 1) || 1 : MIN_WINDOW)) {
      // A slab used up quickly (not the first, empty one) means traffic: the next one may be
      // larger; one used up slowly, a quiet connection: back to the first size.
      if (length > 0) {
        if (performance.now() - this.#slabAt >= BUSY_MS) this.#nextSize = FIRST_SLAB;
        else if (this.#nextSize < BUSY_SLAB) this.#nextSize *= 2;
      }
      this.#slab = new Uint8Array(this.#nextSize);
      this.#pos = 0;
    }
    // The whole slab as it is when nothing was read into it yet (an idle read holds no view).
    return this.#pos === 0 ? this.#slab : this.#slab.subarray(this.#pos);
  }

  /**
   * Hands the decoder what a read into {@linkcode FrameReader.window} delivered.
   *
   * @param n The read's result: a byte count, or `null` at end of stream.
   * @returns `false` at end of stream.
   */
  commit(n: number | null): boolean {
    if (n === null) {
      this.#eof = true;
      return false;
    }
    if (this.#direct) {
      this.#decoder.commit(n);
      return true;
    }
    const pos = this.#pos;
    if (pos === 0) this.#slabAt = performance.now();
    if (pos + n === this.#slab.length && this.#nextSize < MAX_SLAB) this.#nextSize *= 2;
    this.#decoder.push(this.#slab.subarray(pos, pos + n));
    this.#pos = pos + n;
    return true;
  }
}
