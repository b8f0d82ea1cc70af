import assert from "node:assert/strict";
import FakeTimers from "npm:@sinonjs/fake-timers@14.0.0";
import {
  CloseReason,
  type DefaultWebSocketSession,
  Frame,
  readText,
  TimeoutError,
  webSocketSession,
} from "../../mod.ts";
import { startNodeServer, startPeerServer, type WsPeer } from "../_helpers/ws_peer.ts";

async function pair(
  options?: Parameters<typeof webSocketSession>[1],
): Promise<{ peer: WsPeer; session: DefaultWebSocketSession; close(): Promise<void> }> {
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    webSocketSession(server.url(), { closeTimeout: 500, ...options }),
    server.accept(),
  ]);
  return {
    peer,
    session,
    close: async () => {
      session.abort();
      await session.closed;
      server.close();
    },
  };
}

function closeCode(frame: Frame): number {
  return (frame.data[0]! << 8) | frame.data[1]!;
}

Deno.test("the pinger sends unique payloads and keeps going while pongs match", async () => {
  const { peer, session, close } = await pair({ pingInterval: 10 });
  try {
    assert.equal(session.timeout, 20);
    const payloads = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ping = await peer.readFrame();
      assert.equal(ping?.type, "ping");
      assert.ok(ping!.data.length > 0 && ping!.data.length <= 125);
      payloads.add(ping!.data.join(","));
      await peer.send(Frame.pong(ping!.data));
    }
    assert.equal(payloads.size, 5);
    assert.equal(session.state, "open");
  } finally {
    await close();
  }
});

Deno.test("a silent peer: 1011 Ping timeout, incoming and send fail with PING_TIMEOUT", async () => {
  const { peer, session, close } = await pair({ pingInterval: 20, timeout: 60 });
  try {
    const started = performance.now();
    assert.equal((await peer.readFrame())?.type, "ping");
    const closeFrame = await peer.readFrame();
    assert.equal(closeFrame?.type, "close");
    assert.equal(closeCode(closeFrame!), 1011);
    assert.equal(new TextDecoder().decode(closeFrame!.data.subarray(2)), "Ping timeout");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 50, `closed after ${elapsed} ms`);
    assert.deepEqual(await session.closeReason, new CloseReason(1011, "Ping timeout"));
    const err = await session.incoming.getReader().read().catch((e) => e);
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.code, "PING_TIMEOUT");
    const sendError = await session.send("x").catch((e) => e);
    assert.equal(sendError, err);
    assert.equal(session.signal.reason, err);
    // The socket is released right after the close frame: the peer sees the end of stream.
    assert.equal(await peer.readFrame(), null);
    await session.closed;
  } finally {
    await close();
  }
});

Deno.test("pongs with the wrong payload do not satisfy the pinger", async () => {
  const { peer, session, close } = await pair({ pingInterval: 20, timeout: 60 });
  try {
    const ping = await peer.readFrame();
    assert.equal(ping?.type, "ping");
    await peer.send(Frame.pong(new TextEncoder().encode("not yours")));
    await peer.send(Frame.pong());
    const closeFrame = await peer.readUntil("close");
    assert.equal(closeCode(closeFrame!), 1011);
    assert.equal((await session.closeReason)?.code, 1011);
  } finally {
    await close();
  }
});

Deno.test("pingInterval 0 is off; setting it starts the pinger, setting timeout restarts it", async () => {
  const { peer, session, close } = await pair();
  try {
    assert.equal(session.pingInterval, 0);
    // Off: a message goes through with no ping before it.
    await session.send("no ping before me");
    const first = await peer.readFrame();
    assert.equal(first?.type, "text");
    session.pingInterval = 15;
    const ping = await peer.readFrame();
    assert.equal(ping?.type, "ping");
    await peer.send(Frame.pong(ping!.data));
    session.timeout = 40;
    assert.equal(session.timeout, 40);
    const again = await peer.readFrame();
    assert.equal(again?.type, "ping");
    assert.notDeepEqual(again!.data, ping!.data);
    // Do not answer: the restarted pinger times out after 40 ms.
    assert.equal(closeCode((await peer.readUntil("close"))!), 1011);
    assert.throws(() => session.pingInterval = -1, RangeError);
  } finally {
    await close();
  }
});

