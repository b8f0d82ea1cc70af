/**
 * UTF-8 validation throughput: wirestream's validator vs a fatal `TextDecoder`.
 *
 * Run with `deno bench -A bench/utf8_bench.ts`; MB/s = bytes / (time/iter).
 *
 * @module
 */

import { isValidUtf8, Utf8Validator } from "../src/core/utf8.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const ASCII_TEXT = "The quick brown fox jumps over the lazy dog, 0123456789. ";
// About 60% of the bytes are in 2, 3 and 4-byte sequences.
const MIXED_TEXT = "Grüße aus Köln — ĉu vi parolas? 日本語のテキスト, 中文 🎉🚀 ok. ";

/** `text` repeated and cut at a code point boundary to at most `size` bytes. */
function sample(text: string, size: number): Uint8Array {
  const unit = encoder.encode(text);
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += unit.length) out.set(unit.subarray(0, size - at), at);
  let end = size;
  // Drop a trailing cut sequence.
  let lead = end - 1;
  while (lead > 0 && (out[lead]! & 0xc0) === 0x80) lead--;
  const c = out[lead]!;
  const len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  if (lead + len > end) end = lead;
  return out.subarray(0, end);
}

const SIZES: [string, number][] = [
  ["16 B", 16],
  ["1 KiB", 1024],
  ["64 KiB", 64 * 1024],
  ["1 MiB", 1024 * 1024],
];

const validator = new Utf8Validator();

for (const [label, size] of SIZES) {
  for (const [kind, text] of [["ascii", ASCII_TEXT], ["mixed", MIXED_TEXT]] as const) {
    const bytes = sample(text, size);
    if (!isValidUtf8(bytes)) throw new Error("bad sample");
    const group = `${kind} ${label}`;
    Deno.bench({
      name: `isValidUtf8 ${group}`,
      group,
      baseline: true,
      fn() {
        if (!isValidUtf8(bytes)) throw new Error("invalid");
      },
    });
    Deno.bench({
      name: `Utf8Validator 4 updates ${group}`,
      group,
      fn() {
        validator.reset();
        const q = bytes.length >>> 2;
        validator.update(bytes, 0, q);
        validator.update(bytes, q, 2 * q);
        validator.update(bytes, 2 * q, 3 * q);
        if (!validator.update(bytes, 3 * q) || !validator.finish()) throw new Error("invalid");
      },
    });
    Deno.bench({
      name: `TextDecoder fatal ${group}`,
      group,
      fn() {
        decoder.decode(bytes);
      },
    });
    Deno.bench({
      name: `TextDecoder fatal stream ${group}`,
      group,
      fn() {
        decoder.decode(bytes, { stream: true });
        decoder.decode();
      },
    });
  }
}
