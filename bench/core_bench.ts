/**
 * Micro benchmarks of the sans-I/O core: encode, decode, mask, UTF-8; and, in the same run,
 * the loopback socket throughput the core must outrun (the 64 KiB masked decode must be at
 * least twice as fast as the socket).
 *
 * Run: `deno bench -A bench/core_bench.ts`
 */

import { Frame } from "../src/core/frame.ts";
import { FrameEncoder } from "../src/core/frame_encoder.ts";
import { FrameDecoder } from "../src/core/frame_decoder.ts";
import { applyMask } from "../src/core/mask.ts";

const SIZES: [string, number][] = [
  ["16 B", 16],
  ["1 KiB", 1024],
  ["64 KiB", 64 * 1024],
  ["1 MiB", 1024 * 1024],
];

for (const [label, size] of SIZES) {
  const payload = new Uint8Array(size).map((_, i) => i & 0x7f);
  const frame = Frame.binary(payload);
  for (const masked of [false, true]) {
    const encoder = new FrameEncoder({ mask: masked });
    const out = new Uint8Array(encoder.encodedSize(frame));
    Deno.bench({
      name: `encode ${label} ${masked ? "masked" : "unmasked"}`,
      group: `encode ${label}`,
      n: size >= 1 << 20 ? 200 : undefined,
      fn() {
        encoder.encodeInto(frame, out, 0);
      },
    });

    // A buffer of many frames (at least 1 MiB, or one frame), decoded in one pass; the
    // decoder unmasks in place, so each iteration decodes a fresh copy made outside the timer.
    const count = Math.max(1, Math.floor((1 << 20) / (size + 14)));
    const one = encoder.encode(frame);
    const stream = new Uint8Array(one.length * count);
    for (let i = 0; i < count; i++) stream.set(encoder.encode(frame), i * one.length);
    const copy = new Uint8Array(stream.length);
    Deno.bench({
      name: `decode ${label} ${masked ? "masked" : "unmasked"} (${count} frame${
        count > 1 ? "s" : ""
      }/iter)`,
      group: `decode ${label}`,
      n: 300,
      fn(b) {
        copy.set(stream);
        const decoder = new FrameDecoder({
          role: masked ? "server" : "client",
          maxFrameSize: 1 << 21,
        });
        b.start();
        decoder.push(copy);
        let n = 0;
        while (decoder.next() !== null) n++;
        b.end();
        if (n !== count) throw new Error(`decoded ${n} of ${count}`);
      },
    });
  }
}

const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
for (const [label, size] of SIZES) {
  const buf = new Uint8Array(size);
  Deno.bench({ name: `mask ${label}`, group: "mask", fn: () => applyMask(buf, key) });
}

// Decoding text validates UTF-8 too.
for (const [label, size] of SIZES) {
  const text = "héllo wörld, κόσμε ☃ ".repeat(Math.ceil(size / 28)).slice(0, size);
  const frame = Frame.text(text);
  const encoder = new FrameEncoder({ mask: false });
  const bytes = encoder.encode(frame);
  Deno.bench({
    name: `decode text ${label} (UTF-8 checked)`,
    group: "decode text",
    n: size >= 1 << 20 ? 200 : undefined,
    fn() {
      const decoder = new FrameDecoder({ role: "client", maxFrameSize: 1 << 21 });
      decoder.push(bytes);
      decoder.next();
    },
  });
}

// The loopback socket ceiling: 64 KiB writes through a TCP pair, 16 MiB per iteration.
const CHUNK = 64 * 1024;
const TOTAL = 16 * 1024 * 1024;
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const accepted = listener.accept();
const writer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
const reader = await accepted;
listener.close();
const chunk = new Uint8Array(CHUNK);
const sink = new Uint8Array(CHUNK * 4);
Deno.bench({
  name: "loopback TCP 16 MiB in 64 KiB writes (conn.write / conn.read)",
  group: "socket",
  n: 40,
  async fn() {
    const send = (async () => {
      for (let sent = 0; sent < TOTAL; sent += CHUNK) {
        let off = 0;
        while (off < CHUNK) off += await writer.write(chunk.subarray(off));
      }
    })();
    let got = 0;
    while (got < TOTAL) {
      const n = await reader.read(sink);
      if (n === null) throw new Error("eof");
      got += n;
    }
    await send;
  },
});
globalThis.addEventListener("unload", () => {
  writer.close();
  reader.close();
});

// Sec-WebSocket-Accept: the synchronous SHA-1 the server uses beside WebCrypto's digest.
import { computeAccept, WEBSOCKET_GUID } from "../src/core/handshake_key.ts";

const ACCEPT_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const acceptEncoder = new TextEncoder();
Deno.bench({
  name: "Sec-WebSocket-Accept, synchronous SHA-1 (computeAccept)",
  group: "accept",
  baseline: true,
  fn() {
    computeAccept(ACCEPT_KEY);
  },
});
Deno.bench({
  name: "Sec-WebSocket-Accept, crypto.subtle.digest",
  group: "accept",
  async fn() {
    const digest = await crypto.subtle.digest(
      "SHA-1",
      acceptEncoder.encode(ACCEPT_KEY + WEBSOCKET_GUID),
    );
    btoa(String.fromCharCode(...new Uint8Array(digest)));
  },
});
