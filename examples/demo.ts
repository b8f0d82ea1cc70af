/**
 * The demo (`deno task demo`): a wirestream server and two wirestream clients on loopback,
 * printing what happens on the wire.
 *
 * 1. A managed client talks to a managed route: text and binary echo, a ping with its round
 *    trip time, JSON through the converter, a close handshake with a reason.
 * 2. A raw client talks to a raw route: it sees every frame (a fragmented message in pieces,
 *    the pong to its own ping, the server's ping it must answer itself, the close frame).
 * 3. The server shuts down: 1001 to every session still open, then exit.
 *
 * ```sh
 * deno run -A examples/demo.ts
 * ```
 *
 * @module
 */

import { CloseReason, createClient, jsonConverter, readText } from "../mod.ts";
import { Frame, readReason, webSocketRaw } from "../raw.ts";
import { createServer } from "../server.ts";

const enc = new TextEncoder();
const log = (who: string, what: string) => console.log(`${who.padEnd(7)} ${what}`);
const show = (frame: Frame) =>
  frame.type === "text"
    ? `${frame.type}${frame.fin ? "" : " (fragment)"} "${new TextDecoder().decode(frame.data)}"`
    : frame.type === "close"
    ? `close ${readReason(frame) ?? "(no status)"}`
    : `${frame.type}${frame.fin ? "" : " (fragment)"} ${frame.data.length} bytes`;

// --- the server ----------------------------------------------------------------------------
const server = createServer({ converter: jsonConverter() });

server.webSocket("/echo/:room", async (session) => {
  log("server", `managed session in room "${session.params.room}" from ${session.request.url}`);
  for await (const message of session.incoming) {
    if (message.type === "text" && readText(message).startsWith("{")) {
      const value = await session.converter!.deserialize(message) as { n: number };
      await session.sendSerialized({ n: value.n, squared: value.n * value.n });
    } else {
      await session.send(message);
    }
  }
  log("server", `managed session closed: ${await session.closeReason}`);
});

server.webSocketRaw("/raw", async (session) => {
  // Nothing is automatic here: send a fragmented message and a ping, answer pings by hand.
  await session.send(Frame.text("frag", { fin: false }));
  await session.send(Frame.text("mented", { fin: false }));
  await session.send(Frame.text(" message"));
  await session.send(Frame.ping(enc.encode("server-ping")));
  for await (const frame of session.incoming) {
    log("server", `raw frame in: ${show(frame)}`);
    if (frame.type === "ping") await session.send(Frame.pong(frame.data));
    if (frame.type === "close") {
      await session.close(readReason(frame));
      break;
    }
  }
});

const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
const base = `ws://127.0.0.1:${listener.addr.port}`;
log("server", `listening on ${base}`);

// --- 1. the managed client -------------------------------------------------------------------
await using client = createClient({ converter: jsonConverter() });
await client.webSocket(`${base}/echo/lobby`, async (session) => {
  log("client", `connected (status ${session.call.response.status})`);
  await session.send("hello, wirestream");
  await session.send(new Uint8Array([1, 2, 3, 4]));
  let received = 0;
  for await (const message of session.incoming) {
    log("client", `echo: ${show(message)}`);
    if (++received === 2) break;
  }
  const rtt = await session.ping(undefined, { timeout: 2000 });
  log("client", `ping answered by a pong in ${rtt.toFixed(2)} ms`);
  await session.sendSerialized({ n: 12 });
  log("client", `JSON reply: ${JSON.stringify(await session.receiveDeserialized())}`);
  await session.close(new CloseReason(1000, "demo done"));
  log("client", `closed: ${await session.closeReason}`);
});

// --- 2. the raw client -----------------------------------------------------------------------
await webSocketRaw(`${base}/raw`, async (session) => {
  await session.send(Frame.ping(enc.encode("client-ping")));
  for await (const frame of session.incoming) {
    log("raw", `frame in: ${show(frame)}`);
    if (frame.type === "ping") await session.send(Frame.pong(frame.data));
    if (frame.type === "pong") await session.close(new CloseReason(1000, "raw done"));
    if (frame.type === "close") break;
  }
});

// --- 3. shutdown -----------------------------------------------------------------------------
await listener.shutdown();
log("server", "shut down; every socket released");
