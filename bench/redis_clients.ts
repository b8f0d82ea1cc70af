/**
 * Why the Redis backplane uses `npm:ioredis`: the two npm Redis clients side by side under Deno,
 * on the backplane's own publish script, against a `redis-server` started for the run (a free
 * loopback port, no persistence, stopped by PID). The results are in docs/topics-redis.md.
 *
 * ```sh
 * deno run -A bench/redis_clients.ts [--n=20000] [--reps=5]
 * ```
 *
 * For each client (`ioredis`, `redis` alias node-redis):
 *
 * - **pipelined**: `n` publish-script calls all in flight at once (EVALSHA), until a subscriber
 *   connection received all `n` messages: messages per second;
 * - **awaited**: `n / 10` calls awaited one by one: messages per second (latency-bound);
 * - **binary**: a payload of the 256 byte values through the script and the subscriber, as a
 *   `Buffer`, and as a plain `Uint8Array`;
 * - **restart**: with the client's default reconnection, the server killed and started again
 *   on the same port 300 ms later: milliseconds from the server answering `PING` again to the
 *   first successful command, and whether the subscription came back by itself.
 *
 * Then the backplane itself (`redisBackplane`, which drives ioredis): publishes per second
 * delivered to a second backplane instance, pipelined and awaited.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Redis } from "npm:ioredis@6.1.0";
import { createClient } from "npm:redis@6.4.0";
import { redisBackplane } from "../redis.ts";
import { PUBLISH_SCRIPT, topicKeys } from "../src/topics/_redis_protocol.ts";
import { RedisServer } from "../tests/_helpers/redis_server.ts";

const n = Number(Deno.args.find((a) => a.startsWith("--n="))?.slice(4) ?? 20_000);
const keys = (topic: string) => topicKeys("bench", topic);
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** What each client must provide for the measurements. */
interface Driver {
  name: string;
  /** Runs the publish script once. */
  publish(topic: string, data: Uint8Array | Buffer): Promise<unknown>;
  /** Subscribes to `topic`'s channel; `onMessage` gets the raw payload. */
  subscribe(topic: string, onMessage: (payload: Uint8Array) => void): Promise<void>;
  ping(): Promise<unknown>;
  close(): Promise<void>;
}

function args(topic: string, data: Uint8Array | Buffer): (string | Buffer)[] {
  const k = keys(topic);
  const payload = data instanceof Buffer ? data : (data as unknown as Buffer);
  return [k.counter, k.epoch, k.history, "e0", k.channel, "bench", "0", "b", payload, "0", "0"];
}

