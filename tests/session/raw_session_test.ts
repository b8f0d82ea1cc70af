/**
 * The raw session on real loopback sockets: every frame surfaced as it arrives, nothing
 * automatic, protocol faults answered with the right close code, backpressure both ways.
 * Peers: an `npm:ws` server (a second implementation) and the crafted raw server.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CloseReason } from "../../src/core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  WebSocketError,
} from "../../src/core/errors.ts";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import type { RawWebSocketSession } from "../../src/session/raw_session.ts";
import { nextClose, startWsServer } from "../_helpers/node_ws_server.ts";
import { RawServer } from "../_helpers/raw_server.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Reads the next frame of `session.incoming` (releasing the lock after). */
async function nextFrame(session: RawWebSocketSession): Promise<Frame> {
  const reader = session.incoming.getReader();
  try {
    const { value, done } = await reader.read();
    assert.ok(!done, "incoming ended early");
    return value;
  } finally {
    reader.releaseLock();
  }
}

/** Reads `incoming` to its end; resolves with the frames, or rejects with its error. */
async function readToEnd(session: RawWebSocketSession): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const frame of session.incoming) frames.push(frame);
  return frames;
}

Deno.test("raw session: a server ping is surfaced and not answered", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  try {
    const { socket } = await srv.connection();
    const pongs: string[] = [];
    const messages: string[] = [];
    const gotMessage = () =>
      new Promise<void>((resolve) => socket.once("message", () => resolve()));
    socket.on("pong", (data) => pongs.push(data.toString()));
    socket.on("message", (data) => messages.push(`${data}@${pongs.length}`));

    socket.ping("are you there");
    const ping = await nextFrame(session);
    assert.equal(ping.type, "ping");
    assert.equal(str(ping.data), "are you there");
    assert.equal(ping.fin, true);

    // TCP keeps order: had the session ponged on its own, the pong would arrive first.
    let got = gotMessage();
    await session.send("marker");
    await got;
    assert.deepEqual(messages, ["marker@0"]);

    got = gotMessage();
    await session.send(Frame.pong(ping.data));
    await session.send("after pong");
    await got;
    assert.deepEqual(pongs, ["are you there"]);
    assert.deepEqual(messages, ["marker@0", "after pong@1"]);
  } finally {
    session.abort();
  }
});

Deno.test("raw session: fragments are surfaced as they arrive, typed as their message", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  try {
    const { socket } = await srv.connection();
    socket.send("Hel", { fin: false });
    socket.ping("mid");
    socket.send("lo, ", { fin: false });
    socket.send("world", { fin: true });
    socket.send(new Uint8Array([1, 2]), { binary: true, fin: false });
    socket.send(new Uint8Array([3]), { binary: true, fin: true });
    const got: [string, boolean, string][] = [];
    for (let i = 0; i < 6; i++) {
      const f = await nextFrame(session);
      got.push([f.type, f.fin, f.type === "binary" ? f.data.join(",") : str(f.data)]);
    }
    assert.deepEqual(got, [
      ["text", false, "Hel"],
      ["ping", true, "mid"],
      ["text", false, "lo, "],
      ["text", true, "world"],
      ["binary", false, "1,2"],
      ["binary", true, "3"],
    ]);
    // readText refuses a fragment: the raw session does not reassemble.
    assert.throws(() => readText(Frame.text("x", { fin: false })), TypeError);
  } finally {
    session.abort();
  }
});

Deno.test("raw session: every close code and reason reaches the client; the echo completes the handshake", async () => {
  await using srv = await startWsServer();
  const codes = [
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
  ];
  for (const code of codes) {
    const session = await webSocketRawSession(srv.url());
    const { socket } = await srv.connection();
    const serverClosed = nextClose(socket);
    const reason = `reason ${code} ✓`;
    socket.close(code, reason);
    const frame = await nextFrame(session);
    assert.equal(frame.type, "close");
    const got = readReason(frame);
    assert.equal(got?.code, code);
    assert.equal(got?.message, reason);
    // Nothing automatic: the session did not echo; the test does.
    await session.close(got);
    assert.deepEqual(await readToEnd(session), []);
    await session.closed;
    assert.deepEqual(await serverClosed, { code, reason });
  }
});

