import assert from "node:assert/strict";
import { createRequire } from "node:module";
import fc from "npm:fast-check@4.10.2";
import { ProtocolError } from "../../src/core/errors.ts";
import {
  negotiateClientExtensions,
  negotiateServerExtensions,
} from "../../src/core/extension_negotiation.ts";
import type { WebSocketExtension } from "../../src/core/extension.ts";
import { parseExtensionHeader } from "../../src/core/extension_header.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import type { PerMessageDeflate } from "../../src/core/permessage_deflate.ts";
import { ZlibCompressor, ZlibDecompressor } from "../../src/transport/deflate.ts";
import {
  deflateFrame,
  inflateFrame,
  isPerMessageDeflate,
  perMessageDeflate,
  type PerMessageDeflateOptions,
} from "../../src/session/permessage_deflate.ts";
import { inspectDeflate } from "../_helpers/deflate_inspect.ts";
// The graph imports ws, so that node_modules/ws (read below) is installed.
import "npm:ws@8.23.0";

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

/** A client extension and a server extension that negotiated with each other. */
function pair(
  client: PerMessageDeflateOptions = {},
  server: PerMessageDeflateOptions = {},
  context: { maxMessageSize?: number } = {},
): { client: PerMessageDeflate; server: PerMessageDeflate; [Symbol.dispose](): void } {
  const clientFactory = perMessageDeflate(client);
  const [agreement] = negotiateServerExtensions(
    [perMessageDeflate(server)],
    clientFactory.clientOffers(),
    context,
  );
  assert.ok(agreement, "the server accepts");
  const [clientExt] = negotiateClientExtensions([clientFactory], [agreement.response], context);
  assert.ok(isPerMessageDeflate(clientExt) && isPerMessageDeflate(agreement.extension));
  return {
    client: clientExt,
    server: agreement.extension,
    [Symbol.dispose]() {
      clientExt.dispose();
      agreement.extension.dispose();
    },
  };
}

/** The extension of a client that got a bare `permessage-deflate` answer. */
function clientWith(
  answer = "permessage-deflate",
  options: PerMessageDeflateOptions = {},
): PerMessageDeflate {
  const [ext] = negotiateClientExtensions(
    [perMessageDeflate(options)],
    parseExtensionHeader(answer),
  );
  assert.ok(isPerMessageDeflate(ext));
  return ext;
}

/** Decodes server-to-client wire bytes and runs the data frames through the extension. */
function receive(ext: WebSocketExtension, wire: Uint8Array): Frame[] {
  const decoder = new FrameDecoder({ role: "client", allowedRsv: 0x40, compressedRsv: 0x40 });
  decoder.push(wire);
  const out: Frame[] = [];
  for (let f = decoder.next(); f; f = decoder.next()) {
    out.push(f.isControl ? f : ext.processIncoming(f) as Frame);
  }
  return out;
}

