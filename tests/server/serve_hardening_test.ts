/**
 * The `Deno.serve` front end against hostile or broken clients: a `Host` that makes no URL, a
 * client that floods a handler that does not read, and a client that ignores the close frame.
 * Loopback only; the clients are raw TCP peers.
 *
 * @module
 */

import { TopicHub } from "../../src/topics/topic_hub.ts";
import assert from "node:assert/strict";
import FakeTimers from "npm:@sinonjs/fake-timers@14.0.0";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import { NativeWebSocketServerSession } from "../../src/server/native_server_session.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import { CloseReason } from "../../src/core/close.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { exchange, RawPeer, upgradeRequest, write } from "./_tcp.ts";

/**
 * Runs `fn` with the server behind `Deno.serve`, then shuts both down. `thrown` collects what
 * the handler threw to `Deno.serve` (its `onError`).
 */
async function served(
  options: ServerOptions,
  setup: (server: WebSocketServer) => void,
  fn: (port: number, server: WebSocketServer, thrown: unknown[]) => Promise<void>,
): Promise<void> {
  const server = createServer(options);
  setup(server);
  const thrown: unknown[] = [];
  const http = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    onError(err) {
      thrown.push(err);
      return new Response("thrown", { status: 500 });
    },
  }, server.handler);
  try {
    await fn(http.addr.port, server, thrown);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
}

Deno.test("Deno.serve hardening: a Host that makes no URL gets 400, nothing is thrown", async () => {
  const reported: unknown[] = [];
  await served({
    onError: (err) => void reported.push(err),
    fallback: () => new Response("page"),
  }, (server) => {
    server.webSocket("/", () => {});
  }, async (port, _server, thrown) => {
    // "a b", "a%20b", "[::1" and "a:99999" do not parse; "a/b" and "a@b" would change the URL.
    for (const host of ["a b", "a%20b", "[::1", "a:99999", "a/b", "a@b", ""]) {
      const upgrade = await exchange(port, upgradeRequest("/", port, { Host: host }));
      assert.equal(upgrade.status, 400, `upgrade with Host ${JSON.stringify(host)}`);
      assert.equal(upgrade.body, "Invalid request target or Host");
      const plain = await exchange(
        port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(plain.status, 400, `plain request with Host ${JSON.stringify(host)}`);
    }
    // A good Host still works.
    const page = await exchange(port, `GET / HTTP/1.1\r\nHost: ok\r\nConnection: close\r\n\r\n`);
    assert.equal(page.body, "page");
    assert.deepEqual(thrown, []);
  });
  assert.deepEqual(reported, []);
});

/** `count` masked text frames in one buffer, so that they arrive (and are buffered) together. */
function burst(count: number): Uint8Array {
  const frames = Array.from(
    { length: count },
    (_, i) => encodeFrame(Frame.text(`m${i}`), { maskKey: new Uint8Array([1, 2, 3, 4]) }),
  );
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const f of frames) {
    out.set(f, offset);
    offset += f.length;
  }
  return out;
}

/**
 * Reads frames until a close frame (answered with the same code) or the end of the connection,
 * at most `limit` frames: the close reason read, or `null` when the connection ended without one.
 */
async function readClose(peer: RawPeer, limit = 64): Promise<CloseReason | null> {
  for (let i = 0; i < limit; i++) {
    const frame = await peer.next();
    if (frame === null) return null;
    if (frame.type !== "close") continue;
    const reason = readReason(frame);
    // Deno may already have dropped the connection (the rest of the burst came after its close).
    await peer.send(Frame.close(new CloseReason(reason?.code ?? 1000, ""))).catch(() => {});
    return reason;
  }
  throw new Error(`no close frame within ${limit} frames`);
}

Deno.test("Deno.serve hardening: the 1008 of an overflowing queue reaches a flooding client", async () => {
  const reasons: (CloseReason | null)[] = [];
  await served({ incomingQueue: { messages: 2 }, closeTimeout: 5_000 }, (server) => {
    // Never reads: the third message overflows the queue.
    server.webSocket("/", async (session) => void reasons.push(await session.closeReason));
  }, async (port) => {
    for (const count of [4, 50, 2_000]) {
      const { peer, status } = await RawPeer.open(port, "/");
      try {
        assert.equal(status, 101);
        await write(peer.conn, burst(count));
        const reason = await readClose(peer);
        assert.equal(reason?.code, 1008, `${count} messages: the client read ${reason?.code}`);
        assert.equal(reason?.message, "Incoming queue overflow");
        assert.equal(await peer.ended(), true);
      } finally {
        peer.close();
      }
    }
  });
  assert.deepEqual(reasons.map((r) => r?.code), [1008, 1008, 1008]);
});

Deno.test("Deno.serve hardening: a handler's close reaches a client that keeps sending", async () => {
  await served({ closeTimeout: 5_000 }, (server) => {
    server.webSocket("/", async (session) => {
      for await (const _ of session.incoming) {
        await session.close(new CloseReason(4000, "enough"));
      }
    });
  }, async (port) => {
    for (const count of [4, 50, 2_000]) {
      const { peer } = await RawPeer.open(port, "/");
      try {
        await write(peer.conn, burst(count));
        const reason = await readClose(peer);
        assert.equal(reason?.code, 4000, `${count} messages: the client read ${reason?.code}`);
        assert.equal(await peer.ended(), true);
      } finally {
        peer.close();
      }
    }
  });
});

