/**
 * The neutral load generator every server is measured with (and, in TCP mode, the TCP ceiling
 * client): pre-encoded masked frames written with `conn.write`, replies scanned in place with
 * the harness's own codec. In TCP mode it moves the same bytes without an upgrade.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { pool, Signal } from "./common.ts";
import { latencySummary, MAX_SAMPLES, payload, readCount, windowMessages } from "../child.ts";
import {
  type Conn,
  connectWs,
  encodeFrame,
  encodeFrames,
  FrameScanner,
  OP_BINARY,
  OP_TEXT,
  writeAll,
} from "../wire.ts";

const ENCODER = new TextEncoder();

/** A connection of the load generator, with what arrived past the handshake. */
interface Opened {
  conn: Conn;
  leftover: Uint8Array;
}

/**
 * Runs the workload against `port`.
 *
 * @param params The cell.
 * @param port The server.
 * @param tcp TCP mode (the ceiling): no upgrade, the server moves bytes.
 * @returns The figures.
 */
export async function runLoadgen(
  params: CellParams,
  port: number,
  tcp: boolean,
): Promise<Record<string, number>> {
  const open = async (): Promise<Opened> => {
    if (!tcp) return await connectWs(port, "/bench");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return { conn, leftover: new Uint8Array(0) };
  };
  switch (params.kind) {
    case "echo-seq":
      return await echoSeq(params, await open());
    case "echo-pipe":
      return await echoPipe(params, await open());
    case "sink":
      return tcp ? await tcpSink(params, open) : await wsSink(params, await open());
    case "broadcast":
      return await broadcast(params, open, tcp);
    case "idle":
      return await idle(params, open);
    default:
      throw new Error(`the load generator does not run ${params.kind}`);
  }
}

/** Reads into `buf` and scans until `done()` holds. */
async function readUntil(
  conn: Conn,
  buf: Uint8Array,
  scanner: FrameScanner,
  done: () => boolean,
): Promise<void> {
  while (!done()) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("the server closed the connection");
    scanner.scan(buf, 0, n);
  }
}

async function echoSeq(
  params: CellParams,
  { conn, leftover }: Opened,
): Promise<Record<string, number>> {
  const frame = encodeFrame(params.text ? OP_TEXT : OP_BINARY, payload(params.size), true);
  const scanner = new FrameScanner();
  scanner.scan(leftover, 0, leftover.length);
  const buf = new Uint8Array(64 * 1024);
  const roundTrip = async () => {
    const want = scanner.frames + 1;
    await writeAll(conn, frame);
    await readUntil(conn, buf, scanner, () => scanner.frames >= want);
  };
  const warmEnd = performance.now() + params.warmupMs;
  while (performance.now() < warmEnd) await roundTrip();
  const samples = new Float64Array(Math.min(MAX_SAMPLES, 1 << 22));
  let n = 0;
  const start = performance.now();
  const end = start + params.durationMs;
  let now = start;
  while (now < end && n < samples.length) {
    const t0 = now;
    await roundTrip();
    now = performance.now();
    samples[n++] = now - t0;
  }
  conn.close();
  return latencySummary(samples, n, (now - start) / 1000);
}

async function echoPipe(
  params: CellParams,
  { conn, leftover }: Opened,
): Promise<Record<string, number>> {
  const frame = encodeFrame(OP_BINARY, payload(params.size), true);
  const window = windowMessages(params);
  const signal = new Signal();
  const scanner = new FrameScanner({ onFrame: () => signal.notify() });
  scanner.scan(leftover, 0, leftover.length);
  let sent = 0;
  let failed: unknown = null;
  const reading = (async () => {
    const buf = new Uint8Array(256 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        scanner.scan(buf, 0, n);
      }
    } catch (err) {
      failed = err;
    }
    failed ??= new Error("the server closed the connection");
    signal.notify();
  })();
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end && failed === null) {
      if (sent - scanner.frames >= window) {
        await signal.until(() => sent - scanner.frames < window || failed !== null);
      }
      await writeAll(conn, frame);
      sent++;
    }
    await signal.until(() => scanner.frames >= sent || failed !== null);
  };
  await run(params.warmupMs);
  const before = scanner.frames;
  const start = performance.now();
  await run(params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  const messages = scanner.frames - before;
  const broken = failed;
  conn.close();
  await reading;
  if (broken !== null) throw broken;
  return { messages, seconds, mbps: (messages * params.size) / 1e6 / seconds };
}

/** The frames one write of a sink carries: one large message, or many small ones. */
function sinkChunk(size: number): { bytes: Uint8Array; perChunk: number; frameSize: number } {
  const perChunk = size >= 4096 ? 1 : Math.floor(64 * 1024 / (size + 6));
  const bytes = encodeFrames(OP_BINARY, payload(size), true, perChunk);
  return { bytes, perChunk, frameSize: bytes.length / perChunk };
}

