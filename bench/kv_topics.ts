/**
 * Measures the Deno KV backplane between two processes on one local SQLite file: publishes per
 * second and publish → delivery latency. Prints a Markdown table (see `docs/topics-kv.md`).
 *
 * ```sh
 * deno run -A --unstable-kv bench/kv_topics.ts            # the whole set (about 30 s)
 * deno run -A --unstable-kv bench/kv_topics.ts --quick    # fewer messages
 * ```
 *
 * Each scenario runs two child processes (this file with `peer` arguments) on a fresh file in a
 * temporary directory. Both subscribe to one topic, wait for the parent's go, publish, and wait
 * until they received every message of both (at most 60 s):
 *
 * - `burst`: each publishes `count` messages at once (`Promise.all`), so one backplane batches
 *   them; publishes/s = count / the time until the last publish resolved, per process.
 * - `paced`: each publishes one message every `pace` ms (awaiting each); a message carries its
 *   send time (`performance.timeOrigin + performance.now()`), and the receiver takes the
 *   difference when it is delivered. Only the other process's messages count.
 *
 * Plus `sequential`: one process, no subscriber, awaiting each publish (one atomic operation per
 * message).
 *
 * @module
 */

import { kvBackplane } from "../kv.ts";
import type { TopicMessage } from "../src/topics/backplane.ts";

const now = () => performance.timeOrigin + performance.now();

interface PeerResult {
  rate: number;
  latencies: number[];
  received: number;
  gaps: number;
  downs: number;
}

async function peer(args: string[]): Promise<void> {
  const [path, name, countText, expectText, pollText, mode, paceText] = args as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const count = Number(countText);
  const expect = Number(expectText);
  const latencies: number[] = [];
  let received = 0;
  let gaps = 0;
  let downs = 0;
  const bp = kvBackplane({ path, pollInterval: Number(pollText) });
  await bp.start({
    deliver(m: TopicMessage) {
      received++;
      const [from, sent] = (m.data as string).split(" ");
      if (from !== name) latencies.push(now() - Number(sent));
    },
    event(e) {
      if (e.type === "gap") gaps += e.to - e.from + 1;
      if (e.type === "down") downs++;
    },
  });
  await bp.subscribe("bench");
  console.log("ready");
  const stdin = Deno.stdin.readable.getReader();
  await stdin.read();
  stdin.releaseLock();
  const t0 = performance.now();
  if (mode === "burst") {
    await Promise.all(
      Array.from(
        { length: count },
        (_, i) => bp.publish("bench", { data: `${name} ${now()}`, ref: i }),
      ),
    );
  } else {
    for (let i = 0; i < count; i++) {
      await bp.publish("bench", { data: `${name} ${now()}`, ref: i });
      await new Promise((r) => setTimeout(r, Number(paceText)));
    }
  }
  const rate = count && count / ((performance.now() - t0) / 1000);
  const deadline = performance.now() + 60_000;
  while (received + gaps < expect && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await bp.close();
  console.log(JSON.stringify({ rate, latencies, received, gaps, downs } satisfies PeerResult));
}

function lines(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamDefaultReader<string> {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines()).getReader();
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) controller.enqueue(p);
    },
  });
}

async function scenario(
  mode: "burst" | "paced",
  count: number,
  poll: number,
  pace = 0,
  oneWay = false,
): Promise<PeerResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "wirestream_kv_bench_" });
  const path = `${dir}/topics.sqlite3`;
  try {
    const self = new URL(import.meta.url).pathname;
    const children = ["p", "q"].map((name) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-kv",
          self,
          "peer",
          path,
          name,
          String(oneWay && name === "q" ? 0 : count),
          String(oneWay ? count : 2 * count),
          String(poll),
          mode,
          String(pace),
        ],
        stdin: "piped",
        stdout: "piped",
      }).spawn()
    );
    const readers = children.map((c) => lines(c.stdout));
    for (const r of readers) if ((await r.read()).value !== "ready") throw new Error("peer failed");
    for (const c of children) {
      const w = c.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
    }
    const results = await Promise.all(
      readers.map(async (r) => JSON.parse((await r.read()).value!)),
    );
    await Promise.all(children.map((c) => c.status));
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function sequential(count: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "wirestream_kv_bench_" });
  try {
    const bp = kvBackplane({ path: `${dir}/topics.sqlite3` });
    await bp.start({ deliver() {}, event() {} });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await bp.publish("bench", { data: `x ${i}`, ref: i });
    const rate = count / ((performance.now() - t0) / 1000);
    await bp.close();
    return rate;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(quick: boolean): Promise<void> {
  const n = quick ? 200 : 2000;
  const paced = quick ? 100 : 500;
  const f = (x: number) => x.toFixed(x < 10 ? 1 : 0);
  console.log(`| scenario | publishes/s (per process) | delivered | latency p50 | p99 |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| sequential, 1 process, ${n} | ${f(await sequential(n))} | – | – | – |`);
  for (const poll of [10, 100]) {
    const rs = await scenario("burst", n, poll);
    const lat = rs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    console.log(
      `| burst, 2 × ${n}, poll ${poll} ms | ${rs.map((r) => f(r.rate)).join(" / ")} | ${
        rs.map((r) =>
          r.received + (r.gaps ? ` (${r.gaps} lost)` : "") + (r.downs ? ` (${r.downs} down)` : "")
        ).join(" / ")
      } | ${f(percentile(lat, 0.5))} ms | ${f(percentile(lat, 0.99))} ms |`,
    );
  }
  for (const oneWay of [false, true]) {
    for (const poll of [10, 50, 100]) {
      const rs = await scenario("paced", paced, poll, 5, oneWay);
      const lat = rs.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const who = oneWay ? `1 publisher, 1 subscriber, ${paced}` : `2 × ${paced}`;
      console.log(
        `| paced (5 ms), ${who}, poll ${poll} ms | ${rs.map((r) => f(r.rate)).join(" / ")} | ${
          rs.map((r) =>
            r.received + (r.gaps ? ` (${r.gaps} lost)` : "") + (r.downs ? ` (${r.downs} down)` : "")
          ).join(" / ")
        } | ${f(percentile(lat, 0.5))} ms | ${f(percentile(lat, 0.99))} ms |`,
      );
    }
  }
}

if (Deno.args[0] === "peer") await peer(Deno.args.slice(1));
else await main(Deno.args.includes("--quick"));
