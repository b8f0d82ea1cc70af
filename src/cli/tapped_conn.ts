/**
 * A socket that shows its bytes to a {@linkcode WireRecorder}: what is read, once read, and what
 * is written, once the socket took it. It is handed to the library through the hidden
 * `WRAP_CONN` option, so the managed and raw sessions, client and server, run over it unchanged.
 *
 * @module
 */

import type { Direction, WireRecorder } from "./wire_recorder.ts";

/**
 * A pass-through `Deno.Conn` that records its traffic.
 *
 * @example
 * ```ts ignore
 * import { TappedConn } from "./tapped_conn.ts";
 * import { WireRecorder } from "./wire_recorder.ts";
 *
 * const recorder = new WireRecorder("client");
 * const conn = new TappedConn(await Deno.connect({ port: 8080 }), recorder);
 * ```
 */
export class TappedConn implements Deno.Conn {
  readonly #inner: Deno.Conn;
  readonly #recorder: WireRecorder;
  readonly #clock: () => number;
  readonly #onClose: (() => void) | undefined;
  #closed = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /**
   * Wraps a socket.
   *
   * @param inner The socket.
   * @param recorder Where its traffic goes.
   * @param options A clock in ms (for tests); a callback for the first `close()`.
   */
  constructor(
    inner: Deno.Conn,
    recorder: WireRecorder,
    options?: { clock?: () => number; onClose?: () => void },
  ) {
    this.#inner = inner;
    this.#recorder = recorder;
    this.#clock = options?.clock ?? (() => performance.now());
    this.#onClose = options?.onClose;
  }

  /** The local address. */
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  /**
   * Reads into `p`, then shows the bytes to the recorder.
   *
   * @param p Where the bytes go.
   * @returns How many bytes were read, or `null` at the end.
   */
  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#inner.read(p);
    if (n !== null && n > 0) this.#record("in", p.subarray(0, n));
    return n;
  }

  /**
   * Writes some of `p`, then shows the bytes the socket took to the recorder.
   *
   * @param p The bytes.
   * @returns How many were taken.
   */
  async write(p: Uint8Array): Promise<number> {
    const n = await this.#inner.write(p);
    if (n > 0) this.#record("out", p.subarray(0, n));
    return n;
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#inner.close();
    } finally {
      if (!this.#closed) {
        this.#closed = true;
        this.#onClose?.();
      }
    }
  }

  /**
   * Ends the write side.
   *
   * @returns When done.
   */
  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  /** Keeps the event loop alive while the socket is open. */
  ref(): void {
    this.#inner.ref();
  }

  /** Lets the event loop end while the socket is open. */
  unref(): void {
    this.#inner.unref();
  }

  /** The bytes read, as a stream (through {@linkcode TappedConn.read}). */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream({
      pull: async (controller) => {
        const buf = new Uint8Array(16 * 1024);
        const n = await this.read(buf);
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      },
    });
    return this.#readable;
  }

  /** A stream of bytes to write (through {@linkcode TappedConn.write}). */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream({
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.length) off += await this.write(chunk.subarray(off));
      },
    });
    return this.#writable;
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }

  #record(direction: Direction, bytes: Uint8Array): void {
    try {
      this.#recorder.feed(direction, bytes, this.#clock());
    } catch {
      // The inspector must never break the connection it watches.
    }
  }
}
