/**
 * A Deno Deploy-style server: `Deno.serve` with the WebSocket server's fetch handler. The same
 * routes run on Deno Deploy unchanged.
 *
 * ```sh
 * deno run -A examples/deploy_handler.ts [--port 8000] [--hostname 127.0.0.1]   # or PORT=…
 * ```
 *
 * - `GET /` answers plain HTTP through the fallback handler.
 * - `ws://HOST/echo` echoes every message (a managed session backed by Deno's `WebSocket`).
 * - `ws://HOST/time` sends the time every second until the client leaves.
 * - `ws://HOST/raw` is a raw route: `server.fetch` cannot serve frames, so it answers 501 and
 *   logs one line saying so, which is how this mode refuses what it cannot do.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createServer } from "../server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: Deno.env.get("PORT") ?? "8000" },
    hostname: { type: "string", default: "127.0.0.1" },
  },
});

const server = createServer({
  // On Deno.serve the ping interval maps to Deno's idleTimeout (whole seconds).
  pingInterval: 30_000,
  fallback: () =>
    new Response("wirestream on Deno.serve: try ws:///echo or ws:///time\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
});

server.webSocket("/echo", async (session) => {
  for await (const message of session.incoming) await session.send(message);
});

server.webSocket("/time", async (session) => {
  while (session.state === "open") {
    await session.send(new Date().toISOString());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000);
      function done(): void {
        clearTimeout(timer);
        session.signal.removeEventListener("abort", done);
        resolve();
      }
      session.signal.addEventListener("abort", done);
    });
  }
});

server.webSocketRaw("/raw", () => {});

const http = Deno.serve({
  port: Number(values.port),
  hostname: values.hostname,
  onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`),
}, server.handler);

const stop = async () => {
  await server.shutdown(); // 1001 to every WebSocket session
  await http.shutdown();
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await http.finished;
Deno.removeSignalListener("SIGINT", stop);
Deno.removeSignalListener("SIGTERM", stop);
console.log("stopped");
