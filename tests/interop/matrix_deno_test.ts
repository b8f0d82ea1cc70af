/**
 * Interop matrix with Deno's built-in WebSocket: the `WebSocket` client against the library's
 * server, and the library's client against a `Deno.upgradeWebSocket` server. Deno has no
 * permessage-deflate: the compression check verifies that an offer is declined cleanly. See
 * _matrix.ts for the checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CHECKS,
  CLIENT_CLOSE,
  LARGE,
  libraryClientChecks,
  type SeenClose,
  SERVER_CLOSE,
  standardClientScenario,
  startMatrixServer,
  stepsFor,
} from "./_matrix.ts";

Deno.test("interop matrix: Deno WebSocket client → library server", async (t) => {
  const server = startMatrixServer();
  try {
    const results = await standardClientScenario({
      base: `ws://127.0.0.1:${server.port}`,
      tag: "deno",
      large: LARGE,
    });
    await stepsFor(t, results, CHECKS.filter((c) => c !== "compression"));
    await t.step("compression: Deno offers none, the server agrees to none", () => {
      assert.equal(results.compression, 'extensions ""');
      assert.equal(server.counts.receivedCompressed + server.counts.sentCompressed, 0);
    });
    await t.step("the server saw the client's close code and reason", async () => {
      assert.deepEqual(await server.closeOf("deno-close"), CLIENT_CLOSE);
    });
  } finally {
    await server.stop();
  }
});

/** A `Deno.serve` + `Deno.upgradeWebSocket` peer obeying the matrix contract. */
function startDenoPeer(): { base: string; stop(): Promise<void> } {
  const closes = new Map<string, PromiseWithResolvers<SeenClose>>();
  const slot = (name: string) => {
    let s = closes.get(name);
    if (!s) closes.set(name, s = Promise.withResolvers<SeenClose>());
    return s;
  };
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) =>
      s.trim()
    );
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: offered.includes("chat.v2") ? "chat.v2" : undefined,
      idleTimeout: 0,
    });
    sockets.add(socket);
    socket.binaryType = "arraybuffer";
    let tag: string | null = null;
    socket.onmessage = async (e) => {
      const data = e.data;
      if (typeof data === "string" && data.startsWith("cmd:tag:")) tag = data.slice(8);
      else if (data === "cmd:close") socket.close(SERVER_CLOSE.code, SERVER_CLOSE.reason);
      else if (typeof data === "string" && data.startsWith("cmd:close-of:")) {
        socket.send(JSON.stringify(await slot(data.slice(13)).promise));
      } else socket.send(data);
    };
    socket.onclose = (e) => {
      sockets.delete(socket);
      if (tag !== null) slot(tag).resolve({ code: e.code, reason: e.reason });
    };
    return response;
  });
  return {
    base: `ws://127.0.0.1:${server.addr.port}`,
    async stop() {
      for (const s of sockets) s.close();
      await server.shutdown();
    },
  };
}

Deno.test("interop matrix: library client → Deno.upgradeWebSocket server", async (t) => {
  const peer = startDenoPeer();
  try {
    await libraryClientChecks(t, { base: peer.base, deflate: false });
  } finally {
    await peer.stop();
  }
});
