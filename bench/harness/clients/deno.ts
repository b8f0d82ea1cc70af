/**
 * Deno's built-in client under test: `new WebSocket(url)` with `binaryType = "arraybuffer"`,
 * driven by its events as a user would. It has no drain event: bulk senders poll
 * `bufferedAmount` once per event-loop turn.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { latencySummary, MAX_SAMPLES, turn, windowMessages } from "../child.ts";
import { HIGH_WATER, message } from "./common.ts";
import { pool } from "./neutral.ts";

/** Sockets of the idle workload, kept referenced until the process exits. */
const kept: WebSocket[] = [];

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
  });
}

/**
 * Runs the workload against `port`.
 *
 * @param params The cell.
 * @param port The server.
 */
export async function runDeno(params: CellParams, port: number): Promise<Record<string, number>> {
  const url = `ws://127.0.0.1:${port}/bench`;
  if (params.kind === "idle") {
    const already = kept.length;
    const start = performance.now();
    await pool(params.connections, params.concurrency, async () => {
      kept.push(await open(url));
    });
    const seconds = (performance.now() - start) / 1000;
    const connections = kept.length - already;
    return { connections, seconds, rate: connections / seconds };
  }
  const ws = await open(url);
  switch (params.kind) {
    case "echo-seq":
      return await echoSeq(params, ws);
    case "echo-pipe":
      return await echoPipe(params, ws);
    case "sink":
      return await sink(params, ws);
    default:
      throw new Error(`no client workload ${params.kind}`);
  }
}

function echoSeq(params: CellParams, ws: WebSocket): Promise<Record<string, number>> {
  const msg = message(params);
  const samples = new Float64Array(Math.min(MAX_SAMPLES, 1 << 22));
  return new Promise((resolve, reject) => {
    let n = 0;
    let warm = true;
    const warmEnd = performance.now() + params.warmupMs;
    let start = 0;
    let end = 0;
    let t0 = 0;
    ws.onerror = () => reject(new Error("WebSocket error"));
    ws.onmessage = () => {
      const now = performance.now();
      if (warm) {
        if (now >= warmEnd) {
          warm = false;
          start = now;
          end = now + params.durationMs;
        }
      } else {
        samples[n++] = now - t0;
        if (now >= end || n >= samples.length) {
          resolve(latencySummary(samples, n, (now - start) / 1000));
          return;
        }
      }
      t0 = now;
      ws.send(msg);
    };
    t0 = performance.now();
    ws.send(msg);
  });
}

function echoPipe(params: CellParams, ws: WebSocket): Promise<Record<string, number>> {
  const msg = message(params);
  const window = windowMessages(params);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let got = 0;
    let sending = true;
    let phaseEnd = performance.now() + params.warmupMs;
    let warm = true;
    let before = 0;
    let start = 0;
    const fill = () => {
      while (sending && sent - got < window) {
        if (performance.now() >= phaseEnd) {
          sending = false;
          break;
        }
        ws.send(msg);
        sent++;
      }
    };
    ws.onerror = () => reject(new Error("WebSocket error"));
    ws.onmessage = () => {
      got++;
      if (sending) fill();
      if (!sending && got === sent) {
        const now = performance.now();
        if (warm) {
          warm = false;
          before = got;
          start = now;
          phaseEnd = now + params.durationMs;
          sending = true;
          fill();
        } else {
          const seconds = (now - start) / 1000;
          const messages = got - before;
          resolve({ messages, seconds, mbps: (messages * params.size) / 1e6 / seconds });
        }
      }
    };
    fill();
  });
}

async function sink(params: CellParams, ws: WebSocket): Promise<Record<string, number>> {
  const msg = message(params);
  let total = 0;
  let ack: ((n: number) => void) | null = null;
  ws.onmessage = (e) => ack?.(Number(e.data));
  const drain = async () => {
    for (let i = 0; ws.bufferedAmount >= HIGH_WATER && i < 1_000_000; i++) await turn();
  };
  const round = async (count: number, ms: number) => {
    let sent = 0;
    if (count > 0) {
      for (; sent < count; sent++) {
        ws.send(msg);
        if (ws.bufferedAmount >= HIGH_WATER) await drain();
      }
    } else {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        for (let i = 0; i < 64; i++, sent++) {
          ws.send(msg);
          if (ws.bufferedAmount >= HIGH_WATER) await drain();
        }
      }
    }
    total += sent;
    const acked = new Promise<number>((resolve) => (ack = resolve));
    ws.send("end");
    const n = await acked;
    if (n !== total) throw new Error(`the sink counted ${n} messages, ${total} were sent`);
    return sent;
  };
  await round(params.warmupCount, params.warmupMs);
  const start = performance.now();
  const messages = await round(params.count, params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  return {
    messages,
    seconds,
    rate: messages / seconds,
    mbps: (messages * params.size) / 1e6 / seconds,
  };
}
