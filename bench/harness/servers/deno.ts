/**
 * Deno's built-in server under test: `Deno.serve` and `Deno.upgradeWebSocket` (fastwebsockets
 * underneath), written as a user would. W4 as users write it broadcasts each message with a plain
 * loop of `socket.send` over the sockets; the other W4 variant waits for `bufferedAmount` to
 * drain after every round of 16 messages.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { payload, turn } from "../child.ts";
import { parseGo, ROUND, waitFor } from "./tcp.ts";

/**
 * Starts the server.
 *
 * @param params The cell.
 * @returns The port, once listening.
 */
export function startDeno(params: CellParams): Promise<number> {
  const kind = params.kind;
  const members = new Set<WebSocket>();
  const message = payload(params.size || 1024);

  async function broadcast(messages: number, clients: number): Promise<void> {
    await waitFor(() => members.size >= clients);
    if (params.idiom) {
      // As users write it: a plain loop over the sockets, nothing awaited.
      for (let m = 0; m < messages; m++) {
        for (const s of members) s.send(message);
      }
      return;
    }
    const all = [...members];
    for (let m = 0; m < messages; m += ROUND) {
      const round = Math.min(ROUND, messages - m);
      for (let r = 0; r < round; r++) {
        for (let i = 0; i < all.length; i++) all[i]!.send(message);
      }
      // No write completion to wait for: poll bufferedAmount once per event-loop turn.
      for (let i = 0; i < 1_000_000 && all.some((s) => s.bufferedAmount > 0); i++) await turn();
    }
  }

  const { promise, resolve } = Promise.withResolvers<number>();
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => resolve(port),
  }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    if (kind === "echo-seq" || kind === "echo-pipe") {
      socket.onmessage = (e) => socket.send(e.data);
    } else if (kind === "sink") {
      let count = 0;
      socket.onmessage = (e) => {
        if (typeof e.data === "string") socket.send(`${count}`);
        else count++;
      };
    } else if (kind === "broadcast") {
      socket.onopen = () => members.add(socket);
      socket.onclose = () => members.delete(socket);
      socket.onmessage = (e) => {
        const go = typeof e.data === "string" ? parseGo(e.data) : null;
        if (go !== null) broadcast(go.messages, go.clients).catch(() => {});
      };
    }
    socket.onerror = () => {};
    return response;
  });
  return promise;
}
