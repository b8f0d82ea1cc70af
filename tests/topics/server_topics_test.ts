import assert from "node:assert/strict";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { DefaultWebSocketServerSession } from "../../src/server/managed_server_session.ts";
import { type Frame, readText } from "../../src/core/frame.ts";
import { webSocketSession, webSocketSessions } from "../../src/client/default_client.ts";
import { CloseReason } from "../../src/core/close.ts";
import { memoryBackplane } from "../../src/topics/memory_backplane.ts";
import { parseTopicEnvelope, TopicCursor } from "../../src/core/topic_envelope.ts";
import type { SlowSubscriberPolicy } from "../../src/topics/topic_types.ts";
import { RawPeer } from "../server/_tcp.ts";

/**
 * A room route: `?envelope` asks for envelopes, `?since=N&epoch=E` for recovery. The session
 * first sends `{"ready":…}` (what subscribe returned), then what it reads is published to
 * the room, excluding itself.
 */
function roomRoute(server: WebSocketServer): void {
  const route = async (session: DefaultWebSocketServerSession) => {
    const url = new URL(session.request.url);
    const since = url.searchParams.get("since");
    const result = await session.subscribe(session.params.room!, {
      envelope: url.searchParams.has("envelope"),
      since: since === null ? undefined : {
        offset: Number(since),
        epoch: url.searchParams.get("epoch")!,
      },
    });
    await session.send(JSON.stringify({ ready: result }));
    for await (const message of session.incoming) {
      await server.publish(session.params.room!, readText(message), { exclude: session });
    }
  };
  server.webSocket("/rooms/:room", route);
}

async function readyOf(session: { receive(): Promise<Frame> }): Promise<Record<string, unknown>> {
  return JSON.parse(readText(await session.receive())).ready;
}

Deno.test("topics: publish reaches every subscriber, exclude skips the sender", async () => {
  const server = createServer();
  roomRoute(server);
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `ws://127.0.0.1:${listener.addr.port}/rooms`;
  const a = await webSocketSession(`${base}/lobby`);
  const b = await webSocketSession(`${base}/lobby`);
  const c = await webSocketSession(`${base}/other`);
  try {
    for (const s of [a, b, c]) await readyOf(s);
    await a.send("hello from a");
    assert.equal(readText(await b.receive()), "hello from a");
    const result = await server.publish("lobby", "from the server");
    assert.equal(result.queued, 2);
    assert.equal(result.backplane, "memory");
    // a got only the server's message (not its own), b gets it after a's.
    assert.equal(readText(await a.receive()), "from the server");
    assert.equal(readText(await b.receive()), "from the server");
    const bytes = await server.publish("other", new Uint8Array([1, 2, 3]));
    assert.equal(bytes.queued, 1);
    const frame = await c.receive();
    assert.equal(frame.type, "binary");
    assert.deepEqual(frame.data, new Uint8Array([1, 2, 3]));
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
    await server.shutdown();
  }
});

Deno.test("topics: a subscriber that reconnects with its offset gets exactly what it missed", async () => {
  const server = createServer({
    topics: { backplane: memoryBackplane({ history: { size: 1000 } }) },
  });
  roomRoute(server);
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `ws://127.0.0.1:${listener.addr.port}/rooms/news?envelope`;
  const cursor = new TopicCursor();
  const keeper = await webSocketSession(`${base}`); // keeps someone subscribed
  try {
    await readyOf(keeper);
    const first = await webSocketSession(base);
    await readyOf(first);
    await server.publish("news", "before");
    assert.equal(cursor.read(await first.receive())?.kind, "message");
    await first.close();
    for (let i = 0; i < 100; i++) await server.publish("news", `missed ${i}`);
    const position = cursor.position("news")!;
    const again = await webSocketSession(
      `${base}&since=${position.offset}&epoch=${position.epoch}`,
    );
    // Replayed before the ready message: the subscription queued them first.
    const got: string[] = [];
    while (got.length < 100) {
      const envelope = cursor.read(await again.receive());
      assert.equal(envelope?.kind, "message");
      if (envelope?.kind === "message") got.push(envelope.data as string);
    }
    const ready = await readyOf(again);
    assert.equal(ready.recovered, 100);
    await server.publish("news", "live");
    const live = cursor.read(await again.receive());
    assert.equal(live?.kind === "message" && live.data, "live");
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `missed ${i}`));
    assert.equal(cursor.position("news")!.offset, position.offset + 101);
    await again.close();

    // An epoch that is not the topic's: told plainly, with a reset envelope.
    const lost = await webSocketSession(`${base}&since=5&epoch=gone`);
    const reset = parseTopicEnvelope(readText(await lost.receive()));
    assert.equal(reset?.kind === "reset" && reset.reason, "epoch-changed");
    assert.equal((await readyOf(lost)).reset, "epoch-changed");
    await lost.close();
  } finally {
    await keeper.close();
    await server.shutdown();
  }
});

