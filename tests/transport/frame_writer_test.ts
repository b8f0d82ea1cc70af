/**
 * FrameWriter over fake byte sinks: partial writes, a sink that fails, coalescing, urgent
 * control frames, zero-copy large payloads.
 */

import assert from "node:assert/strict";
import { ConnectionClosedError, ConnectionError } from "../../src/core/errors.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { FrameEncoder } from "../../src/core/frame_encoder.ts";
import { CloseReason } from "../../src/core/close.ts";
import { EncodedFrame } from "../../src/core/encoded_frame.ts";
import { type ByteSink, FrameWriter, writeAll } from "../../src/transport/frame_writer.ts";

/** A sink that records every write; `limit` caps the bytes taken per write. */
class RecordingSink implements ByteSink {
  readonly writes: Uint8Array[] = [];
  /** Bytes taken, concatenated lazily. */
  readonly taken: number[] = [];
  limit: number;
  /** While set, writes wait for it. */
  gate: PromiseWithResolvers<void> | null = null;

  constructor(limit = Infinity) {
    this.limit = limit;
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.gate) await this.gate.promise;
    const n = Math.min(p.length, this.limit);
    this.writes.push(p);
    for (let i = 0; i < n; i++) this.taken.push(p[i]!);
    return n;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.taken);
  }
}

/** Decodes every frame in `bytes` (as a server would when `masked`). */
function decodeAll(bytes: Uint8Array, masked: boolean): Frame[] {
  const decoder = new FrameDecoder({ role: masked ? "server" : "client" });
  decoder.push(bytes.slice());
  const out: Frame[] = [];
  for (let f = decoder.next(); f !== null; f = decoder.next()) out.push(f);
  assert.equal(decoder.buffered, 0, "trailing bytes");
  return out;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

Deno.test("FrameWriter: a sink taking 1 byte per write still gets every frame, in order", async () => {
  for (const mask of [false, true]) {
    const sink = new RecordingSink(1);
    const writer = new FrameWriter(sink, new FrameEncoder({ mask }));
    const big = new Uint8Array(20_000).map((_, i) => i & 0xff);
    await Promise.all([
      writer.write(Frame.text("hello")),
      writer.write(Frame.binary(big)),
      writer.write(Frame.ping(text("p"))),
      writer.write(Frame.text("bye")),
    ]);
    const frames = decodeAll(sink.bytes(), mask);
    assert.deepEqual(frames.map((f) => f.type), ["text", "binary", "ping", "text"]);
    assert.equal(str(frames[0]!.data), "hello");
    assert.deepEqual(frames[1]!.data, big);
    assert.equal(str(frames[3]!.data), "bye");
    assert.equal(writer.bufferedAmount, 0);
    // The original payload was never masked in place.
    assert.equal(big[1], 1);
  }
});

Deno.test("writeAll: loops over partial writes", async () => {
  const sink = new RecordingSink(3);
  await writeAll(sink, Uint8Array.from([1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual(sink.bytes(), Uint8Array.from([1, 2, 3, 4, 5, 6, 7]));
  assert.equal(sink.writes.length, 3);
});

Deno.test("FrameWriter: frames queued during a write are coalesced into one write", async () => {
  const sink = new RecordingSink();
  sink.gate = Promise.withResolvers();
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: true }));
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) sends.push(writer.write(Frame.text(`m${i}`)));
  assert.ok(writer.bufferedAmount > 0);
  sink.gate.resolve();
  sink.gate = null;
  await Promise.all(sends);
  // The first frame went alone; the 999 queued behind it went in one write.
  assert.equal(sink.writes.length, 2);
  const frames = decodeAll(sink.bytes(), true);
  assert.deepEqual(frames.map((f) => str(f.data)), Array.from({ length: 1000 }, (_, i) => `m${i}`));
  assert.equal(writer.bufferedAmount, 0);
});

Deno.test("FrameWriter: large unmasked payloads are written without a copy", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: false }));
  // Payloads up to 64 KiB are copied into the batch (one write); larger ones are not.
  const payload = new Uint8Array(128 * 1024).fill(3);
  await writer.write(Frame.binary(payload));
  assert.ok(sink.writes.some((w) => w === payload), "payload handed to the sink as is");
});

