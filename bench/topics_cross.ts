/**
 * Topics across processes: one publisher, every subscriber in several server processes sharing a
 * real Redis through the Redis backplane.
 *
 * ```sh
 * deno run -A --lock=tests/deno.lock bench/topics_cross.ts [--processes 3] [--subscribers 1000] \
 *   [--messages 500] [--size 64] [--window 1] [--rate 0] [--client tcp|deno] [--timeout 120] \
 *   [--backplane redis|kv]
 * ```
 *
 * 1. Starts a `redis-server` on a free loopback port (no persistence; stopped by PID); with
 *    `--backplane kv`, the servers share a Deno KV file in a temporary directory instead
 *    (`kvBackplane`, polled every 50 ms).
 * 2. Starts `--processes` server processes (`harness/topics_server.ts`), each a wirestream server
 *    on `redisBackplane` (or `kvBackplane`), listening on 127.0.0.1:0, whose route subscribes every session to one
 *    topic.
 * 3. Starts one client process per server (`harness/topics_client.ts`) opening `--subscribers`
 *    connections to it, and waits until every session is subscribed.
 * 4. The first server process publishes `--messages` messages of `--size` bytes, each carrying its
 *    publish time, awaiting each `server.publish` (`--window` > 1: that many in flight;
 *    `--rate` > 0: paced at that many a second).
 * 5. Clients record publish-to-delivery latency and check that every subscriber got every
 *    message exactly once, in order.
 *
 * Reports deliveries/s over all subscribers (from the first publish to the last delivery),
 * latency p50/p99/max (histogram with 1 % buckets; max exact), and any loss, duplicate or
 * reordering. Every child process is bounded by a deadline, and all of them, and Redis, are
 * stopped by PID at the end, failure or not.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RedisServer } from "../tests/_helpers/redis_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    processes: { type: "string", default: "3" },
    subscribers: { type: "string", default: "1000" },
    messages: { type: "string", default: "500" },
    size: { type: "string", default: "64" },
    window: { type: "string", default: "1" },
    rate: { type: "string", default: "0" },
    client: { type: "string", default: "tcp" },
    timeout: { type: "string", default: "120" },
    backplane: { type: "string", default: "redis" },
    json: { type: "boolean", default: false },
  },
});
const processes = Number(values.processes);
const subscribers = Number(values.subscribers);
const messages = Number(values.messages);
const size = Number(values.size);
const window = Number(values.window);
const rate = Number(values.rate);
const clientKind = values.client;
const timeoutMs = Number(values.timeout) * 1000;
const backplane = values.backplane;
if (clientKind !== "tcp" && clientKind !== "deno") throw new TypeError("--client tcp|deno");
if (backplane !== "redis" && backplane !== "kv") throw new TypeError("--backplane redis|kv");
for (
  const [k, v] of [["processes", processes], ["subscribers", subscribers], [
    "messages",
    messages,
  ]] as const
) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${k} must be a positive integer`);
}
if (!Number.isInteger(size) || size < 32) throw new RangeError("--size must be at least 32");

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const LOCK = ["--lock=" + ROOT + "tests/deno.lock", "--frozen", "--unstable-kv"];
const HARD_DEADLINE = Date.now() + timeoutMs;

/** A child process speaking `TAG {json}` lines on stdout and taking lines on stdin. */
class Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: { tag: string; data: Record<string, unknown> }[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  constructor(name: string, script: string, args: string[]) {
    this.name = name;
    this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...LOCK, ROOT + script, ...args],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.process.stdin.getWriter();
    this.#read();
  }

  async #read(): Promise<void> {
    let pending = "";
    try {
      for await (const chunk of this.process.stdout.pipeThrough(new TextDecoderStream())) {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const sp = line.indexOf(" ");
          const tag = sp === -1 ? line : line.slice(0, sp);
          try {
            const data = sp === -1 ? {} : JSON.parse(line.slice(sp + 1));
            this.#lines.push({ tag, data });
          } catch {
            console.error(`[${this.name}] ${line}`);
          }
          this.#wake?.();
        }
      }
    } catch { /* killed */ }
    this.#ended = true;
    this.#wake?.();
  }

  /** The next `tag` line's data, waiting at most `ms`. */
  async expect<T = Record<string, unknown>>(tag: string, ms: number): Promise<T> {
    const until = Math.min(Date.now() + ms, HARD_DEADLINE);
    while (true) {
      const at = this.#lines.findIndex((l) => l.tag === tag);
      if (at >= 0) return this.#lines.splice(at, 1)[0]!.data as T;
      if (this.#ended) throw new Error(`${this.name} exited before ${tag}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${tag} within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Asks it to stop, then kills it (by its PID) if it has not exited within `ms`. */
  async stop(ms = 5000): Promise<void> {
    await this.send(JSON.stringify({ cmd: "stop" })).catch(() => {});
    await this.send("stop").catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.process.status.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        this.process.kill("SIGKILL");
      } catch { /* already gone */ }
      await this.process.status;
    }
    await this.#writer.close().catch(() => {});
  }
}