async function ioredisDriver(url: string, defaults: boolean): Promise<Driver> {
  const options = defaults ? {} : { retryStrategy: () => null };
  const cmd = new Redis(url, options);
  const sub = new Redis(url, options);
  cmd.on("error", () => {});
  sub.on("error", () => {});
  const sha = String(await cmd.script("LOAD", PUBLISH_SCRIPT));
  const listeners = new Map<string, (payload: Uint8Array) => void>();
  sub.on("messageBuffer", (channel: Buffer, payload: Buffer) => {
    listeners.get(channel.toString())?.(payload);
  });
  return {
    name: "ioredis@6.1.0",
    publish: (topic, data) => {
      const a = args(topic, data);
      return cmd.evalsha(sha, 3, ...a).catch(async (e: Error) => {
        if (!e.message.startsWith("NOSCRIPT")) throw e;
        return await cmd.eval(PUBLISH_SCRIPT, 3, ...a);
      });
    },
    subscribe: async (topic, onMessage) => {
      listeners.set(keys(topic).channel, onMessage);
      await sub.subscribe(keys(topic).channel);
    },
    ping: () => cmd.ping(),
    close: async () => {
      cmd.disconnect();
      sub.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

async function nodeRedisDriver(url: string, defaults: boolean): Promise<Driver> {
  const options = defaults ? { url } : { url, socket: { reconnectStrategy: false as const } };
  const cmd = createClient(options);
  const sub = createClient(options);
  cmd.on("error", () => {});
  sub.on("error", () => {});
  await cmd.connect();
  await sub.connect();
  const sha = String(await cmd.scriptLoad(PUBLISH_SCRIPT));
  return {
    name: "redis@6.4.0",
    publish: (topic, data) => {
      const [k1, k2, k3, ...rest] = args(topic, data);
      const options = { keys: [k1!, k2!, k3!], arguments: rest };
      return cmd.evalSha(sha, options).catch(async (e: Error) => {
        if (!e.message.startsWith("NOSCRIPT")) throw e;
        return await cmd.eval(PUBLISH_SCRIPT, options);
      });
    },
    subscribe: async (topic, onMessage) => {
      await sub.subscribe(keys(topic).channel, (payload: Buffer) => onMessage(payload), true);
    },
    ping: () => cmd.ping(),
    close: async () => {
      cmd.destroy();
      sub.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

/** Messages per second: `count` publishes (all in flight, or awaited each) until all received. */
async function throughput(d: Driver, topic: string, count: number, pipelined: boolean) {
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  await d.subscribe(topic, () => {
    if (++received === count) done();
  });
  const data = Buffer.from("x".repeat(64));
  const t0 = performance.now();
  if (pipelined) {
    await Promise.all(Array.from({ length: count }, () => d.publish(topic, data)));
  } else {
    for (let i = 0; i < count; i++) await d.publish(topic, data);
  }
  await all;
  return Math.round(count / ((performance.now() - t0) / 1000));
}

/** The last 256 bytes of a payload (the data field) equal 0…255? */
async function binary(d: Driver, asBuffer: boolean): Promise<string> {
  const topic = `bin-${asBuffer}`;
  const got = new Promise<Uint8Array>((resolve) => {
    d.subscribe(topic, resolve).catch(() => {});
  });
  const data = asBuffer ? Buffer.from(ALL_BYTES) : ALL_BYTES;
  // A client may throw from inside its write path: an uncaught error, not a rejection.
  let uncaught: unknown;
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    uncaught = e.error;
  };
  globalThis.addEventListener("error", onError);
  try {
    const outcome = await Promise.race([
      d.publish(topic, data).then(() => got),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000)),
    ]);
    if (outcome === undefined) {
      return uncaught ? `uncaught ${uncaught} (would end the process)` : "nothing received";
    }
    const tail = outcome.subarray(outcome.length - 256);
    if (tail.every((b, i) => b === i)) return "intact";
    const text = new TextDecoder().decode(outcome.subarray(outcome.lastIndexOf(10) + 1));
    return `corrupted (${text.length > 24 ? text.slice(0, 24) + "…" : text})`;
  } catch (error) {
    return `rejected: ${error}`;
  } finally {
    globalThis.removeEventListener("error", onError);
  }
}

async function restart(
  make: (url: string, defaults: boolean) => Promise<Driver>,
): Promise<string> {
  await using redis = await RedisServer.start();
  const d = await make(redis.url, true);
  let heard = 0;
  await d.subscribe("r", () => heard++);
  await redis.stop();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await redis.restart();
  const t0 = performance.now();
  let ms = -1;
  for (let i = 0; i < 200; i++) {
    try {
      await d.ping();
      ms = Math.round(performance.now() - t0);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  // Publish every 50 ms until the old subscription hears one (automatic resubscription).
  let resubscribedMs = -1;
  if (ms >= 0) {
    for (let i = 0; i < 40 && heard === 0; i++) {
      await d.publish("r", Buffer.from("after")).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (heard > 0) resubscribedMs = Math.round(performance.now() - t0);
  }
  await d.close();
  if (ms < 0) return "no command succeeded within 5 s";
  const sub = resubscribedMs < 0
    ? "subscription not restored within 2 s"
    : `subscription restored after ≤ ${resubscribedMs} ms`;
  return `commands after ${ms} ms, ${sub}`;
}

async function backplane(url: string, count: number, pipelined: boolean): Promise<number> {
  const a = redisBackplane({ url, prefix: "bench-bp" });
  const b = redisBackplane({ url, prefix: "bench-bp" });
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => done = resolve);
  await a.start({ deliver: () => {}, event: () => {} });
  await b.start({ deliver: () => ++received === count && done(), event: () => {} });
  const topic = `bp-${pipelined}`;
  await b.subscribe(topic);
  const data = "x".repeat(64);
  const t0 = performance.now();
  if (pipelined) {
    await Promise.all(
      Array.from({ length: count }, (_, i) => a.publish(topic, { data, ref: i })),
    );
  } else {
    for (let i = 0; i < count; i++) await a.publish(topic, { data, ref: i });
  }
  await all;
  const rate = Math.round(count / ((performance.now() - t0) / 1000));
  await a.close();
  await b.close();
  return rate;
}

const reps = Number(Deno.args.find((a) => a.startsWith("--reps="))?.slice(7) ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${median(xs)} msg/s (${Math.min(...xs)}…${Math.max(...xs)})`;

console.log(`Deno ${Deno.version.deno}, n = ${n}, ${reps} repetitions (median, range)`);
const makers = [ioredisDriver, nodeRedisDriver];
const rates = makers.map(() => ({ pipelined: [] as number[], awaited: [] as number[] }));
for (let rep = 0; rep < reps; rep++) {
  for (const [i, make] of makers.entries()) {
    await using redis = await RedisServer.start();
    const d = await make(redis.url, false);
    rates[i]!.pipelined.push(await throughput(d, "p", n, true));
    rates[i]!.awaited.push(await throughput(d, "s", Math.ceil(n / 10), false));
    await d.close();
  }
}
for (const [i, make] of makers.entries()) {
  await using redis = await RedisServer.start();
  const d = await make(redis.url, false);
  console.log(`\n${d.name}`);
  console.log(`  pipelined: ${range(rates[i]!.pipelined)}`);
  console.log(`  awaited:   ${range(rates[i]!.awaited)}`);
  console.log(`  binary, Buffer:     ${await binary(d, true)}`);
  console.log(`  binary, Uint8Array: ${await binary(d, false)}`);
  await d.close();
  for (let rep = 0; rep < 3; rep++) console.log(`  restart:   ${await restart(make)}`);
}
{
  await using redis = await RedisServer.start();
  const pipelined: number[] = [];
  const awaited: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    pipelined.push(await backplane(redis.url, n, true));
    awaited.push(await backplane(redis.url, Math.ceil(n / 10), false));
  }
  console.log(`\nredisBackplane (ioredis), delivered to a second instance`);
  console.log(`  pipelined: ${range(pipelined)}`);
  console.log(`  awaited:   ${range(awaited)}`);
}