Deno.test("raw session: a close frame with no status is surfaced as an empty payload", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const serverClosed = nextClose(socket);
  socket.close();
  const frame = await nextFrame(session);
  assert.equal(frame.type, "close");
  assert.equal(frame.data.length, 0);
  assert.equal(readReason(frame), null);
  await session.close();
  assert.deepEqual(await readToEnd(session), []);
  await session.closed;
  // ws reports an empty close payload as 1005.
  assert.equal((await serverClosed).code, 1005);
});

Deno.test("raw session: garbage after the handshake fails with 1002 and the server gets a 1002 close", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const serverClosed = nextClose(socket);
  // Opcode 0x3 is reserved.
  (socket as unknown as { _socket: { write(b: Uint8Array): void } })._socket.write(
    Buffer.from([0x83, 0x02, 0xde, 0xad, 0xbe, 0xef]),
  );
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, "PROTOCOL_ERROR");
  assert.equal(err.closeCode, 1002);
  assert.equal((await serverClosed).code, 1002);
  await session.closed;
  assert.equal(session.signal.aborted, true);
});

Deno.test("raw session: a masked frame from the server fails with 1002", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const serverClosed = nextClose(socket);
  const masked = encodeFrame(Frame.text("sneaky"), { maskKey: new Uint8Array([1, 2, 3, 4]) });
  (socket as unknown as { _socket: { write(b: Uint8Array): void } })._socket.write(
    Buffer.from(masked),
  );
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.closeCode, 1002);
  assert.match(err.message, /mask/i);
  assert.equal((await serverClosed).code, 1002);
  await session.closed;
});

Deno.test("raw session: a vanished peer fails incoming with CLOSED_ABNORMALLY (1006)", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  socket.send("last words");
  socket.terminate();
  const first = await nextFrame(session);
  assert.equal(readText(first), "last words");
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionClosedError, String(err));
  assert.equal(err.code, "CLOSED_ABNORMALLY");
  assert.equal(err.closeReason?.code, 1006);
  await session.closed;
  // Sends after the socket is gone reject with a typed error.
  await assert.rejects(session.send("anyone?"), WebSocketError);
});

Deno.test("raw session: the server's close frame then end of stream ends incoming normally", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade({
    then: encodeFrame(Frame.close(new CloseReason(1001, "going away"))),
  });
  const session = await opening;
  peer.close();
  const frames = await readToEnd(session);
  assert.equal(frames.length, 1);
  assert.equal(readReason(frames[0]!)?.code, 1001);
  await session.closed;
});

Deno.test("raw session: frames in the same packet as the 101 are not lost", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  const first = encodeFrame(Frame.text("one"));
  const second = encodeFrame(Frame.binary(new Uint8Array([9])));
  const both = new Uint8Array(first.length + second.length);
  both.set(first);
  both.set(second, first.length);
  await peer.upgrade({ then: both });
  const session = await opening;
  try {
    assert.equal(readText(await nextFrame(session)), "one");
    assert.deepEqual((await nextFrame(session)).data, new Uint8Array([9]));
  } finally {
    session.abort();
  }
});

