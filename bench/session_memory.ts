/**
 * Memory per idle server session: starts a wirestream server (a managed route, or a raw one with
 * `--raw`) whose handler waits in `for await` over `incoming` (or a managed route in event form
 * with `--events`: `{ open, message }`), opens N upgraded connections from a
 * second process, and prints the growth of RSS, live heap, committed heap and array buffers per
 * session, measured after garbage collection. `--snapshot=DIR` also writes heap snapshots before
 * and after (`node:v8`), to diff by constructor.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/session_memory.ts 3000
 * deno run -A --v8-flags=--expose-gc bench/session_memory.ts 3000 --raw
 * deno run -A --v8-flags=--expose-gc bench/session_memory.ts 3000 --events
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import { createServer } from "../server.ts";

const CONCURRENCY = 64;

/** The client process: opens `n` connections, prints READY, holds them until stdin closes. */
async function client(port: number, n: number): Promise<void> {
  const request = new TextEncoder().encode(
    `GET /idle HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
  const conns: Deno.Conn[] = [];
  let next = 0;
  const worker = async () => {
    const buf = new Uint8Array(1024);
    while (next < n) {
      next++;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(request);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const got = await conn.read(buf);
        if (got === null) throw new Error("the server closed a connection during the handshake");
        head += new TextDecoder().decode(buf.subarray(0, got));
      }
      if (!head.startsWith("HTTP/1.1 101")) throw new Error(`no upgrade: ${head.split("\r\n")[0]}`);
      conns.push(conn);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  console.log("READY");
  for await (const _ of Deno.stdin.readable) {
    // Hold the connections until the server process closes stdin.
  }
  for (const conn of conns) conn.close();
}

/** The server process: measures, then lets the client go. */
async function server(
  n: number,
  kind: "managed" | "raw" | "events",
  snapshotDir: string | undefined,
): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  const measure = () => {
    gc();
    gc();
    return Deno.memoryUsage();
  };
  let started = 0;
  const { promise: allStarted, resolve } = Promise.withResolvers<void>();
  const count = () => {
    if (++started === n) resolve();
  };
  const app = createServer({ onError: () => {} });
  if (kind === "events") {
    app.webSocket("/idle", { open: count, message() {} });
  } else if (kind === "raw") {
    app.webSocketRaw("/idle", async (session) => {
      count();
      for await (const _ of session.incoming) {
        // Idle.
      }
    });
  } else {
    app.webSocket("/idle", async (session) => {
      count();
      for await (const _ of session.incoming) {
        // Idle.
      }
    });
  }
  const listener = app.listen({ hostname: "127.0.0.1", port: 0 });
  const before = measure();
  if (snapshotDir !== undefined) writeHeapSnapshot(`${snapshotDir}/before-${kind}.heapsnapshot`);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--client", String(listener.addr.port), String(n)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("READY")) {
    const { done, value } = await lines.read();
    if (done) throw new Error("the client ended before its connections were open");
    out += value;
  }
  await allStarted;
  const seconds = (performance.now() - t0) / 1000;
  const after = measure();
  if (snapshotDir !== undefined) writeHeapSnapshot(`${snapshotDir}/after-${kind}.heapsnapshot`);
  const per = (key: keyof Deno.MemoryUsage) => Math.round((after[key] - before[key]) / n);
  console.log(
    `${kind}: ${n} sessions, per session: RSS ${per("rss")} B, live heap ${per("heapUsed")} B, ` +
      `committed heap ${per("heapTotal")} B, array buffers ${per("external")} B ` +
      `(${Math.round(n / seconds)} connections/s with one client process)`,
  );
  await child.stdin.close();
  await lines.cancel();
  await child.status;
  await listener.shutdown();
}

const args = parseArgs({
  args: Deno.args,
  options: {
    raw: { type: "boolean" },
    events: { type: "boolean" },
    client: { type: "boolean" },
    snapshot: { type: "string" },
  },
  allowPositionals: true,
});
if (args.values.client) {
  await client(Number(args.positionals[0]), Number(args.positionals[1]));
} else {
  const kind = args.values.raw ? "raw" : args.values.events ? "events" : "managed";
  await server(Number(args.positionals[0] ?? 3000), kind, args.values.snapshot);
}
