/**
 * The byte sink frames are written to (a `Deno.Conn` fits), and writing all of a buffer to it.
 *
 * @module
 */

/** The byte sink a `FrameWriter` writes to (a `Deno.Conn` fits). */
export interface ByteSink {
  /** Writes some of `p`; resolves with how many bytes were taken. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Writes all of `p` to `sink`, looping over partial writes.
 *
 * @param sink The socket.
 * @param p The bytes.
 */
export async function writeAll(sink: ByteSink, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await sink.write(off === 0 ? p : p.subarray(off));
}
