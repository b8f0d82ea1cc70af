/**
 * The reconnecting client against real servers: one that dies and comes back, one that answers
 * 503 then 101, one that answers 401 (no retry), a 1008 close (no retry), abort during backoff
 * and with a session open, the queue for messages sent while disconnected, and the backoff's
 * timing checked with fake timers.
 */

import assert from "node:assert/strict";
import FakeTimers from "npm:@sinonjs/fake-timers@14.0.0";
import { createClient } from "../../src/client/client.ts";
import { Backoff } from "../../src/client/backoff.ts";
import type { RetryEvent } from "../../src/client/reconnect.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  HandshakeError,
  WebSocketError,
} from "../../src/core/errors.ts";
import { readText } from "../../src/core/frame.ts";
import { CloseReason } from "../../src/core/close.ts";
import { createServer } from "../../src/server/server.ts";
import type { ServerListener } from "../../src/server/listener.ts";

/** A library server on `port` (0 for a free one) that greets each session with "hello N". */
function greeter(port = 0) {
  let count = 0;
  const server = createServer();
  server.webSocket("/", async (session) => {
    await session.send(`hello ${++count}`);
    for await (const m of session.incoming) {
      const text = readText(m);
      if (text.startsWith("close:")) {
        return session.close(new CloseReason(Number(text.slice(6)), "as asked"));
      }
      await session.send(m);
    }
  });
  return server.listen({ hostname: "127.0.0.1", port });
}

async function first(session: { incoming: ReadableStream }): Promise<string> {
  const reader = session.incoming.getReader();
  try {
    const { value } = await reader.read();
    return readText(value);
  } finally {
    reader.releaseLock();
  }
}

const FAST = { initialDelay: 1, minDelay: 1, factor: 1, maxDelay: 1 };

Deno.test("reconnect: a server that dies and comes back (1001, then refused connects)", async () => {
  let listener: ServerListener = greeter();
  const port = listener.addr.port;
  const events: RetryEvent[] = [];
  const greetings: string[] = [];
  await using client = createClient();
  const sessions = client.webSocketSessions(`ws://127.0.0.1:${port}/`, {
    backoff: FAST,
    onRetry: (event) => {
      events.push(event);
      // Back after two refused attempts.
      if (event.attempt === 3) listener = greeter(port);
    },
  });
  for await (const session of sessions) {
    greetings.push(await first(session));
    if (greetings.length === 2) break;
    await listener.shutdown(); // 1001 "Server is going down" to the session
    await session.closeReason;
  }
  await listener.shutdown();
  assert.deepEqual(greetings, ["hello 1", "hello 1"]); // a new server counts from 1
  assert.deepEqual(events.map((e) => e.attempt), [1, 2, 3]);
  const [dropped, refused] = [events[0]!.cause, events[1]!.cause];
  assert.ok(dropped instanceof ConnectionClosedError);
  assert.equal(dropped.closeReason?.code, 1001);
  assert.ok(refused instanceof ConnectionError);
  assert.equal((refused as ConnectionError).code, "CONNECTION_REFUSED");
  assert.equal(sessions.session, null); // closed on leaving the loop
});

