/**
 * FrameReader over fake byte sources: frames split at every odd point, large payloads read
 * straight into their final buffer, end of stream, protocol errors.
 */

import assert from "node:assert/strict";
import FakeTimers from "npm:@sinonjs/fake-timers@14.0.0";
import { ProtocolError } from "../../src/core/errors.ts";
import { Frame } from "../../src/core/frame.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { type ByteSource, FrameReader } from "../../src/transport/frame_reader.ts";

/** Appends every frame the buffered bytes hold to `out`; returns how many. */
function drain(reader: FrameReader, out: Frame[]): number {
  const start = out.length;
  for (let f = reader.decoder.next(); f !== null; f = reader.decoder.next()) out.push(f);
  return out.length - start;
}

/** Drains, reading the source while no frame is complete; `false` at end of stream. */
async function read(reader: FrameReader, out: Frame[]): Promise<boolean> {
  while (true) {
    if (drain(reader, out) > 0) return true;
    if (reader.eof) return false;
    if (!reader.commit(await reader.source.read(reader.window()))) return false;
  }
}

/** A source serving `data` in chunks of the given sizes (cycled), recording each target. */
class ChunkedSource implements ByteSource {
  readonly targets: Uint8Array[] = [];
  #data: Uint8Array;
  #pos = 0;
  #sizes: number[];
  #i = 0;

  constructor(data: Uint8Array, sizes: number[]) {
    this.#data = data;
    this.#sizes = sizes;
  }