Deno.test("raw session: incoming reads the socket only as pulled (backpressure reaches the server)", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url(), { maxFrameSize: 2 * 1024 * 1024 });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  const MIB = 1024 * 1024;
  const COUNT = 50;
  const frame = encodeFrame(Frame.binary(new Uint8Array(MIB).fill(7)));
  let written = 0;
  const stalled = Promise.withResolvers<void>();
  const writing = (async () => {
    for (let i = 0; i < COUNT; i++) {
      // A write that does not complete within 200 ms counts as blocked by TCP flow control.
      const step = peer.write(frame);
      const timer = setTimeout(() => stalled.resolve(), 200);
      await step;
      clearTimeout(timer);
      written += frame.length;
    }
    stalled.resolve();
  })();
  try {
    // Pull one frame, then stop reading.
    const one = await nextFrame(session);
    assert.equal(one.data.length, MIB);
    await stalled.promise;
    // The client holds at most what the kernel buffers hold (a few MiB), never all 50 MiB.
    assert.ok(
      written < COUNT * frame.length / 2,
      `server wrote ${written} bytes while the client did not read`,
    );
    // Reading on drains everything, intact and in order.
    let total = one.data.length;
    for (let i = 1; i < COUNT; i++) {
      const f = await nextFrame(session);
      assert.equal(f.data[0], 7);
      assert.equal(f.data[MIB - 1], 7);
      total += f.data.length;
    }
    await writing;
    assert.equal(total, COUNT * MIB);
    assert.equal(written, COUNT * frame.length);
  } finally {
    stalled.resolve();
    session.abort();
    peer.close();
    await writing.catch(() => {});
  }
});

Deno.test("raw session: send resolves once queued, waits beyond the bound, and flush waits for the socket", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url(), { maxFrameSize: 64 });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    const SIZE = 32 * 1024 * 1024;
    // Below the bound (nothing queued yet): accepted at once.
    await session.send(new Uint8Array(SIZE).fill(1));
    assert.ok(session.bufferedAmount >= SIZE);
    // Beyond the bound: this send waits until the writer has drained.
    let accepted = false;
    const second = session.send(new Uint8Array([2])).then(() => {
      accepted = true;
    });
    let flushed = false;
    const flushing = session.flush().then(() => {
      flushed = true;
    });
    // More than the kernel buffers hold: nothing is done when the server starts reading.
    const buf = new Uint8Array(256 * 1024);
    let total = (await peer.conn.read(buf)) ?? 0;
    assert.equal(accepted, false);
    assert.equal(flushed, false);
    const expected = SIZE + 14 + 7; // 10-byte header + mask key; then 2 + 4 + 1
    while (total < expected) {
      const n = await peer.conn.read(buf);
      assert.ok(n !== null);
      total += n;
    }
    assert.equal(total, expected);
    await flushing;
    await second;
    assert.equal(accepted, true);
    assert.equal(session.bufferedAmount, 0);
  } finally {
    session.abort();
  }
});

Deno.test("raw session: 1000 unawaited small sends arrive in order", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  try {
    const { socket } = await srv.connection();
    const got: string[] = [];
    const all = Promise.withResolvers<void>();
    socket.on("message", (data) => {
      got.push(data.toString());
      if (got.length === 1000) all.resolve();
    });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) sends.push(session.send(`m${i}`));
    await Promise.all(sends);
    await all.promise;
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => `m${i}`));
  } finally {
    session.abort();
  }
});

Deno.test("raw session: a 5 MiB binary message round-trips through a ws echo server", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  try {
    const { socket } = await srv.connection();
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
    const payload = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i >>> 12) & 0xff;
    payload[payload.length - 1] = 0x5a;
    await session.send(payload);
    const echoed = await nextFrame(session);
    assert.equal(echoed.type, "binary");
    assert.equal(echoed.fin, true);
    assert.equal(echoed.data.length, payload.length);
    assert.ok(echoed.data.every((b, i) => b === payload[i]));
  } finally {
    session.abort();
  }
});

Deno.test("raw session: frames are masked by default; masking=false sends them bare", async () => {
  await using server = RawServer.start();
  for (const masking of [undefined, false]) {
    const opening = webSocketRawSession(server.url(), { masking });
    const peer = await server.accept();
    await peer.upgrade();
    const session = await opening;
    assert.equal(session.masking, masking ?? true);
    await session.send("abc");
    const buf = new Uint8Array(64);
    let n = 0;
    const expected = masking === false ? 5 : 9;
    while (n < expected) n += (await peer.conn.read(buf.subarray(n))) ?? 0;
    assert.equal(buf[0], 0x81);
    assert.equal((buf[1]! & 0x80) !== 0, masking !== false);
    assert.equal(buf[1]! & 0x7f, 3);
    if (masking === false) assert.equal(str(buf.subarray(2, 5)), "abc");
    else {
      const key = buf.subarray(2, 6);
      const data = buf.slice(6, 9).map((b, i) => b ^ key[i]!);
      assert.equal(str(data), "abc");
    }
    session.abort();
    peer.close();
  }
});