Deno.test("reconnect: 503 then 101; a 401 is not retried", async () => {
  let requests = 0;
  let status = 503;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (++requests === 1 || status !== 503) {
      if (status !== 101) return new Response("later", { status, headers: { "retry-after": "1" } });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send(`request ${requests}`);
    return response;
  });
  try {
    const url = `ws://127.0.0.1:${server.addr.port}/`;
    await using client = createClient();
    const events: RetryEvent[] = [];
    for await (
      const session of client.webSocketSessions(url, {
        backoff: { initialDelay: 20 },
        onRetry: (e) => events.push(e),
      })
    ) {
      assert.equal(await first(session), "request 2");
      break;
    }
    assert.equal(events.length, 1);
    assert.ok(events[0]!.delay >= 0 && events[0]!.delay <= 20);
    assert.ok(events[0]!.cause instanceof HandshakeError);
    assert.equal((events[0]!.cause as HandshakeError).status, 503);

    status = 401;
    requests = 0;
    const retried: RetryEvent[] = [];
    const err = await (async () => {
      for await (const _ of client.webSocketSessions(url, { onRetry: (e) => retried.push(e) })) {
        assert.fail("no session expected");
      }
    })().then(() => null, (e) => e);
    assert.ok(err instanceof HandshakeError);
    assert.equal(err.status, 401);
    assert.equal(retried.length, 0);
    assert.equal(requests, 1);
    // Unless the retry function says otherwise.
    requests = 0;
    const err2 = await (async () => {
      for await (
        const _ of client.webSocketSessions(url, {
          backoff: FAST,
          maxRetries: 2,
          retry: (error) => error instanceof HandshakeError && error.status === 401,
        })
      ) assert.fail("no session expected");
    })().then(() => null, (e) => e);
    assert.equal((err2 as HandshakeError).status, 401);
    assert.equal(requests, 3);
  } finally {
    await server.shutdown();
  }
});

Deno.test("reconnect: 1008 ends the loop with the error, 1000 ends it quietly, 1013 retries", async () => {
  await using listener = greeter();
  await using client = createClient();
  const url = `ws://127.0.0.1:${listener.addr.port}/`;
  const codes = [1013, 1008];
  const events: RetryEvent[] = [];
  const err = await (async () => {
    for await (
      const session of client.webSocketSessions(url, {
        backoff: FAST,
        onRetry: (e) => events.push(e),
      })
    ) {
      await first(session);
      await session.send(`close:${codes.shift()}`);
      await session.closeReason;
    }
  })().then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.closeReason?.code, 1008);
  assert.equal(events.length, 1);
  let rounds = 0;
  for await (const session of client.webSocketSessions(url)) {
    rounds++;
    await first(session);
    await session.send("close:1000");
    await session.closeReason;
  }
  assert.equal(rounds, 1);
});

Deno.test("reconnect: abort during backoff, and with a session open", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  await using client = createClient();
  const controller = new AbortController();
  let attempts = 0;
  const err = await (async () => {
    for await (
      const _ of client.webSocketSessions(`ws://127.0.0.1:${closedPort}/`, {
        signal: controller.signal,
        backoff: { initialDelay: 60_000 },
        onRetry: () => {
          attempts++;
          controller.abort();
        },
      })
    ) assert.fail("no session expected");
  })().then(() => null, (e) => e);
  assert.ok(err instanceof WebSocketError);
  assert.equal(err.code, "ABORTED");
  assert.equal(attempts, 1);

  await using listener = greeter();
  const open = new AbortController();
  const err2 = await (async () => {
    for await (
      const session of client.webSocketSessions(`ws://127.0.0.1:${listener.addr.port}/`, {
        signal: open.signal,
      })
    ) {
      await first(session);
      open.abort();
      assert.equal((await session.closeReason)?.code, 1006);
    }
  })().then(() => null, (e) => e);
  assert.equal((err2 as WebSocketError).code, "ABORTED");
});

Deno.test("reconnect: sends while disconnected fail unless queued; the queue is bounded", async () => {
  let listener: ServerListener = greeter();
  const port = listener.addr.port;
  await using client = createClient();
  const plain = client.webSocketSessions(`ws://127.0.0.1:${port}/`);
  await assert.rejects(plain.send("too early"), (e: ConnectionClosedError) => {
    return e.code === "SESSION_CLOSED" && /not queued/.test(e.message);
  });
  await plain.close();

  const sessions = client.webSocketSessions(`ws://127.0.0.1:${port}/`, {
    backoff: FAST,
    queue: { messages: 2 },
    onRetry: (e) => {
      if (e.attempt === 1) {
        // Disconnected now: two messages fit, the third does not.
        sent.push(sessions.send("queued 1"), sessions.send("queued 2"));
        overflow = sessions.send("queued 3");
        overflow.catch(() => {}); // checked below
        listener = greeter(port);
      }
    },
  });
  const sent: Promise<void>[] = [];
  let overflow: Promise<void> | undefined;
  const seen: string[] = [];
  for await (const session of sessions) {
    seen.push(await first(session));
    if (seen.length === 1) {
      await listener.shutdown();
      await session.closeReason;
      continue;
    }
    // The queued messages went out first, in order, and come back echoed.
    seen.push(await first(session), await first(session));
    break;
  }
  await listener.shutdown();
  await Promise.all(sent);
  await assert.rejects(overflow!, (e: ConnectionClosedError) => e.code === "QUEUE_OVERFLOW");
  assert.deepEqual(seen, ["hello 1", "hello 1", "queued 1", "queued 2"]);
});

