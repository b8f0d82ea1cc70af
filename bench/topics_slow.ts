/**
 * Memory of a topic with slow subscribers, for each slow-subscriber policy (`close`, `drop`,
 * `wait`): a server on 127.0.0.1 subscribes every session to one topic; a child process opens
 * N fast clients that read (and count) and M raw TCP clients that complete the upgrade request
 * and never read; the server publishes K binary messages of 1 KiB, one awaited
 * `server.publish` each, and prints its RSS (`Deno.memoryUsage().rss`, no forced GC) before the
 * first publish, at its peak and at the end, the totals of the publish results, and what the
 * fast clients counted (every fast client must get every message).
 *
 * Under `wait` a subscriber that never reads holds the publisher back for good: after 2 s
 * without progress the script disconnects the slow clients (from their side) and says so.
 *
 * Usage:
 *
 *     deno run -A bench/topics_slow.ts [--fast=50] [--slow=10] [--messages=20000]
 *       [--policy=close,drop,wait]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createServer, type SlowSubscriberPolicy } from "../server.ts";
import { webSocketSession } from "../mod.ts";

const TOPIC = "t";
const SIZE = 1024;
/** How long the publisher may make no progress before the slow clients are disconnected. */
const STALL_MS = 2000;

const args = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "boolean", default: false },
    single: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    fast: { type: "string", default: "50" },
    slow: { type: "string", default: "10" },
    messages: { type: "string", default: "20000" },
    policy: { type: "string", default: "close,drop,wait" },
  },
});
const fast = Number(args.values.fast);
const slow = Number(args.values.slow);
const messages = Number(args.values.messages);

/** Megabytes (10^6), one decimal. */
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A number with thousands separators. */
function n(value: number): string {
  return value.toLocaleString("en-US");
}