Deno.test("raw session: an oversized frame fails with 1009 before its payload is read", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url(), { maxFrameSize: 1024 });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  // Only the header of a 1 MiB frame.
  await peer.write(encodeFrame(Frame.binary(new Uint8Array(1024 * 1024))).subarray(0, 10));
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.closeCode, 1009);
  const close = await peer.readFrame();
  assert.equal(close?.type, "close");
  assert.equal(readReason(close!)?.code, 1009);
  await session.closed;
});

Deno.test("raw session: invalid UTF-8 in a text frame fails with 1007", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade({ then: encodeFrame(Frame.text(new Uint8Array([0xc3, 0x28]))) });
  const session = await opening;
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.closeCode, 1007);
  const close = await peer.readFrame();
  assert.equal(readReason(close!)?.code, 1007);
  await session.closed;
});

Deno.test("raw session: outgoing writes frames, user fragments go out as continuations", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    const writer = session.outgoing.getWriter();
    await writer.write(Frame.text("ab", { fin: false }));
    await writer.write(Frame.ping(text("p")));
    await writer.write(Frame.text("cd"));
    writer.releaseLock();
    const raw = new Uint8Array(64);
    let n = 0;
    // 3 masked frames: 2+4+2, 2+4+1, 2+4+2.
    while (n < 21) n += (await peer.conn.read(raw.subarray(n))) ?? 0;
    assert.equal(raw[0], 0x01); // text, no FIN
    assert.equal(raw[8], 0x89); // ping between fragments
    assert.equal(raw[15], 0x80); // continuation with FIN
    // A data frame of another type in the middle of a message is refused.
    await session.send(Frame.text("x", { fin: false }));
    await assert.rejects(session.send(Frame.binary(new Uint8Array(1))), TypeError);
  } finally {
    session.abort();
  }
});

Deno.test("raw session: after a close frame is sent, outgoing is closed for data", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    await session.close(new CloseReason(1000, "done"));
    const err = await session.send("late").then(() => null, (e) => e);
    assert.ok(err instanceof ConnectionClosedError);
    assert.equal(err.code, "SESSION_CLOSED");
    const writer = session.outgoing.getWriter();
    await assert.rejects(writer.write(Frame.text("late")), ConnectionClosedError);
    writer.releaseLock();
    const close = await peer.readFrame();
    assert.equal(readReason(close!)?.code, 1000);
    assert.equal(readReason(close!)?.message, "done");
    // The peer answers and ends the connection: incoming ends normally.
    await peer.send(Frame.close(new CloseReason(1000, "")));
    peer.close();
    const frames = await readToEnd(session);
    assert.equal(frames.length, 1);
    await session.closed;
  } finally {
    session.abort();
  }
});

Deno.test("raw session: unawaited sends on a vanished connection are no unhandled rejections", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  peer.close();
  // The peer is gone: keep sending without awaiting until a write fails.
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionClosedError);
  for (let i = 0; i < 100; i++) session.send(new Uint8Array(1024));
  await assert.rejects(session.flush(), WebSocketError);
  await session.closed;
});

Deno.test("raw session: closeAndRelease discards data until the peer's close, then the peer's end", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  const closing = session.closeAndRelease(new CloseReason(1001, "leaving"));
  const close = await peer.readFrame();
  assert.equal(readReason(close!)?.code, 1001);
  // Late data, then the close reply, then the end of the connection.
  await peer.send(Frame.text("late"));
  await peer.send(Frame.close(new CloseReason(1000, "")));
  peer.close();
  await closing;
  assert.equal(session.signal.aborted, true);
  // incoming ended normally (the frames were discarded, not queued).
  assert.deepEqual(await readToEnd(session), []);
});

