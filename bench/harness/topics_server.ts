/**
 * One server process of `bench/topics_cross.ts`:
 * `deno run -A --unstable-kv topics_server.ts redis URL | kv PATH, then TOPIC NAME DEADLINE_MS`.
 * A wirestream server on the Redis backplane (or the Deno KV one on a local file, polled every
 * 50 ms, its default for a file), listening on 127.0.0.1:0, whose route `/t`
 * subscribes each session to TOPIC and then sends it `ok`. Prints `PORT {"port"}`, then takes
 * commands on stdin (one JSON object a line):
 *
 * - `{"cmd":"publish","messages","size","window"}`: publishes `messages` text messages of `size`
 *   bytes, `seq ts xxx…`, where `ts` is the publish time in epoch milliseconds
 *   (`performance.timeOrigin + performance.now()`, taken just before `server.publish`), with at
 *   most `window` publishes in flight (1: each awaited), and at most `rate` a second when
 *   `rate` > 0; then prints `PUBLISHED {…}`;
 * - `{"cmd":"cpu"}`: prints `CPU {"cpu"}`, this process's CPU seconds so far;
 * - `{"cmd":"stop"}`: shuts the server down (and its backplane) and exits.
 *
 * Bounded: the process exits by itself after its deadline.
 *
 * @module
 */

import { createServer } from "../../server.ts";
import { redisBackplane } from "../../redis.ts";
import { kvBackplane } from "../../kv.ts";
import { commands, deadline, emit } from "./child.ts";

const [kind, where, topic, name, limit] = Deno.args as [string, string, string, string, string];
deadline(Number(limit));

const server = createServer({
  onError: () => {},
  topics: {
    backplane: kind === "kv"
      ? kvBackplane({ path: where, nodeId: name })
      : redisBackplane({ url: where, nodeId: name, prefix: "crossbench" }),
  },
});
server.webSocket("/t", async (session) => {
  await session.subscribe(topic);
  await session.send("ok");
  try {
    for await (const _ of session.incoming) { /* clients send nothing */ }
  } catch { /* closed */ }
});
const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
emit("PORT", { port: listener.addr.port });

/** The message `seq`: `seq ts ` then `x` up to `size` bytes. */
function message(seq: number, size: number): string {
  const head = `${seq} ${(performance.timeOrigin + performance.now()).toFixed(3)} `;
  return head.length >= size ? head : head + "x".repeat(size - head.length);
}

/** This process's CPU time (user + system), in seconds. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks
}

async function publish(
  messages: number,
  size: number,
  window: number,
  rate: number,
): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  let queued = 0, dropped = 0, closed = 0, failed = 0;
  const first = performance.timeOrigin + performance.now();
  const start = performance.now();
  for (let seq = 0; seq < messages; seq++) {
    if (rate > 0) {
      const wait = start + (seq * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const p = server.publish(topic, message(seq, size)).then(
      (r) => {
        queued += r.queued;
        dropped += r.dropped;
        closed += r.closed;
      },
      () => failed++,
    );
    if (window <= 1) {
      await p;
      continue;
    }
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const last = performance.timeOrigin + performance.now();
  emit("PUBLISHED", { first, last, queued, dropped, closed, failed });
}

await commands(async (line) => {
  const c = JSON.parse(line) as {
    cmd: string;
    messages: number;
    size: number;
    window: number;
    rate: number;
  };
  if (c.cmd === "publish") await publish(c.messages, c.size, c.window, c.rate);
  if (c.cmd === "cpu") emit("CPU", { cpu: cpuSeconds() });
  if (c.cmd === "stop") {
    emit("STOPPED");
    await server.shutdown();
    Deno.exit(0);
  }
});
await server.shutdown();