interface ClientReport {
  connections: number;
  deliveries: number;
  complete: number;
  short: number;
  missing: number;
  outOfOrder: number;
  closedEarly: number;
  maxLatency: number;
  sumLatency: number;
  firstDelivery: number;
  lastDelivery: number;
  histogram: [number, number][];
  cpu: number;
}

/** The latency (ms) at quantile `q` of the merged 1 % histogram (bucket upper bound). */
function quantile(histogram: Map<number, number>, total: number, q: number): number {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const b of [...histogram.keys()].sort((x, y) => x - y)) {
    seen += histogram.get(b)!;
    if (seen >= rank) return Math.pow(1.01, b) / 1000;
  }
  return NaN;
}

const children: Child[] = [];
const redis = backplane === "redis" ? await RedisServer.start() : undefined;
const kvDir = backplane === "kv" ? await Deno.makeTempDir({ prefix: "ws-crossbench-kv-" }) : "";
try {
  const topic = "crossbench";
  const childDeadline = String(timeoutMs + 30_000);
  const servers = Array.from(
    { length: processes },
    (_, i) =>
      new Child(`server ${i}`, "bench/harness/topics_server.ts", [
        backplane,
        redis ? redis.url : `${kvDir}/topics.sqlite3`,
        topic,
        `s${i}`,
        childDeadline,
      ]),
  );
  children.push(...servers);
  const ports = [];
  for (const s of servers) ports.push(Number((await s.expect("PORT", 30_000)).port));

  const clients = ports.map((port, i) =>
    new Child(`client ${i}`, "bench/harness/topics_client.ts", [
      String(port),
      String(subscribers),
      String(messages),
      clientKind,
      childDeadline,
    ])
  );
  children.push(...clients);
  let connectSeconds = 0;
  for (const c of clients) {
    connectSeconds = Math.max(connectSeconds, Number((await c.expect("READY", 90_000)).seconds));
  }

  const publisher = servers[0]!;
  await publisher.send(JSON.stringify({ cmd: "publish", messages, size, window, rate }));
  const published = await publisher.expect<{
    first: number;
    last: number;
    queued: number;
    dropped: number;
    closed: number;
    failed: number;
  }>("PUBLISHED", timeoutMs);

  const reports: ClientReport[] = [];
  const grace = Date.now() + 20_000;
  for (const c of clients) {
    try {
      reports.push(await c.expect<ClientReport>("REPORT", Math.max(0, grace - Date.now())));
    } catch {
      await c.send("report");
      reports.push(await c.expect<ClientReport>("REPORT", 5_000));
    }
  }

  const serverCpu: number[] = [];
  for (const s of servers) {
    await s.send(JSON.stringify({ cmd: "cpu" }));
    serverCpu.push(Number((await s.expect("CPU", 5_000)).cpu));
  }

  const expected = processes * subscribers * messages;
  const histogram = new Map<number, number>();
  let deliveries = 0, missing = 0, short = 0, outOfOrder = 0, closedEarly = 0;
  let maxLatency = 0, sumLatency = 0, lastDelivery = 0, cpu = 0;
  for (const r of reports) {
    deliveries += r.deliveries;
    missing += r.missing;
    short += r.short;
    outOfOrder += r.outOfOrder;
    closedEarly += r.closedEarly;
    sumLatency += r.sumLatency;
    maxLatency = Math.max(maxLatency, r.maxLatency);
    lastDelivery = Math.max(lastDelivery, r.lastDelivery);
    cpu += r.cpu;
    for (const [b, n] of r.histogram) histogram.set(b, (histogram.get(b) ?? 0) + n);
  }
  // Per server process (its client process): the publisher's own subscribers, then the others.
  const perProcess = reports.map((r) => {
    const h = new Map(r.histogram);
    return { p50: quantile(h, r.deliveries, 0.5), p99: quantile(h, r.deliveries, 0.99) };
  });
  const seconds = (lastDelivery - published.first) / 1000;
  const result = {
    processes,
    subscribers: processes * subscribers,
    messages,
    size,
    window,
    rate,
    backplane,
    client: clientKind,
    connectSeconds,
    publishSeconds: (published.last - published.first) / 1000,
    publishesPerSecond: messages / ((published.last - published.first) / 1000),
    seconds,
    deliveries,
    expected,
    deliveriesPerSecond: deliveries / seconds,
    p50: quantile(histogram, deliveries, 0.5),
    p99: quantile(histogram, deliveries, 0.99),
    max: maxLatency,
    mean: sumLatency / deliveries,
    perProcess,
    missing,
    subscribersShort: short,
    outOfOrder,
    closedEarly,
    publishFailed: published.failed,
    publishDropped: published.dropped,
    publishClosed: published.closed,
    clientCpuSeconds: cpu,
    serverCpuSeconds: serverCpu,
    ok: deliveries === expected && missing === 0 && outOfOrder === 0 && published.failed === 0,
  };
  if (values.json) {
    console.log(JSON.stringify(result));
  } else {
    const f = (x: number, d = 1) => x.toFixed(d);
    console.log(
      `${processes} server processes on ${backplane} × ${subscribers} subscribers ` +
        `(${clientKind} clients), ` +
        `${messages} messages of ${size} B, window ${window}` +
        (rate > 0 ? `, at most ${rate}/s` : ""),
    );
    console.log(`  connect+subscribe: ${f(connectSeconds, 2)} s`);
    console.log(
      `  publish: ${f(result.publishSeconds, 2)} s (${
        f(result.publishesPerSecond, 0)
      } publishes/s)`,
    );
    console.log(
      `  deliveries: ${deliveries} / ${expected} in ${f(seconds, 2)} s = ` +
        `${f(result.deliveriesPerSecond / 1000)} k deliveries/s`,
    );
    console.log(
      `  latency ms: p50 ${f(result.p50)}  p99 ${f(result.p99)}  max ${f(result.max)}  mean ${
        f(result.mean)
      }`,
    );
    console.log(
      `  latency ms per server process (0 publishes): ${
        perProcess.map((p, i) => `${i}: p50 ${f(p.p50)} p99 ${f(p.p99)}`).join(", ")
      }`,
    );
    console.log(
      `  loss: ${missing} missing (${short} subscribers short), ${outOfOrder} out of order or ` +
        `duplicated, ${closedEarly} closed early, ${published.failed} publishes failed`,
    );
    console.log(
      `  CPU s: clients ${f(cpu, 2)}, servers ${serverCpu.map((c) => f(c, 2)).join(" / ")} ` +
        `(from their start); ${result.ok ? "OK" : "LOSS OR DISORDER"}`,
    );
  }
  if (!result.ok) Deno.exitCode = 1;
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await redis?.[Symbol.asyncDispose]();
  if (kvDir !== "") await Deno.remove(kvDir, { recursive: true }).catch(() => {});
}