Deno.test("npm:ws answers the pinger: the session stays open and closes cleanly", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url(), { pingInterval: 10 });
  const { socket } = await server.connection();
  let pings = 0;
  const five = Promise.withResolvers<void>();
  socket.on("ping", () => {
    if (++pings === 5) five.resolve();
  });
  await five.promise;
  assert.equal(session.state, "open");
  await session.close();
  assert.deepEqual(await session.closeReason, new CloseReason(1000, ""));
});

Deno.test("ping() measures the round trip; its timeout does not close the session", async () => {
  const { peer, session, close } = await pair();
  try {
    const rtt = session.ping(undefined, { timeout: 2000 });
    const ping = await peer.readFrame();
    assert.equal(ping?.data.length, 12);
    await peer.send(Frame.pong(ping!.data));
    assert.equal(typeof await rtt, "number");
    assert.ok((await rtt) >= 0);

    const lost = session.ping(new Uint8Array([9, 9]), { timeout: 30 });
    assert.deepEqual([...(await peer.readFrame())!.data], [9, 9]);
    const err = await lost.catch((e) => e);
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.code, "PING_TIMEOUT");
    assert.equal(session.state, "open");
    await session.send("still open");
    assert.equal(readText((await peer.readFrame())!), "still open");
    await assert.rejects(session.ping(new Uint8Array(126)), RangeError);
  } finally {
    await close();
  }
});

Deno.test("pending pings are rejected when the session ends", async () => {
  const { peer, session, close } = await pair();
  try {
    const pending = session.ping(undefined, { timeout: 0 });
    assert.equal((await peer.readFrame())?.type, "ping");
    await peer.send(Frame.close(new CloseReason(1000, "")));
    await assert.rejects(pending, (e: Error & { code?: string }) => e.code === "SESSION_CLOSED");
  } finally {
    await close();
  }
});

Deno.test("the pinger follows fake timers: nothing is sent before the interval", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  const server = startPeerServer();
  try {
    const [session, peer] = await Promise.all([
      webSocketSession(server.url(), { pingInterval: 30_000, timeout: 5_000, closeTimeout: 100 }),
      server.accept(),
    ]);
    clock.tick(29_999);
    await session.send("before the first ping");
    assert.equal((await peer.readFrame())?.type, "text");
    clock.tick(1);
    const ping = await peer.readFrame();
    assert.equal(ping?.type, "ping");
    clock.tick(4_999);
    await peer.send(Frame.pong(ping!.data));
    // The session handles frames in order: once it answers this ping, it has seen the pong.
    await peer.send(Frame.ping(new Uint8Array([1])));
    assert.equal((await peer.readFrame())?.type, "pong");
    clock.tick(10);
    assert.equal(session.state, "open");
    clock.tick(30_000);
    assert.equal((await peer.readUntil("ping"))?.type, "ping");
    clock.tick(5_000);
    assert.equal(closeCode((await peer.readUntil("close"))!), 1011);
    assert.equal((await session.closeReason)?.code, 1011);
    clock.runAll();
    await session.closed;
  } finally {
    clock.uninstall();
    server.close();
  }
});

Deno.test("npm:ws with autoPong off: the pinger closes with 1011 Ping timeout", async () => {
  await using server = await startNodeServer({ autoPong: false });
  const session = await webSocketSession(server.url(), { pingInterval: 20, timeout: 40 });
  const { socket } = await server.connection();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: String(reason) }))
  );
  assert.deepEqual(await session.closeReason, new CloseReason(1011, "Ping timeout"));
  assert.deepEqual(await closed, { code: 1011, reason: "Ping timeout" });
  await session.closed;
});