/** Writes `count` messages (or until `ms` passed when `count` is 0); returns how many. */
async function pour(
  conn: Conn,
  chunk: { bytes: Uint8Array; perChunk: number; frameSize: number },
  count: number,
  ms: number,
): Promise<number> {
  let sent = 0;
  if (count > 0) {
    while (sent < count) {
      const k = Math.min(chunk.perChunk, count - sent);
      await writeAll(conn, chunk.bytes.subarray(0, k * chunk.frameSize));
      sent += k;
    }
  } else {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await writeAll(conn, chunk.bytes);
      sent += chunk.perChunk;
    }
  }
  return sent;
}

function sinkResult(params: CellParams, messages: number, seconds: number): Record<string, number> {
  return {
    messages,
    seconds,
    rate: messages / seconds,
    mbps: (messages * params.size) / 1e6 / seconds,
  };
}

async function wsSink(
  params: CellParams,
  { conn, leftover }: Opened,
): Promise<Record<string, number>> {
  const chunk = sinkChunk(params.size);
  const end = encodeFrame(OP_TEXT, ENCODER.encode("end"), true);
  let ack = -1;
  const scanner = new FrameScanner({
    onFrame: (op, _len, text) => {
      if (op === OP_TEXT && text !== null) ack = Number(text);
    },
  });
  scanner.scan(leftover, 0, leftover.length);
  const buf = new Uint8Array(4096);
  let total = 0;
  const round = async (count: number, ms: number) => {
    const sent = await pour(conn, chunk, count, ms);
    total += sent;
    ack = -1;
    await writeAll(conn, end);
    await readUntil(conn, buf, scanner, () => ack >= 0);
    if (ack !== total) throw new Error(`the sink counted ${ack} messages, ${total} were sent`);
    return sent;
  };
  await round(params.warmupCount, params.warmupMs);
  const start = performance.now();
  const messages = await round(params.count, params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  conn.close();
  return sinkResult(params, messages, seconds);
}

async function tcpSink(
  params: CellParams,
  open: () => Promise<Opened>,
): Promise<Record<string, number>> {
  const chunk = sinkChunk(params.size);
  const round = async (count: number, ms: number) => {
    const { conn } = await open();
    const sent = await pour(conn, chunk, count, ms);
    await conn.closeWrite();
    const reply = new Uint8Array(8);
    let got = 0;
    while (got < 8) {
      const n = await conn.read(reply.subarray(got));
      if (n === null) throw new Error("the TCP sink closed without a count");
      got += n;
    }
    conn.close();
    if (readCount(reply) !== sent * chunk.frameSize) throw new Error("the TCP sink lost bytes");
    return sent;
  };
  await round(params.warmupCount, params.warmupMs);
  const start = performance.now();
  const messages = await round(params.count, params.durationMs);
  return sinkResult(params, messages, (performance.now() - start) / 1000);
}

async function broadcast(
  params: CellParams,
  open: () => Promise<Opened>,
  tcp: boolean,
): Promise<Record<string, number>> {
  const n = params.clients;
  const counts = new Int32Array(n);
  const conns: Conn[] = new Array(n);
  let target = 0;
  let reached = 0;
  let done: (() => void) | null = null;
  let failed: unknown = null;
  const readers: Promise<void>[] = [];
  await pool(n, params.concurrency, async (i) => {
    const { conn, leftover } = await open();
    conns[i] = conn;
    const scanner = new FrameScanner({
      onFrame: () => {
        const c = counts[i]! + 1;
        counts[i] = c;
        if (c === target && ++reached === n) done?.();
      },
    });
    scanner.scan(leftover, 0, leftover.length);
    readers.push((async () => {
      const buf = new Uint8Array(16 * 1024);
      try {
        while (true) {
          const r = await conn.read(buf);
          if (r === null) break;
          scanner.scan(buf, 0, r);
        }
      } catch (err) {
        failed ??= err;
        done?.();
      }
    })());
  });
  const go = async (messages: number) => {
    reached = 0;
    target += messages;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const text = `go:${messages}:${n}`;
    await writeAll(
      conns[0]!,
      tcp ? ENCODER.encode(text + "\n") : encodeFrame(OP_TEXT, ENCODER.encode(text), true),
    );
    await finished;
    if (failed !== null) throw failed;
  };
  await go(Math.max(16, Math.floor(params.messages / 10)));
  const start = performance.now();
  await go(params.messages);
  const seconds = (performance.now() - start) / 1000;
  for (const conn of conns) conn.close();
  await Promise.allSettled(readers);
  return { deliveries: params.messages * n, seconds, rate: (params.messages * n) / seconds };
}

async function idle(
  params: CellParams,
  open: () => Promise<Opened>,
): Promise<Record<string, number>> {
  const conns: Conn[] = [];
  const start = performance.now();
  await pool(params.connections, params.concurrency, async () => {
    conns.push((await open()).conn);
  });
  const seconds = (performance.now() - start) / 1000;
  return { connections: conns.length, seconds, rate: conns.length / seconds };
}
