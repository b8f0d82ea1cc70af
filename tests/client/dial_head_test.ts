/**
 * The client reads the server's 101 into a small buffer that grows: a head of several KiB (a
 * long header) still completes the upgrade, in one read or in many.
 */

import assert from "node:assert/strict";
import { computeAccept } from "../../src/core/handshake_key.ts";
import { webSocketSession } from "../../src/client/default_client.ts";

Deno.test("client: a 101 with a 6 KiB head, written in small pieces, completes the upgrade", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const padding = "p".repeat(6000);
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("the client went away");
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
    const reply = new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${computeAccept(key)}\r\nX-Padding: ${padding}\r\n\r\n`,
    );
    for (let i = 0; i < reply.length; i += 700) {
      await conn.write(reply.subarray(i, Math.min(reply.length, i + 700)));
    }
    // Until the client's close frame and end of stream.
    while ((await conn.read(buf)) !== null) {
      // Discard.
    }
    conn.close();
  })();
  try {
    const session = await webSocketSession(`ws://127.0.0.1:${listener.addr.port}/`);
    assert.equal(session.call.response.headers.get("x-padding"), padding);
    session.abort();
    await session.closed;
    await served;
  } finally {
    listener.close();
  }
});
