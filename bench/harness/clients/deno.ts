/**
 * Deno's built-in client under test: `new WebSocket(url)` with `binaryType = "arraybuffer"`,
 * driven by its events as a user would. It has no drain event: bulk senders poll
 * `bufferedAmount` once per event-loop turn (W3 as users write it: `ws.send` in a plain loop,
 * then until `bufferedAmount` is 0; otherwise whenever it passes 1 MiB).
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { turn } from "../child.ts";
import {
  drained,
  echoPipeEvents,
  echoSeqEvents,
  type EventSocket,
  HIGH_WATER,
  message,
  openIdle,
  plainSinkRounds,
  sinkRounds,
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

function sink(params: CellParams, ws: WebSocket): Promise<Record<string, number>> {
  const msg = message(params);
  let ack: ((n: number) => void) | null = null;
  ws.onmessage = (e) => ack?.(Number(e.data));
  // No drain event: poll bufferedAmount once per event-loop turn.
  const drain = async () => {
    for (let i = 0; ws.bufferedAmount >= HIGH_WATER && i < 1_000_000; i++) await turn();
  };
  const finish = () => {
    const acked = new Promise<number>((resolve) => (ack = resolve));
    ws.send("end");
    return acked;
  };
  if (params.idiom) {
    // As users write it: send in a plain loop, then wait for bufferedAmount to reach 0.
    return plainSinkRounds(params, async (count) => {
      for (let i = 0; i < count; i++) ws.send(msg);
      await drained(() => ws.bufferedAmount);
    }, finish);
  }
  return sinkRounds(params, () => {
    ws.send(msg);
    return ws.bufferedAmount >= HIGH_WATER ? drain() : undefined;
  }, finish);
}
