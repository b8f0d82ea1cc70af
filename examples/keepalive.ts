/**
 * Keepalive: a pinger with a pong timeout, a measured round trip, and what happens when the
 * peer stops answering (close 1011 "Ping timeout", a typed `TimeoutError`).
 *
 * Run: `deno run -A examples/keepalive.ts` (it starts its own servers on 127.0.0.1).
 *
 * @module
 */

import { TimeoutError, webSocketSession } from "../mod.ts";

// 1. Deno's built-in server answers pings: the session stays up.
const healthy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { response } = Deno.upgradeWebSocket(req);
  return response;
});
{
  await using session = await webSocketSession(`ws://127.0.0.1:${healthy.addr.port}/`, {
    pingInterval: 100, // a ping every 100 ms...
    timeout: 500, // ...and at most 500 ms for its pong (the default is 2 × pingInterval)
  });
  const rtt = await session.ping(); // a ping of our own, on demand
  console.log(`round trip: ${rtt.toFixed(2)} ms`);
  await new Promise((resolve) => setTimeout(resolve, 350)); // a few pinger rounds
  console.log("after 350 ms the session is", session.state);
}
await healthy.shutdown();

// 2. A peer that accepts the connection and then never reads again: no pong ever comes.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const silent = (async () => {
  const conn = await listener.accept();
  const buf = new Uint8Array(4096);
  const n = (await conn.read(buf)) ?? 0;
  const key = /sec-websocket-key: *(\S+)/i.exec(new TextDecoder().decode(buf.subarray(0, n)))![1];
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
  );
  const accept = new Uint8Array(digest).toBase64();
  await conn.write(new TextEncoder().encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  ));
  return conn; // ...and silence
})();

const session = await webSocketSession(`ws://127.0.0.1:${listener.addr.port}/`, {
  pingInterval: 100,
  timeout: 200,
});
try {
  for await (const _ of session.incoming) {
    // Nothing arrives; the loop ends with the pinger's error.
  }
} catch (err) {
  if (!(err instanceof TimeoutError)) throw err;
  console.log(`incoming failed: ${err.code} (${err.message})`);
}
console.log("closeReason:", String(await session.closeReason));
await session.closed;
(await silent).close();
listener.close();
