import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { encodeFrame, FrameEncoder, frameHeaderSize } from "../../src/core/frame_encoder.ts";
import { FrameDecoder, type FrameDecoderOptions } from "../../src/core/frame_decoder.ts";
import { applyMask, maskInto } from "../../src/core/mask.ts";
import { CloseReason } from "../../src/core/close.ts";
import { ProtocolError, WebSocketError } from "../../src/core/errors.ts";

const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));
const text = (s: string) => new TextEncoder().encode(s);
const KEY = hex("37 fa 21 3d");

function decodeAll(bytes: Uint8Array, options: FrameDecoderOptions, chunk = bytes.length) {
  const decoder = new FrameDecoder(options);
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    decoder.push(chunk >= bytes.length ? bytes : bytes.slice(i, i + chunk));
    for (let f = decoder.next(); f; f = decoder.next()) frames.push(f);
  }
  return { frames, decoder };
}

function decodeError(bytes: Uint8Array, options: FrameDecoderOptions): ProtocolError {
  try {
    decodeAll(bytes, options);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${err}`);
    return err;
  }
  assert.fail("expected a protocol error");
}

const summary = (f: Frame) => ({
  type: f.type,
  fin: f.fin,
  rsv1: f.rsv1,
  data: Array.from(f.data),
});

// RFC 6455 §5.7 examples, both ways.
Deno.test("RFC 6455 §5.7 single-frame unmasked text", () => {
  const bytes = hex("81 05 48 65 6c 6c 6f");
  assert.deepEqual(encodeFrame(Frame.text("Hello")), bytes);
  const { frames } = decodeAll(bytes, { role: "client" });
  assert.equal(frames.length, 1);
  assert.equal(readText(frames[0]!), "Hello");
});

Deno.test("RFC 6455 §5.7 single-frame masked text", () => {
  const bytes = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  assert.deepEqual(encodeFrame(Frame.text("Hello"), { maskKey: KEY }), bytes);
  const { frames } = decodeAll(bytes, { role: "server" });
  assert.equal(readText(frames[0]!), "Hello");
});

Deno.test("RFC 6455 §5.7 fragmented unmasked text", () => {
  const bytes = hex("01 03 48 65 6c 80 02 6c 6f");
  const encoder = new FrameEncoder();
  const out = [
    ...encoder.encode(Frame.text("Hel", { fin: false })),
    ...encoder.encode(Frame.text("lo")),
  ];
  assert.deepEqual(new Uint8Array(out), bytes);
  const { frames } = decodeAll(bytes, { role: "client" });
  assert.deepEqual(frames.map(summary), [
    { type: "text", fin: false, rsv1: false, data: Array.from(text("Hel")) },
    { type: "text", fin: true, rsv1: false, data: Array.from(text("lo")) },
  ]);
});

Deno.test("RFC 6455 §5.7 unmasked ping and masked pong", () => {
  const ping = hex("89 05 48 65 6c 6c 6f");
  assert.deepEqual(encodeFrame(Frame.ping(text("Hello"))), ping);
  assert.deepEqual(decodeAll(ping, { role: "client" }).frames.map(summary), [
    { type: "ping", fin: true, rsv1: false, data: Array.from(text("Hello")) },
  ]);
  const pong = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58");
  assert.deepEqual(encodeFrame(Frame.pong(text("Hello")), { maskKey: KEY }), pong);
  assert.equal(decodeAll(pong, { role: "server" }).frames[0]!.type, "pong");
});

Deno.test("RFC 6455 §5.7 256-byte and 64 KiB binary headers", () => {
  const small = encodeFrame(Frame.binary(new Uint8Array(256)));
  assert.deepEqual(small.subarray(0, 4), hex("82 7e 01 00"));
  const big = encodeFrame(Frame.binary(new Uint8Array(65536)));
  assert.deepEqual(big.subarray(0, 10), hex("82 7f 00 00 00 00 00 01 00 00"));
});

Deno.test("every length boundary encodes minimally and round-trips, masked and unmasked", () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(length).map((_, i) => i * 7);
    for (const masked of [false, true]) {
      const encoder = new FrameEncoder({ mask: masked });
      const bytes = encoder.encode(Frame.binary(payload));
      const header = frameHeaderSize(length, masked);
      assert.equal(bytes.length, header + length);
      const lenByte = bytes[1]! & 0x7f;
      assert.equal(lenByte, length < 126 ? length : length < 65536 ? 126 : 127);
      assert.equal((bytes[1]! & 0x80) !== 0, masked);
      for (const chunk of [bytes.length, 1000, 3, 1]) {
        const { frames } = decodeAll(bytes.slice(), { role: masked ? "server" : "client" }, chunk);
        assert.equal(frames.length, 1, `length ${length} chunk ${chunk}`);
        assert.deepEqual(frames[0]!.data, payload);
      }
    }
  }
});

Deno.test("masking never mutates the caller's bytes and uses a fresh key per frame", () => {
  const payload = new Uint8Array(1000).fill(42);
  const encoder = new FrameEncoder({ mask: true });
  const a = encoder.encode(Frame.binary(payload));
  const b = encoder.encode(Frame.binary(payload));
  assert.ok(payload.every((x) => x === 42));
  assert.notDeepEqual(a.subarray(4, 8), b.subarray(4, 8));
});

Deno.test("applyMask agrees with a byte loop at every offset, length and phase", () => {
  const key = hex("01 23 45 67");
  const base = new Uint8Array(300).map((_, i) => (i * 31) & 0xff);
  for (const offset of [0, 1, 2, 3, 5]) {
    for (const length of [0, 1, 3, 4, 31, 32, 33, 64, 100, 255]) {
      for (const phase of [0, 1, 2, 3]) {
        const buf = base.slice(0, offset + length).subarray(offset);
        const expected = buf.map((x, i) => x ^ key[(i + phase) & 3]!);
        applyMask(buf, key, phase);
        assert.deepEqual(buf, expected, `offset ${offset} length ${length} phase ${phase}`);
      }
    }
  }
  const src = base.subarray(3, 200);
  const dst = new Uint8Array(210);
  maskInto(src, key, dst, 7);
  assert.deepEqual(dst.subarray(7, 7 + src.length), src.map((x, i) => x ^ key[i & 3]!));
});

Deno.test("the decoder returns views, not copies, for payloads that arrive whole", () => {
  const chunk = encodeFrame(Frame.binary(new Uint8Array(1000).fill(9)));
  const { frames } = decodeAll(chunk, { role: "client" });
  assert.equal(frames[0]!.data.buffer, chunk.buffer);
});

Deno.test("the decoder gives the same frames at every split point of a multi-frame stream", () => {
  const encoder = new FrameEncoder({ mask: true });
  const parts = [
    Frame.text("héllo wörld ☃", { fin: false }),
    Frame.ping(text("p")),
    Frame.text(" and more 🎉"),
    Frame.binary(new Uint8Array(300).fill(1)),
    Frame.pong(),
    Frame.binary(new Uint8Array(0)),
    Frame.close(new CloseReason(1000, "bye")),
  ];
  const stream = new Uint8Array(parts.flatMap((f) => [...encoder.encode(f)]));
  const expected = decodeAll(stream.slice(), { role: "server" }).frames.map(summary);
  assert.equal(expected.length, parts.length);
  for (let split = 0; split <= stream.length; split++) {
    const decoder = new FrameDecoder({ role: "server" });
    const got: Frame[] = [];
    for (const piece of [stream.slice(0, split), stream.slice(split)]) {
      decoder.push(piece);
      for (let f = decoder.next(); f; f = decoder.next()) got.push(f);
    }
    assert.deepEqual(got.map(summary), expected, `split at ${split}`);
  }
});

Deno.test("the decoder reads straight into payloadTarget for split payloads", () => {
  const payload = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const bytes = new FrameEncoder({ mask: true }).encode(Frame.binary(payload));
  const decoder = new FrameDecoder({ role: "server" });
  decoder.push(bytes.slice(0, 1000));
  assert.equal(decoder.next(), null);
  let pos = 1000;
  for (let target = decoder.payloadTarget; target; target = decoder.payloadTarget) {
    const n = Math.min(target.length, 7777, bytes.length - pos);
    target.set(bytes.subarray(pos, pos + n));
    decoder.commit(n);
    pos += n;
  }
  const frame = decoder.next();
  assert.ok(frame);
  assert.deepEqual(frame.data, payload);
});

Deno.test("FrameDecoder rejects a frame over maxFrameSize before buffering", () => {
  const err = decodeError(hex("82 7e 04 00"), { role: "client", maxFrameSize: 1023 });
  assert.equal(err.closeCode, 1009);
  assert.equal(err.code, "FRAME_TOO_BIG");
});

Deno.test("FrameDecoder rejects a 2^63 length without allocating", () => {
  const err = decodeError(hex("82 7f 7f ff ff ff ff ff ff ff"), { role: "client" });
  assert.equal(err.closeCode, 1009);
});

Deno.test("FrameDecoder rejects a 64-bit length with the top bit set", () => {
  const err = decodeError(hex("82 7f 80 00 00 00 00 00 00 01"), { role: "client" });
  assert.equal(err.closeCode, 1002);
});

Deno.test("FrameDecoder enforces maxMessageSize across fragments", () => {
  const encoder = new FrameEncoder();
  const bytes = new Uint8Array([
    ...encoder.encode(Frame.binary(new Uint8Array(600), { fin: false })),
    ...encoder.encode(Frame.binary(new Uint8Array(600))),
  ]);
  const err = decodeError(bytes, { role: "client", maxMessageSize: 1000 });
  assert.equal(err.code, "MESSAGE_TOO_BIG");
  assert.equal(err.closeCode, 1009);
});

for (
  const [name, bytes, role] of [
    ["unknown opcode 3", "83 00", "client"],
    ["unknown opcode 0xB", "8b 00", "client"],
    ["fragmented ping", "09 00", "client"],
    ["ping over 125 bytes", "89 7e 00 7e", "client"],
    ["continuation without a start", "80 00", "client"],
    ["a new text frame inside a fragmented message", "01 01 61 81 01 62", "client"],
    ["RSV1 without an extension", "c1 00", "client"],
    ["RSV2 without an extension", "a1 00", "client"],
    ["RSV3 without an extension", "91 00", "client"],
    ["RSV1 on a control frame", "c9 00", "client"],
    ["a masked frame sent to a client", "81 81 00 00 00 00 61", "client"],
    ["an unmasked frame sent to a server", "81 01 61", "server"],
    ["a close payload of 1 byte", "88 01 03", "client"],
    ["close code 999", "88 02 03 e7", "client"],
    ["close code 1004", "88 02 03 ec", "client"],
    ["close code 1005", "88 02 03 ed", "client"],
    ["close code 1006", "88 02 03 ee", "client"],
    ["close code 1015", "88 02 03 f7", "client"],
    ["close code 2999", "88 02 0b b7", "client"],
    ["close code 5000", "88 02 13 88", "client"],
  ] as const
) {
  Deno.test(`FrameDecoder rejects ${name} with 1002`, () => {
    const err = decodeError(hex(bytes), { role });
    assert.equal(err.closeCode, 1002);
    assert.equal(err.code, "PROTOCOL_ERROR");
  });
}

Deno.test("FrameDecoder accepts valid close codes and reasons", () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999]) {
    const bytes = encodeFrame(Frame.close(new CloseReason(code, "ok")));
    const { frames } = decodeAll(bytes, { role: "client" });
    assert.equal(readReason(frames[0]!)?.code, code);
  }
  assert.equal(readReason(decodeAll(hex("88 00"), { role: "client" }).frames[0]!), null);
});

Deno.test("FrameDecoder rejects an invalid UTF-8 close reason with 1007", () => {
  const err = decodeError(hex("88 04 03 e8 ff fe"), { role: "client" });
  assert.equal(err.closeCode, 1007);
});

Deno.test("FrameDecoder fails fast on invalid UTF-8 across fragments", () => {
  // "κόσμε" then an invalid byte in the second fragment, the message never finished.
  const encoder = new FrameEncoder();
  const bytes = new Uint8Array([
    ...encoder.encode(Frame.text(text("κόσμε"), { fin: false })),
    ...encoder.encode(Frame.text(hex("ed a0 80"), { fin: false })),
  ]);
  const decoder = new FrameDecoder({ role: "client" });
  decoder.push(bytes);
  assert.equal(decoder.next()?.fin, false);
  assert.throws(
    () => decoder.next(),
    (e: unknown) => e instanceof ProtocolError && e.closeCode === 1007,
  );
  // The decoder stays failed.
  assert.throws(() => decoder.next(), ProtocolError);
});

Deno.test("FrameDecoder fails fast inside a frame whose payload is still arriving", () => {
  const bytes = encodeFrame(Frame.text(new Uint8Array([0x61, 0x62, 0xff, ...new Uint8Array(500)])));
  const decoder = new FrameDecoder({ role: "client" });
  decoder.push(bytes.slice(0, 10));
  assert.throws(
    () => decoder.next(),
    (e: unknown) => e instanceof ProtocolError && e.closeCode === 1007,
  );
});

Deno.test("FrameDecoder rejects a text message ending inside a character", () => {
  const err = decodeError(encodeFrame(Frame.text(hex("e2 82"))), { role: "client" });
  assert.equal(err.closeCode, 1007);
});

Deno.test("FrameDecoder allows negotiated RSV1 on the first frame only and skips UTF-8 there", () => {
  const options = { role: "client", allowedRsv: 0x40, compressedRsv: 0x40 } as const;
  const { frames } = decodeAll(hex("c1 02 ff fe"), options);
  assert.equal(frames[0]!.rsv1, true);
  const err = decodeError(hex("41 01 61 c0 01 62"), options);
  assert.equal(err.closeCode, 1002);
});

Deno.test("control frames interleave inside a fragmented message", () => {
  const { frames } = decodeAll(hex("01 01 61 89 00 00 01 62 8a 00 80 01 63"), { role: "client" });
  assert.deepEqual(frames.map((f) => `${f.type}:${f.fin}`), [
    "text:false",
    "ping:true",
    "text:false",
    "pong:true",
    "text:true",
  ]);
});

Deno.test("FrameEncoder writes continuation opcodes and refuses switching type mid-message", () => {
  const encoder = new FrameEncoder();
  assert.equal(encoder.encode(Frame.binary(new Uint8Array(1), { fin: false }))[0], 0x02);
  assert.equal(encoder.encode(Frame.ping())[0], 0x89);
  assert.throws(() => encoder.encode(Frame.text("x")), TypeError);
  assert.equal(encoder.encode(Frame.binary(new Uint8Array(1), { fin: false }))[0], 0x00);
  assert.equal(encoder.encode(Frame.binary(new Uint8Array(1)))[0], 0x80);
  assert.equal(encoder.encode(Frame.text("x"))[0], 0x81);
});

Deno.test("control frames over 125 bytes and fragmented control frames are refused at construction", () => {
  assert.throws(() => Frame.ping(new Uint8Array(126)), RangeError);
  assert.throws(() => Frame.pong(new Uint8Array(126)), RangeError);
  assert.throws(() => new Frame("close", new Uint8Array(126)), RangeError);
  assert.throws(() => new Frame("ping", new Uint8Array(0), { fin: false }), RangeError);
  Frame.ping(new Uint8Array(125));
  Frame.binary(new Uint8Array(1125));
});

Deno.test("CloseReason limits the message to 123 UTF-8 bytes", () => {
  assert.equal(Frame.close(new CloseReason(1000, "a".repeat(123))).data.length, 125);
  assert.throws(() => new CloseReason(1000, "a".repeat(124)), RangeError);
  assert.throws(() => new CloseReason(1000, "я".repeat(62)), RangeError);
  assert.throws(() => Frame.close(new CloseReason(1005)), RangeError);
  assert.throws(() => new CloseReason(70000), RangeError);
  assert.equal(String(new CloseReason(1000, "x")), "CloseReason(reason=NORMAL, message=x)");
});

Deno.test("readText refuses fragments and other types", () => {
  assert.throws(() => readText(Frame.text("a", { fin: false })), TypeError);
  assert.throws(() => readText(Frame.binary(new Uint8Array())), TypeError);
});

Deno.test("fuzz: arbitrary bytes and chunkings only raise WebSocketErrors, buffering is bounded", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      fc.constantFrom<"client" | "server">("client", "server"),
      (bytes, cuts, role) => {
        const maxFrameSize = 200;
        const decoder = new FrameDecoder({ role, maxFrameSize });
        let pos = 0, i = 0;
        try {
          while (pos < bytes.length) {
            const n = cuts[i++ % cuts.length]!;
            decoder.push(bytes.slice(pos, pos + n));
            pos += n;
            for (let f = decoder.next(); f; f = decoder.next()) {
              assert.ok(f.data.length <= maxFrameSize);
            }
            assert.ok(decoder.buffered <= maxFrameSize + 14 + 64);
          }
        } catch (err) {
          if (!(err instanceof WebSocketError)) throw err;
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("fuzz: encoded frame sequences decode back identically under any chunking", () => {
  const frameArb = fc.oneof(
    fc.record({ type: fc.constant("binary" as const), data: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ type: fc.constant("text" as const), data: fc.string().map((s) => text(s)) }),
    fc.record({ type: fc.constant("ping" as const), data: fc.uint8Array({ maxLength: 125 }) }),
  );
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 10 }),
      fc.integer({ min: 1, max: 50 }),
      fc.boolean(),
      (specs, chunk, masked) => {
        const frames = specs.map((s) => new Frame(s.type, s.data));
        const encoder = new FrameEncoder({ mask: masked });
        const stream = new Uint8Array(frames.flatMap((f) => [...encoder.encode(f)]));
        const { frames: got } = decodeAll(stream, { role: masked ? "server" : "client" }, chunk);
        assert.deepEqual(got.map(summary), frames.map(summary));
      },
    ),
    { numRuns: 500 },
  );
});
