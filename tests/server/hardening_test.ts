/**
 * What a hostile or vanished peer does to a listener's managed route: a peer that disconnects
 * while the handler does not read ends the session (1006) and frees its socket (the ping flood
 * has its own tests in ping_flood_test.ts).
 */

import assert from "node:assert/strict";
import type { CloseReason } from "../../src/core/close.ts";
import { Frame } from "../../src/core/frame.ts";
import { createServer } from "../../src/server/server.ts";
import type { DefaultWebSocketServerSession } from "../../src/server/managed_server_session.ts";
import { RawPeer } from "./_tcp.ts";

for (const [what, size] of [["short", 8], ["8 KiB of", 200]] as const) {
  Deno.test(`hardening: a peer that sends ${what} messages and vanishes while the handler does not read ends the session with 1006`, async () => {
    const server = createServer();
    const ended = Promise.withResolvers<CloseReason | null>();
    let session: DefaultWebSocketServerSession | null = null;
    server.webSocket("/", async (s) => {
      session = s;
      // Never reads: the incoming queue fills (16 messages), then decoding stops; reads go on
      // for a while, so the end of stream after the last message is noticed.
      ended.resolve(await s.closeReason);
    });
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    const { peer } = await RawPeer.open(listener.addr.port);
    for (let i = 0; i < 40; i++) await peer.send(Frame.text(`message ${i} `.padEnd(size, ".")));
    peer.conn.close();
    const guard = Promise.withResolvers<never>();
    const timer = setTimeout(() => guard.reject(new Error("the session never ended")), 10_000);
    try {
      const reason = await Promise.race([ended.promise, guard.promise]);
      assert.equal(reason?.code, 1006);
      await (session as DefaultWebSocketServerSession | null)?.closed;
    } finally {
      clearTimeout(timer);
      await listener.shutdown();
    }
  });
}

Deno.test("hardening: peer misbehaviour and a shutdown's 1001 are not handler failures for onError", async () => {
  const reported: unknown[] = [];
  const server = createServer({ onError: (err) => reported.push(err) });
  server.webSocketRaw("/raw", async (session) => {
    for await (const frame of session.incoming) await session.send(frame);
  });
  server.webSocket("/echo", async (session) => {
    for await (const message of session.incoming) await session.send(message);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  // A protocol error from the peer on a raw route (an unmasked frame).
  const raw = await RawPeer.open(port, "/raw");
  await raw.peer.send(Frame.text("unmasked"), { mask: false });
  while ((await raw.peer.next()) !== null) {
    // Until the server's close frame and its end of the connection.
  }
  raw.peer.conn.close();
  // Echo sessions that are sending when the shutdown's 1001 goes out.
  const peers = await Promise.all(Array.from({ length: 5 }, () => RawPeer.open(port, "/echo")));
  for (const { peer } of peers) {
    for (let i = 0; i < 20; i++) await peer.send(Frame.text(`m${i}`));
  }
  const shutdown = listener.shutdown();
  await Promise.all(peers.map(async ({ peer }) => {
    while (true) {
      const frame = await peer.next();
      if (frame === null) break;
      if (frame.type === "close") await peer.send(Frame.close(null)).catch(() => {});
    }
    peer.conn.close();
  }));
  await shutdown;
  assert.deepEqual(reported, []);
});
