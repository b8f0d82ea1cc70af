/**
 * The socket under a session: frame reader, frame writer, and one way to let go of the socket.
 * Both session kinds (raw and managed) are built on it.
 *
 * @module
 */

import { FrameEncoder } from "../core/frame_encoder.ts";
import type { FrameDecoder } from "../core/frame_decoder.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import type { Protocol } from "../core/protocol.ts";
import { FrameReader } from "../transport/frame_reader.ts";
import { FrameWriter } from "../transport/frame_writer.ts";
import type { Transport } from "../transport/transport.ts";

/** Options of {@linkcode Link}. */
export interface LinkOptions {
  /** Bytes read past the handshake head. */
  leftover?: Uint8Array;
  /** Whether to mask outgoing frames. */
  masking: boolean;
}

/** A socket with a frame reader and writer, released exactly once. */
export class Link {
  /** The socket. */
  readonly conn: Transport;
  /** The protocol state (its decoder is the reader's). */
  readonly protocol: Protocol;
  /** Which end we are. */
  readonly role: "client" | "server";
  /** The frame reader. */
  readonly reader: FrameReader;
  /** The frame writer. */
  readonly writer: FrameWriter;
  /** Made on first use of `signal`: an idle session holds none. */
  #controller: AbortController | null = null;
  /** Made on first use of `released`: the promise and its resolver (no reject, no record). */
  #released: Promise<void> | null = null;
  #resolveReleased: (() => void) | null = null;
  #reason: unknown = undefined;
  #done = false;
  /** Whether a socket read is in progress (set by whoever reads; see `finish`). */
  reading = false;
  #finishing: Promise<void> | null = null;

  /**
   * Wraps a connected, upgraded socket.
   *
   * @param conn The socket.
   * @param protocol The protocol state.
   * @param options Masking and leftover bytes.
   */
  constructor(conn: Transport, protocol: Protocol, options: LinkOptions) {
    this.conn = conn;
    this.protocol = protocol;
    this.role = protocol.role;
    this.reader = new FrameReader(conn, protocol.decoder, options.leftover);
    this.writer = new FrameWriter(conn, new FrameEncoder({ mask: options.masking }));
  }

  /** The decoder. */
  get decoder(): FrameDecoder {
    return this.reader.decoder;
  }

  /** Aborted once the socket is released. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#done) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Resolves once the socket is released. */
  get released(): Promise<void> {
    if (this.#released === null) {
      if (this.#done) return Promise.resolve();
      this.#released = new Promise<void>((resolve) => {
        this.#resolveReleased = resolve;
      });
    }
    return this.#released;
  }

  /** Whether the socket was released. */
  get isReleased(): boolean {
    return this.#done;
  }

  /**
   * Closes the socket now (idempotent). Queued writes fail with `reason`.
   *
   * @param reason Why; queued writes reject with it.
   */
  release(reason?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.writer.fail(
      reason ?? new ConnectionClosedError("SESSION_CLOSED", "The connection is closed"),
    );
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#resolveReleased?.();
    this.#resolveReleased = null;
  }

  /**
   * Ends the connection after the close handshake: a server closes the TCP connection at once;
   * a client first waits (discarding what arrives) for the server to close it, at most
   * `timeoutMs`, as RFC 6455 §7.1.1 asks.
   *
   * @param timeoutMs How long a client waits for the server's end of stream.
   */
  finish(timeoutMs: number): Promise<void> {
    if (this.#done) return Promise.resolve();
    // A second call (the handshake completed while the block form was closing) shares the first.
    this.#finishing ??= this.#finish(timeoutMs);
    return this.#finishing;
  }

  async #finish(timeoutMs: number): Promise<void> {
    try {
      await this.writer.flush();
    } catch {
      // The writer broke; release anyway.
    }
    if (this.role === "server" || this.reading || timeoutMs <= 0) {
      this.release();
      return;
    }
    const timer = setTimeout(() => this.release(), timeoutMs);
    try {
      const scratch = new Uint8Array(1024);
      while (!this.#done && (await this.conn.read(scratch)) !== null) {
        // Discard: nothing may follow the close frame.
      }
    } catch {
      // Reset or released by the timer.
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }
}