/**
 * Serves `/t`: each session subscribes to the topic `t`, says `ready`, then reads until the end
 * (what it reads is dropped). `onEnd` gets each session's close code.
 */
function topicRoute(server: WebSocketServer, onEnd?: (code: Promise<number>) => void) {
  server.webSocket("/t", async (session) => {
    onEnd?.(session.closeReason.then((r) => r.code));
    await session.subscribe("t");
    await session.send("ready");
    for await (const _ of session.incoming) {
      // ignore
    }
  });
  return server.listen({ port: 0, hostname: "127.0.0.1" });
}

/**
 * Publishes 16 KiB messages until the slow peer is over its bound (bounded loop), each once the
 * fast subscriber has read the one before (so that only the slow one falls behind).
 */
async function overwhelm(
  server: WebSocketServer,
  policy: SlowSubscriberPolicy,
  fastHas: (n: number) => Promise<void>,
) {
  const payload = new Uint8Array(16 * 1024);
  let published = 0;
  let queued = 0;
  for (let i = 0; i < 4000; i++) {
    const result = await server.publish("t", payload);
    published++;
    await fastHas(published);
    queued += result.queued;
    if (policy === "close" ? result.closed > 0 : result.dropped > 0) {
      return { published, queued, hit: true };
    }
  }
  return { published, queued, hit: false };
}

for (const policy of ["close", "drop"] as const) {
  Deno.test(`topics: a subscriber that stops reading, policy ${policy}; the fast one gets everything`, async () => {
    const server = createServer({
      outgoingQueue: { bytes: 64 * 1024 },
      closeTimeout: 500,
      topics: { slowSubscribers: policy },
    });
    const ended: Promise<number>[] = [];
    const listener = topicRoute(server, (code) => ended.push(code));
    const port = listener.addr.port;
    const fast = await webSocketSession(`ws://127.0.0.1:${port}/t`);
    const { peer: slow } = await RawPeer.open(port, "/t");
    try {
      assert.equal(readText(await fast.receive()), "ready");
      assert.equal(readText((await slow.next())!), "ready");
      let received = 0;
      const waiter: { n: number; resolve: () => void } = { n: Infinity, resolve: () => {} };
      const reading = (async () => {
        for await (const _ of fast.incoming) {
          received++;
          if (received >= waiter.n) waiter.resolve();
        }
      })();
      const fastHas = (n: number) => {
        if (received >= n) return Promise.resolve();
        const { promise, resolve } = Promise.withResolvers<void>();
        waiter.n = n;
        waiter.resolve = resolve;
        return promise;
      };
      const { published, queued, hit } = await overwhelm(server, policy, fastHas);
      assert.ok(hit, `the slow subscriber was never over its bound in ${published} publishes`);
      // Every message was queued for the fast subscriber, and some not for the slow one.
      assert.ok(queued < 2 * published);
      assert.ok(queued >= published);
      await server.publish("t", "end");
      await fast.close();
      await reading;
      // The fast one got all it was sent (the close came after them).
      assert.equal(received, published + 1);
      if (policy === "close") {
        // The slow one was closed with 1013 (its close frame waits behind what it did not
        // read, so the server drops it at closeTimeout).
        slow.close();
        assert.ok((await Promise.all(ended)).includes(1013));
      }
    } finally {
      slow.close();
      await server.shutdown();
    }
  });
}

Deno.test("topics: a plain loop of awaited publishes, well over the bound, closes no reader", async () => {
  // Without a turn of the event loop between publishes nothing is written: every queue only
  // grows and every subscriber, however fast, goes over its bound ("close" closes it).
  const server = createServer({ outgoingQueue: { bytes: 64 * 1024 } });
  const listener = topicRoute(server);
  const url = `ws://127.0.0.1:${listener.addr.port}/t`;
  const readers = await Promise.all([webSocketSession(url), webSocketSession(url)]);
  const count = 1000; // 1 MiB to each: 16 times the bound.
  try {
    for (const reader of readers) assert.equal(readText(await reader.receive()), "ready");
    const reading = readers.map(async (reader) => {
      let received = 0;
      for await (const _ of reader.incoming) {
        if (++received === count) break;
      }
      return received;
    });
    const payload = new Uint8Array(1024);
    let closed = 0;
    let queued = 0;
    for (let i = 0; i < count; i++) {
      const result = await server.publish("t", payload);
      closed += result.closed;
      queued += result.queued;
    }
    assert.equal(closed, 0);
    assert.equal(queued, 2 * count);
    assert.deepEqual(await Promise.all(reading), [count, count]);
  } finally {
    await Promise.all(readers.map((r) => r.close()));
    await server.shutdown();
  }
});