/** Closes a socket the server may have closed already. */
function closeQuietly(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** The child: fast clients that count, slow ones that never read; driven through stdin. */
async function clients(port: number): Promise<void> {
  const url = `ws://127.0.0.1:${port}/t`;
  const sessions = await Promise.all(
    Array.from({ length: fast }, () => webSocketSession(url)),
  );
  const conns: Deno.TcpConn[] = [];
  const request = new TextEncoder().encode(
    `GET /t HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
  for (let i = 0; i < slow; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(request);
    conns.push(conn); // Never read.
  }
  const got = sessions.map(() => 0);
  const reading = sessions.map(async (session, i) => {
    for await (const _ of session.incoming) {
      if (++got[i]! === messages) break;
    }
  });
  console.log("ready");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  for await (const chunk of lines) {
    if (chunk.includes("drop")) { for (const conn of conns.splice(0)) closeQuietly(conn); }
    if (chunk.includes("done")) {
      // Everything published: report once every fast client has it all, or nothing more came
      // for 500 ms (what a closed or skipped client got).
      let total = -1;
      while (got.some((c) => c < messages) && total !== got.reduce((a, b) => a + b, 0)) {
        total = got.reduce((a, b) => a + b, 0);
        await new Promise((r) => setTimeout(r, 500));
      }
      console.log(JSON.stringify({ counts: got }));
    }
    if (chunk.includes("exit")) break;
  }
  for (const conn of conns) closeQuietly(conn);
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(reading);
  for (const conn of conns) closeQuietly(conn);
  await Promise.all(sessions.map((s) => s.close()));
}

/** What one policy's run reports. */
interface Outcome {
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
  queued: number;
  dropped: number;
  closed: number;
  counted: number;
  stalled: boolean;
  seconds: number;
}

/** Reads the child's lines until one satisfies `match`. */
async function nextLine(
  reader: ReadableStreamDefaultReader<string>,
  state: { buffer: string },
  match: (line: string) => boolean,
): Promise<string> {
  for (;;) {
    const at = state.buffer.indexOf("\n");
    if (at >= 0) {
      const line = state.buffer.slice(0, at);
      state.buffer = state.buffer.slice(at + 1);
      if (match(line)) return line;
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error("the client process ended early");
    state.buffer += value;
  }
}

/** Runs one policy: server here, clients in a child process. */
async function runPolicy(policy: SlowSubscriberPolicy): Promise<Outcome> {
  const server = createServer({ onError: () => {}, topics: { slowSubscribers: policy } });
  let subscribed = 0;
  server.webSocket("/t", async (session) => {
    await session.subscribe(TOPIC);
    subscribed++;
    for await (const _ of session.incoming) {
      // Nothing comes in.
    }
  });
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--clients",
      `--port=${listener.addr.port}`,
      `--fast=${fast}`,
      `--slow=${slow}`,
      `--messages=${messages}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const input = child.stdin.getWriter();
  const state = { buffer: "" };
  await nextLine(reader, state, (line) => line === "ready");
  while (subscribed < fast + slow) await new Promise((r) => setTimeout(r, 10));

  const bytes = new Uint8Array(SIZE).fill(0x61);
  const rssStart = Deno.memoryUsage().rss;
  let rssPeak = rssStart;
  let progress = performance.now();
  let stalled = false;
  const watchdog = setInterval(() => {
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    if (!stalled && performance.now() - progress > STALL_MS) {
      stalled = true;
      input.write(new TextEncoder().encode("drop\n"));
    }
  }, 20);
  let queued = 0;
  let dropped = 0;
  let closed = 0;
  const started = performance.now();
  for (let m = 0; m < messages; m++) {
    const result = await server.publish(TOPIC, bytes);
    queued += result.queued;
    dropped += result.dropped;
    closed += result.closed;
    progress = performance.now();
    if (m % 256 === 0) rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  await input.write(new TextEncoder().encode("done\n"));
  const line = await nextLine(reader, state, (l) => l.startsWith("{"));
  const counts: number[] = JSON.parse(line).counts;
  clearInterval(watchdog);
  const rssEnd = Deno.memoryUsage().rss;
  rssPeak = Math.max(rssPeak, rssEnd);
  await input.write(new TextEncoder().encode("exit\n"));
  await input.close();
  reader.releaseLock();
  await child.status;
  await server.shutdown();
  return {
    rssStart,
    rssPeak,
    rssEnd,
    queued,
    dropped,
    closed,
    counted: counts.reduce((a, b) => a + b, 0),
    stalled,
    seconds,
  };
}

/** Runs one policy in this process and prints its lines; whether the counts matched. */
async function report(policy: SlowSubscriberPolicy): Promise<boolean> {
  const o = await runPolicy(policy);
  const expected = fast * messages;
  const match = o.counted === expected;
  console.log(
    `${policy.padEnd(5)} RSS start ${mb(o.rssStart)}, peak ${mb(o.rssPeak)}, ` +
      `end ${mb(o.rssEnd)}; ${o.seconds.toFixed(2)} s` +
      (o.stalled ? ` (publisher held; slow clients disconnected after ${STALL_MS} ms)` : ""),
  );
  console.log(
    `      publish totals: queued ${n(o.queued)}, dropped ${n(o.dropped)}, ` +
      `closed ${n(o.closed)}; fast clients counted ${n(o.counted)} of ${n(expected)} ` +
      `(${match ? "match" : "MISMATCH"}); queued for the slow ones ${n(o.queued - o.counted)}`,
  );
  return match;
}

if (args.values.clients) {
  await clients(Number(args.values.port));
} else if (args.values.single) {
  if (!await report(args.values.policy as SlowSubscriberPolicy)) Deno.exit(1);
} else {
  console.log(
    `${fast} fast clients, ${slow} that never read, ${n(messages)} publishes of 1 KiB ` +
      `(RSS without forced GC, server process only, a fresh process per policy)`,
  );
  let ok = true;
  for (const policy of args.values.policy.split(",")) {
    // Each policy in its own process: what one leaves behind does not count for the next.
    const { success } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--single",
        `--policy=${policy}`,
        `--fast=${fast}`,
        `--slow=${slow}`,
        `--messages=${messages}`,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    ok &&= success;
  }
  if (!ok) Deno.exit(1);
}