Deno.test("reconnect: the backoff's timing, with fake timers", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    await using client = createClient({ connectTimeout: 0, handshakeTimeout: 0 });
    let retry = Promise.withResolvers<RetryEvent>();
    const loop = (async () => {
      for await (
        const _ of client.webSocketSessions(`ws://127.0.0.1:${closedPort}/`, {
          backoff: { initialDelay: 5000, minDelay: 1000, factor: 2, maxDelay: 4000, jitter: 0 },
          maxRetries: 5,
          onRetry: (e) => retry.resolve(e),
        })
      ) assert.fail("no session expected");
    })().then(() => null, (e) => e);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const event = await retry.promise;
      retry = Promise.withResolvers<RetryEvent>();
      assert.equal(event.attempt, i + 1);
      delays.push(event.delay);
      // Nothing happens before the delay is over, the attempt is made when it is.
      if (event.delay > 0) {
        await clock.tickAsync(event.delay - 1);
        assert.equal(clock.countTimers(), 1, `attempt ${i + 1} waits`);
      }
      await clock.tickAsync(1);
    }
    const err = await loop;
    assert.equal((err as ConnectionError).code, "CONNECTION_REFUSED");
    assert.ok(delays[0]! >= 0 && delays[0]! <= 5000, `first delay ${delays[0]}`);
    assert.deepEqual(delays.slice(1), [1000, 2000, 4000, 4000]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("Backoff: random first delay, jittered exponential growth, cap, reset", () => {
  const values = [0.5, 0, 0.999, 0.5, 0, 0.25];
  const b = new Backoff(
    { initialDelay: 4000, minDelay: 100, factor: 3, maxDelay: 1000, jitter: 0.5 },
    () => values.shift() ?? 0,
  );
  assert.equal(b.next(), 2000); // 0.5 × 4000
  assert.equal(b.next(), 100); // 100 × (1 − 0.5 × 0)
  assert.equal(b.next(), 150); // 300 × (1 − 0.5 × 0.999), floored
  assert.equal(b.next(), 675); // 900 × 0.75
  assert.equal(b.next(), 1000); // capped
  b.reset();
  assert.equal(b.next(), 1000); // 0.25 × 4000: a fresh random first delay
});

Deno.test("reconnect: a session that stayed up minUptime resets the backoff", async () => {
  await using listener = greeter();
  // Only Date is fake: the uptime is what the test says, the short delays run for real.
  const clock = FakeTimers.install({ toFake: ["Date"] });
  try {
    await using client = createClient();
    const attempts: number[] = [];
    let rounds = 0;
    for await (
      const session of client.webSocketSessions(`ws://127.0.0.1:${listener.addr.port}/`, {
        backoff: { ...FAST, minUptime: 10_000 },
        onRetry: (e) => attempts.push(e.attempt),
      })
    ) {
      await first(session);
      if (++rounds === 4) break;
      if (rounds === 3) clock.tick(10_000); // this one stays up long enough
      await session.send("close:1012");
      await session.closeReason;
    }
    assert.deepEqual(attempts, [1, 2, 1]);
  } finally {
    clock.uninstall();
  }
});
