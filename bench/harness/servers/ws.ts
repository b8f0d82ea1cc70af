/**
 * npm:ws's server under test (and W6's neutral server): `WebSocketServer` under Deno's Node
 * compatibility layer, written as a user would. W4 as users write it broadcasts each message
 * with ws's own idiom, a loop over `wss.clients` sending to every open one; the other W4
 * variant awaits the send callbacks of every round of 16 messages.
 *
 * @module
 */

// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket, WebSocketServer } from "npm:ws@8.23.0";
import type { CellParams } from "../plan.ts";
import { DEFLATE, payload, STATS } from "../child.ts";
import { parseGo, ROUND, waitFor } from "./tcp.ts";

/** The permessage-deflate settings of W6, for both ends of npm:ws. */
export const WS_DEFLATE = {
  threshold: 0,
  concurrencyLimit: 10,
  zlibDeflateOptions: {
    level: DEFLATE.level,
    memLevel: DEFLATE.memLevel,
    windowBits: DEFLATE.windowBits,
  },
};

/** The socket byte counters of an npm:ws connection (through its Node socket). */
export function wireCounters(ws: NodeWebSocket): { read: number; written: number } {
  const socket = (ws as unknown as { _socket: { bytesRead: number; bytesWritten: number } })
    ._socket;
  return { read: socket.bytesRead, written: socket.bytesWritten };
}

/**
 * Starts the server.
 *
 * @param params The cell.
 * @returns The port, once listening.
 */
export async function startWs(params: CellParams): Promise<number> {
  const kind = params.kind;
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: 64 * 1024 * 1024,
    perMessageDeflate: kind === "deflate" ? WS_DEFLATE : false,
  });
  const members = new Set<NodeWebSocket>();
  const message = payload(params.size || 1024);

  async function broadcast(messages: number, clients: number): Promise<void> {
    await waitFor(() => members.size >= clients);
    if (params.idiom) {
      // As users write it (ws's README): every open client of `wss.clients`, nothing awaited.
      for (let m = 0; m < messages; m++) {
        for (const client of wss.clients) {
          if (client.readyState === NodeWebSocket.OPEN) client.send(message);
        }
      }
      return;
    }
    const all = [...members];
    for (let m = 0; m < messages; m += ROUND) {
      const round = Math.min(ROUND, messages - m);
      for (let r = 0; r < round - 1; r++) {
        for (let i = 0; i < all.length; i++) all[i]!.send(message);
      }
      await Promise.all(
        all.map((s) => new Promise<void>((resolve) => s.send(message, () => resolve()))),
      );
    }
  }

  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    if (kind === "echo-seq" || kind === "echo-pipe") {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    } else if (kind === "deflate") {
      ws.on("message", (data, isBinary) => {
        const bytes = data as Uint8Array;
        if (!isBinary && bytes.length === STATS.length && data.toString() === STATS) {
          ws.send(JSON.stringify(wireCounters(ws)));
        } else ws.send(data, { binary: isBinary });
      });
    } else if (kind === "sink") {
      let count = 0;
      ws.on("message", (_data, isBinary) => {
        if (!isBinary) ws.send(`${count}`);
        else count++;
      });
    } else if (kind === "broadcast") {
      members.add(ws);
      ws.on("close", () => members.delete(ws));
      ws.on("message", (data, isBinary) => {
        const go = isBinary ? null : parseGo(data.toString());
        if (go !== null) broadcast(go.messages, go.clients).catch(() => {});
      });
    }
  });
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  wss.once("listening", () => resolve());
  wss.once("error", reject);
  await promise;
  return (wss.address() as { port: number }).port;
}