/** `promise`, or a rejection after `ms` (so that a connection left open fails the test). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Deno.serve hardening: clients that ignore the close frame are dropped at closeTimeout and counted until then", async () => {
  const CLOSE_TIMEOUT = 1_000;
  const sessions: NativeWebSocketServerSession[] = [];
  await served({ maxConnections: 3, closeTimeout: CLOSE_TIMEOUT }, (server) => {
    // Returns at once: the session sends 1000 and waits for the client's close.
    server.webSocket("/", (session) => void sessions.push(session as NativeWebSocketServerSession));
  }, async (port, server) => {
    const peers: RawPeer[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const { peer, status } = await RawPeer.open(port, "/");
        peers.push(peer);
        assert.equal(status, 101);
        assert.equal((await peer.next())?.type, "close"); // ignored
      }
      // Within closeTimeout: every place is taken.
      const refused = await exchange(port, upgradeRequest("/", port));
      assert.equal(refused.status, 503);
      for (const peer of peers) {
        assert.equal(await within(peer.ended(), 10 * CLOSE_TIMEOUT, "the drop"), true);
      }
      await Promise.all(sessions.map((s) => s.released));
      assert.equal(server.connections, 0);
      // The places are free again.
      const { peer, status } = await RawPeer.open(port, "/");
      peers.push(peer);
      assert.equal(status, 101);
      assert.equal((await peer.next())?.type, "close");
      await peer.send(Frame.close(new CloseReason(1000, "")));
      assert.equal(await peer.ended(), true);
    } finally {
      for (const peer of peers) peer.close();
    }
  });
  assert.equal(sessions.length, 4);
  for (const session of sessions) {
    assert.deepEqual(await session.closeReason, new CloseReason(1000, ""));
  }
});

Deno.test("Deno.serve hardening: server.shutdown drops a client that ignores the 1001", async () => {
  await served({ closeTimeout: 300 }, (server) => {
    server.webSocket("/", async (session) => {
      for await (const _ of session.incoming) { /* nothing */ }
    });
  }, async (port, server) => {
    const { peer, status } = await RawPeer.open(port, "/");
    try {
      assert.equal(status, 101);
      const stopping = server.shutdown();
      const close = await peer.next();
      assert.equal(readReason(close!)?.code, 1001); // ignored
      // Dropped by server.shutdown, not by Deno.serve's.
      assert.equal(await within(peer.ended(), 10_000, "the drop"), true);
      await stopping;
      assert.equal(server.connections, 0);
    } finally {
      peer.close();
    }
  });
});

Deno.test("Deno.serve hardening: abort() drops the connection at once, without a close frame", async () => {
  const sessions: NativeWebSocketServerSession[] = [];
  await served({ closeTimeout: 60_000 }, (server) => {
    server.webSocket("/", async (session) => {
      sessions.push(session as NativeWebSocketServerSession);
      for await (const _ of session.incoming) session.abort(new Error("enough"));
    });
  }, async (port, server) => {
    const { peer } = await RawPeer.open(port, "/");
    try {
      await peer.send(Frame.text("hi"));
      assert.equal(await within(peer.next(), 10_000, "the drop"), null);
      await sessions[0]!.released;
      assert.equal(server.connections, 0);
      assert.equal((await sessions[0]!.closeReason)?.code, 1006);
    } finally {
      peer.close();
    }
  });
});

/**
 * Stands in for Deno's server-side `WebSocket`, to drive a session where the connection cannot
 * be dropped (it has no resource of Deno's).
 */
class FakeSocket {
  binaryType = "blob";
  bufferedAmount = 0;
  readyState: number = WebSocket.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  /** The `close()` calls, in order. */
  readonly closes: [number | undefined, string | undefined][] = [];

  send(): void {}
  close(code?: number, reason?: string): void {
    this.closes.push([code, reason]);
    if (this.readyState === WebSocket.OPEN) this.readyState = WebSocket.CLOSING;
  }
  open(): void {
    this.readyState = WebSocket.OPEN;
    this.onopen?.(new Event("open"));
  }
  /** The client finally went away. */
  end(): void {
    this.readyState = WebSocket.CLOSED;
    this.onclose?.(new CloseEvent("close", { code: 1005, wasClean: true }));
  }
}

function nativeSession(socket: FakeSocket, closeTimeout: number): NativeWebSocketServerSession {
  const request = { url: new URL("http://x/"), method: "GET", headers: new Headers() };
  return new NativeWebSocketServerSession({
    socket: socket as unknown as WebSocket,
    call: {
      request,
      response: { status: 101, statusText: "Switching Protocols", headers: new Headers() },
    },
    protocol: "",
    remoteAddr: undefined,
    params: {},
    data: undefined,
    closeTimeout,
    idleTimeout: 0,
    maxMessageSize: 1024,
    converter: undefined,
    incomingMessages: 16,
    incomingBytes: 1 << 20,
    outgoingBytes: 1 << 20,
    topics: new TopicHub({}),
  });
}

/** Whether `promise` has settled (after the pending microtasks). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

Deno.test("Deno.serve hardening: where the connection cannot be dropped, the socket stays counted until it is gone", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const socket = new FakeSocket();
    const session = nativeSession(socket, 1_000);
    socket.open();
    const closing = session.close(new CloseReason(1000, "bye"));
    clock.tick(0);
    assert.deepEqual(socket.closes, [[1000, "bye"]]);
    clock.tick(1_000);
    // The client ignored the close frame: the session gives up on it after closeTimeout...
    assert.deepEqual(await session.closeReason, new CloseReason(1000, "bye"));
    await closing;
    await session.closed;
    // ...but the connection is still there, and counted.
    assert.equal(await settled(session.released), false);
    socket.end();
    assert.equal(await settled(session.released), true);
  } finally {
    clock.uninstall();
  }
});
