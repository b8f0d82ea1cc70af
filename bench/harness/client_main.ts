/**
 * A benchmark client process: `deno run -A client_main.ts <impl> <params-json> <port>` (with
 * `WIRESTREAM_BENCH_BASE=DIR` in the environment for the `…-base` implementations). Prints
 * `RESULT {...}` with the figures; for the idle workload prints `OPEN {...}` once every
 * connection is open (with its own memory per connection: resident set growth from a collected
 * baseline to the last connection, as the process stands and after garbage collection) and
 * waits for `close` on stdin.
 *
 * @module
 */

import { childArgs, commands, deadline, emit, settledRss } from "./child.ts";
import { processTicks } from "./load.ts";
import { clientLib } from "./lib.ts";
import type { CellParams, ClientImpl } from "./plan.ts";

/** Runs the client `impl` for `params` against `port`. */
export async function runClient(
  impl: ClientImpl,
  params: CellParams,
  port: number,
): Promise<Record<string, number>> {
  switch (impl) {
    case "neutral":
    case "tcp":
      return await (await import("./clients/neutral.ts")).runLoadgen(params, port, impl === "tcp");
    case "wirestream":
    case "wirestream-raw":
    case "wirestream-base":
    case "wirestream-raw-base": {
      // The base ones load the library from the checkout named by BASE_ENV (see lib.ts).
      const lib = await clientLib(impl.endsWith("-base"));
      return await (await import("./clients/wirestream.ts")).runWirestream(
        params,
        port,
        impl.startsWith("wirestream-raw"),
        lib,
      );
    }
    case "deno":
      return await (await import("./clients/deno.ts")).runDeno(params, port);
    case "ws":
      return await (await import("./clients/ws.ts")).runWs(params, port);
  }
}

if (import.meta.main) {
  deadline(5 * 60_000);
  const { impl, params, port } = childArgs();
  if (params.kind === "idle") {
    if (params.role === "client") {
      // Load and run the client once before the baseline, so that its code is not counted.
      await runClient(impl as ClientImpl, { ...params, connections: 1, concurrency: 1 }, port);
    }
    const before = await settledRss();
    const result = await runClient(impl as ClientImpl, params, port);
    // First as the process stands (no forced GC), then after collecting garbage.
    const standing = Deno.memoryUsage().rss;
    const after = await settledRss();
    emit("OPEN", {
      ...result,
      rssPerConnNoGc: (standing - before) / result.connections!,
      rssPerConn: (after - before) / result.connections!,
      cpuTicks: processTicks("self"),
    });
    await commands((line) => {
      if (line === "close" || line === "exit") Deno.exit(0);
    });
  } else {
    const result = await runClient(impl as ClientImpl, params, port);
    // Our own CPU time, so the driver can tell the machine's other load during the cell.
    emit("RESULT", { ...result, cpuTicks: processTicks("self") });
  }
  Deno.exit(0);
}
