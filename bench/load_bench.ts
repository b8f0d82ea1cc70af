/**
 * Load at scale: 10,000 concurrent connections to one server of the library on loopback,
 * keepalive on, messages exchanged on every connection (each must come back exactly once), and
 * the resident memory per connection of the server and of the clients.
 *
 * The server runs in a child process (this file with `--serve`), so that its memory is measured
 * alone and each process holds one descriptor per connection (both ends in one process would
 * need 20,000, the usual hard `ulimit -n`). The clients are the library's managed client.
 *
 * ```sh
 * deno run -A bench/load_bench.ts                       # 10,000 connections
 * deno run -A bench/load_bench.ts --connections 20000 --deflate
 * ```
 *
 * RSS per connection = (RSS with every connection open and idle after the exchange − RSS before
 * the first connection) / connections, after a GC where the runtime allows it (`--v8-flags=
 * --expose-gc` is passed to the server).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createServer, perMessageDeflate } from "../server.ts";
import { createClient, type DefaultClientWebSocketSession, readText } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    serve: { type: "boolean", default: false },
    connections: { type: "string", default: "10000" },
    messages: { type: "string", default: "3" },
    deflate: { type: "boolean", default: false },
    ping: { type: "string", default: "5000" },
  },
});

const PING = Number(values.ping);

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** VmRSS of a process, in bytes (Linux). */
async function rssOf(pid: number | "self"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

function openFileLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? Infinity);
  } catch {
    return Infinity;
  }
}

/** Server mode: an echo server; prints `PORT n`, then answers `rss` / `count` on stdin. */
async function serve(): Promise<void> {
  let sessions = 0;
  let messages = 0;
  const server = createServer({
    pingInterval: PING,
    timeout: PING * 2,
    extensions: values.deflate ? [perMessageDeflate()] : [],
  });
  server.webSocket("/load", async (session) => {
    sessions++;
    try {
      for await (const message of session.incoming) {
        messages++;
        await session.send(message);
      }
    } finally {
      sessions--;
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  console.log(`PORT ${listener.addr.port}`);
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    for (const command of decoder.decode(chunk).split("\n").filter(Boolean)) {
      if (command === "rss") {
        gc();
        console.log(`RSS ${await rssOf("self")} ${sessions} ${messages}`);
      } else if (command === "stop") {
        await listener.shutdown();
        console.log("STOPPED");
        return;
      }
    }
  }
}

async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

async function run(): Promise<void> {
  const n = Number(values.connections);
  const messages = Number(values.messages);
  const limit = openFileLimit();
  if (n + 64 > limit) {
    console.error(`${n} connections need ${n + 64} descriptors per process; ulimit -n is ${limit}`);
    Deno.exit(2);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--serve",
      `--ping=${PING}`,
      ...(values.deflate ? ["--deflate"] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const line = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) throw new Error("the server process ended");
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const out = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return out;
  };
  const stdin = child.stdin.getWriter();
  const ask = async (command: string): Promise<string> => {
    await stdin.write(new TextEncoder().encode(`${command}\n`));
    return await line();
  };
  const port = Number((await line()).split(" ")[1]);
  const serverRss = async () => {
    const [, rss, sessions, count] = (await ask("rss")).split(" ");
    return { rss: Number(rss), sessions: Number(sessions), messages: Number(count) };
  };

  const client = createClient({
    pingInterval: PING,
    timeout: PING * 2,
    extensions: values.deflate ? [perMessageDeflate()] : [],
  });
  const url = `ws://127.0.0.1:${port}/load`;
  gc();
  const before = await serverRss();
  const clientBefore = await rssOf("self");
  const t0 = performance.now();
  const sessions: DefaultClientWebSocketSession[] = await pool(
    Array.from({ length: n }, (_, i) => i),
    200,
    () => client.webSocketSession(url),
  );
  const opened = performance.now();
  let echoed = 0;
  await pool(sessions.map((s, i) => [s, i] as const), 1000, async ([s, i]) => {
    const reader = s.incoming.getReader();
    try {
      for (let k = 0; k < messages; k++) {
        const text = `c${i}-m${k}-${"x".repeat(64)}`;
        await s.send(text);
        const { value } = await reader.read();
        if (!value || readText(value) !== text) throw new Error(`connection ${i}: wrong echo`);
        echoed++;
      }
    } finally {
      reader.releaseLock();
    }
  });
  const exchanged = performance.now();
  const during = await serverRss();
  gc();
  const clientDuring = await rssOf("self");
  await pool(sessions, 500, (s) => s.close());
  const closed = performance.now();
  const after = await serverRss();
  await client.close();
  await ask("stop");
  await stdin.close();
  await child.status;
  await lines.cancel();

  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(`connections:          ${n}${values.deflate ? " (permessage-deflate)" : ""}`);
  console.log(
    `open all:             ${(opened - t0).toFixed(0)} ms (${
      (n / ((opened - t0) / 1000)).toFixed(0)
    }/s)`,
  );
  console.log(
    `echo ${messages} each:          ${
      (exchanged - opened).toFixed(0)
    } ms, ${echoed} messages, server counted ${during.messages}`,
  );
  console.log(`close all:            ${(closed - exchanged).toFixed(0)} ms`);
  console.log(`server sessions open: ${during.sessions} (after close: ${after.sessions})`);
  console.log(
    `server RSS:           ${mb(before.rss)} → ${mb(during.rss)} (after close ${mb(after.rss)})`,
  );
  console.log(`server RSS/conn:      ${kib((during.rss - before.rss) / n)}`);
  console.log(`client RSS/conn:      ${kib((clientDuring - clientBefore) / n)}`);
  if (echoed !== n * messages || during.messages !== n * messages || during.sessions !== n) {
    console.error("FAILED: messages or sessions missing");
    Deno.exit(1);
  }
}

if (import.meta.main) {
  if (values.serve) await serve();
  else await run();
}
