import assert from "node:assert/strict";
import {
  CloseReason,
  ConnectionClosedError,
  ConnectionError,
  createClient,
  type DefaultWebSocketSession,
  Frame,
  ProtocolError,
  readText,
  WebSocketError,
  type WebSocketExtension,
  type WebSocketExtensionFactory,
  webSocketSession,
} from "../../mod.ts";
import { ManagedWebSocketSession } from "../../src/session/managed_session.ts";
import { buildServerResponse } from "../../src/core/handshake_response.ts";
import { validateClientRequest } from "../../src/core/handshake_request.ts";
import {
  nodeClose,
  startNodeEcho,
  startNodeServer,
  startPeerServer,
  type WsPeer,
} from "../_helpers/ws_peer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function next(session: DefaultWebSocketSession): Promise<Frame> {
  const reader = session.incoming.getReader();
  try {
    const { done, value } = await reader.read();
    if (done) throw new Error("incoming ended");
    return value;
  } finally {
    reader.releaseLock();
  }
}

/** Opens a session to a raw peer and returns both. */
async function pair(
  options?: Parameters<typeof webSocketSession>[1],
): Promise<{ peer: WsPeer; session: DefaultWebSocketSession; close(): Promise<void> }> {
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    webSocketSession(server.url(), { closeTimeout: 1000, ...options }),
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

/** Waits (bounded, on real state changes) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("managed session echoes text and binary with npm:ws", async () => {
  await using server = await startNodeEcho();
  const session = await webSocketSession(server.url("/echo"));
  await session.send("hello");
  await session.send(new Uint8Array([1, 2, 3]));
  const a = await next(session);
  const b = await next(session);
  assert.equal(a.type, "text");
  assert.equal(readText(a), "hello");
  assert.equal(b.type, "binary");
  assert.deepEqual([...b.data], [1, 2, 3]);
  await session.close();
  assert.deepEqual(await session.closeReason, new CloseReason(1000, ""));
  assert.equal(session.state, "closed");
  const err = await session.send("late").catch((e) => e);
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.code, "SESSION_CLOSED");
});

Deno.test("managed session talks to Deno's built-in server", async () => {
  const ac = new AbortController();
  const closes: { code: number; reason: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => socket.send(e.data);
      socket.onclose = (e) => closes.push({ code: e.code, reason: e.reason });
      return response;
    },
  );
  try {
    await using session = await webSocketSession(`ws://127.0.0.1:${server.addr.port}/`);
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    await session.send("from wirestream");
    await session.send(big);
    assert.equal(readText(await next(session)), "from wirestream");
    assert.deepEqual((await next(session)).data, big);
    await session.close(new CloseReason(4321, "done"));
    assert.deepEqual(await session.closeReason, new CloseReason(4321, "done"));
    await until(() => closes.length === 1, "the server's close event");
    assert.deepEqual(closes[0], { code: 4321, reason: "done" });
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("fragments with interleaved pings are reassembled; pings get matching pongs", async () => {
  const { peer, session, close } = await pair();
  try {
    await peer.send(Frame.text("Hel", { fin: false }));
    await peer.send(Frame.ping(enc.encode("p1")));
    await peer.send(Frame.text("lo, ", { fin: false }), { continuation: true });
    await peer.send(Frame.ping(enc.encode("p2")));
    await peer.send(Frame.text("wörld"), { continuation: true });
    await peer.send(Frame.binary(new Uint8Array([1]), { fin: false }));
    await peer.send(Frame.binary(new Uint8Array(0), { fin: false }), { continuation: true });
    await peer.send(Frame.binary(new Uint8Array([2, 3])), { continuation: true });
    const text = await next(session);
    assert.equal(text.type, "text");
    assert.equal(text.fin, true);
    assert.equal(readText(text), "Hello, wörld");
    const bin = await next(session);
    assert.deepEqual([...bin.data], [1, 2, 3]);
    const p1 = await peer.readFrame();
    const p2 = await peer.readFrame();
    assert.equal(p1?.type, "pong");
    assert.equal(dec.decode(p1!.data), "p1");
    assert.equal(dec.decode(p2!.data), "p2");
  } finally {
    await close();
  }
});

Deno.test("a pong jumps ahead of megabytes of queued data", async () => {
  const { peer, session, close } = await pair();
  try {
    const first = new Uint8Array(8 * 1024 * 1024);
    const rest = Array.from({ length: 64 }, () => new Uint8Array(64 * 1024).fill(7));
    // Not awaited: the first message fills the socket (the peer is not reading yet), the
    // rest wait in the outgoing queue.
    const sent = [session.send(first), ...rest.map((m) => session.send(m))];
    await new Promise((r) => setTimeout(r, 0));
    const before = session.bufferedAmount;
    await peer.send(Frame.ping(enc.encode("urgent")));
    // The pong is queued once the session has read the ping.
    await until(() => session.bufferedAmount > before, "the pong to be queued");
    const order: string[] = [];
    while (order.length < 66) {
      const frame = await peer.readFrame();
      assert.ok(frame !== null);
      order.push(frame.type === "pong" ? `pong:${dec.decode(frame.data)}` : `${frame.data.length}`);
    }
    assert.deepEqual(order.slice(0, 3), [String(first.length), "pong:urgent", "65536"]);
    await Promise.all(sent);
  } finally {
    await close();
  }
});

Deno.test("pongs that match no ping are ignored", async () => {
  const { peer, session, close } = await pair();
  try {
    await peer.send(Frame.pong(enc.encode("unsolicited")));
    await peer.send(Frame.text("still here"));
    assert.equal(readText(await next(session)), "still here");
    const rtt = session.ping(enc.encode("mine"), { timeout: 2000 });
    const ping = await peer.readFrame();
    assert.equal(ping?.type, "ping");
    await peer.send(Frame.pong(enc.encode("other")));
    await peer.send(Frame.pong(ping!.data));
    assert.ok((await rtt) >= 0);
    assert.equal(session.state, "open");
  } finally {
    await close();
  }
});

Deno.test("every close code from the peer is echoed and becomes closeReason", async () => {
  await using server = await startNodeServer();
  for (
    const code of [
      1000,
      1001,
      1002,
      1003,
      1007,
      1008,
      1009,
      1010,
      1011,
      1012,
      1013,
      1014,
      3000,
      4999,
    ]
  ) {
    const session = await webSocketSession(server.url());
    const { socket } = await server.connection();
    const echoed = nodeClose(socket);
    socket.close(code, `code ${code}`);
    assert.deepEqual(await session.closeReason, new CloseReason(code, `code ${code}`));
    assert.deepEqual(await echoed, { code, reason: `code ${code}` });
    // incoming ends normally.
    for await (const _ of session.incoming) assert.fail("no message expected");
    await session.closed;
    assert.ok(session.signal.aborted);
  }
});

Deno.test("a close without status code gives 1005 and is echoed empty", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url());
  const { socket } = await server.connection();
  const echoed = nodeClose(socket);
  socket.close();
  assert.deepEqual(await session.closeReason, new CloseReason(1005, ""));
  assert.equal((await echoed).code, 1005);
  await session.closed;
});

Deno.test("close(reason) sends it, waits for the echo, then releases", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url());
  const { socket } = await server.connection();
  const seen = nodeClose(socket);
  let resolvedEarly = false;
  session.closeReason.then(() => resolvedEarly = true);
  assert.equal(resolvedEarly, false);
  await session.close(new CloseReason(4000, "done"));
  assert.deepEqual(await seen, { code: 4000, reason: "done" });
  assert.deepEqual(await session.closeReason, new CloseReason(4000, "done"));
  assert.equal(session.state, "closed");
  // A second close waits for the same end and does not reject.
  await session.close(new CloseReason(1000, "again"));
  assert.deepEqual(await session.closeReason, new CloseReason(4000, "done"));
});

Deno.test("close() gives up after closeTimeout when the peer never answers", async () => {
  const { peer, session, close } = await pair({ closeTimeout: 150 });
  try {
    const started = performance.now();
    const closing = session.close(new CloseReason(1001, "leaving"));
    const frame = await peer.readFrame();
    assert.equal(frame?.type, "close");
    await closing;
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 3000, `took ${elapsed} ms`);
    assert.deepEqual(await session.closeReason, new CloseReason(1001, "leaving"));
    // incoming ended normally: the close was ours.
    for await (const _ of session.incoming) assert.fail("no message expected");
    assert.equal(await peer.readFrame(), null);
  } finally {
    await close();
  }
});

Deno.test("messages that arrive after close() are still delivered", async () => {
  const { peer, session, close } = await pair();
  try {
    const closing = session.close();
    assert.equal((await peer.readFrame())?.type, "close");
    await peer.send(Frame.text("late 1"));
    await peer.send(Frame.text("late 2"));
    await peer.send(Frame.close(new CloseReason(1000, "")));
    peer.close();
    await closing;
    const got: string[] = [];
    for await (const m of session.incoming) got.push(readText(m));
    assert.deepEqual(got, ["late 1", "late 2"]);
  } finally {
    await close();
  }
});

Deno.test("a vanishing peer gives 1006 and incoming fails", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url());
  const { socket } = await server.connection();
  socket.terminate();
  const err = await (async () => {
    for await (const _ of session.incoming) assert.fail("no message expected");
  })().catch((e) => e);
  assert.ok(err instanceof ConnectionClosedError, String(err));
  assert.equal(err.code, "CLOSED_ABNORMALLY");
  assert.equal((await session.closeReason)?.code, 1006);
  assert.equal(session.signal.reason, err);
  const sendError = await session.send("x").catch((e) => e);
  assert.equal(sendError, err);
  await session.closed;
});

Deno.test("a message over maxMessageSize gives 1009, unfragmented and fragmented", async (t) => {
  for (const fragmented of [false, true]) {
    await t.step(fragmented ? "fragmented" : "one frame", async () => {
      const { peer, session, close } = await pair({ maxMessageSize: 1000 });
      try {
        if (fragmented) {
          await peer.send(Frame.binary(new Uint8Array(400), { fin: false }));
          await peer.send(Frame.binary(new Uint8Array(400), { fin: false }), {
            continuation: true,
          });
          await peer.send(Frame.binary(new Uint8Array(400)), { continuation: true });
        } else {
          await peer.send(Frame.binary(new Uint8Array(1001)));
        }
        const err = await next(session).catch((e) => e);
        assert.ok(err instanceof ProtocolError);
        assert.equal(err.code, "MESSAGE_TOO_BIG");
        assert.equal(err.closeCode, 1009);
        const closeFrame = await peer.readUntil("close");
        assert.equal(closeFrame!.data[0]! << 8 | closeFrame!.data[1]!, 1009);
        assert.equal((await session.closeReason)?.code, 1009);
        await session.closed;
      } finally {
        await close();
      }
    });
  }
});

Deno.test("a frame over maxFrameSize gives 1009", async () => {
  const { peer, session, close } = await pair({ maxFrameSize: 10 });
  try {
    await peer.send(Frame.text("01234567890"));
    const err = await next(session).catch((e) => e);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, "FRAME_TOO_BIG");
    assert.equal((await session.closeReason)?.code, 1009);
  } finally {
    await close();
  }
});

Deno.test("protocol errors give 1002: a masked server frame, a reserved opcode", async (t) => {
  await t.step("masked frame", async () => {
    const { peer, session, close } = await pair();
    try {
      await peer.send(Frame.text("x"), { maskKey: new Uint8Array([1, 2, 3, 4]) });
      const err = await next(session).catch((e) => e);
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.closeCode, 1002);
      const reason = await session.closeReason;
      assert.equal(reason?.code, 1002);
      assert.match(reason!.message, /must not be masked/);
      const frame = await peer.readUntil("close");
      assert.equal(frame!.data[1], 1002 & 0xff);
    } finally {
      await close();
    }
  });
  await t.step("reserved opcode", async () => {
    const { peer, session, close } = await pair();
    try {
      await peer.write(new Uint8Array([0x83, 0x00]));
      const err = await next(session).catch((e) => e);
      assert.ok(err instanceof ProtocolError);
      assert.equal((await session.closeReason)?.code, 1002);
    } finally {
      await close();
    }
  });
});

Deno.test("invalid UTF-8 gives 1007, also split across fragments", async () => {
  const { peer, session, close } = await pair();
  try {
    await peer.send(Frame.text(new Uint8Array([0x68, 0xe2, 0x82]), { fin: false }));
    await peer.send(Frame.text(new Uint8Array([0x28])), { continuation: true });
    const err = await next(session).catch((e) => e);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, "INVALID_UTF8");
    assert.equal((await session.closeReason)?.code, 1007);
  } finally {
    await close();
  }
});

Deno.test("messages queued before a failure stay readable, then the error", async () => {
  const { peer, session, close } = await pair();
  try {
    const a = Frame.text("a");
    const b = Frame.text("b");
    const bad = new Uint8Array([0x81, 0x01, 0xff]);
    const bytes = new Uint8Array([...encodeUnmasked(a), ...encodeUnmasked(b), ...bad]);
    await peer.write(bytes);
    assert.equal((await session.closeReason)?.code, 1007);
    assert.equal(readText(await next(session)), "a");
    assert.equal(readText(await next(session)), "b");
    await assert.rejects(next(session), ProtocolError);
  } finally {
    await close();
  }
});

function encodeUnmasked(frame: Frame): Uint8Array {
  return new Uint8Array([0x80 | frame.opcode, frame.data.length, ...frame.data]);
}

Deno.test("signal aborts when the session ends; abort() gives 1006", async () => {
  const { session, close } = await pair();
  try {
    let aborted = false;
    session.signal.addEventListener("abort", () => aborted = true);
    session.abort(new Error("stop"));
    assert.ok(aborted);
    assert.equal((await session.closeReason)?.code, 1006);
    const err = await next(session).catch((e) => e);
    assert.ok(err instanceof WebSocketError);
    assert.equal(err.code, "ABORTED");
    await session.closed;
  } finally {
    await close();
  }
});

Deno.test("await using closes and releases the socket even when the block throws", async () => {
  await using server = await startNodeServer();
  const seen: Promise<{ code: number; reason: string }>[] = [];
  server.wss.on("connection", (socket) => seen.push(nodeClose(socket)));
  let captured: DefaultWebSocketSession | null = null;
  await assert.rejects(
    (async () => {
      await using session = await webSocketSession(server.url());
      captured = session;
      throw new Error("boom");
    })(),
    /boom/,
  );
  assert.equal(captured!.state, "closed");
  await captured!.closed;
  assert.equal((await seen[0])!.code, 1000);
});

Deno.test("outgoing is a WritableStream: pipeTo sends every frame in order", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url());
  const { socket } = await server.connection();
  const got: string[] = [];
  const all = Promise.withResolvers<void>();
  socket.on("message", (data) => {
    got.push(String(data));
    if (got.length === 100) all.resolve();
  });
  const source = ReadableStream.from(Array.from({ length: 100 }, (_, i) => Frame.text(`m${i}`)));
  await source.pipeTo(session.outgoing);
  await all.promise;
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `m${i}`));
  await session.close();
});

Deno.test("leaving a for await loop does not cancel incoming", async () => {
  const { peer, session, close } = await pair();
  try {
    await peer.send(Frame.text("one"));
    await peer.send(Frame.text("two"));
    for await (const m of session.incoming) {
      assert.equal(readText(m), "one");
      break;
    }
    for await (const m of session.incoming) {
      assert.equal(readText(m), "two");
      break;
    }
  } finally {
    await close();
  }
});

Deno.test("incoming.cancel() discards messages but pings are still answered", async () => {
  const { peer, session, close } = await pair();
  try {
    await session.incoming.cancel();
    for (let i = 0; i < 100; i++) await peer.send(Frame.text(`ignored ${i}`));
    await peer.send(Frame.ping(enc.encode("alive?")));
    const pong = await peer.readUntil("pong");
    assert.equal(dec.decode(pong!.data), "alive?");
    await session.send("I can still send");
    assert.equal(readText((await peer.readFrame())!), "I can still send");
  } finally {
    await close();
  }
});

Deno.test("incoming backpressure: a consumer that stops reading stops the socket reads", async () => {
  const { peer, session, close } = await pair({ incomingQueue: { messages: 4 } });
  try {
    const count = 256;
    const message = new Uint8Array(60_000);
    const frames = new Uint8Array(count * (message.length + 4));
    for (let i = 0; i < count; i++) {
      const at = i * (message.length + 4);
      frames.set([0x82, 126, 60_000 >> 8, 60_000 & 0xff], at);
      frames[at + 4] = i; // first payload byte = index
    }
    let written = false;
    const writing = peer.write(frames).then(() => written = true);
    writing.catch(() => {});
    // 15 MB cannot fit in the socket buffers while nobody reads.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(written, false);
    for (let i = 0; i < count; i++) {
      const m = await next(session);
      assert.equal(m.data.length, message.length);
      assert.equal(m.data[0], i & 0xff);
    }
    await writing;
  } finally {
    await close();
  }
});

Deno.test("outgoing bound: unawaited sends wait in order and bufferedAmount stays bounded", async () => {
  const { peer, session, close } = await pair({ outgoingQueue: { bytes: 256 * 1024 } });
  try {
    const count = 200;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const m = new Uint8Array(32 * 1024);
      m[0] = i;
      sends.push(session.send(m));
    }
    await new Promise((r) => setTimeout(r, 0));
    assert.ok(
      session.bufferedAmount <= 256 * 1024 + 32 * 1024 + 14 * 2,
      `${session.bufferedAmount}`,
    );
    for (let i = 0; i < count; i++) {
      const f = await peer.readFrame();
      assert.equal(f?.data[0], i & 0xff);
    }
    await Promise.all(sends);
    await session.flush();
  } finally {
    await close();
  }
});

// ---------------------------------------------------------------------------------------------
// Extensions

interface ExtLog {
  calls: string[];
  disposed: string[];
}

/** A test extension that XORs payloads with `key` and marks messages with its RSV bit. */
function xorExtension(
  name: string,
  rsv: number,
  key: number,
  log: ExtLog,
  options?: { async?: boolean },
): WebSocketExtensionFactory {
  const xor = (data: Uint8Array) => data.map((b) => b ^ key);
  const make = (): WebSocketExtension => {
    let inMessage = false;
    let transformIncoming = false;
    const ext: WebSocketExtension = {
      name,
      rsv,
      params: { name, params: new Map() },
      processOutgoing(frame) {
        log.calls.push(`${name}:out`);
        const out = new Frame(frame.type, xor(frame.data), {
          fin: frame.fin,
          rsv1: frame.rsv1 || (rsv === 0x40 && !inMessage),
          rsv2: frame.rsv2 || (rsv === 0x20 && !inMessage),
          rsv3: frame.rsv3 || (rsv === 0x10 && !inMessage),
        });
        inMessage = !frame.fin;
        return options?.async ? Promise.resolve(out) : out;
      },
      processIncoming(frame) {
        log.calls.push(`${name}:in`);
        const first = !transformIncoming && (frame.rsvBits & rsv) !== 0;
        if (first) transformIncoming = true;
        if (!transformIncoming) return frame;
        const out = new Frame(frame.type, xor(frame.data), {
          fin: frame.fin,
          rsv1: frame.rsv1 && rsv !== 0x40,
          rsv2: frame.rsv2 && rsv !== 0x20,
          rsv3: frame.rsv3 && rsv !== 0x10,
        });
        if (frame.fin) transformIncoming = false;
        if (!options?.async) return out;
        // Resolve later than a sync extension would, to prove ordering.
        return new Promise((r) => setTimeout(() => r(out), frame.data[0]! % 3));
      },
      dispose() {
        log.disposed.push(name);
      },
    };
    return ext;
  };
  return {
    name,
    rsv,
    clientOffers: () => [{ name, params: new Map() }],
    clientAccept: () => make(),
    serverAccept: () => null,
  };
}

Deno.test("extensions: outgoing in order, incoming in reverse, disposed at the end", async () => {
  const log: ExtLog = { calls: [], disposed: [] };
  await using client = createClient({
    extensions: [xorExtension("x-a", 0x20, 0x0f, log), xorExtension("x-b", 0x10, 0xf0, log)],
  });
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(server.url()),
    server.accept({ extensions: "x-a, x-b", allowedRsv: 0x30 }),
  ]);
  try {
    assert.deepEqual(session.extensions.map((e) => e.name), ["x-a", "x-b"]);
    assert.equal(peer.request.headers.get("sec-websocket-extensions"), "x-a, x-b");
    await session.send("hi");
    const frame = await peer.readFrame();
    // XOR 0x0f then 0xf0 = XOR 0xff; both RSV bits on.
    assert.deepEqual([...frame!.data], [..."hi"].map((c) => c.charCodeAt(0) ^ 0xff));
    assert.equal(frame!.rsv2 && frame!.rsv3, true);
    assert.deepEqual(log.calls.splice(0), ["x-a:out", "x-b:out"]);
    // Incoming: a fragmented message marked with both bits on its first fragment only.
    const wire = enc.encode("héllo").map((b) => b ^ 0xff);
    await peer.send(Frame.text(wire.subarray(0, 2), { fin: false, rsv2: true, rsv3: true }));
    await peer.send(Frame.text(wire.subarray(2)), { continuation: true });
    const m = await next(session);
    assert.equal(readText(m), "héllo");
    assert.equal(m.rsv2 || m.rsv3, false);
    assert.deepEqual(log.calls.splice(0), ["x-b:in", "x-a:in", "x-b:in", "x-a:in"]);
    const closing = session.close();
    assert.equal((await peer.readFrame())?.type, "close");
    await peer.send(Frame.close(new CloseReason(1000, "")));
    peer.close();
    await closing;
    await until(() => log.disposed.length === 2, "dispose");
    assert.deepEqual(log.disposed.sort(), ["x-a", "x-b"]);
  } finally {
    session.abort();
    server.close();
  }
});

