/**
 * One client process of `bench/topics_cross.ts`:
 * `deno run -A topics_client.ts PORT CONNECTIONS MESSAGES KIND DEADLINE_MS`.
 *
 * Opens CONNECTIONS WebSocket connections to `ws://127.0.0.1:PORT/t` (64 at a time), each with
 * KIND: `tcp` (the harness's neutral client: a TCP socket, a hand-written upgrade, frames scanned
 * in place) or `deno` (Deno's built-in `WebSocket`). Prints `READY` once every connection got
 * the server's `ok` (it is subscribed). Then, for every message `seq ts …`, records the delivery
 * latency (receive time − `ts`, both epoch milliseconds from `performance.timeOrigin +
 * performance.now()`: one clock, one machine) in a log histogram (1 % buckets), counts it, and
 * checks that each connection sees `seq` 0, 1, 2… exactly once and in order. Prints
 * `REPORT {…}` when every connection has MESSAGES messages, or when told `report` on stdin;
 * `stop` closes everything and exits.
 *
 * @module
 */

import { pool } from "./clients/common.ts";
import { commands, deadline, emit } from "./child.ts";
import { connectWs, FrameScanner, OP_TEXT } from "./wire.ts";

const [portText, connText, messagesText, kind, limit] = Deno.args as [
  string,
  string,
  string,
  string,
  string,
];
const port = Number(portText);
const n = Number(connText);
const messages = Number(messagesText);
deadline(Number(limit));

/** Histogram buckets: bucket b holds latencies in (1.01^(b-1), 1.01^b] microseconds. */
const BUCKETS = 3000;
const LOG_STEP = Math.log(1.01);
const histogram = new Float64Array(BUCKETS);
const counts = new Int32Array(n);
const expected = new Int32Array(n);
let outOfOrder = 0;
let closedEarly = 0;
let deliveries = 0;
let maxLatency = 0;
let sumLatency = 0;
let lastDelivery = 0;
let firstDelivery = Infinity;
let complete = 0;
let readyCount = 0;
let reported = false;
let onReady: () => void = () => {};
const ready = new Promise<void>((resolve) => (onReady = resolve));

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One message `seq ts …` (or the server's `ok`) on connection `i`. */
function deliver(i: number, seq: number, ts: number): void {
  if (seq < 0) {
    if (++readyCount === n) onReady();
    return;
  }
  const t = now();
  const latency = t - ts;
  if (t > lastDelivery) lastDelivery = t;
  if (t < firstDelivery) firstDelivery = t;
  deliveries++;
  sumLatency += latency;
  if (latency > maxLatency) maxLatency = latency;
  const us = latency * 1000;
  const b = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_STEP));
  histogram[b]!++;
  if (seq !== expected[i]) outOfOrder++;
  expected[i] = seq + 1;
  const c = ++counts[i]!;
  if (c === messages && ++complete === n) report();
}

function closed(i: number): void {
  if (counts[i]! < messages) closedEarly++;
}

/** Parses `seq ts ` from the start of a text payload (`ok`: seq -1). */
function parseText(text: string): [number, number] {
  if (text === "ok") return [-1, 0];
  const a = text.indexOf(" ");
  const b = text.indexOf(" ", a + 1);
  return [Number(text.slice(0, a)), Number(text.slice(a + 1, b === -1 ? undefined : b))];
}

function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

function report(): void {
  if (reported) return;
  reported = true;
  const sparse: [number, number][] = [];
  for (let b = 0; b < BUCKETS; b++) if (histogram[b]! > 0) sparse.push([b, histogram[b]!]);
  let short = 0;
  let missing = 0;
  for (let i = 0; i < n; i++) {
    if (counts[i]! < messages) {
      short++;
      missing += messages - counts[i]!;
    }
  }
  emit("REPORT", {
    connections: n,
    deliveries,
    complete,
    short,
    missing,
    outOfOrder,
    closedEarly,
    maxLatency,
    sumLatency,
    firstDelivery,
    lastDelivery,
    histogram: sparse,
    cpu: cpuSeconds(),
  });
}

const DECODER = new TextDecoder();
const closers: (() => void)[] = [];

async function openTcp(i: number): Promise<void> {
  const { conn, leftover } = await connectWs(port, "/t");
  const prefix = new Uint8Array(48);
  let prefixLen = 0;
  let opcode = 0;
  const scanner = new FrameScanner({
    onHeader: (op) => {
      opcode = op;
      prefixLen = 0;
    },
    onPayload: (chunk, offset) => {
      for (let k = 0; k < chunk.length && offset + k < prefix.length; k++) {
        prefix[prefixLen++] = chunk[k]!;
      }
    },
    onFrame: () => {
      if (opcode !== OP_TEXT) return;
      const [seq, ts] = parseText(DECODER.decode(prefix.subarray(0, prefixLen)));
      deliver(i, seq, ts);
    },
  });
  scanner.scan(leftover, 0, leftover.length);
  closers.push(() => conn.close());
  (async () => {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const r = await conn.read(buf);
        if (r === null) break;
        scanner.scan(buf, 0, r);
      }
    } catch { /* closed */ }
    closed(i);
  })();
}

async function openDeno(i: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/t`);
  ws.onmessage = (e) => {
    const [seq, ts] = parseText(e.data as string);
    deliver(i, seq, ts);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("connection failed"));
  });
  ws.onerror = () => {};
  ws.onclose = () => closed(i);
  closers.push(() => ws.close());
}

const start = performance.now();
await pool(n, 64, kind === "deno" ? openDeno : openTcp);
await ready;
emit("READY", { seconds: (performance.now() - start) / 1000 });

await commands((line) => {
  if (line === "report") report();
  if (line === "stop") {
    for (const close of closers) close();
    Deno.exit(0);
  }
});