Deno.test("raw session: closeAndRelease gives up after closeTimeout when the peer never answers", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url(), { closeTimeout: 50 });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  const closing = session.closeAndRelease();
  assert.equal(readReason((await peer.readFrame())!)?.code, 1000);
  await closing;
  assert.ok(session.signal.reason instanceof WebSocketError);
  assert.equal((session.signal.reason as WebSocketError).code, "CLOSE_TIMEOUT");
  // The client let go of the socket.
  assert.equal(await peer.readFrame(), null);
});

Deno.test("raw session: after both close frames the client waits for the server to end TCP", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(server.url(), { closeTimeout: 60_000 });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  await peer.send(Frame.close(new CloseReason(1000, "server done")));
  const frame = await nextFrame(session);
  assert.equal(frame.type, "close");
  await session.close(readReason(frame));
  assert.equal(readReason((await peer.readFrame())!)?.message, "server done");
  // The server ends the connection first (RFC 6455 §7.1.1); the client then releases at once.
  peer.close();
  await session.closed;
  assert.deepEqual(await readToEnd(session), []);
});

Deno.test("raw session: a reset connection fails incoming with a typed error", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const raw = (socket as unknown as { _socket: { resetAndDestroy?: () => void; destroy(): void } })
    ._socket;
  // Unread data in the server's receive buffer makes the close a reset (RST), as does
  // resetAndDestroy where the Node compatibility layer has it.
  await session.send("unread");
  if (raw.resetAndDestroy) raw.resetAndDestroy();
  else raw.destroy();
  const err = await readToEnd(session).then(() => null, (e) => e);
  assert.ok(err instanceof WebSocketError, String(err));
  if (raw.resetAndDestroy) {
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.code, "CONNECTION_RESET");
  } else {
    assert.ok(["CONNECTION_RESET", "CLOSED_ABNORMALLY"].includes(err.code), err.code);
  }
  await session.closed;
});

Deno.test("raw session: leaving a for-await loop early keeps the session open", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const serverClosed = nextClose(socket);
  socket.send("one");
  socket.send("two");
  for await (const frame of session.incoming) {
    assert.equal(readText(frame), "one");
    break;
  }
  // The stream was not cancelled: the next frame is still there, and the close handshake runs.
  assert.equal(readText(await nextFrame(session)), "two");
  await session.close(new CloseReason(1000, "bye"));
  const frames = await readToEnd(session);
  assert.equal(readReason(frames.at(-1)!)?.message, "bye");
  await session.closed;
  assert.deepEqual(await serverClosed, { code: 1000, reason: "bye" });
});

Deno.test("raw session: a write on a broken connection releases the socket with no reader", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  socket.terminate();
  let failed: unknown = null;
  for (let i = 0; i < 500 && failed === null; i++) {
    await session.send(new Uint8Array(65536)).catch((err) => {
      failed = err;
    });
  }
  assert.ok(failed instanceof ConnectionError, `expected a ConnectionError, got ${failed}`);
  // Nobody reads incoming, yet the socket is released.
  await session.closed;
  assert.ok(session.signal.aborted);
});

Deno.test("raw session: outgoing first used after the close frame was written is closed to writes", async () => {
  await using srv = await startWsServer();
  const session = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  const serverClosed = nextClose(socket);
  await session.close(new CloseReason(1000, "done"));
  const writer = session.outgoing.getWriter();
  await assert.rejects(writer.write(Frame.text("late")), { code: "SESSION_CLOSED" });
  assert.deepEqual(await serverClosed, { code: 1000, reason: "done" });
  const rest = await readToEnd(session);
  assert.deepEqual(rest.map((f) => f.type), ["close"]);
  await session.closed;
  // The signal, first read after the release, is already aborted.
  assert.equal(session.signal.aborted, true);
});