Deno.test("extensions: a reassembled message keeps the first fragment's RSV bits", async () => {
  const disposed: string[] = [];
  // An extension that claims RSV2 and leaves every frame as it is.
  const passthrough: WebSocketExtensionFactory = {
    name: "x-pass",
    rsv: 0x20,
    clientOffers: () => [{ name: "x-pass", params: new Map() }],
    clientAccept: () => ({
      name: "x-pass",
      rsv: 0x20,
      params: { name: "x-pass", params: new Map() },
      processOutgoing: (frame) => frame,
      processIncoming: (frame) => frame,
      dispose: () => disposed.push("x-pass"),
    }),
    serverAccept: () => null,
  };
  await using client = createClient({ extensions: [passthrough] });
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(server.url()),
    server.accept({ extensions: "x-pass" }),
  ]);
  try {
    for (const type of ["text", "binary"] as const) {
      await peer.send(new Frame(type, enc.encode("Hello, "), { fin: false, rsv2: true }));
      await peer.send(new Frame(type, enc.encode("World")), { continuation: true });
      const m = await next(session);
      assert.equal(m.type, type);
      assert.equal(dec.decode(m.data), "Hello, World");
      assert.equal(m.fin, true);
      assert.equal(m.rsv1, false);
      assert.equal(m.rsv2, true);
      assert.equal(m.rsv3, false);
    }
  } finally {
    session.abort();
    await session.closed;
    server.close();
  }
  await until(() => disposed.length === 1, "dispose");
});