/** Encodes frames as a server would send them (unmasked), continuation opcodes included. */
function wire(frames: Frame[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let inMessage = false;
  for (const f of frames) {
    parts.push(encodeFrame(f, { continuation: inMessage && !f.isControl }));
    if (!f.isControl) inMessage = !f.fin;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

function send(ext: WebSocketExtension, frames: Frame[]): Uint8Array {
  return wire(frames.map((f) => f.isControl ? f : ext.processOutgoing(f) as Frame));
}

// ---------------------------------------------------------------------------------------------
// RFC 7692 §7.2.3, byte for byte

Deno.test("RFC 7692 §7.2.3.1: 'Hello' compressed in one frame", () => {
  using p = pair();
  assert.deepEqual(
    send(p.server, [Frame.text("Hello")]),
    bytes(0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
  );
  const ext = clientWith();
  const [frame] = receive(ext, bytes(0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00));
  assert.equal(readText(frame!), "Hello");
  assert.equal(frame!.rsv1, false);
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.1: 'Hello' compressed and split into two fragments", () => {
  const ext = clientWith();
  const frames = receive(
    ext,
    bytes(0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00),
  );
  assert.deepEqual(frames.map((f) => [f.type, f.fin, f.rsv1]), [["text", false, false], [
    "text",
    true,
    false,
  ]]);
  const all = new Uint8Array([...frames[0]!.data, ...frames[1]!.data]);
  assert.equal(new TextDecoder().decode(all), "Hello");
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.2: sharing the LZ77 window (context takeover)", () => {
  using p = pair();
  assert.deepEqual(
    send(p.server, [Frame.text("Hello"), Frame.text("Hello")]),
    bytes(
      ...[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
      ...[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
    ),
  );
  const ext = clientWith();
  const frames = receive(
    ext,
    bytes(
      ...[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
      ...[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
    ),
  );
  assert.deepEqual(frames.map(readText), ["Hello", "Hello"]);
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.2 without context takeover: every message stands alone", () => {
  using p = pair({ serverNoContextTakeover: true });
  const hello = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
  assert.deepEqual(
    send(p.server, [Frame.text("Hello"), Frame.text("Hello"), Frame.text("Hello")]),
    bytes(...hello, ...hello, ...hello),
  );
  assert.deepEqual(receive(p.client, bytes(...hello, ...hello)).map(readText), ["Hello", "Hello"]);
});

Deno.test("RFC 7692 §7.2.3.3: a DEFLATE block with no compression", () => {
  const ext = clientWith();
  const [frame] = receive(
    ext,
    bytes(0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00),
  );
  assert.equal(readText(frame!), "Hello");
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.4: a DEFLATE block with BFINAL set, then more messages", () => {
  const ext = clientWith();
  const frames = receive(
    ext,
    bytes(
      ...[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
      ...[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], // a new stream after BFINAL
      ...[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00], // and context from it
    ),
  );
  assert.deepEqual(frames.map(readText), ["Hello", "Hello", "Hello"]);
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.5: two DEFLATE blocks in one message", () => {
  const ext = clientWith();
  const [frame] = receive(
    ext,
    bytes(
      0xc1,
      0x0d,
      ...[0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00],
    ),
  );
  assert.equal(readText(frame!), "Hello");
  ext.dispose();
});

Deno.test("RFC 7692 §7.2.3.6: the empty block: an empty message, and an empty last fragment", () => {
  using p = pair();
  // An empty message compresses to the single byte 0x00.
  const m1 = send(p.server, [Frame.text("")]);
  assert.deepEqual(m1, bytes(0xc1, 0x01, 0x00));
  // A message whose data ends before its last fragment: that fragment carries 0x00 alone.
  const m2 = send(p.server, [Frame.text("Hello", { fin: false }), Frame.text("")]);
  assert.equal(m2[0], 0x41); // RSV1 on the first fragment only
  assert.deepEqual(m2.subarray(m2.length - 3), bytes(0x80, 0x01, 0x00));
  // An empty message right after another message (zlib has nothing to flush): 0x00 again.
  const m3 = send(p.server, [Frame.text("")]);
  assert.deepEqual(m3, bytes(0xc1, 0x01, 0x00));
  // The receiving side makes sense of all of it, in order.
  const frames = receive(p.client, new Uint8Array([...m1, ...m2, ...m3]));
  assert.deepEqual(
    frames.map((f) => [new TextDecoder().decode(f.data), f.fin]),
    [["", true], ["Hello", false], ["", true], ["", true]],
  );
});

// ---------------------------------------------------------------------------------------------
// Round trips and context takeover

const sample = (n: number, seed = 1): Uint8Array => {
  const words = ["alpha", "beta", "gamma", "delta", '{"id":', "true", "null", "0.5", " ", ","];
  let s = seed;
  let text = "";
  while (text.length < n) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    text += words[s % words.length];
  }
  return enc(text.slice(0, n));
};

Deno.test("round trip both ways, text and binary, 0 B to 1 MiB", () => {
  using p = pair();
  for (const size of [0, 1, 100, 4096, 65536, 1 << 20]) {
    for (const [from, to] of [[p.client, p.server], [p.server, p.client]]) {
      const data = sample(size, size);
      const sent = from!.processOutgoing(Frame.binary(data));
      assert.equal(sent.rsv1, true);
      if (size > 1000) assert.ok(sent.data.length < data.length / 2, "it compresses");
      assert.deepEqual(to!.processIncoming(sent).data, data);
      const t = from!.processOutgoing(Frame.text(new TextDecoder().decode(data)));
      assert.equal(readText(to!.processIncoming(t)), new TextDecoder().decode(data));
    }
  }
});

Deno.test("incompressible 1 MiB survives the round trip", () => {
  using p = pair();
  const data = new Uint8Array(1 << 20);
  crypto.getRandomValues(data.subarray(0, 65536));
  for (let i = 65536; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, i + 65536));
  }
  const sent = p.client.processOutgoing(Frame.binary(data));
  assert.deepEqual(p.server.processIncoming(sent).data, data);
});

Deno.test("context takeover: repeated messages shrink; without it they do not", () => {
  const message = sample(2000, 7);
  const sizes = (options: PerMessageDeflateOptions) => {
    using p = pair(options);
    return [0, 1, 2].map(() => {
      const out = p.client.processOutgoing(Frame.binary(message));
      assert.deepEqual(p.server.processIncoming(out).data, message);
      return out.data.length;
    });
  };
  const kept = sizes({});
  assert.ok(kept[1]! < kept[0]! / 10, `second message ${kept[1]} vs first ${kept[0]}`);
  const dropped = sizes({ clientNoContextTakeover: true });
  assert.equal(dropped[0], dropped[1]);
  assert.equal(dropped[1], dropped[2]);
  assert.equal(dropped[0], kept[0]);
});

Deno.test("many small messages with and without context takeover, interleaved connections", () => {
  const a = pair({}, {});
  const b = pair({ clientNoContextTakeover: true, serverNoContextTakeover: true });
  const c = pair({ serverNoContextTakeover: true });
  try {
    for (let i = 0; i < 2000; i++) {
      for (const p of [a, b, c]) {
        const msg = enc(`{"seq":${i},"kind":"tick","ok":true}`);
        const up = p.client.processOutgoing(Frame.text(msg));
        assert.deepEqual(p.server.processIncoming(up).data, msg);
        const down = p.server.processOutgoing(Frame.text(msg));
        assert.deepEqual(p.client.processIncoming(down).data, msg);
      }
    }
  } finally {
    for (const p of [a, b, c]) p[Symbol.dispose]();
  }
});

Deno.test("fragmented messages without context takeover interleave with whole ones elsewhere", () => {
  // Two connections share zlib streams for whole messages; a fragmented message keeps its own.
  using a = pair({ clientNoContextTakeover: true });
  using b = pair({ clientNoContextTakeover: true });
  const parts = [sample(3000, 1), sample(3000, 2), sample(3000, 3)];
  const received: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i++) {
    const fin = i === parts.length - 1;
    const out = a.client.processOutgoing(Frame.binary(parts[i]!, { fin }));
    // b sends and receives whole messages in between
    const other = sample(500, 10 + i);
    assert.deepEqual(
      b.server.processIncoming(b.client.processOutgoing(Frame.binary(other))).data,
      other,
    );
    received.push(a.server.processIncoming(out).data);
    assert.deepEqual(
      b.server.processIncoming(b.client.processOutgoing(Frame.binary(other))).data,
      other,
    );
  }
  assert.deepEqual(received, parts);
});

Deno.test("fragmentation at any point of the compressed stream decodes the same", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      fc.integer({ min: 8, max: 15 }),
      (sizes, cuts, noContext, bits) => {
        using p = pair({ serverNoContextTakeover: noContext, serverMaxWindowBits: bits });
        for (const [i, size] of sizes.entries()) {
          const data = sample(size, i + 1);
          // the server compresses the message whole, then the wire splits it anywhere
          const whole = p.server.processOutgoing(Frame.binary(data));
          const frames: Frame[] = [];
          let offset = 0;
          for (const cut of cuts) {
            if (offset + cut >= whole.data.length) break;
            frames.push(
              Frame.binary(whole.data.subarray(offset, offset + cut), {
                fin: false,
                rsv1: offset === 0,
              }),
            );
            offset += cut;
          }
          frames.push(Frame.binary(whole.data.subarray(offset), { rsv1: offset === 0 }));
          const out = frames.map((f) => p.client.processIncoming(f).data);
          const joined = new Uint8Array(out.reduce((n, x) => n + x.length, 0));
          let o = 0;
          for (const x of out) (joined.set(x, o), o += x.length);
          assert.deepEqual(joined, data);
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("outgoing fragments round trip with random sizes and options", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 8, max: 15 }),
      fc.integer({ min: 1, max: 9 }),
      (messages, clientNo, serverNo, bits, memLevel) => {
        using p = pair({
          clientNoContextTakeover: clientNo,
          serverNoContextTakeover: serverNo,
          clientMaxWindowBits: bits,
          memLevel,
        });
        for (const [m, fragments] of messages.entries()) {
          const datas = fragments.map((n, i) => sample(n, m * 10 + i + 1));
          const got = datas.map((d, i) => {
            const out = p.client.processOutgoing(Frame.binary(d, { fin: i === datas.length - 1 }));
            assert.equal(out.rsv1, i === 0);
            return p.server.processIncoming(out).data;
          });
          assert.deepEqual(got, datas);
        }
      },
    ),
    { numRuns: 100 },
  );
});

// ---------------------------------------------------------------------------------------------
// Window bits

Deno.test("window bits 8-15: the compressor never reaches back further than agreed", () => {
  // Data with repeats at every distance up to 40,000 bytes.
  let s = 9;
  const data = new Uint8Array(80_000);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = i > 300 && s % 10 !== 0 ? data[i - 1 - (s >> 8) % Math.min(i - 1, 40_000)]! : s & 15;
  }
  for (let bits = 8; bits <= 15; bits++) {
    const c = new ZlibCompressor({ windowBits: bits, level: 9, memLevel: 9 });
    const d = new ZlibDecompressor({ windowBits: bits });
    const out = c.compress(data, true, true);
    const inspected = inspectDeflate(out);
    assert.deepEqual(inspected.output, data);
    assert.ok(
      inspected.maxDistance <= 1 << bits,
      `window ${bits}: distance ${inspected.maxDistance} > ${1 << bits}`,
    );
    // zlib keeps 262 bytes of lookahead out of the window: 8 and 9 reach back 250 bytes
    assert.ok(
      inspected.maxDistance > Math.min((1 << bits) / 2, 200),
      `window ${bits} is actually used (${inspected.maxDistance})`,
    );
    assert.deepEqual(d.decompress(out, true, true, Infinity), data);
    c.dispose();
    d.dispose();
  }
});

Deno.test("window bits 8: zlib's 9-bit window is used, and zlib refuses 8 for raw deflate itself", () => {
  // What the compressor works around: node:zlib turns 8 into 9 for raw deflate (zlib >= 1.2.9
  // refuses 8 outright); a 9-bit window keeps matches within 512 - 262 = 250 bytes.
  const out = new ZlibCompressor({ windowBits: 8 }).compress(sample(10_000), true, true);
  assert.ok(inspectDeflate(out).maxDistance <= 250);
  using p = pair({ serverMaxWindowBits: 8, clientMaxWindowBits: 8 });
  assert.equal(p.client.parameters.serverMaxWindowBits, 8);
  assert.equal(p.client.parameters.clientMaxWindowBits, 8);
  const data = sample(50_000, 3);
  assert.deepEqual(
    p.server.processIncoming(p.client.processOutgoing(Frame.binary(data))).data,
    data,
  );
  assert.deepEqual(
    p.client.processIncoming(p.server.processOutgoing(Frame.binary(data))).data,
    data,
  );
});

Deno.test("negotiated windows reach the compressors of both ends", () => {
  using p = pair({ serverMaxWindowBits: 10, clientMaxWindowBits: 9 });
  const data = sample(100_000, 5);
  const up = p.client.processOutgoing(Frame.binary(data)).data;
  const down = p.server.processOutgoing(Frame.binary(data)).data;
  assert.ok(inspectDeflate(up).maxDistance <= 512);
  assert.ok(inspectDeflate(down).maxDistance <= 1024);
  assert.ok(inspectDeflate(down).maxDistance > 512);
});

// ---------------------------------------------------------------------------------------------
// Limits and corrupt data

/** A compressed stream of `mib` MiB of zeros, made 1 MiB at a time (so the test stays small). */
function bomb(mib: number): Uint8Array {
  const c = new ZlibCompressor({ level: 9 });
  const zeros = new Uint8Array(1 << 20);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < mib; i++) parts.push(c.compress(zeros, i === 0, i === mib - 1));
  c.dispose();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

Deno.test("decompression bomb: 512 MiB of zeros stops at the limit with 1009, memory stays flat", () => {
  const compressed = bomb(512);
  assert.ok(compressed.length < 1 << 20, `bomb is ${compressed.length} bytes`);
  const ext = clientWith("permessage-deflate", { maxInflatedSize: 1 << 20 });
  const before = Deno.memoryUsage().rss;
  const t0 = performance.now();
  assert.throws(() => ext.processIncoming(Frame.binary(compressed, { rsv1: true })), (err) => {
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.closeCode, 1009);
    assert.equal(err.code, "MESSAGE_TOO_BIG");
    assert.match(err.message, /exceeds 1048576 bytes/);
    return true;
  });
  const grew = Deno.memoryUsage().rss - before;
  assert.ok(grew < 64 * 1024 * 1024, `RSS grew by ${grew} bytes`);
  assert.ok(performance.now() - t0 < 2000, "it stops early instead of inflating everything");
  ext.dispose();
});

Deno.test("decompression bomb split into fragments: the limit counts across the message", () => {
  const compressed = bomb(64);
  const ext = clientWith("permessage-deflate", { maxInflatedSize: 8 << 20 });
  const step = Math.ceil(compressed.length / 32);
  assert.throws(() => {
    for (let o = 0; o < compressed.length; o += step) {
      ext.processIncoming(
        Frame.binary(compressed.subarray(o, o + step), {
          rsv1: o === 0,
          fin: o + step >= compressed.length,
        }),
      );
    }
  }, (err) => err instanceof ProtocolError && err.closeCode === 1009);
  ext.dispose();
});

Deno.test("the session's message limit caps inflation too", () => {
  using p = pair({}, { maxInflatedSize: 1 << 30 }, { maxMessageSize: 1000 });
  assert.equal(p.server.maxInflatedSize, 1000);
  const ok = p.server.processIncoming(p.client.processOutgoing(Frame.binary(new Uint8Array(1000))));
  assert.equal(ok.data.length, 1000);
  assert.throws(
    () => p.server.processIncoming(p.client.processOutgoing(Frame.binary(new Uint8Array(1001)))),
    (err) => err instanceof ProtocolError && err.closeCode === 1009,
  );
});

Deno.test("a message exactly at the limit passes; the limit applies with no context takeover too", () => {
  using p = pair({ clientNoContextTakeover: true }, { maxInflatedSize: 4096 });
  for (const size of [0, 4096]) {
    const out = p.server.processIncoming(p.client.processOutgoing(Frame.binary(sample(size))));
    assert.equal(out.data.length, size);
  }
  assert.throws(
    () => p.server.processIncoming(p.client.processOutgoing(Frame.binary(sample(4097)))),
    (err) => err instanceof ProtocolError && err.closeCode === 1009,
  );
  // the shared stream the failure used was dropped: other connections carry on
  using q = pair({ clientNoContextTakeover: true });
  const data = sample(3000);
  assert.deepEqual(
    q.server.processIncoming(q.client.processOutgoing(Frame.binary(data))).data,
    data,
  );
});

Deno.test("corrupt data: 1007 for text, 1002 for binary, and other connections are unharmed", () => {
  for (const noContext of [false, true]) {
    for (const [type, code] of [["text", 1007], ["binary", 1002]] as const) {
      using p = pair({ clientNoContextTakeover: noContext });
      const garbage = new Frame(type, bytes(0xff, 0xff, 0xff, 0x00, 0x12), { rsv1: true });
      assert.throws(() => p.server.processIncoming(garbage), (err) => {
        assert.ok(err instanceof ProtocolError);
        assert.equal(err.closeCode, code);
        assert.equal(err.code, "EXTENSION_ERROR");
        assert.match(err.message, /Invalid compressed data: invalid block type/);
        return true;
      });
      using q = pair({ clientNoContextTakeover: noContext });
      const data = sample(777);
      assert.deepEqual(
        q.server.processIncoming(q.client.processOutgoing(Frame.binary(data))).data,
        data,
      );
    }
  }
});

Deno.test("a reference before the start of the stream is corrupt data", () => {
  // fixed Huffman block: length 3 (257), distance 1 (code 0) with no byte before it
  const ext = clientWith();
  assert.throws(
    () => ext.processIncoming(Frame.binary(bytes(0x02, 0x02, 0x00), { rsv1: true })),
    (err) => err instanceof ProtocolError && err.closeCode === 1002,
  );
  ext.dispose();
});

// ---------------------------------------------------------------------------------------------
// Factory, options and helpers

Deno.test("perMessageDeflate checks its options", () => {
  for (
    const bad of [
      { level: 10 },
      { level: -2 },
      { memLevel: 0 },
      { memLevel: 10 },
      { threshold: -1 },
      { maxInflatedSize: -1 },
      { serverMaxWindowBits: 7 },
      { clientMaxWindowBits: 16 },
    ]
  ) {
    assert.throws(() => perMessageDeflate(bad), RangeError, JSON.stringify(bad));
  }
  for (
    const bad of [
      { level: "6" },
      { compressIf: true },
      { serverNoContextTakeover: "yes" },
      { clientMaxWindowBits: "15" },
    ]
  ) {
    assert.throws(() => perMessageDeflate(bad as never), TypeError, JSON.stringify(bad));
  }
  const f = perMessageDeflate();
  assert.equal(f.name, "permessage-deflate");
  assert.equal(f.rsv, 0x40);
  assert.equal(f.options.maxInflatedSize, 64 * 1024 * 1024);
});

Deno.test("threshold and compressIf through the factory, per-message opt-out", () => {
  using p = pair({ threshold: 100, compressIf: (f) => f.type === "text" });
  assert.equal(p.client.processOutgoing(Frame.text(sample(99))).rsv1, false);
  assert.equal(p.client.processOutgoing(Frame.text(sample(100))).rsv1, true);
  assert.equal(p.client.processOutgoing(Frame.binary(sample(5000))).rsv1, false);
  assert.equal(p.client.processOutgoing(Frame.text(sample(5000)), { compress: false }).rsv1, false);
});

Deno.test("inflateFrame and deflateFrame serve raw sessions", () => {
  const ext = clientWith();
  const session = { extensions: [ext] as readonly unknown[] };
  const out = deflateFrame(Frame.text("Hello"), session);
  assert.deepEqual(out.data, bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00));
  const ping = Frame.ping();
  assert.equal(deflateFrame(ping, session), ping);
  assert.equal(inflateFrame(ping, session), ping);
  const plain = Frame.text("plain");
  assert.equal(inflateFrame(plain, [ext]), plain);
  assert.equal(
    readText(
      inflateFrame(
        Frame.text(bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), { rsv1: true }),
        session,
      ),
    ),
    "Hello",
  );
  // nothing negotiated: frames come back as they are
  const rsv = Frame.binary(bytes(1), { rsv1: true });
  assert.equal(inflateFrame(rsv, { extensions: [] }), rsv);
  assert.equal(deflateFrame(plain, []), plain);
  assert.throws(() => inflateFrame(plain, {} as never), TypeError);
  ext.dispose();
});

