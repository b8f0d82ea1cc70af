/**
 * The `Deno.serve` front end against hostile or broken clients: a `Host` that makes no URL, a
 * client that floods a handler that does not read, and a client that ignores the close frame.
 * Loopback only; the clients are raw TCP peers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import { exchange, upgradeRequest } from "./_tcp.ts";

/**
 * Runs `fn` with the server behind `Deno.serve`, then shuts both down. `thrown` collects what
 * the handler threw to `Deno.serve` (its `onError`).
 */
async function served(
  options: ServerOptions,
  setup: (server: WebSocketServer) => void,
  fn: (port: number, server: WebSocketServer, thrown: unknown[]) => Promise<void>,
): Promise<void> {
  const server = createServer(options);
  setup(server);
  const thrown: unknown[] = [];
  const http = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    onError(err) {
      thrown.push(err);
      return new Response("thrown", { status: 500 });
    },
  }, server.handler);
  try {
    await fn(http.addr.port, server, thrown);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
}

Deno.test("Deno.serve hardening: a Host that makes no URL gets 400, nothing is thrown", async () => {
  const reported: unknown[] = [];
  await served({
    onError: (err) => void reported.push(err),
    fallback: () => new Response("page"),
  }, (server) => {
    server.webSocket("/", () => {});
  }, async (port, _server, thrown) => {
    // "a b", "a%20b", "[::1" and "a:99999" do not parse; "a/b" and "a@b" would change the URL.
    for (const host of ["a b", "a%20b", "[::1", "a:99999", "a/b", "a@b", ""]) {
      const upgrade = await exchange(port, upgradeRequest("/", port, { Host: host }));
      assert.equal(upgrade.status, 400, `upgrade with Host ${JSON.stringify(host)}`);
      assert.equal(upgrade.body, "Invalid request target or Host");
      const plain = await exchange(
        port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(plain.status, 400, `plain request with Host ${JSON.stringify(host)}`);
    }
    // A good Host still works.
    const page = await exchange(port, `GET / HTTP/1.1\r\nHost: ok\r\nConnection: close\r\n\r\n`);
    assert.equal(page.body, "page");
    assert.deepEqual(thrown, []);
  });
  assert.deepEqual(reported, []);
});