Deno.test("FrameWriter: writeUrgent goes ahead of queued data, not of the write in flight", async () => {
  const sink = new RecordingSink();
  sink.gate = Promise.withResolvers();
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: false }));
  const a = writer.write(Frame.text("A"));
  const b = writer.write(Frame.text("B"));
  const c = writer.write(Frame.text("C"));
  const pong = writer.writeUrgent(Frame.pong(text("urgent")));
  sink.gate.resolve();
  sink.gate = null;
  await Promise.all([a, b, c, pong]);
  const order = decodeAll(sink.bytes(), false).map((f) => str(f.data));
  assert.deepEqual(order, ["A", "urgent", "B", "C"]);
});

Deno.test("FrameWriter: writeUrgent with nothing queued is an ordinary write", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink, new FrameEncoder());
  await writer.writeUrgent(Frame.pong());
  assert.deepEqual(decodeAll(sink.bytes(), false).map((f) => f.type), ["pong"]);
});

Deno.test("FrameWriter: a failing sink rejects in-flight and queued writes with CONNECTION_RESET", async () => {
  const broken = new Error("EPIPE");
  let calls = 0;
  const gate = Promise.withResolvers<void>();
  const sink: ByteSink = {
    async write() {
      calls++;
      await gate.promise;
      throw broken;
    },
  };
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: true }));
  const inFlight = writer.write(Frame.text("first"));
  const queued = [
    writer.write(Frame.text("second")),
    writer.write(Frame.binary(new Uint8Array(9))),
  ];
  // Unawaited writes must not become unhandled rejections.
  writer.write(Frame.text("fire and forget"));
  const flushed = writer.flush();
  gate.resolve();
  const err = await inFlight.then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionError);
  assert.equal(err.code, "CONNECTION_RESET");
  assert.equal(err.cause, broken);
  for (const q of queued) await assert.rejects(q, (e) => e === err);
  await assert.rejects(flushed, (e) => e === err);
  // Later writes fail at once with the same error; the sink is not called again.
  await assert.rejects(writer.write(Frame.text("later")), (e) => e === err);
  await assert.rejects(writer.writeUrgent(Frame.pong()), (e) => e === err);
  await assert.rejects(writer.flush(), (e) => e === err);
  assert.equal(writer.error, err);
  assert.equal(calls, 1);
  assert.equal(writer.bufferedAmount, 0);
});

Deno.test("FrameWriter: fail() rejects pending writes with the given reason", async () => {
  const sink = new RecordingSink();
  sink.gate = Promise.withResolvers();
  const writer = new FrameWriter(sink, new FrameEncoder());
  const first = writer.write(Frame.text("1"));
  const second = writer.write(Frame.text("2"));
  const reason = new ConnectionClosedError("SESSION_CLOSED", "released");
  writer.fail(reason);
  await assert.rejects(second, (e) => e === reason);
  sink.gate.resolve();
  await first;
  await assert.rejects(writer.write(Frame.text("3")), (e) => e === reason);
});

Deno.test("FrameWriter: nothing may follow a close frame; a bad fragment sequence is a TypeError", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink, new FrameEncoder());
  await writer.write(Frame.text("a", { fin: false }));
  await assert.rejects(writer.write(Frame.binary(new Uint8Array(1))), TypeError);
  // The writer is still usable after refusing a frame.
  await writer.write(Frame.text("b"));
  await writer.write(Frame.close(new CloseReason(1000, "bye")));
  assert.equal(writer.closed, true);
  const err = await writer.write(Frame.text("late")).then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.code, "SESSION_CLOSED");
  const frames = decodeAll(sink.bytes(), false);
  assert.deepEqual(frames.map((f) => [f.type, f.fin]), [
    ["text", false],
    ["text", true],
    ["close", true],
  ]);
  assert.equal(readReason(frames[2]!)?.message, "bye");
});

Deno.test("FrameWriter: flush resolves once everything queued was taken", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink, new FrameEncoder());
  await writer.flush();
  sink.gate = Promise.withResolvers();
  writer.write(Frame.text("x"));
  writer.write(Frame.text("y"));
  let flushed = false;
  const f = writer.flush().then(() => flushed = true);
  assert.equal(flushed, false);
  sink.gate.resolve();
  sink.gate = null;
  await f;
  assert.equal(decodeAll(sink.bytes(), false).length, 2);
});