// ---------------------------------------------------------------------------------------------
// In-process interop with npm:ws's PerMessageDeflate

const require = createRequire(import.meta.url);
// ws does not export its lib/ files, so load the file itself.
const WsPerMessageDeflate = require(
  new URL("../../node_modules/ws/lib/permessage-deflate.js", import.meta.url).pathname,
) as new (options: object, isServer: boolean, maxPayload: number) => {
  offer(): object;
  accept(offers: object[]): object;
  compress(data: Uint8Array, fin: boolean, cb: (err: Error | null, out: Uint8Array) => void): void;
  decompress(
    data: Uint8Array,
    fin: boolean,
    cb: (err: Error | null, out: Uint8Array) => void,
  ): void;
  cleanup(): void;
};

function wsCall(
  fn: (data: Uint8Array, fin: boolean, cb: (err: Error | null, out: Uint8Array) => void) => void,
  data: Uint8Array,
  fin: boolean,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    fn(data, fin, (err, out) => err ? reject(err) : resolve(new Uint8Array(out)))
  );
}

Deno.test("interop with ws's PerMessageDeflate, both directions, with and without context", async () => {
  for (const noContext of [false, true]) {
    for (const bits of [8, 9, 12, 15]) {
      // ws is the server and answers our offer; we take its answer as the handshake would
      const factory = perMessageDeflate({
        serverNoContextTakeover: noContext,
        clientNoContextTakeover: noContext,
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits,
      });
      const ws = new WsPerMessageDeflate({ threshold: 0 }, true, 0);
      const offer: Record<string, (string | true)[]> = {};
      for (const [k, v] of factory.clientOffers()[0]!.params) offer[k] = [v];
      const accepted = ws.accept([offer]) as Record<string, string | number | true>;
      const answer = ["permessage-deflate"];
      for (const [k, v] of Object.entries(accepted)) answer.push(v === true ? k : `${k}=${v}`);
      const [ext] = negotiateClientExtensions([factory], parseExtensionHeader(answer.join("; ")));
      assert.ok(isPerMessageDeflate(ext));
      assert.equal(ext.parameters.serverNoContextTakeover, noContext);
      assert.equal(ext.parameters.serverMaxWindowBits, bits);
      try {
        for (let i = 0; i < 20; i++) {
          const data = sample(i * 997, i + 1);
          const fromWs = await wsCall(ws.compress.bind(ws), data, true);
          assert.deepEqual(ext.processIncoming(Frame.binary(fromWs, { rsv1: true })).data, data);
          const toWs: Uint8Array = ext.processOutgoing(Frame.binary(data)).data;
          assert.deepEqual(await wsCall(ws.decompress.bind(ws), toWs, true), data);
        }
      } finally {
        ext.dispose();
        ws.cleanup();
      }
    }
  }
});