Deno.test("topics: Deno.serve sessions subscribe and receive too", async () => {
  const server = createServer();
  roomRoute(server);
  const ac = new AbortController();
  const http = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
    server.handler,
  );
  const base = `ws://127.0.0.1:${http.addr.port}/rooms/lobby`;
  const a = await webSocketSession(base);
  const b = await webSocketSession(`${base}?envelope`);
  try {
    await readyOf(a);
    await readyOf(b);
    await a.send("hi");
    const envelope = parseTopicEnvelope(readText(await b.receive()));
    assert.equal(envelope?.kind === "message" && envelope.data, "hi");
    const result = await server.publish("lobby", "all");
    assert.equal(result.queued, 2);
    assert.equal(readText(await a.receive()), "all");
  } finally {
    await Promise.all([a.close(), b.close()]);
    await server.shutdown();
    ac.abort();
    await http.finished;
  }
});

Deno.test("topics: a reconnecting client resumes from its cursor (webSocketSessions with a URL function)", async () => {
  const server = createServer({
    topics: { backplane: memoryBackplane({ history: { size: 100 } }) },
  });
  let sessions = 0;
  server.webSocket("/feed", async (session) => {
    const url = new URL(session.request.url);
    const since = url.searchParams.get("since");
    await session.subscribe("feed", {
      envelope: true,
      since: since === null ? undefined : {
        offset: Number(since),
        epoch: url.searchParams.get("epoch")!,
      },
    });
    await session.send("ready");
    // The first session is dropped with 1012 (service restart) once it acknowledges a message.
    // Three messages are published after it left: it must get them on the next session.
    if (++sessions === 1) {
      await session.receive();
      session.unsubscribe("feed");
      for (const text of ["two", "three", "four"]) await server.publish("feed", text);
      await session.close(new CloseReason(1012, "restart"));
    } else {
      for await (const _ of session.incoming) {
        // until the client closes
      }
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const cursor = new TopicCursor();
  const url = () => {
    const at = cursor.position("feed");
    const base = `ws://127.0.0.1:${listener.addr.port}/feed`;
    return at === undefined ? base : `${base}?since=${at.offset}&epoch=${at.epoch}`;
  };
  const got: string[] = [];
  let published = 0;
  try {
    for await (
      const session of webSocketSessions(url, { backoff: { initialDelay: 1, minDelay: 1 } })
    ) {
      for await (const message of session.incoming) {
        const envelope = cursor.read(message);
        if (envelope === null && published++ === 0) {
          // "ready": subscribed; the first message goes out now.
          await server.publish("feed", "one");
        }
        if (envelope?.kind !== "message") continue;
        got.push(envelope.data as string);
        if (got.length === 1) await session.send("ack");
        if (got.length === 4) await session.close();
      }
      if (got.length === 4) break;
    }
    assert.deepEqual(got, ["one", "two", "three", "four"]);
    assert.equal(sessions, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("topics: policy wait holds the publisher until the slow subscriber reads, and loses nothing", async () => {
  const server = createServer({
    outgoingQueue: { bytes: 64 * 1024 },
    topics: { slowSubscribers: "wait" },
  });
  const listener = topicRoute(server);
  const port = listener.addr.port;
  const fast = await webSocketSession(`ws://127.0.0.1:${port}/t`);
  const { peer: slow } = await RawPeer.open(port, "/t");
  try {
    assert.equal(readText(await fast.receive()), "ready");
    assert.equal(readText((await slow.next())!), "ready");
    let fastGot = 0;
    const reading = (async () => {
      for await (const _ of fast.incoming) fastGot++;
    })();
    const payload = new Uint8Array(16 * 1024);
    let published = 0;
    let held: Promise<unknown> | null = null;
    for (let i = 0; i < 4000 && held === null; i++) {
      const p = server.publish("t", payload);
      published++;
      // A ping round trip on the fast connection (real I/O) ends before a publish that is held.
      const first = await Promise.race([p.then(() => "published"), fast.ping().then(() => "ping")]);
      if (first === "ping") held = p;
      else await p;
    }
    assert.ok(held !== null, "publish was never held back");
    // The slow subscriber reads everything: the held publish goes through, queued for both.
    let slowGot = 0;
    const draining = (async () => {
      while (slowGot < published) {
        const frame = await slow.next();
        if (frame === null) break;
        if (frame.type === "binary") slowGot++;
      }
    })();
    const result = (await held) as { queued: number; dropped: number; closed: number };
    assert.deepEqual([result.queued, result.dropped, result.closed], [2, 0, 0]);
    await draining;
    assert.equal(slowGot, published);
    await fast.close();
    await reading;
    assert.equal(fastGot, published);
  } finally {
    slow.close();
    await server.shutdown();
  }
});
