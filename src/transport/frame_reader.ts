/**
 * Reads frames from a socket: `conn.read` into adaptively sized slabs, one decoder pass over
 * everything a read delivers, large payloads read straight into their final buffer.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import type { FrameDecoder } from "../core/frame_decoder.ts";

/** The byte source a {@linkcode FrameReader} reads from (a `Deno.Conn` fits). */
export interface ByteSource {
  /** Reads into `p`; resolves with the count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/** The first read buffer: small, so that idle connections cost little memory. */
const FIRST_SLAB = 2048;
/** The largest read buffer. */
const MAX_SLAB = 256 * 1024;
/** A slab with less room than this left is replaced. */
const MIN_WINDOW = 1024;
/** A split payload with at least this much left is read into directly. */
const DIRECT_READ = 16 * 1024;

/**
 * Pulls frames from a {@linkcode ByteSource} through a {@linkcode FrameDecoder}.
 *
 * Each socket read lands in the unused tail of a slab; the decoder returns frames whose
 * payloads are views into it, so nothing is copied. A slab is never written again once handed
 * over, so frames stay valid; a new slab is allocated when the old one is used up, growing
 * while reads keep filling it (up to 256 KiB) and staying small on quiet connections.
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #decoder: FrameDecoder;
  #slab: Uint8Array;
  #pos = 0;
  #nextSize = FIRST_SLAB;
  #eof = false;

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

  /** Whether the peer ended the stream. */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * Appends to `out` every frame the buffered bytes hold; when there are none, reads the
   * socket (once, or more while a frame is incomplete) until at least one frame is complete.
   *
   * @param out The array frames are pushed onto.
   * @returns `false` at end of stream with no frame decoded, else `true`.
   * @throws {ProtocolError} When the bytes break the protocol.
   */
  async read(out: Frame[]): Promise<boolean> {
    const decoder = this.#decoder;
    const start = out.length;
    while (true) {
      for (let frame = decoder.next(); frame !== null; frame = decoder.next()) out.push(frame);
      if (out.length > start) return true;
      if (this.#eof) return false;
      const target = decoder.payloadTarget;
      if (target !== null && target.length >= DIRECT_READ) {
        const n = await this.#source.read(target);
        if (n === null) {
          this.#eof = true;
          return false;
        }
        decoder.commit(n);
        continue;
      }
      if (this.#slab.length - this.#pos < MIN_WINDOW) {
        this.#slab = new Uint8Array(this.#nextSize);
        this.#pos = 0;
      }
      const window = this.#slab.subarray(this.#pos);
      const n = await this.#source.read(window);
      if (n === null) {
        this.#eof = true;
        return false;
      }
      if (n === window.length && this.#nextSize < MAX_SLAB) this.#nextSize *= 2;
      decoder.push(this.#slab.subarray(this.#pos, this.#pos + n));
      this.#pos += n;
    }
  }
}
