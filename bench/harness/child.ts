/**
 * What every benchmark child process shares: reporting lines on stdout, commands from the
 * driver on stdin, payloads and corpora, memory figures, and a hard deadline.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { CellParams } from "./plan.ts";
import { percentile } from "./stats.ts";

/** Prints one `TAG {json}` line for the driver. */
export function emit(tag: string, data: unknown = {}): void {
  console.log(`${tag} ${JSON.stringify(data)}`);
}

/**
 * Calls `onLine` for every line the driver writes on stdin, until stdin ends.
 *
 * @param onLine The handler.
 */
export async function commands(onLine: (line: string) => void | Promise<void>): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  const buf = new Uint8Array(1024);
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) return;
    pending += decoder.decode(buf.subarray(0, n), { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line !== "") await onLine(line);
    }
  }
}

/** Collects garbage (when started with `--expose-gc`) and returns the resident set size. */
export async function settledRss(): Promise<number> {
  return (await settledMemory()).rss;
}

/** Collects garbage (when started with `--expose-gc`) and returns the memory figures. */
export async function settledMemory(): Promise<Deno.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  return Deno.memoryUsage();
}

/** Exits the process with an error line after `ms` (every child is bounded in time). */
export function deadline(ms: number): void {
  const timer = setTimeout(() => {
    console.error(`deadline of ${ms} ms exceeded`);
    Deno.exit(3);
  }, ms);
  Deno.unrefTimer(timer);
}

/** Parses the child command line: `[impl, paramsJson, port?]`. */
export function childArgs(): { impl: string; params: CellParams; port: number } {
  const [impl, json, port] = Deno.args;
  if (impl === undefined || json === undefined) throw new Error("usage: <impl> <params-json>");
  return { impl, params: JSON.parse(json) as CellParams, port: Number(port ?? 0) };
}

/** A payload of `size` bytes: ASCII letters (valid as text and as binary). */
export function payload(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = 97 + (i % 26);
  return out;
}

/** A deterministic pseudo-random generator (so both sides of W6 see the same corpus). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

/** 64 different JSON-like messages of `size` characters (W6). */
export function jsonCorpus(size: number): string[] {
  const rnd = lcg(42);
  const out: string[] = [];
  for (let m = 0; m < 64; m++) {
    const items = [];
    let text = "";
    while (text.length < size) {
      items.push({
        id: Math.floor(rnd() * 1e6),
        user: `user${Math.floor(rnd() * 500)}`,
        active: rnd() < 0.5,
        score: Math.round(rnd() * 1e4) / 100,
        tags: ["red", "green", "blue", "admin", "guest"].filter(() => rnd() < 0.4),
      });
      text = JSON.stringify(items);
    }
    out.push(text.slice(0, size));
  }
  return out;
}

/** 8 different English-like texts of `size` characters (W6). */
export function textCorpus(size: number): string[] {
  const words = (
    "the quick brown fox jumps over the lazy dog while websocket frames carry compressed " +
    "messages across the wire and every endpoint keeps its own sliding window of history " +
    "so that repeated phrases cost a few bits instead of whole bytes on a busy connection"
  ).split(" ");
  const rnd = lcg(7);
  const out: string[] = [];
  for (let m = 0; m < 8; m++) {
    let text = "";
    while (text.length < size) text += words[Math.floor(rnd() * words.length)]! + " ";
    out.push(text.slice(0, size));
  }
  return out;
}

/** The W6 corpus of a cell. */
export function corpus(params: CellParams): string[] {
  return params.corpus === "json" ? jsonCorpus(params.size) : textCorpus(params.size);
}

/** The deflate settings both sides of W6 use (zlib level 6, memLevel 8, window 15, context
 * takeover both ways, no size threshold). */
export const DEFLATE = {
  level: 6,
  memLevel: 8,
  windowBits: 15,
} as const;

/** The message asking a W6 server for its socket counters. */
export const STATS = "__stats__";

/** How many messages a pipelined workload keeps in flight. */
export function windowMessages(params: CellParams): number {
  return Math.max(1, Math.floor(params.windowBytes / Math.max(1, params.size)));
}

/** Latencies kept at most (W1), so the sample array is bounded. */
export const MAX_SAMPLES = 4_000_000;

/** Summarises W1 latencies (ms samples) into the result figures. */
export function latencySummary(
  samples: Float64Array,
  n: number,
  seconds: number,
): Record<string, number> {
  const sorted = samples.subarray(0, n).sort();
  return {
    roundTrips: n,
    seconds,
    rate: n / seconds,
    p50: percentile(sorted, 50) * 1000,
    p99: percentile(sorted, 99) * 1000,
  };
}

/** The 8-byte big-endian count the TCP sink answers with. */
export function countBytes(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, n);
  return out;
}

/** Reads {@linkcode countBytes}. */
export function readCount(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
}

/** One event-loop turn (I/O included), without the 1-2 ms a `setTimeout(0)` costs in Deno. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
