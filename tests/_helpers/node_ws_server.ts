/**
 * An `npm:ws` `WebSocketServer` on 127.0.0.1 for interop tests, with a way to wait for each
 * connection and a close that leaves nothing running (for the sanitizers).
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
// @ts-types="npm:@types/ws@8.18.2"
import { type ServerOptions, WebSocket as NodeWebSocket, WebSocketServer } from "npm:ws@8.23.0";

export { NodeWebSocket };

/** One accepted `ws` connection and its upgrade request. */
export interface WsConnection {
  /** The server side socket. */
  socket: NodeWebSocket;
  /** The HTTP upgrade request. */
  request: IncomingMessage;
}

/** A running `ws` server. */
export interface WsServer extends AsyncDisposable {
  /** The server. */
  wss: WebSocketServer;
  /** The TCP port. */
  port: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Resolves with the next connection (connections are queued until taken). */
  connection(): Promise<WsConnection>;
  /** Terminates every client socket and closes the server; awaits its close callback. */
  close(): Promise<void>;
}

/**
 * Starts a `ws` server on 127.0.0.1 on a free port.
 *
 * @param options More `WebSocketServer` options (`handleProtocols`, `perMessageDeflate`, ...).
 * @returns The server.
 */
export async function startWsServer(
  options?: Omit<ServerOptions, "port" | "host" | "server" | "noServer">,
): Promise<WsServer> {
  const wss = new WebSocketServer({
    perMessageDeflate: false,
    ...options,
    port: 0,
    host: "127.0.0.1",
  });
  const listening = Promise.withResolvers<void>();
  wss.once("listening", () => listening.resolve());
  wss.once("error", (err) => listening.reject(err));
  await listening.promise;
  const port = (wss.address() as { port: number }).port;
  const queued: WsConnection[] = [];
  const waiting: ((c: WsConnection) => void)[] = [];
  wss.on("connection", (socket, request) => {
    // Errors (a client's protocol error, a reset) are asserted by the tests through events.
    socket.on("error", () => {});
    const c = { socket, request };
    const w = waiting.shift();
    if (w) w(c);
    else queued.push(c);
  });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const client of wss.clients) client.terminate();
      const done = Promise.withResolvers<void>();
      wss.close(() => done.resolve());
      await done.promise;
    })();
    return closing;
  };
  return {
    wss,
    port,
    url: (path = "/") => `ws://127.0.0.1:${port}${path}`,
    connection: () => {
      const c = queued.shift();
      if (c) return Promise.resolve(c);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Resolves with the next `close` event of a `ws` socket: the code and the reason text.
 *
 * @param socket The socket.
 * @returns The close code and reason.
 */
export function nextClose(socket: NodeWebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}
