/**
 * npm:ws's client under test (and W6's load generator): `new WebSocket(url, options)` under
 * Deno's Node compatibility layer, driven by its events as a user would; bulk senders wait on
 * the send callback once `bufferedAmount` is high (W3 as users write it: `ws.send` in a plain
 * loop, then until `bufferedAmount` is 0).
 *
 * @module
 */

// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";
import type { CellParams } from "../plan.ts";
import { corpus, STATS, windowMessages } from "../child.ts";
import {
  type Counters,
  deflateResult,
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
import { wireCounters, WS_DEFLATE } from "../servers/ws.ts";

/** Sockets of the idle workload, kept referenced until the process exits. */
const kept: NodeWebSocket[] = [];

function open(url: string, deflate: boolean): Promise<NodeWebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new NodeWebSocket(url, {
      perMessageDeflate: deflate ? WS_DEFLATE : false,
      maxPayload: 64 * 1024 * 1024,
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** The socket as the shared echo loops drive it: one `message` listener, its handler swapped. */
function events(ws: NodeWebSocket): EventSocket {
  let onMessage = () => {};
  ws.on("message", () => onMessage());
  return {
    send: (data) => ws.send(data),
    onMessage: (handler) => {
      onMessage = handler;
    },
    onError: (handler) => {
      ws.on("error", handler);
    },
  };
}

/**
 * Runs the workload against `port`.
 *
 * @param params The cell.
 * @param port The server.
 */
export async function runWs(params: CellParams, port: number): Promise<Record<string, number>> {
  const url = `ws://127.0.0.1:${port}/bench`;
  if (params.kind === "idle") {
    return await openIdle(params, kept, async () => {
      const ws = await open(url, false);
      ws.on("error", () => {});
      return ws;
    });
  }
  const ws = await open(url, params.kind === "deflate");
  switch (params.kind) {
    case "echo-seq":
      return await echoSeqEvents(params, events(ws));
    case "echo-pipe":
      return await echoPipeEvents(params, events(ws));
    case "sink":
      return await sink(params, ws);
    case "deflate":
      return await deflate(params, ws);
    default:
      throw new Error(`no client workload ${params.kind}`);
  }
}

function sink(params: CellParams, ws: NodeWebSocket): Promise<Record<string, number>> {
  const msg = message(params);
  let ack: ((n: number) => void) | null = null;
  ws.on("message", (data) => ack?.(Number(data.toString())));
  // Above the mark, send with a callback and wait for it.
  const waitSend = () => new Promise<void>((resolve) => ws.send(msg, () => resolve()));
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
    if (ws.bufferedAmount >= HIGH_WATER) return waitSend();
    ws.send(msg);
    return undefined;
  }, finish);
}

async function deflate(params: CellParams, ws: NodeWebSocket): Promise<Record<string, number>> {
  const texts = corpus(params);
  const window = windowMessages(params);
  let onMessage: (data: string) => void = () => {};
  ws.on("message", (data) => onMessage(data.toString()));
  const stats = (): Promise<Counters | null> =>
    new Promise((resolve) => {
      onMessage = (reply) =>
        resolve(
          params.role === "server"
            ? wireCounters(ws)
            : reply.startsWith("{")
            ? JSON.parse(reply) as Counters
            : null,
        );
      ws.send(STATS);
    });
  let sent = 0;
  let got = 0;
  const run = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      const end = performance.now() + ms;
      let sending = true;
      const fill = () => {
        while (sending && sent - got < window) {
          if (performance.now() >= end) {
            sending = false;
            break;
          }
          ws.send(texts[sent % texts.length]!);
          sent++;
        }
      };
      ws.once("error", reject);
      onMessage = () => {
        got++;
        if (sending) fill();
        if (!sending && got === sent) resolve();
      };
      fill();
    });
  await run(params.warmupMs);
  const before = got;
  const c0 = await stats();
  const start = performance.now();
  await run(params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  const c1 = await stats();
  const messages = got - before;
  let up = NaN;
  let down = NaN;
  if (c0 !== null && c1 !== null) {
    // Our own counters (server role): written is up. The server's (client role): read is up.
    [up, down] = params.role === "server"
      ? [c1.written - c0.written, c1.read - c0.read]
      : [c1.read - c0.read, c1.written - c0.written];
  }
  return deflateResult(params, messages, seconds, up, down);
}