  read(p: Uint8Array): Promise<number | null> {
    this.targets.push(p);
    if (this.#pos >= this.#data.length) return Promise.resolve(null);
    const size = this.#sizes[this.#i++ % this.#sizes.length]!;
    const n = Math.min(size, p.length, this.#data.length - this.#pos);
    p.set(this.#data.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return Promise.resolve(n);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function readAll(reader: FrameReader): Promise<Frame[]> {
  const out: Frame[] = [];
  while (await read(reader, out)) {
    // Keep reading.
  }
  return out;
}

const FRAMES = [
  Frame.text("hello"),
  Frame.text("frag", { fin: false }),
  Frame.ping(new Uint8Array([1, 2, 3])),
  Frame.text("ment"),
  Frame.binary(new Uint8Array(300).map((_, i) => i & 0xff)),
  Frame.binary(new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff)),
  Frame.pong(),
  Frame.close(),
];

function wire(): Uint8Array {
  let inMessage = false;
  return concat(FRAMES.map((f) => {
    const continuation = inMessage && !f.isControl;
    if (!f.isControl) inMessage = !f.fin;
    return encodeFrame(f, { continuation });
  }));
}

Deno.test("FrameReader: frames split at odd points come out whole and intact", async () => {
  const bytes = wire();
  for (const sizes of [[1], [2, 3], [7, 1, 13], [4096], [65_537, 5]]) {
    const reader = new FrameReader(
      new ChunkedSource(bytes, sizes),
      new FrameDecoder({ role: "client" }),
    );
    const frames = await readAll(reader);
    assert.equal(reader.eof, true);
    assert.deepEqual(
      frames.map((f) => [f.type, f.fin, f.data.length]),
      FRAMES.map((f) => [f.type, f.fin, f.data.length]),
      `chunks ${sizes}`,
    );
    for (let i = 0; i < FRAMES.length; i++) {
      assert.deepEqual(frames[i]!.data, FRAMES[i]!.data, `frame ${i}, chunks ${sizes}`);
    }
  }
});

Deno.test("FrameReader: frames already returned stay valid while later reads fill the slab", async () => {
  const many = concat(Array.from({ length: 200 }, (_, i) => encodeFrame(Frame.text(`#${i}`))));
  const reader = new FrameReader(
    new ChunkedSource(many, [5, 11]),
    new FrameDecoder({ role: "client" }),
  );
  const frames = await readAll(reader);
  assert.equal(frames.length, 200);
  frames.forEach((f, i) => assert.equal(new TextDecoder().decode(f.data), `#${i}`));
});

Deno.test("FrameReader: a large split payload is read straight into the frame's buffer", async () => {
  const payload = new Uint8Array(1024 * 1024).map((_, i) => (i >>> 8) & 0xff);
  const bytes = encodeFrame(Frame.binary(payload));
  // The header and a little payload first, then big reads.
  const source = new ChunkedSource(bytes, [100, 256 * 1024]);
  const reader = new FrameReader(source, new FrameDecoder({ role: "client" }));
  const out: Frame[] = [];
  assert.equal(await read(reader, out), true);
  assert.equal(out.length, 1);
  const data = out[0]!.data;
  assert.deepEqual(data, payload);
  // After the first read, every read targeted the payload buffer itself: no copy.
  const direct = source.targets.slice(1);
  assert.ok(direct.length >= 4);
  for (const t of direct) assert.equal(t.buffer, data.buffer);
});

Deno.test("FrameReader: leftover bytes from the handshake are decoded first", async () => {
  const first = encodeFrame(Frame.text("early"));
  const second = encodeFrame(Frame.text("late"));
  // The leftover holds the first frame and half of the second.
  const leftover = concat([first, second.subarray(0, 3)]);
  const reader = new FrameReader(
    new ChunkedSource(second.subarray(3), [1]),
    new FrameDecoder({ role: "client" }),
    leftover,
  );
  const frames = await readAll(reader);
  assert.deepEqual(frames.map((f) => new TextDecoder().decode(f.data)), ["early", "late"]);
});

Deno.test("FrameReader: end of stream in the middle of a frame reports end (false), no frame", async () => {
  const bytes = encodeFrame(Frame.binary(new Uint8Array(50)));
  const reader = new FrameReader(
    new ChunkedSource(bytes.subarray(0, 20), [8]),
    new FrameDecoder({ role: "client" }),
  );
  const out: Frame[] = [];
  assert.equal(await read(reader, out), false);
  assert.equal(out.length, 0);
  assert.equal(reader.eof, true);
  assert.equal(reader.decoder.buffered > 0, true);
  // Reading again after the end stays at the end without touching the source.
  assert.equal(await read(reader, out), false);
});

Deno.test("FrameReader: a protocol violation throws a ProtocolError with the close code", async () => {
  const masked = encodeFrame(Frame.text("x"), { maskKey: new Uint8Array([1, 2, 3, 4]) });
  const reader = new FrameReader(
    new ChunkedSource(concat([encodeFrame(Frame.text("ok")), masked]), [3]),
    new FrameDecoder({ role: "client" }),
  );
  const out: Frame[] = [];
  assert.equal(await read(reader, out), true);
  assert.equal(out.length, 1);
  const err = await read(reader, out).then(() => null, (e) => e);
  assert.ok(err instanceof ProtocolError);
  assert.equal(err.closeCode, 1002);
});

Deno.test("FrameReader: a server-side reader unmasks client frames, also across split reads", async () => {
  const payload = new Uint8Array(40_000).map((_, i) => i & 0xff);
  const bytes = encodeFrame(Frame.binary(payload), { maskKey: new Uint8Array([9, 8, 7, 6]) });
  const reader = new FrameReader(
    new ChunkedSource(bytes, [1, 17, 20_000]),
    new FrameDecoder({ role: "server" }),
  );
  const frames = await readAll(reader);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.data, payload);
});

Deno.test("FrameReader: drain/window/commit decode the same frames as read, with direct reads", async () => {
  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const frames = [
    Frame.text("a"),
    Frame.binary(big),
    Frame.ping(new Uint8Array([1, 2])),
    Frame.text("z"),
  ];
  const wire = concat(frames.map((f) => encodeFrame(f, { maskKey: new Uint8Array([9, 8, 7, 6]) })));
  for (const sizes of [[1], [7, 3000], [65536]]) {
    const source = new ChunkedSource(wire, sizes);
    const reader = new FrameReader(source, new FrameDecoder({ role: "server" }));
    const out: Frame[] = [];
    let directReads = 0;
    while (true) {
      if (drain(reader, out) > 0) continue;
      const window = reader.window();
      if (
        window.length >= 16 * 1024 && window.byteOffset === 0 &&
        window.buffer.byteLength === 100_000
      ) {
        directReads++;
      }
      if (!reader.commit(await source.read(window))) break;
    }
    assert.equal(reader.eof, true);
    assert.deepEqual(out.map((f) => [f.type, f.data.length]), [["text", 1], ["binary", 100_000], [
      "ping",
      2,
    ], ["text", 1]]);
    assert.deepEqual(out[1]!.data, big);
    if (sizes[0] === 1) assert.ok(directReads > 0, "the large payload was read in place");
  }
});

/** One masked, empty ping per read; `between` runs before each read. */
async function pings(count: number, between: () => void): Promise<number> {
  const ping = encodeFrame(Frame.ping(new Uint8Array(0)), {
    maskKey: new Uint8Array([1, 2, 3, 4]),
  });
  const source = new ChunkedSource(concat(Array.from({ length: count }, () => ping)), [
    ping.length,
  ]);
  const reader = new FrameReader(source, new FrameDecoder({ role: "server" }));
  const out: Frame[] = [];
  let largest = 0;
  for (let i = 0; i < count; i++) {
    between();
    assert.equal(await read(reader, out), true);
    largest = Math.max(largest, source.targets.at(-1)!.buffer.byteLength);
  }
  assert.equal(out.length, count);
  return largest;
}

Deno.test("FrameReader: a quiet connection's read buffer stays small; a busy one's grows", async () => {
  const clock = FakeTimers.install({ toFake: ["performance"] });
  try {
    // A ping every 30 s for about 8 hours: each slab takes minutes to use up.
    const quiet = await pings(1000, () => clock.tick(30_000));
    assert.ok(quiet <= 512, `a quiet connection's read buffer grew to ${quiet} B`);
    // The same pings back to back: slabs are used up at once, and grow to 16 KiB.
    const busy = await pings(5000, () => {});
    assert.equal(busy, 16 * 1024);
  } finally {
    clock.uninstall();
  }
});
