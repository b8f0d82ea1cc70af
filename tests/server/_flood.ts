/**
 * Flooding a peer that stopped reading, for server tests: write until the kernel's buffers are
 * full and a write stalls.
 *
 * @module
 */

/** A write the other end has not taken within this long: it stopped reading. */
const STALL_MS = 1000;
/**
 * The most a peer can write to an endpoint that stopped reading: the kernel's largest receive
 * and send buffers (tcp_rmem, tcp_wmem) and one read buffer of the session (256 KiB) more.
 */
export function kernelBound(): number {
  try {
    const max = (name: string) =>
      Number(Deno.readTextFileSync(`/proc/sys/net/ipv4/${name}`).trim().split(/\s+/)[2]);
    const bound = max("tcp_rmem") + max("tcp_wmem");
    if (Number.isFinite(bound) && bound > 0) return bound + 4 * 1024 * 1024;
  } catch {
    // Not Linux: a generous bound.
  }
  return 64 * 1024 * 1024;
}

/** What {@linkcode floodUntilStalled} leaves: the bytes written and the write that stalled. */
export interface Stalled {
  written: number;
  /**
   * The stalled write: resolves with its byte count once the other end reads, or with
   * `undefined` when it fails (this end closed).
   */
  pending: Promise<number | void>;
}

/**
 * Writes `batch` to `conn` again and again, without reading, until one write is not taken
 * within `STALL_MS`.
 *
 * @throws {Error} When more than the kernel can hold was written: the other end kept reading.
 */
export async function floodUntilStalled(conn: Deno.Conn, batch: Uint8Array): Promise<Stalled> {
  const bound = kernelBound();
  let written = 0;
  let off = 0;
  while (written < bound) {
    const write = conn.write(batch.subarray(off));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), STALL_MS);
    });
    let n: number | null;
    try {
      n = await Promise.race([write, stalled]);
    } finally {
      clearTimeout(timer);
    }
    if (n === null) return { written, pending: write.catch(() => {}) };
    written += n;
    off = (off + n) % batch.length;
  }
  throw new Error(`${written} bytes were read: the other end never stopped reading`);
}