Deno.test("FrameWriter: an unawaited write in flight when the sink fails is no unhandled rejection", async () => {
  const sink: ByteSink = {
    write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")),
  };
  const writer = new FrameWriter(sink, new FrameEncoder());
  writer.write(Frame.text("fire and forget"));
  const err = await writer.flush().then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionError);
  assert.equal(err.code, "CONNECTION_RESET");
  assert.ok(err.cause instanceof Deno.errors.BrokenPipe);
});

Deno.test("FrameWriter: writeUrgent refuses data frames and keeps a close frame in order", async () => {
  const sink = new RecordingSink();
  sink.gate = Promise.withResolvers();
  const writer = new FrameWriter(sink, new FrameEncoder());
  const a = writer.write(Frame.text("A"));
  const b = writer.write(Frame.text("B"));
  await assert.rejects(writer.writeUrgent(Frame.text("not urgent")), TypeError);
  const close = writer.writeUrgent(Frame.close());
  sink.gate.resolve();
  sink.gate = null;
  await Promise.all([a, b, close]);
  assert.deepEqual(decodeAll(sink.bytes(), false).map((f) => f.type), ["text", "text", "close"]);
  assert.equal(writer.closed, true);
});

Deno.test("FrameWriter: encoded frames between frames keep their order, copied together, shared bytes intact", async () => {
  const encoder = new FrameEncoder({ mask: false });
  const shared = new EncodedFrame(
    encoder.encode(Frame.binary(new Uint8Array(1000).fill(7))),
    false,
  );
  const before = shared.bytes.slice();
  const big = new EncodedFrame(encoder.encode(Frame.binary(new Uint8Array(70_000).fill(9))), false);
  const sink = new RecordingSink();
  sink.gate = Promise.withResolvers<void>();
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: false }));
  // The first goes out alone (as it is); the rest queue behind it.
  assert.equal(writer.enqueue(shared), null);
  assert.equal(writer.enqueue(Frame.text("a")), null);
  assert.equal(writer.enqueue(shared), null);
  assert.equal(writer.enqueue(shared), null);
  assert.equal(writer.enqueue(Frame.text("b")), null);
  assert.equal(writer.enqueue(big), null);
  assert.equal(writer.enqueue(shared), null);
  sink.gate.resolve();
  sink.gate = null;
  await writer.flush();
  assert.equal(sink.writes[0], shared.bytes);
  // Then: one write for the small run, the large frame as it is, the last one as it is.
  assert.equal(sink.writes.length, 4);
  assert.equal(sink.writes[2], big.bytes);
  assert.deepEqual(
    decodeAll(sink.bytes(), false).map((f) => f.type === "text" ? str(f.data) : f.data.length),
    [1000, "a", 1000, 1000, "b", 70_000, 1000],
  );
  assert.deepEqual(shared.bytes, before);
  assert.equal(writer.bufferedAmount, 0);
});

Deno.test("FrameWriter: batches of encoded frames only reuse the batch buffer, each write intact", async () => {
  const encoder = new FrameEncoder({ mask: false });
  const frames = [1, 2, 3].map((n) =>
    new EncodedFrame(encoder.encode(Frame.binary(new Uint8Array(3000).fill(n))), false)
  );
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink, new FrameEncoder({ mask: false }));
  for (let round = 0; round < 4; round++) {
    sink.gate = Promise.withResolvers<void>();
    for (const frame of frames) writer.enqueue(frame);
    for (const frame of frames) writer.enqueue(frame);
    const gate = sink.gate;
    sink.gate = null;
    gate.resolve();
    await writer.flush();
  }
  // Per round: the first frame alone, then the other five in one write.
  assert.equal(sink.writes.length, 8);
  const got = decodeAll(sink.bytes(), false).map((f) => f.data[0]);
  assert.deepEqual(got, Array.from({ length: 4 }, () => [1, 2, 3, 1, 2, 3]).flat());
  assert.equal(writer.bufferedAmount, 0);
});
