/**
 * Deno's built-in client under test: `new WebSocket(url)` with `binaryType = "arraybuffer"`,
 * driven by its events as a user would. It has no drain event: bulk senders poll
 * `bufferedAmount` once per event-loop turn.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { turn } from "../child.ts";
import {
  echoPipeEvents,
  echoSeqEvents,
  type EventSocket,
  HIGH_WATER,
  message,
  openIdle,
} from "./common.ts";

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

/** The socket as the shared echo loops drive it. */
function events(ws: WebSocket): EventSocket {
  return {
    send: (data) => ws.send(data),
    onMessage: (handler) => {
      ws.onmessage = handler;
    },
    onError: (handler) => {
      ws.onerror = () => handler(new Error("WebSocket error"));
    },
  };
}

/**
 * Runs the workload against `port`.
 *
 * @param params The cell.
 * @param port The server.
 */
export async function runDeno(params: CellParams, port: number): Promise<Record<string, number>> {
  const url = `ws://127.0.0.1:${port}/bench`;
  if (params.kind === "idle") return await openIdle(params, kept, () => open(url));
  const ws = await open(url);
  switch (params.kind) {
    case "echo-seq":
      return await echoSeqEvents(params, events(ws));
    case "echo-pipe":
      return await echoPipeEvents(params, events(ws));
    case "sink":
      return await sink(params, ws);
    default:
      throw new Error(`no client workload ${params.kind}`);
  }
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
