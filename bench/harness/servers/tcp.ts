/**
 * The TCP ceiling server: `Deno.listen` and `conn.read`/`conn.write` moving the same bytes the
 * WebSocket servers move, with no framing work: echo what arrives, count a sink's bytes until
 * the peer half-closes, broadcast pre-encoded frames, hold idle sockets with a pending read.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { countBytes, payload } from "../child.ts";
import { type Conn, encodeFrame, OP_BINARY, writeAll } from "../wire.ts";

/** Writes queued buffers to one socket, coalescing what queues up while a write runs. */
export class Pump {
  readonly #conn: Conn;
  #pending: Uint8Array[] = [];
  #bytes = 0;
  #running: Promise<void> | null = null;
  /** Set when a write failed (the peer went away). */
  broken = false;

  /** @param conn The socket. */
  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /** Queues `bytes`; resolves when they are written. */
  push(bytes: Uint8Array): Promise<void> {
    if (this.broken) return Promise.resolve();
    this.#pending.push(bytes);
    this.#bytes += bytes.length;
    this.#running ??= this.#run();
    return this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const parts = this.#pending;
        const total = this.#bytes;
        this.#pending = [];
        this.#bytes = 0;
        let out: Uint8Array;
        if (parts.length === 1) out = parts[0]!;
        else {
          out = new Uint8Array(total);
          let at = 0;
          for (const p of parts) {
            out.set(p, at);
            at += p.length;
          }
        }
        await writeAll(this.#conn, out);
      }
    } catch {
      this.broken = true;
      this.#pending = [];
    } finally {
      this.#running = null;
    }
  }
}

/** Waits (bounded) until `ready()` holds. */
export async function waitFor(ready: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ready()) {
    if (performance.now() > end) throw new Error("timed out waiting for clients");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Parses a broadcast trigger `go:M:N`. */
export function parseGo(text: string): { messages: number; clients: number } | null {
  const m = /^go:(\d+):(\d+)/.exec(text);
  return m === null ? null : { messages: Number(m[1]), clients: Number(m[2]) };
}

/** Messages per broadcast round; each round waits until its writes are done. */
export const ROUND = 16;

/**
 * Starts the TCP server.
 *
 * @param params The cell.
 * @returns The port.
 */
export function startTcp(params: CellParams): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pumps = new Set<Pump>();
  const frame = encodeFrame(OP_BINARY, payload(params.size || 1024), false);

  async function broadcast(messages: number, clients: number): Promise<void> {
    await waitFor(() => pumps.size >= clients);
    const all = [...pumps];
    for (let m = 0; m < messages; m += ROUND) {
      const round = Math.min(ROUND, messages - m);
      let last: Promise<void>[] = [];
      for (let r = 0; r < round; r++) {
        last = [];
        for (const pump of all) last.push(pump.push(frame));
      }
      await Promise.all(last);
    }
  }

  async function serve(conn: Conn): Promise<void> {
    conn.setNoDelay(true);
    const kind = params.kind;
    try {
      if (kind === "echo-seq" || kind === "echo-pipe") {
        const buf = new Uint8Array(256 * 1024);
        while (true) {
          const n = await conn.read(buf);
          if (n === null) break;
          await writeAll(conn, buf.subarray(0, n));
        }
      } else if (kind === "sink") {
        const buf = new Uint8Array(256 * 1024);
        let total = 0;
        while (true) {
          const n = await conn.read(buf);
          if (n === null) break;
          total += n;
        }
        await writeAll(conn, countBytes(total));
      } else if (kind === "broadcast") {
        const pump = new Pump(conn);
        pumps.add(pump);
        const buf = new Uint8Array(1024);
        try {
          while (true) {
            const n = await conn.read(buf);
            if (n === null) break;
            const go = parseGo(new TextDecoder().decode(buf.subarray(0, n)));
            if (go !== null) broadcast(go.messages, go.clients).catch(() => {});
          }
        } finally {
          pumps.delete(pump);
        }
      } else {
        // Idle: one small pending read per connection, to notice the peer leaving.
        const buf = new Uint8Array(1024);
        while ((await conn.read(buf)) !== null) {
          // Nothing arrives on an idle connection.
        }
      }
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
