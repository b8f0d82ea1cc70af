/**
 * One accepted connection before the upgrade: reading request heads with `conn.read` into one
 * buffer (bounded by the head size limit), and request bodies of a known length. Responses are
 * written by `http_response.ts`.
 *
 * @module
 */

import { HandshakeError } from "../core/errors.ts";
import type { HeadParseOptions } from "../core/http1_scan.ts";
import { parseRequestHeadLazily, type RequestHead } from "../core/http1_request.ts";

const FIRST_BUFFER = 2048;
/**
 * First head buffers given back by upgraded connections, for the next ones: a server that
 * accepts many connections does not allocate (and collect) one per connection.
 */
const spareBuffers: Uint8Array[] = [];
/** The most spare buffers kept. */
const MAX_SPARE_BUFFERS = 64;
const BODY_CHUNK = 16 * 1024;

const EMPTY = new Uint8Array(0);

/** @internal An accepted connection, read before any upgrade. */
export class HttpConnection {
  /** The socket. */
  readonly conn: Deno.Conn;
  readonly #maxHeadSize: number;
  readonly #parseOptions: HeadParseOptions;
  #buf: Uint8Array = EMPTY;
  /** Start of the unconsumed bytes in `#buf`. */
  #start = 0;
  /** End of the received bytes in `#buf`. */
  #end = 0;
  #eof = false;
  /** Body bytes of the current request not read yet (-1: unknown, the connection must close). */
  #bodyLeft = 0;

  /**
   * @param conn The accepted socket.
   * @param maxHeadSize The largest request head.
   */
  constructor(conn: Deno.Conn, maxHeadSize: number) {
    this.conn = conn;
    this.#maxHeadSize = maxHeadSize;
    this.#parseOptions = { maxHeadSize };
  }

  /**
   * The next request head, from the bytes received so far, or `undefined` when more bytes are
   * needed (read them into {@linkcode readRoom}, then call {@linkcode received}).
   *
   * @returns The head, `null` when the client closed the connection before sending a byte, or
   * `undefined`.
   * @throws {HandshakeError} `HANDSHAKE_INVALID` (answer 400), `HANDSHAKE_HEAD_TOO_LARGE`
   * (answer 431), `HANDSHAKE_EOF` (the connection ended inside the head).
   */
  bufferedHead(): RequestHead | null | undefined {
    if (this.#end > this.#start) {
      const head = parseRequestHeadLazily(
        this.#buf.subarray(this.#start, this.#end),
        this.#parseOptions,
      );
      if (head !== null) {
        this.#start += head.headLength;
        return head;
      }
    }
    if (!this.#eof) return undefined;
    if (this.#end === this.#start) return null;
    throw new HandshakeError("HANDSHAKE_EOF", "The connection ended inside the request head");
  }

  /**
   * Where to read more of a head into (made room for, up to the head size limit).
   *
   * @returns The free end of the buffer.
   */
  readRoom(): Uint8Array {
    this.#makeRoom(this.#maxHeadSize);
    return this.#buf.subarray(this.#end);
  }

  /**
   * Takes note of a read into {@linkcode readRoom}.
   *
   * @param n What `conn.read` gave: the bytes read, or `null` at the end of the stream.
   */
  received(n: number | null): void {
    if (n === null) this.#eof = true;
    else this.#end += n;
  }

  /** Makes room to read more of a head: compacts, then grows the buffer up to `max` bytes. */
  #makeRoom(max: number): void {
    const pending = this.#end - this.#start;
    if (this.#start > 0 && (this.#end === this.#buf.length || pending === 0)) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = pending;
    }
    if (this.#end < this.#buf.length) return;
    const size = Math.min(Math.max(FIRST_BUFFER, this.#buf.length * 2), Math.max(max, pending + 1));
    if (this.#buf.length === 0 && size === FIRST_BUFFER && spareBuffers.length > 0) {
      this.#buf = spareBuffers.pop()!;
      return;
    }
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#end));
    this.#buf = grown;
  }

  /**
   * The free end of the head buffer, past every byte received: room to build a small reply in
   * until the next read (or {@linkcode takeLeftover}).
   *
   * @returns The room (possibly empty).
   */
  spareRoom(): Uint8Array {
    return this.#buf.subarray(this.#end);
  }

  /**
   * Hands over the bytes received after the head (the first WebSocket frames) as a fresh copy,
   * and drops the head buffer (kept for another connection when it is a first buffer). Call it
   * only when no read is in progress.
   *
   * @returns The bytes, or `undefined` when there are none.
   */
  takeLeftover(): Uint8Array | undefined {
    const buf = this.#buf;
    const rest = this.#end > this.#start ? buf.slice(this.#start, this.#end) : undefined;
    this.#buf = EMPTY;
    this.#start = 0;
    this.#end = 0;
    if (buf.length === FIRST_BUFFER && spareBuffers.length < MAX_SPARE_BUFFERS) {
      spareBuffers.push(buf);
    }
    return rest;
  }

  /**
   * The body of the current request, `length` bytes, as a stream (buffered bytes first).
   *
   * @param length The `Content-Length`.
   * @returns The stream, or `null` for an empty body.
   */
  body(length: number): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    this.#bodyLeft = length;
    if (length === 0) return null;
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        if (this.#bodyLeft === 0) {
          controller.close();
          return;
        }
        let chunk: Uint8Array<ArrayBuffer>;
        if (this.#end > this.#start) {
          const n = Math.min(this.#bodyLeft, this.#end - this.#start);
          chunk = this.#buf.slice(this.#start, this.#start + n);
          this.#start += n;
        } else {
          const buf = new Uint8Array(Math.min(this.#bodyLeft, BODY_CHUNK));
          const n = await this.conn.read(buf);
          if (n === null) {
            this.#bodyLeft = -1;
            controller.error(new HandshakeError("HANDSHAKE_EOF", "The request body was cut short"));
            return;
          }
          chunk = buf.subarray(0, n);
        }
        this.#bodyLeft -= chunk.length;
        controller.enqueue(chunk);
        if (this.#bodyLeft === 0) controller.close();
      },
      cancel: () => {
        if (this.#bodyLeft > 0) this.#bodyLeft = -1;
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Reads and drops what is left of the current request's body, when it is at most `limit`
   * bytes (a handler that ignored a small body should not cost the connection).
   *
   * @param limit The most bytes to drop.
   * @returns Whether the body is now fully read.
   */
  async discardBody(limit: number): Promise<boolean> {
    if (this.#bodyLeft === 0) return true;
    if (this.#bodyLeft < 0 || this.#bodyLeft > limit) return false;
    const buffered = Math.min(this.#bodyLeft, this.#end - this.#start);
    this.#start += buffered;
    this.#bodyLeft -= buffered;
    const scratch = this.#bodyLeft > 0
      ? new Uint8Array(Math.min(this.#bodyLeft, BODY_CHUNK))
      : null;
    while (this.#bodyLeft > 0) {
      const n = await this.conn.read(
        scratch!.subarray(0, Math.min(this.#bodyLeft, scratch!.length)),
      );
      if (n === null) {
        this.#bodyLeft = -1;
        return false;
      }
      this.#bodyLeft -= n;
    }
    return true;
  }
}