Deno.test("extensions: async results stay in order both ways", async () => {
  const log: ExtLog = { calls: [], disposed: [] };
  await using client = createClient({
    extensions: [xorExtension("x-async", 0x40, 0x55, log, { async: true })],
  });
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(server.url()),
    server.accept({ extensions: "x-async", allowedRsv: 0x40 }),
  ]);
  try {
    const sends = Array.from({ length: 50 }, (_, i) => session.send(new Uint8Array([i])));
    for (let i = 0; i < 50; i++) {
      const f = await peer.readFrame();
      assert.equal(f!.data[0], i ^ 0x55);
      assert.equal(f!.rsv1, true);
    }
    await Promise.all(sends);
    for (let i = 0; i < 50; i++) {
      await peer.send(Frame.binary(new Uint8Array([i ^ 0x55]), { rsv1: true }));
    }
    for (let i = 0; i < 50; i++) assert.equal((await next(session)).data[0], i);
  } finally {
    session.abort();
    await session.closed;
    server.close();
  }
});

Deno.test("extensions: a transformed text message is checked as UTF-8 (1007)", async () => {
  const log: ExtLog = { calls: [], disposed: [] };
  await using client = createClient({ extensions: [xorExtension("x-a", 0x40, 0x80, log)] });
  const server = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(server.url()),
    server.accept({ extensions: "x-a" }),
  ]);
  try {
    // 0x41 ^ 0x80 = 0xc1: never valid UTF-8 once transformed (valid ASCII on the wire).
    await peer.send(Frame.text(new Uint8Array([0x41]), { rsv1: true }));
    const err = await next(session).catch((e) => e);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, "INVALID_UTF8");
    assert.equal((await session.closeReason)?.code, 1007);
  } finally {
    session.abort();
    await session.closed;
    server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Server role

Deno.test("a server-role session serves Deno's built-in WebSocket client", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/`);
  const clientClosed = new Promise<CloseEvent>((r) => client.onclose = r);
  const conn = await listener.accept();
  listener.close();
  let buf = new Uint8Array(0);
  const { parseRequestHead } = await import("../../src/core/http1_request.ts");
  let head = parseRequestHead(buf);
  while (head === null) {
    const chunk = new Uint8Array(4096);
    const n = await conn.read(chunk);
    assert.ok(n !== null);
    buf = new Uint8Array([...buf, ...chunk.subarray(0, n)]);
    head = parseRequestHead(buf);
  }
  const check = validateClientRequest(head);
  assert.ok(check.ok);
  let off = 0;
  const response = buildServerResponse(check.key);
  while (off < response.length) off += await conn.write(response.subarray(off));
  const session = new ManagedWebSocketSession({
    conn,
    role: "server",
    call: {
      request: { url: new URL("ws://127.0.0.1/"), method: "GET", headers: head.headers },
      response: { status: 101, statusText: "Switching Protocols", headers: new Headers() },
    },
    protocol: "",
    maxFrameSize: 1 << 20,
    masking: false,
    closeTimeout: 1000,
  }, { pingInterval: 0, timeout: 15000 });
  client.onmessage = (e) => client.send(`echo:${e.data}`);
  await session.send("hello");
  assert.equal(readText(await next(session)), "echo:hello");
  assert.ok((await session.ping()) >= 0);
  await session.close(new CloseReason(1001, "server going down"));
  const event = await clientClosed;
  assert.equal(event.code, 1001);
  assert.equal(event.reason, "server going down");
  assert.deepEqual(await session.closeReason, new CloseReason(1001, "server going down"));
  await session.closed;
});

Deno.test("a peer that resets gives ConnectionError or CLOSED_ABNORMALLY, never a hang", async () => {
  const { peer, session, close } = await pair();
  try {
    peer.close();
    const err = await next(session).catch((e) => e);
    assert.ok(err instanceof ConnectionClosedError || err instanceof ConnectionError, String(err));
    assert.equal((await session.closeReason)?.code, 1006);
  } finally {
    await close();
  }
});

Deno.test("a refused fragment is a TypeError and leaves the session working", async () => {
  const { peer, session, close } = await pair();
  try {
    await session.send(Frame.text("Hel", { fin: false }));
    await assert.rejects(session.send(new Uint8Array([1])), TypeError);
    await session.send(Frame.text("lo"));
    assert.equal(session.state, "open");
    const first = await peer.readFrame();
    const second = await peer.readFrame();
    assert.equal(readText(Frame.text(new Uint8Array([...first!.data, ...second!.data]))), "Hello");
    assert.equal(second!.fin, true);
  } finally {
    await close();
  }
});

Deno.test("extensions: a message that grows past maxMessageSize fails with 1009", async () => {
  // An extension that doubles every payload it receives (think: decompression).
  const doubling: WebSocketExtensionFactory = {
    name: "x-double",
    rsv: 0x40,
    clientOffers: () => [{ name: "x-double", params: new Map() }],
    clientAccept: () => ({
      name: "x-double",
      rsv: 0x40,
      params: { name: "x-double", params: new Map() },
      processOutgoing: (frame) => frame,
      processIncoming: (frame) =>
        new Frame(frame.type, new Uint8Array(frame.data.length * 2), { fin: frame.fin }),
      dispose: () => {},
    }),
    serverAccept: () => null,
  };
  for (const fragmented of [false, true]) {
    await using client = createClient({ extensions: [doubling], maxMessageSize: 100 });
    const server = startPeerServer();
    const [session, peer] = await Promise.all([
      client.webSocketSession(server.url()),
      server.accept({ extensions: "x-double" }),
    ]);
    try {
      if (fragmented) {
        await peer.send(Frame.binary(new Uint8Array(30), { fin: false, rsv1: true }));
        await peer.send(Frame.binary(new Uint8Array(30)), { continuation: true });
      } else {
        await peer.send(Frame.binary(new Uint8Array(60), { rsv1: true }));
      }
      const err = await next(session).catch((e) => e);
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.code, "MESSAGE_TOO_BIG");
      assert.equal((await session.closeReason)?.code, 1009);
    } finally {
      session.abort();
      await session.closed;
      server.close();
    }
  }
});

Deno.test("an unbounded incoming queue still delivers queued messages before a failure", async () => {
  const { peer, session, close } = await pair({
    incomingQueue: { messages: Infinity, bytes: Infinity },
  });
  try {
    await peer.write(new Uint8Array([0x81, 0x01, 0x61, 0x81, 0x01, 0xff]));
    assert.equal((await session.closeReason)?.code, 1007);
    assert.equal(readText(await next(session)), "a");
    await assert.rejects(next(session), ProtocolError);
  } finally {
    await close();
  }
});

Deno.test("npm:ws: fragments with interleaved pings, pongs carry the pings' payloads", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url());
  const { socket } = await server.connection();
  const pongs: string[] = [];
  const twoPongs = Promise.withResolvers<void>();
  socket.on("pong", (data) => {
    pongs.push(String(data));
    if (pongs.length === 2) twoPongs.resolve();
  });
  socket.send("frag-", { fin: false });
  socket.ping("first");
  socket.send("ment", { fin: false });
  socket.ping("second");
  socket.send("ed", { fin: true });
  socket.send(new Uint8Array([1, 2]), { binary: true, fin: false });
  socket.send(new Uint8Array([3]), { binary: true, fin: true });
  const text = await next(session);
  assert.equal(readText(text), "frag-mented");
  assert.deepEqual([...(await next(session)).data], [1, 2, 3]);
  await twoPongs.promise;
  assert.deepEqual(pongs, ["first", "second"]);
  await session.close();
});

Deno.test("outgoing, signal and closeReason first touched after the end report the end", async () => {
  const { peer, session, close } = await pair();
  try {
    await peer.send(Frame.close(new CloseReason(4000, "over")));
    // The session answers the close and ends; nothing above touched its lazily made parts.
    for await (const _ of session.incoming) {
      // Nothing but the close.
    }
    await session.closed;
    assert.deepEqual(await session.closeReason, new CloseReason(4000, "over"));
    assert.equal(session.signal.aborted, true);
    const writer = session.outgoing.getWriter();
    await assert.rejects(writer.write(Frame.text("late")), ConnectionClosedError);
  } finally {
    await close();
  }
});
