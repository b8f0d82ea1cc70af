/**
 * The neutral WebSocket server every client is measured against: hand-written for the harness
 * over `Deno.listen` (no library under test), streaming echo (each read unmasked into one
 * output buffer and written once), a counting sink and idle sockets.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import {
  acceptWs,
  type Conn,
  encodeFrame,
  FrameScanner,
  OP_CLOSE,
  OP_TEXT,
  writeAll,
  writeHeader,
} from "../wire.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Copies `src` into `dst` at `at`, unmasking with `key` from key position `phase`.
 *
 * @param dst The output.
 * @param at Where in `dst`.
 * @param src The masked bytes.
 * @param key The masking key.
 * @param phase The payload offset of `src[0]`.
 */
export function unmaskInto(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  key: Uint8Array,
  phase: number,
): void {
  const n = src.length;
  let i = 0;
  while (i < n && ((dst.byteOffset + at + i) & 3) !== 0) {
    dst[at + i] = src[i]! ^ key[(phase + i) & 3]!;
    i++;
  }
  if (n - i >= 16 && LITTLE_ENDIAN) {
    dst.set(src.subarray(i), at + i);
    const p = (phase + i) & 3;
    const word = key[p]! | (key[(p + 1) & 3]! << 8) | (key[(p + 2) & 3]! << 16) |
      (key[(p + 3) & 3]! << 24);
    const count = (n - i) >>> 2;
    const words = new Int32Array(dst.buffer, dst.byteOffset + at + i, count);
    for (let w = 0; w < count; w++) words[w]! ^= word;
    i += count << 2;
  }
  for (; i < n; i++) dst[at + i] = src[i]! ^ key[(phase + i) & 3]!;
}

const ENCODER = new TextEncoder();
const READ_SIZE = 256 * 1024;

/**
 * Starts the neutral server.
 *
 * @param params The cell.
 * @returns The port.
 */
export function startNeutral(params: CellParams): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });

  async function serve(conn: Conn): Promise<void> {
    conn.setNoDelay(true);
    const kind = params.kind;
    try {
      const leftover = await acceptWs(conn);
      if (leftover === null) return;
      if (kind === "idle") {
        const buf = new Uint8Array(1024);
        while ((await conn.read(buf)) !== null) {
          // Idle.
        }
        return;
      }
      const buf = new Uint8Array(READ_SIZE);
      // Each unmasked header is shorter than the masked one it replaces: a read's output fits.
      const out = new Uint8Array(READ_SIZE);
      let outLen = 0;
      let key: Uint8Array | null = null;
      let closing = false;
      let count = 0;
      const replies: Uint8Array[] = [];
      const scanner = kind === "sink"
        ? new FrameScanner({
          onFrame(op) {
            if (op === OP_TEXT) {
              replies.push(encodeFrame(OP_TEXT, ENCODER.encode(`${count}`), false));
            } else if (op === OP_CLOSE) closing = true;
            else count++;
          },
        })
        : new FrameScanner({
          onHeader(op, len, k) {
            key = k;
            outLen = writeHeader(out, outLen, op, len, null);
            if (op === OP_CLOSE) closing = true;
          },
          onPayload(chunk, offset) {
            if (key === null) out.set(chunk, outLen);
            else unmaskInto(out, outLen, chunk, key, offset);
            outLen += chunk.length;
          },
        });
      const handle = async (bytes: Uint8Array) => {
        outLen = 0;
        scanner.scan(bytes, 0, bytes.length);
        if (outLen > 0) await writeAll(conn, out.subarray(0, outLen));
        while (replies.length > 0) await writeAll(conn, replies.shift()!);
      };
      if (leftover.length > 0) await handle(leftover);
      while (!closing) {
        const n = await conn.read(buf);
        if (n === null) break;
        await handle(buf.subarray(0, n));
      }
      if (closing && kind === "sink") await writeAll(conn, new Uint8Array([0x88, 0]));
    } catch {
      // The peer went away.
    } finally {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }

  (async () => {
    for await (const conn of listener) serve(conn);
  })();
  return (listener.addr as Deno.NetAddr).port;
}
