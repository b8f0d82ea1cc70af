/**
 * A ping flood from a peer that never reads, on real loopback sockets: the managed session
 * (the listener's route and the client) stops reading once the pongs it owes wait for the
 * socket, so the flooding peer's writes block (TCP backpressure) instead of being decoded and
 * discarded without end; its queued bytes stay bounded; and when that peer disconnects the
 * session still ends with 1006 and lets go of its socket.
 */

import assert from "node:assert/strict";
import type { CloseReason } from "../../src/core/close.ts";
import { Frame } from "../../src/core/frame.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { computeAccept } from "../../src/core/handshake_key.ts";
import { MAX_PONGS_IN_FLIGHT } from "../../src/core/protocol.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import { createServer } from "../../src/server/server.ts";
import type { DefaultWebSocketServerSession } from "../../src/server/managed_server_session.ts";
import { RawPeer, write } from "./_tcp.ts";
import { floodUntilStalled, type Stalled } from "./_flood.ts";

/** The most a session may queue: every pong in flight (131 bytes each when masked). */
const QUEUED_BOUND = MAX_PONGS_IN_FLIGHT * 131;

/** 1,000 pings of 125 bytes, masked (from a client) or not. */
function pings(masked: boolean): Uint8Array {
  const ping = encodeFrame(Frame.ping(new Uint8Array(125).fill(7)), {
    maskKey: masked ? new Uint8Array([1, 2, 3, 4]) : undefined,
  });
  const batch = new Uint8Array(ping.length * 1000);
  for (let i = 0; i < 1000; i++) batch.set(ping, i * ping.length);
  return batch;
}

/** `promise`, or a rejection naming `what` after 10 s. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A listener whose route echoes its messages and hands over its session. */
function floodedServer() {
  const server = createServer();
  const opened = Promise.withResolvers<DefaultWebSocketServerSession>();
  const ended = Promise.withResolvers<CloseReason>();
  server.webSocket("/", async (session) => {
    opened.resolve(session);
    session.closeReason.then(ended.resolve);
    for await (const message of session.incoming) await session.send(message);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  return { listener, opened: opened.promise, ended: ended.promise };
}

Deno.test("ping flood: the listener's session stops reading while its pongs wait, with bounded queued bytes", async () => {
  const { listener, opened } = floodedServer();
  const { peer } = await RawPeer.open(listener.addr.port);
  let stalled: Stalled | null = null;
  try {
    const session = await opened;
    stalled = await floodUntilStalled(peer.conn, pings(true));
    assert.ok(stalled.written > 0);
    assert.equal(session.state, "open");
    assert.ok(
      session.bufferedAmount <= QUEUED_BOUND,
      `${session.bufferedAmount} bytes queued (bound ${QUEUED_BOUND})`,
    );
  } finally {
    peer.conn.close();
    await stalled?.pending;
    await listener.shutdown();
  }
});

Deno.test("ping flood: the flooding peer disconnects while the session waits for its pongs: 1006, socket closed", async () => {
  const { listener, opened, ended } = floodedServer();
  const { peer } = await RawPeer.open(listener.addr.port);
  try {
    const session = await opened;
    const stalled = await floodUntilStalled(peer.conn, pings(true));
    // The peer goes away without reading the pongs (its unread bytes make this a reset).
    peer.conn.close();
    await stalled.pending;
    const reason = await within(ended, "the end of the session");
    assert.equal(reason.code, 1006);
    await within(session.closed, "the release of the socket");
  } finally {
    try {
      peer.conn.close();
    } catch {
      // Closed above.
    }
    await listener.shutdown();
  }
});

Deno.test("ping flood: once the peer reads again, the session answers and reads again", async () => {
  const { listener, opened } = floodedServer();
  const { peer } = await RawPeer.open(listener.addr.port);
  try {
    await opened;
    const stalled = await floodUntilStalled(peer.conn, pings(true));
    // The peer reads now: the pongs drain, the session decodes again and takes the rest.
    let pongs = 0;
    const reading = (async () => {
      for (let frame = await peer.next(); frame !== null; frame = await peer.next()) {
        if (frame.type === "pong") pongs++;
        if (frame.type === "text") return new TextDecoder().decode(frame.data);
      }
      return null;
    })();
    await stalled.pending;
    await peer.send(Frame.text("done"));
    assert.equal(await within(reading, "the echo after the flood"), "done");
    assert.ok(pongs >= MAX_PONGS_IN_FLIGHT, `${pongs} pongs`);
  } finally {
    peer.conn.close();
    await listener.shutdown();
  }
});

Deno.test("ping flood: a client session stops reading a flooding server, then ends with 1006 when it goes", async () => {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await tcp.accept();
    // Reads the upgrade request (one read holds it) and answers 101 without reading again.
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1]!;
    await write(
      conn,
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
    );
    return conn;
  })();
  const session = await webSocketSession(`ws://127.0.0.1:${tcp.addr.port}/`);
  const conn = await server;
  let stalled: Stalled | null = null;
  try {
    stalled = await floodUntilStalled(conn, pings(false));
    assert.equal(session.state, "open");
    assert.ok(
      session.bufferedAmount <= QUEUED_BOUND,
      `${session.bufferedAmount} bytes queued (bound ${QUEUED_BOUND})`,
    );
    conn.close();
    await stalled.pending;
    const reason = await within(session.closeReason, "the end of the client session");
    assert.equal(reason.code, 1006);
    await within(session.closed, "the release of the client socket");
  } finally {
    try {
      conn.close();
    } catch {
      // Closed above.
    }
    await stalled?.pending;
    tcp.close();
  }
});
