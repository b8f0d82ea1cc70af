import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { CloseReason } from "../../src/core/close.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import { exchange, RawPeer, upgradeRequest, write } from "./_tcp.ts";

const GOING_AWAY = new CloseReason(1001, "Server is going down");

Deno.test("shutdown: 1001 to every session, then finished; no more connections accepted", async () => {
  const server = createServer();
  server.webSocket("/managed", async (session) => {
    for await (const message of session.incoming) await session.send(message);
  });
  server.webSocketRaw("/raw", async (session) => {
    for await (const frame of session.incoming.values({ preventCancel: true })) {
      if (frame.type === "close") return; // our 1001 was answered
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `ws://127.0.0.1:${listener.addr.port}`;
  const deno = new WebSocket(`${base}/managed`);
  await new Promise((r) => deno.onopen = r);
  const denoClosed = new Promise<CloseEvent>((r) => deno.onclose = r);
  const raw = await webSocketRawSession(`${base}/raw`);
  const rawFrames: Frame[] = [];
  const rawDone = (async () => {
    for await (const frame of raw.incoming.values({ preventCancel: true })) {
      rawFrames.push(frame);
      if (frame.type === "close") await raw.close(readReason(frame));
    }
  })();
  await listener.shutdown();
  const event = await denoClosed;
  assert.equal(event.code, 1001);
  assert.equal(event.reason, "Server is going down");
  await rawDone;
  assert.deepEqual(readReason(rawFrames.at(-1)!), GOING_AWAY);
  await listener.finished;
  assert.equal(server.connections, 0);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("shutdown under traffic: every message accepted by send reaches the client", async () => {
  const CLIENTS = 4;
  const stats: { accepted: number; rejectedEarly: number }[] = [];
  let shuttingDown = false;
  const server = createServer();
  server.webSocket("/flood", async (session) => {
    const mine = { accepted: 0, rejectedEarly: 0 };
    stats.push(mine);
    let i = 0;
    while (session.state === "open") {
      const sending = session.send(`message ${i++}`);
      try {
        await sending;
        mine.accepted++;
      } catch {
        if (!shuttingDown) mine.rejectedEarly++;
        break;
      }
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const url = `ws://127.0.0.1:${listener.addr.port}/flood`;
  const received: number[] = [];
  const closes: Promise<CloseEvent>[] = [];
  const enough: Promise<void>[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const ws = new WebSocket(url);
    received.push(0);
    const { promise, resolve } = Promise.withResolvers<void>();
    enough.push(promise);
    ws.onmessage = (e) => {
      assert.equal(e.data, `message ${received[c]}`); // in order, none missing
      received[c]!++;
      if (received[c] === 200) resolve();
    };
    closes.push(new Promise((r) => ws.onclose = r));
  }
  await Promise.all(enough);
  shuttingDown = true;
  await listener.shutdown();
  const events = await Promise.all(closes);
  for (const event of events) {
    assert.equal(event.code, 1001);
    assert.equal(event.reason, "Server is going down");
  }
  assert.equal(stats.length, CLIENTS);
  const accepted = stats.map((s) => s.accepted).sort((a, b) => a - b);
  const got = [...received].sort((a, b) => a - b);
  assert.deepEqual(got, accepted);
  assert.ok(got.every((n) => n >= 200));
  assert.deepEqual(stats.map((s) => s.rejectedEarly), [0, 0, 0, 0]);
  assert.equal(server.connections, 0);
});

Deno.test("shutdown under traffic, raw route: both directions counted", async () => {
  let serverReceived = 0;
  let serverSent = 0;
  const server = createServer();
  server.webSocketRaw("/both", async (session) => {
    const pump = (async () => {
      try {
        for (let i = 0;; i++) {
          await session.send(`s${i}`);
          serverSent++;
        }
      } catch {
        // Our close went out: sending is over.
      }
    })();
    for await (const frame of session.incoming.values({ preventCancel: true })) {
      if (frame.type === "text") serverReceived++;
      if (frame.type === "close") break;
    }
    await pump;
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const session = await webSocketRawSession(`ws://127.0.0.1:${listener.addr.port}/both`);
  let clientSent = 0;
  let clientReceived = 0;
  let closeFrame: Frame | null = null;
  const { promise: warmed, resolve: warm } = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const frame of session.incoming.values({ preventCancel: true })) {
      if (frame.type === "text") {
        clientReceived++;
        if (clientReceived === 100) warm();
      }
      if (frame.type === "close") {
        closeFrame = frame;
        await session.close(readReason(frame));
      }
    }
  })();
  const writing = (async () => {
    try {
      while (closeFrame === null) {
        await session.send(`c${clientSent}`);
        clientSent++;
      }
    } catch {
      // Closed.
    }
  })();
  await warmed;
  await listener.shutdown();
  await reading;
  await writing;
  assert.deepEqual(readReason(closeFrame!), GOING_AWAY);
  assert.ok(serverSent > 0 && clientSent > 0);
  assert.equal(clientReceived, serverSent);
  assert.equal(serverReceived, clientSent);
});

Deno.test("shutdown: a client that never answers the 1001 is cut off after closeTimeout", async () => {
  const server = createServer({ closeTimeout: 150 });
  server.webSocket("/", async (session) => {
    for await (const _ of session.incoming) { /* nothing */ }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const { peer } = await RawPeer.open(listener.addr.port, "/");
  try {
    const started = performance.now();
    const stopping = listener.shutdown();
    const close = await peer.next();
    assert.deepEqual(readReason(close!), GOING_AWAY);
    assert.equal(await peer.ended(), true);
    await stopping;
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 100 && elapsed < 3000, `took ${elapsed} ms`);
  } finally {
    peer.close();
  }
});

Deno.test("shutdown: a handshake in progress is dropped at once; the signal option works", async () => {
  const controller = new AbortController();
  const server = createServer({ handshakeTimeout: 30_000 });
  server.webSocket("/", () => {});
  const listener = server.listen({ port: 0, hostname: "127.0.0.1", signal: controller.signal });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  try {
    await write(conn, "GET / HTTP/1.1\r\nHost: x\r\n");
    const started = performance.now();
    controller.abort();
    await listener.finished;
    assert.ok(performance.now() - started < 2000);
    const n = await conn.read(new Uint8Array(64)).catch(() => null);
    assert.equal(n, null);
  } finally {
    conn.close();
  }
});

Deno.test("server.shutdown stops every listener", async () => {
  const server = createServer();
  server.webSocket("/", async (session) => {
    for await (const _ of session.incoming) { /* nothing */ }
  });
  const a = server.listen({ port: 0, hostname: "127.0.0.1" });
  const b = server.listen({ port: 0, hostname: "127.0.0.1" });
  const clients = [a, b].map((l) => new WebSocket(`ws://127.0.0.1:${l.addr.port}/`));
  const closes = clients.map((ws) => new Promise<CloseEvent>((r) => ws.onclose = r));
  await Promise.all(clients.map((ws) => new Promise((r) => ws.onopen = r)));
  await server.shutdown();
  for (const event of await Promise.all(closes)) assert.equal(event.code, 1001);
  await a.finished;
  await b.finished;
});

Deno.test("maxConnections: past the limit, 503 before any upgrade; room again after a close", async () => {
  const server = createServer({ maxConnections: 2 });
  const ended: (() => void)[] = [];
  server.webSocket("/", async (session) => {
    for await (const _ of session.incoming) { /* nothing */ }
    session.closed.then(() => ended.shift()?.());
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  try {
    const first = await RawPeer.open(port, "/");
    const second = await RawPeer.open(port, "/");
    assert.equal(first.status, 101);
    assert.equal(second.status, 101);
    assert.equal(server.connections, 2);
    const refused = await exchange(port, upgradeRequest("/", port));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    // Deno's client sees the refusal as an error.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    let errored = false;
    ws.onerror = () => errored = true;
    const event = await new Promise<CloseEvent>((r) => ws.onclose = r);
    assert.equal(errored, true);
    assert.notEqual(event.code, 1000);

    const { promise: released, resolve } = Promise.withResolvers<void>();
    ended.push(resolve);
    await first.peer.send(Frame.close(new CloseReason(1000, "")));
    assert.equal((await first.peer.next())?.type, "close");
    assert.equal(await first.peer.ended(), true);
    first.peer.close();
    await released;
    assert.equal(server.connections, 1);
    const third = await RawPeer.open(port, "/");
    assert.equal(third.status, 101);
    third.peer.close();
    second.peer.close();
  } finally {
    await listener.shutdown();
  }
});

Deno.test("shutdown: a hook or fallback that never settles cannot hold the server", async () => {
  const entered = Promise.withResolvers<void>();
  const server = createServer({
    handshakeTimeout: 100,
    closeTimeout: 100,
    fallback: () => {
      entered.resolve();
      return new Promise<Response>(() => {});
    },
  });
  server.webSocket("/", () => {}, { upgrade: () => new Promise<undefined>(() => {}) });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  // The hook: the handshake deadline drops the connection.
  const hung = await exchange(port, upgradeRequest("/", port));
  assert.equal(hung.status, 0);
  // The fallback: shutdown drops it after closeTimeout.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await write(conn, "GET /page HTTP/1.1\r\nHost: x\r\n\r\n");
    await entered.promise;
    const started = performance.now();
    await listener.shutdown();
    assert.ok(performance.now() - started < 2000);
    assert.equal(await conn.read(new Uint8Array(16)).catch(() => null), null);
  } finally {
    conn.close();
  }
  assert.equal(server.connections, 0);
});
