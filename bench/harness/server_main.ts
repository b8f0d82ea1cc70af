/**
 * A benchmark server process: `deno run -A server_main.ts <impl> <params-json>` (with
 * `WIRESTREAM_BENCH_BASE=DIR` in the environment for the `…-base` implementations). Prints
 * `READY {"port":N}` once listening; answers `gc` on stdin with `GC {"rss":N}` (after garbage
 * collection) and `mem` with `MEM {"rss":N}` (as the process stands, no collection forced);
 * exits on `exit` or when stdin ends.
 *
 * @module
 */

import { childArgs, commands, deadline, emit, settledMemory } from "./child.ts";
import { serverLib } from "./lib.ts";
import type { CellParams, ServerImpl } from "./plan.ts";

/** Starts the server `impl` for `params`; resolves with its port. */
export async function startServer(impl: ServerImpl, params: CellParams): Promise<number> {
  switch (impl) {
    case "tcp":
      return (await import("./servers/tcp.ts")).startTcp(params);
    case "neutral":
      return (await import("./servers/neutral.ts")).startNeutral(params);
    case "wirestream":
    case "wirestream-raw":
    case "wirestream-base":
    case "wirestream-raw-base": {
      // The base ones load the library from the checkout named by BASE_ENV (see lib.ts).
      const lib = await serverLib(impl.endsWith("-base"));
      return (await import("./servers/wirestream.ts")).startWirestream(
        params,
        impl.startsWith("wirestream-raw"),
        lib,
      );
    }
    case "deno":
      return await (await import("./servers/deno.ts")).startDeno(params);
    case "ws":
      return await (await import("./servers/ws.ts")).startWs(params);
  }
}

if (import.meta.main) {
  deadline(10 * 60_000);
  const { impl, params } = childArgs();
  const port = await startServer(impl as ServerImpl, params);
  emit("READY", { port });
  await commands(async (line) => {
    if (line === "gc") {
      const m = await settledMemory();
      emit("GC", { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external });
    } else if (line === "mem") {
      const m = Deno.memoryUsage();
      emit("MEM", { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external });
    } else if (line.startsWith("snapshot ")) {
      // Diagnostics: a heap snapshot of the server (for memory work on W5).
      const v8 = await import("node:v8");
      await settledMemory();
      emit("SNAPSHOT", { ok: v8.writeHeapSnapshot(line.slice(9)) ? 1 : 0 });
    } else if (line === "exit") Deno.exit(0);
  });
  Deno.exit(0);
}
