/**
 * A managed echo client: connects, sends text and binary messages, reads the echoes, closes.
 *
 * Run: `deno run -A examples/echo_client.ts` (it starts its own echo server on 127.0.0.1).
 *
 * @module
 */

import { CloseCode, CloseReason, readText, webSocket } from "../mod.ts";

// A local echo server (Deno's built-in one), so the example needs nothing else.
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => socket.send(event.data);
  return response;
});
const url = `ws://127.0.0.1:${server.addr.port}/echo`;

// The block form: the session is closed when the handler returns (1000) or throws (1011).
const echoed = await webSocket(url, async (session) => {
  const sent = ["hello", "wörld", new Uint8Array([0xca, 0xfe])];
  for (const message of sent) await session.send(message);

  const received: string[] = [];
  for await (const message of session.incoming) {
    received.push(
      message.type === "text" ? readText(message) : `<${message.data.length} bytes>`,
    );
    if (received.length === sent.length) break;
  }
  // Close with a reason of our own; closeReason reports it once the server answered.
  await session.close(new CloseReason(CloseCode.NORMAL, "all echoed"));
  console.log("closeReason:", String(await session.closeReason));
  return received;
});

console.log("echoed:", echoed);
await server.shutdown();
