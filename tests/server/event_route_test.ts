/**
 * Managed routes in event form (`server.webSocket(path, { open, message, close })`), on the
 * listener and through `Deno.serve`: order, a pending handler holding the next messages and
 * then the socket, failures (1011 and `onError`), `close` called once, bad handler objects.
 */

import assert from "node:assert/strict";
import type { CloseReason } from "../../src/core/close.ts";
import { Frame } from "../../src/core/frame.ts";
import { readText } from "../../src/core/frame.ts";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { DefaultWebSocketServerSession } from "../../src/server/managed_server_session.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import { RawPeer, write } from "./_tcp.ts";
import { floodUntilStalled } from "./_flood.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";

/** Serves `server` through the listener or `Deno.serve`; returns the port and a stop. */
function serve(
  server: WebSocketServer,
  front: "listener" | "Deno.serve",
): { port: number; stop: () => Promise<void> } {
  if (front === "listener") {
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    return { port: listener.addr.port, stop: () => listener.shutdown() };
  }
  const ac = new AbortController();
  const srv = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    server.handler,
  );
  return {
    port: srv.addr.port,
    stop: async () => {
      await server.shutdown();
      ac.abort();
      await srv.finished;
    },
  };
}

/** Rejects after 10 s: a bound for every wait in these tests. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within 10 s`)), 10_000);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

for (const front of ["listener", "Deno.serve"] as const) {
  Deno.test(`event route (${front}): open, messages in order one at a time, close once`, async () => {
    const calls: string[] = [];
    const closed = Promise.withResolvers<CloseReason>();
    let active = 0;
    let overlapped = false;
    const server = createServer().webSocket("/ev", {
      async open(session) {
        calls.push("open");
        await session.send("welcome");
      },
      async message(session, message) {
        active++;
        if (active > 1) overlapped = true;
        // A handler that takes a while: the next messages wait for it.
        await new Promise((resolve) => setTimeout(resolve, 1));
        await session.send(`echo ${readText(message)}`);
        active--;
      },
      close(_session, reason) {
        calls.push(`close ${reason.code}`);
        closed.resolve(reason);
      },
    });
    const { port, stop } = serve(server, front);
    try {
      const client = await webSocketSession(`ws://127.0.0.1:${port}/ev`);
      // 12: within the backlog's bound (16), which `Deno.serve` cannot hold back (1008 past it).
      for (let i = 0; i < 12; i++) await client.send(`m${i}`);
      const got: string[] = [];
      for await (const message of client.incoming) {
        got.push(readText(message));
        if (got.length === 13) break;
      }
      await client.close();
      const reason = await within(closed.promise, "close");
      assert.equal(reason.code, 1000);
      assert.deepEqual(got, ["welcome", ...Array.from({ length: 12 }, (_, i) => `echo m${i}`)]);
      assert.equal(overlapped, false);
      assert.deepEqual(calls, ["open", "close 1000"]);
    } finally {
      await stop();
    }
  });

  Deno.test(`event route (${front}): a throwing handler closes with 1011 and goes to onError`, async () => {
    const reported: unknown[] = [];
    const closed = Promise.withResolvers<CloseReason>();
    const seen: string[] = [];
    const server = createServer({ onError: (err) => reported.push(err) }).webSocket("/ev", {
      message(_session, message) {
        const text = readText(message);
        seen.push(text);
        if (text === "boom") throw new Error("handler failed");
      },
      close: (_session, reason) => closed.resolve(reason),
    });
    const { port, stop } = serve(server, front);
    try {
      const client = await webSocketSession(`ws://127.0.0.1:${port}/ev`);
      await client.send("one");
      await client.send("boom");
      await client.send("after");
      const reason = await within(client.closeReason, "the client's close");
      assert.equal(reason.code, 1011);
      assert.equal((await within(closed.promise, "close")).code, 1011);
      assert.deepEqual(seen, ["one", "boom"]);
      assert.equal(reported.length, 1);
      assert.match(String(reported[0]), /handler failed/);
    } finally {
      await stop();
    }
  });

  Deno.test(`event route (${front}): a rejected open closes with 1011; no message is handed over`, async () => {
    const reported: unknown[] = [];
    let messages = 0;
    const server = createServer({ onError: (err) => reported.push(err) }).webSocket("/ev", {
      open: () => Promise.reject(new Error("no")),
      message() {
        messages++;
      },
    });
    const { port, stop } = serve(server, front);
    try {
      const client = await webSocketSession(`ws://127.0.0.1:${port}/ev`);
      await client.send("ignored").catch(() => {});
      assert.equal((await within(client.closeReason, "the client's close")).code, 1011);
      assert.equal(messages, 0);
      assert.equal(reported.length, 1);
    } finally {
      await stop();
    }
  });

  Deno.test(`event route (${front}): an error in close goes to onError`, async () => {
    const reported: unknown[] = [];
    const done = Promise.withResolvers<void>();
    const server = createServer({
      onError: (err) => {
        reported.push(err);
        done.resolve();
      },
    }).webSocket("/ev", {
      message() {},
      close() {
        throw new Error("close failed");
      },
    });
    const { port, stop } = serve(server, front);
    try {
      const client = await webSocketSession(`ws://127.0.0.1:${port}/ev`);
      await client.close();
      await within(done.promise, "onError");
      assert.match(String(reported[0]), /close failed/);
    } finally {
      await stop();
    }
  });
}

Deno.test("event route (listener): a pending handler holds the next messages, then the socket", async () => {
  const release = Promise.withResolvers<void>();
  const frameLength = 1024 + 8; // 1 KiB binary, masked: 2 + 2 header bytes, 4 key bytes
  let handled = 0;
  let expected = Infinity;
  const all = Promise.withResolvers<void>();
  let session: DefaultWebSocketServerSession | null = null;
  const ended = Promise.withResolvers<CloseReason>();
  const server = createServer().webSocket("/ev", {
    open(s) {
      session = s;
    },
    async message() {
      handled++;
      if (handled === 1) await release.promise;
      if (handled === expected) all.resolve();
    },
    close: (_s, reason) => ended.resolve(reason),
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const { peer } = await RawPeer.open(listener.addr.port, "/ev");
  try {
    const frame = encodeFrame(Frame.binary(new Uint8Array(1024)), {
      maskKey: new Uint8Array([1, 2, 3, 4]),
    });
    assert.equal(frame.length, frameLength);
    const batch = new Uint8Array(frameLength * 256);
    for (let i = 0; i < 256; i++) batch.set(frame, i * frameLength);
    // The first handler waits: the session stops reading once its backlog is full, so the
    // peer's writes stall once the kernel's buffers are full.
    const stalled = await floodUntilStalled(peer.conn, batch);
    assert.equal(handled, 1);
    release.resolve();
    // The handler goes on: the stalled write goes through, and every message arrives.
    let total = stalled.written + ((await within(stalled.pending, "the stalled write")) ?? 0);
    const rest = (frameLength - total % frameLength) % frameLength;
    if (rest > 0) {
      const from = total % batch.length;
      await write(peer.conn, batch.subarray(from, from + rest));
      total += rest;
    }
    expected = total / frameLength;
    if (handled === expected) all.resolve();
    await within(all.promise, `${expected} messages`);
    assert.equal(handled, expected);
    await (session as DefaultWebSocketServerSession | null)?.close();
    assert.equal((await within(ended.promise, "close")).code, 1000);
  } finally {
    peer.conn.close();
    await listener.shutdown();
  }
});

Deno.test("event route: bad handler objects are TypeErrors; raw routes take functions only", () => {
  const server = createServer();
  assert.throws(() => server.webSocket("/a", {} as never), TypeError);
  assert.throws(
    () => server.webSocket("/b", { message() {}, close: 1 } as never),
    TypeError,
  );
  assert.throws(() => server.webSocketRaw("/c", { message() {} } as never), TypeError);
});
