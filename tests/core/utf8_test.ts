import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { isValidUtf8, Utf8Validator } from "../../src/core/utf8.ts";

const hex = (s: string) =>
  new Uint8Array(s.trim().split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));
const text = (s: string) => new TextEncoder().encode(s);
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Index of the byte at which the validator, fed one byte at a time, first fails; -1 if never. */
function failAt(bytes: Uint8Array): number {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) if (!v.update(bytes, i, i + 1)) return i;
  return -1;
}

/** Whether the whole message is valid according to the validator fed one byte at a time. */
function incrementalValid(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) if (!v.update(bytes, i, i + 1)) return false;
  return v.finish();
}

/** The reference: a fatal WHATWG decoder (encoding_rs in Deno). */
function oracleValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fail-fast reference: the smallest n such that decoding `bytes[0, n)` with `stream: true`
 * throws, minus one (so a byte index), or -1. A streaming decoder fed byte by byte gives the
 * same answer (checked below against the literal prefix definition).
 */
function oracleFailAt(bytes: Uint8Array): number {
  const d = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      d.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/** The literal definition: decode each prefix afresh with `stream: true`. Quadratic. */
function oracleFailAtByPrefixes(bytes: Uint8Array): number {
  for (let n = 1; n <= bytes.length; n++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
    } catch {
      return n - 1;
    }
  }
  return -1;
}

/** UTF-8 of a code point (surrogates included, as the generalized form), without TextEncoder. */
function encodeCodePoint(cp: number, out: Uint8Array): number {
  if (cp < 0x80) {
    out[0] = cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = 0xc0 | (cp >> 6);
    out[1] = 0x80 | (cp & 0x3f);
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = 0xe0 | (cp >> 12);
    out[1] = 0x80 | ((cp >> 6) & 0x3f);
    out[2] = 0x80 | (cp & 0x3f);
    return 3;
  }
  out[0] = 0xf0 | (cp >> 18);
  out[1] = 0x80 | ((cp >> 12) & 0x3f);
  out[2] = 0x80 | ((cp >> 6) & 0x3f);
  out[3] = 0x80 | (cp & 0x3f);
  return 4;
}

/** `cp` in a form of exactly `len` bytes (overlong when longer than needed). */
function encodeAs(cp: number, len: number, out: Uint8Array): void {
  const leads = [0, 0, 0xc0, 0xe0, 0xf0];
  for (let k = len - 1; k > 0; k--) {
    out[k] = 0x80 | (cp & 0x3f);
    cp >>= 6;
  }
  out[0] = leads[len]! | cp;
}

type Expect = "valid" | "incomplete" | number;

// Autobahn TestSuite cases 6.x (after Markus Kuhn's UTF-8 decoder capability and stress test).
// A number is the index of the byte at which a fail-fast validator must give up.
const κόσμε = "ce ba e1 bd b9 cf 83 ce bc ce b5";
const AUTOBAHN: [string, string, Expect][] = [
  ["6.1 empty", "", "valid"],
  [
    "6.2 Hello-µ@ßöäüàá-UTF-8!!",
    Array.from(text("Hello-µ@ßöäüàá-UTF-8!!"), (b) => b.toString(16)).join(" "),
    "valid",
  ],
  ["6.3.1 κόσμε + ED A0 80 (surrogate)", `${κόσμε} ed a0 80 65 64 69 74 65 64`, 12],
  ["6.4.1 κόσμε + F4 90 80 80 (> U+10FFFF)", `${κόσμε} f4 90 80 80 65 64 69 74 65 64`, 12],
  ["6.5.1 κόσμε", κόσμε, "valid"],
  ["6.6.1 κόσμε prefix CE", "ce", "incomplete"],
  ["6.6.4 κόσμε prefix CE BA E1 BD", "ce ba e1 bd", "incomplete"],
  // 6.7 first possible sequence of each length
  ["6.7.1 U+0000", "00", "valid"],
  ["6.7.2 U+0080", "c2 80", "valid"],
  ["6.7.3 U+0800", "e0 a0 80", "valid"],
  ["6.7.4 U+10000", "f0 90 80 80", "valid"],
  // 6.8 first possible 5 and 6 byte forms (not UTF-8 any more)
  ["6.8.1 5-byte U+200000", "f8 88 80 80 80", 0],
  ["6.8.2 6-byte U+4000000", "fc 84 80 80 80 80", 0],
  // 6.9 last possible sequence of each length
  ["6.9.1 U+007F", "7f", "valid"],
  ["6.9.2 U+07FF", "df bf", "valid"],
  ["6.9.3 U+FFFF", "ef bf bf", "valid"],
  ["6.9.4 U+10FFFF", "f4 8f bf bf", "valid"],
  // 6.10 last possible 4, 5, 6 byte forms
  ["6.10.1 U+1FFFFF", "f7 bf bf bf", 0],
  ["6.10.2 U+3FFFFFF", "fb bf bf bf bf", 0],
  ["6.10.3 U+7FFFFFFF", "fd bf bf bf bf bf", 0],
  // 6.11 other boundaries
  ["6.11.1 U+D7FF", "ed 9f bf", "valid"],
  ["6.11.2 U+E000", "ee 80 80", "valid"],
  ["6.11.3 U+FFFD", "ef bf bd", "valid"],
  ["6.11.4 U+10FFFF", "f4 8f bf bf", "valid"],
  ["6.11.5 U+110000", "f4 90 80 80", 1],
  // 6.12 unexpected continuation bytes
  ["6.12.1 80", "80", 0],
  ["6.12.2 BF", "bf", 0],
  ["6.12.3 80 BF", "80 bf", 0],
  ["6.12.4 80 BF 80", "80 bf 80", 0],
  ["6.12.5 80 BF 80 BF", "80 bf 80 bf", 0],
  [
    "6.12.8 all continuation bytes",
    Array.from({ length: 64 }, (_, k) => (0x80 + k).toString(16)).join(" "),
    0,
  ],
  ["6.12 after ASCII", "61 62 63 80", 3],
  // 6.13 lonely start characters followed by a space
  ["6.13.1 C0 20", "c0 20", 0],
  ["6.13.1 C2 20", "c2 20", 1],
  ["6.13.1 DF 20", "df 20", 1],
  ["6.13.2 E0 20", "e0 20", 1],
  ["6.13.2 EF 20", "ef 20", 1],
  ["6.13.3 F0 20", "f0 20", 1],
  ["6.13.3 F4 20", "f4 20", 1],
  ["6.13.3 F7 20", "f7 20", 0],
  ["6.13.4 F8 20", "f8 20", 0],
  ["6.13.5 FC 20", "fc 20", 0],
  // 6.14 sequences with the last continuation byte missing
  ["6.14.1 C0", "c0", 0],
  ["6.14.2 E0 80", "e0 80", 1],
  ["6.14.3 F0 80 80", "f0 80 80", 1],
  ["6.14.4 F8 80 80 80", "f8 80 80 80", 0],
  ["6.14.5 FC 80 80 80 80", "fc 80 80 80 80", 0],
  ["6.14.6 DF", "df", "incomplete"],
  ["6.14.7 EF BF", "ef bf", "incomplete"],
  ["6.14.8 F7 BF BF", "f7 bf bf", 0],
  ["6.14.9 FB BF BF BF", "fb bf bf bf", 0],
  ["6.14.10 FD BF BF BF BF", "fd bf bf bf bf", 0],
  ["6.14 E1 80", "e1 80", "incomplete"],
  ["6.14 F1 80 80", "f1 80 80", "incomplete"],
  ["6.14 F4 8F BF", "f4 8f bf", "incomplete"],
  ["6.14 ED 9F", "ed 9f", "incomplete"],
  ["6.14 cut then ASCII", "e1 80 41", 2],
  // 6.15 concatenation of incomplete sequences
  [
    "6.15.1",
    "c0 e0 80 f0 80 80 f8 80 80 80 fc 80 80 80 80 df ef bf f7 bf bf fb bf bf bf fd bf bf bf bf",
    0,
  ],
  ["6.15 valid leads", "c2 e1 80 f1 80 80", 1],
  // 6.16 impossible bytes
  ["6.16.1 FE", "fe", 0],
  ["6.16.2 FF", "ff", 0],
  ["6.16.3 FE FE FF FF", "fe fe ff ff", 0],
  ["6.16 F5", "f5", 0],
  ["6.16 C1", "c1", 0],
  // 6.17 overlong "/"
  ["6.17.1 C0 AF", "c0 af", 0],
  ["6.17.2 E0 80 AF", "e0 80 af", 1],
  ["6.17.3 F0 80 80 AF", "f0 80 80 af", 1],
  ["6.17.4 F8 80 80 80 AF", "f8 80 80 80 af", 0],
  ["6.17.5 FC 80 80 80 80 AF", "fc 80 80 80 80 af", 0],
  // 6.18 maximum overlongs
  ["6.18.1 C1 BF", "c1 bf", 0],
  ["6.18.2 E0 9F BF", "e0 9f bf", 1],
  ["6.18.3 F0 8F BF BF", "f0 8f bf bf", 1],
  ["6.18.4 F8 87 BF BF BF", "f8 87 bf bf bf", 0],
  ["6.18.5 FC 83 BF BF BF BF", "fc 83 bf bf bf bf", 0],
  // 6.19 overlong NUL
  ["6.19.1 C0 80", "c0 80", 0],
  ["6.19.2 E0 80 80", "e0 80 80", 1],
  ["6.19.3 F0 80 80 80", "f0 80 80 80", 1],
  ["6.19.4 F8 80 80 80 80", "f8 80 80 80 80", 0],
  ["6.19.5 FC 80 80 80 80 80", "fc 80 80 80 80 80", 0],
  // 6.20 single UTF-16 surrogates
  ["6.20.1 U+D800", "ed a0 80", 1],
  ["6.20.2 U+DB7F", "ed ad bf", 1],
  ["6.20.3 U+DB80", "ed ae 80", 1],
  ["6.20.4 U+DBFF", "ed af bf", 1],
  ["6.20.5 U+DC00", "ed b0 80", 1],
  ["6.20.6 U+DF80", "ed be 80", 1],
  ["6.20.7 U+DFFF", "ed bf bf", 1],
  // 6.21 paired UTF-16 surrogates
  ["6.21.1 U+D800 U+DC00", "ed a0 80 ed b0 80", 1],
  ["6.21.2 U+D800 U+DFFF", "ed a0 80 ed bf bf", 1],
  ["6.21.8 U+DBFF U+DFFF", "ed af bf ed bf bf", 1],
  // 6.22 noncharacters are valid UTF-8
  ["6.22.1 U+FFFE", "ef bf be", "valid"],
  ["6.22.2 U+FFFF", "ef bf bf", "valid"],
  ["6.22.3 U+1FFFE", "f0 9f bf be", "valid"],
  ["6.22.33 U+10FFFE", "f4 8f bf be", "valid"],
  ["6.22.34 U+FDD0", "ef b7 90", "valid"],
  ["6.22.34 U+FDEF", "ef b7 af", "valid"],
  // 6.23 U+FFFD and friends
  ["6.23.1 U+FFFD", "ef bf bd", "valid"],
  ["6.23 BOM", "ef bb bf", "valid"],
  ["6.23 BOM + text", "ef bb bf 68 69", "valid"],
];

Deno.test("utf8: Autobahn 6.x cases, whole, byte by byte and against the oracle", () => {
  for (const [name, bytesHex, expect] of AUTOBAHN) {
    const bytes = hex(bytesHex);
    const valid = expect === "valid";
    assert.equal(isValidUtf8(bytes), valid, `${name}: isValidUtf8`);
    assert.equal(incrementalValid(bytes), valid, `${name}: incremental`);
    assert.equal(
      failAt(bytes),
      typeof expect === "number" ? expect : -1,
      `${name}: fail-fast index`,
    );
    assert.equal(oracleValid(bytes), valid, `${name}: oracle`);
    assert.equal(
      oracleFailAt(bytes),
      typeof expect === "number" ? expect : -1,
      `${name}: oracle index`,
    );
    // Whole chunk: update is false exactly when a byte failed; finish only when valid.
    const v = new Utf8Validator();
    assert.equal(v.update(bytes), typeof expect !== "number", `${name}: update`);
    assert.equal(v.finish(), valid, `${name}: finish`);
    assert.equal(v.failed, typeof expect === "number", `${name}: failed`);
  }
});

Deno.test("utf8: code point boundaries", () => {
  const cases: [number, string][] = [
    [0x0000, "00"],
    [0x007f, "7f"],
    [0x0080, "c2 80"],
    [0x07ff, "df bf"],
    [0x0800, "e0 a0 80"],
    [0xd7ff, "ed 9f bf"],
    [0xe000, "ee 80 80"],
    [0xffff, "ef bf bf"],
    [0x10000, "f0 90 80 80"],
    [0x10ffff, "f4 8f bf bf"],
  ];
  for (const [cp, bytesHex] of cases) {
    const bytes = hex(bytesHex);
    assert.deepEqual(bytes, text(String.fromCodePoint(cp)), `U+${cp.toString(16)} encoding`);
    assert.ok(isValidUtf8(bytes), `U+${cp.toString(16)}`);
    assert.ok(incrementalValid(bytes), `U+${cp.toString(16)} incremental`);
    // Every proper prefix is incomplete, never failed.
    for (let n = 1; n < bytes.length; n++) {
      const v = new Utf8Validator();
      assert.ok(v.update(bytes.subarray(0, n)));
      assert.equal(v.finish(), false);
      assert.equal(isValidUtf8(bytes, 0, n), false);
    }
  }
});

Deno.test("utf8: every scalar value is valid, split anywhere; surrogates fail at the 2nd byte", () => {
  const buf = new Uint8Array(4);
  const v = new Utf8Validator();
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const len = encodeCodePoint(cp, buf);
    const surrogate = cp >= 0xd800 && cp <= 0xdfff;
    if (isValidUtf8(buf, 0, len) === surrogate) assert.fail(`U+${cp.toString(16)} whole`);
    for (let cut = 1; cut < len; cut++) {
      v.reset();
      const first = v.update(buf, 0, cut);
      const second = v.update(buf, cut, len);
      if (surrogate) {
        if (first !== (cut < 2) || second || v.finish()) {
          assert.fail(`U+${cp.toString(16)} @${cut}`);
        }
      } else if (!first || !second || !v.finish()) {
        assert.fail(`U+${cp.toString(16)} split at ${cut}`);
      }
    }
  }
});

Deno.test("utf8: every overlong form and every value above U+10FFFF fails fast", () => {
  const buf = new Uint8Array(4);
  // Overlongs: 2-byte forms fail at the lead (C0, C1), 3 and 4-byte forms at the second byte.
  for (const [len, limit, index] of [[2, 0x80, 0], [3, 0x800, 1], [4, 0x10000, 1]] as const) {
    for (let cp = 0; cp < limit; cp++) {
      encodeAs(cp, len, buf);
      if (failAt(buf.subarray(0, len)) !== index) {
        assert.fail(`overlong U+${cp.toString(16)} in ${len} bytes`);
      }
      if (isValidUtf8(buf, 0, len)) assert.fail(`overlong U+${cp.toString(16)} accepted`);
    }
  }
  // U+110000..U+1FFFFF: F4 90.. fails at the second byte, F5..F7 at the lead.
  for (let cp = 0x110000; cp <= 0x1fffff; cp++) {
    encodeAs(cp, 4, buf);
    if (failAt(buf) !== (cp < 0x140000 ? 1 : 0)) assert.fail(`U+${cp.toString(16)}`);
    if (isValidUtf8(buf)) assert.fail(`U+${cp.toString(16)} accepted`);
  }
});

Deno.test("utf8: all 1-byte inputs, and all 2-byte inputs after a lead byte, match the oracle", () => {
  // (The oracle throws to say "invalid", and a throw costs tens of µs: pairs whose first byte
  // already fails, or is ASCII, add nothing and are left out.)
  const buf = new Uint8Array(2);
  for (let a = 0; a < 256; a++) {
    buf[0] = a;
    const one = buf.subarray(0, 1);
    assert.equal(isValidUtf8(one), oracleValid(one), `${a}`);
    assert.equal(failAt(one), oracleFailAt(one), `${a}: fail index`);
    if (a < 0xc2 || a > 0xf4) continue;
    for (let b = 0; b < 256; b++) {
      buf[1] = b;
      if (isValidUtf8(buf) !== oracleValid(buf)) assert.fail(`${a} ${b}`);
      if (failAt(buf) !== oracleFailAt(buf)) assert.fail(`${a} ${b}: fail index`);
    }
  }
});

Deno.test("utf8: every split of valid multi-byte text in two update() calls is valid", () => {
  const samples = [
    "κόσμε",
    "Hello-µ@ßöäüàá-UTF-8!!",
    "€ 𝄞 日本語 🎉👍🏽 \u{10ffff}\u{10000}\u{ffff}\u{800}\u{7ff}\u{80}\u{7f}\0",
    "\ufeffBOM first",
    "ascii only, long enough to go through the word loop: 0123456789abcdefghijklmnopqrstuvwxyz " +
    "then é and more ascii after it, again long enough for words: 0123456789abcdefghij 🎉",
  ];
  for (const s of samples) {
    const bytes = text(s);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const v = new Utf8Validator();
      assert.ok(v.update(bytes, 0, cut), `${s} @${cut}: first`);
      assert.ok(v.update(bytes, cut), `${s} @${cut}: second`);
      assert.ok(v.finish(), `${s} @${cut}: finish`);
      // Copies too (no shared buffer between the two pieces).
      const w = new Utf8Validator();
      assert.ok(w.update(bytes.slice(0, cut)) && w.update(bytes.slice(cut)) && w.finish());
    }
  }
});

Deno.test("utf8: fail-fast across update() calls (Autobahn 6.4 chunkings)", () => {
  const prefix = hex(κόσμε);
  const bad = hex("f4 90 80 80");
  const suffix = text("edited");
  // 6.4.1: the bad sequence alone, 6.4.2: cut after F4, 6.4.4: byte by byte.
  let v = new Utf8Validator();
  assert.ok(v.update(prefix));
  assert.equal(v.update(bad), false);
  assert.equal(v.update(suffix), false, "stays failed");
  assert.equal(v.finish(), false);

  v = new Utf8Validator();
  assert.ok(v.update(concat([prefix, bad.subarray(0, 1)])));
  assert.equal(v.update(bad.subarray(1, 2)), false, "F4 | 90 fails at 90");

  v = new Utf8Validator();
  assert.ok(v.update(prefix));
  assert.ok(v.update(bad, 0, 1));
  assert.equal(v.update(bad, 1, 2), false);

  // ED | A0 (surrogate), E0 | 80 (overlong), F0 | 8F (overlong), F4 | 90 (too big).
  for (const [lead, next] of [[0xed, 0xa0], [0xe0, 0x80], [0xf0, 0x8f], [0xf4, 0x90]]) {
    v = new Utf8Validator();
    assert.ok(v.update(new Uint8Array([0x41, lead!])));
    assert.equal(v.update(new Uint8Array([next!])), false);
  }
  // F0 90 | 80 | 80 stays open until complete.
  v = new Utf8Validator();
  assert.ok(v.update(hex("f0 90")));
  assert.ok(v.update(hex("80")));
  assert.equal(v.finish(), false);
  assert.ok(v.update(hex("80")));
  assert.ok(v.finish());
  // A chunk that completes a sequence and then fails.
  v = new Utf8Validator();
  assert.ok(v.update(hex("e2 82")));
  assert.equal(v.update(hex("ac 41 c0")), false);
  // A continuation missing: the next chunk starts with ASCII.
  v = new Utf8Validator();
  assert.ok(v.update(hex("e2 82")));
  assert.equal(v.update(hex("41")), false);
});

Deno.test("utf8: reset, empty chunks and finish", () => {
  const v = new Utf8Validator();
  assert.ok(v.finish(), "an empty message is valid");
  assert.ok(v.update(new Uint8Array(0)));
  assert.ok(v.update(hex("c3")));
  assert.ok(v.update(new Uint8Array(0)), "an empty chunk keeps the pending sequence");
  assert.equal(v.finish(), false);
  assert.equal(v.finish(), false, "finish does not reset");
  assert.ok(v.update(hex("a9")));
  assert.ok(v.finish());
  assert.equal(v.update(hex("ff")), false);
  assert.equal(v.update(new Uint8Array(0)), false);
  assert.equal(v.update(text("ok")), false);
  assert.equal(v.finish(), false);
  assert.ok(v.failed);
  v.reset();
  assert.equal(v.failed, false);
  assert.ok(v.finish());
  assert.ok(v.update(text("ok")));
  // reset() also forgets a pending sequence and its narrowed range.
  assert.ok(v.update(hex("ed")));
  v.reset();
  assert.ok(v.update(hex("a0")) === false, "A0 alone is a stray continuation");
  v.reset();
  assert.ok(v.update(hex("ed")));
  v.reset();
  assert.ok(v.update(hex("c2 a0")) && v.finish());
});

Deno.test("utf8: start/end ranges and argument checks", () => {
  const buf = hex("ff 41 e2 82 ac 42 ff");
  assert.ok(isValidUtf8(buf, 1, 6));
  assert.equal(isValidUtf8(buf, 0, 6), false);
  assert.equal(isValidUtf8(buf, 1, 7), false);
  assert.equal(isValidUtf8(buf, 1, 4), false, "cut inside €");
  assert.ok(isValidUtf8(buf, 3, 3), "empty range");
  const v = new Utf8Validator();
  assert.ok(v.update(buf, 1, 3));
  assert.ok(v.update(buf, 3, 6));
  assert.ok(v.finish());
  // A subarray with an odd byteOffset.
  assert.ok(isValidUtf8(buf.subarray(1, 6)));
  for (const [s, e] of [[-1, 2], [0, 8], [3, 2], [0.5, 2], [0, NaN]]) {
    assert.throws(() => isValidUtf8(buf, s, e), RangeError);
    assert.throws(() => new Utf8Validator().update(buf, s, e), RangeError);
  }
  assert.throws(() => isValidUtf8([0x41] as unknown as Uint8Array), TypeError);
  assert.throws(() => new Utf8Validator().update("A" as unknown as Uint8Array), TypeError);
});

Deno.test("utf8: long ASCII runs (word loop) at every alignment, with one bad or multi-byte char", () => {
  const multi = [hex("c3 a9"), hex("e2 82 ac"), hex("f0 9f 8e 89"), hex("ef bb bf")];
  for (let offset = 0; offset < 4; offset++) {
    for (const n of [15, 16, 17, 31, 32, 47, 48, 49, 50, 63, 64, 65, 100, 127, 128, 129]) {
      for (const tail of [0, 1, 3, 40, 41]) {
        for (let pos = 0; pos < n; pos += pos < 20 || pos > n - 20 ? 1 : 7) {
          const buf = new Uint8Array(offset + n + tail).fill(0xff);
          buf.fill(0x61, offset, offset + n + tail);
          const range = [offset, offset + n + tail] as const;
          assert.ok(isValidUtf8(buf, ...range));
          buf[offset + pos] = 0x80;
          assert.equal(isValidUtf8(buf, ...range), false, `${offset} ${n} ${tail} ${pos}: 80`);
          assert.equal(failAt(buf.subarray(...range)), pos);
          buf[offset + pos] = 0x7f;
          assert.ok(isValidUtf8(buf, ...range));
          // A whole multi-byte char after the run, then ASCII again.
          const m = multi[pos % multi.length]!;
          const withChar = concat([
            new Uint8Array(offset),
            buf.subarray(offset, offset + pos),
            m,
            buf.subarray(offset + pos, offset + n + tail),
          ]);
          assert.ok(isValidUtf8(withChar, offset), `${offset} ${n} ${tail} ${pos}: char`);
          // The same char cut short by the end of the range, or by the next byte.
          const end = offset + pos + m.length - 1;
          assert.equal(isValidUtf8(withChar, offset, end), false);
          const v = new Utf8Validator();
          assert.ok(v.update(withChar, offset, end));
          assert.equal(v.finish(), false);
          assert.ok(v.update(withChar, end));
          assert.ok(v.finish());
        }
      }
    }
  }
});

Deno.test("utf8: 1 MiB buffers, one bad byte anywhere", () => {
  const big = new Uint8Array(1 << 20).fill(0x20);
  assert.ok(isValidUtf8(big));
  for (
    const pos of [0, 1, 2, 3, 4, 5, 4095, 4096, 65537, (1 << 19) + 3, (1 << 20) - 5, (1 << 20) - 1]
  ) {
    big[pos] = 0xc0;
    assert.equal(isValidUtf8(big), false, `at ${pos}`);
    const v = new Utf8Validator();
    assert.ok(v.update(big, 0, pos));
    assert.equal(v.update(big, pos), false);
    big[pos] = 0x20;
  }
  // Multi-byte text repeated to 1 MiB, fed in 1000-byte chunks (cuts inside code points).
  const unit = text("Grüße — 日本語 🎉 ok ");
  const mixed = new Uint8Array(unit.length * Math.ceil((1 << 20) / unit.length));
  for (let at = 0; at < mixed.length; at += unit.length) mixed.set(unit, at);
  assert.ok(isValidUtf8(mixed));
  const v = new Utf8Validator();
  for (let at = 0; at < mixed.length; at += 1000) {
    assert.ok(v.update(mixed, at, Math.min(mixed.length, at + 1000)));
  }
  assert.ok(v.finish());
});

Deno.test("utf8: views over other buffers (SharedArrayBuffer, odd lengths)", () => {
  const shared = new Uint8Array(new SharedArrayBuffer(203));
  shared.fill(0x41);
  assert.ok(isValidUtf8(shared, 1));
  shared[202] = 0xe2;
  assert.equal(isValidUtf8(shared, 3), false);
  const v = new Utf8Validator();
  assert.ok(v.update(shared, 5));
  assert.equal(v.finish(), false);
  assert.ok(v.update(hex("82 ac")) && v.finish());
});

Deno.test("utf8: a resizable buffer that grows between calls is read in full", () => {
  const buffer = new ArrayBuffer(256, { maxByteLength: 4096 });
  const bytes = new Uint8Array(buffer); // length-tracking
  bytes.fill(0x41);
  assert.ok(isValidUtf8(bytes));
  const v = new Utf8Validator();
  assert.ok(v.update(bytes));
  buffer.resize(4096);
  bytes.fill(0x41);
  bytes[3000] = 0xff;
  assert.equal(isValidUtf8(bytes), false);
  assert.equal(v.update(bytes, 256), false);
  buffer.resize(1024);
  assert.ok(isValidUtf8(bytes));
});

Deno.test("utf8: the fail-fast oracle (byte-by-byte streaming TextDecoder) is the prefix definition", () => {
  for (const [name, bytesHex] of AUTOBAHN) {
    const bytes = hex(bytesHex);
    assert.equal(oracleFailAt(bytes), oracleFailAtByPrefixes(bytes), name);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
      assert.equal(oracleFailAt(bytes), oracleFailAtByPrefixes(bytes));
    }),
    { numRuns: 300 },
  );
});

// ---- property-based ----

const asciiRun = fc.uint8Array({ max: 0x7f, maxLength: 160 });
const validText = fc.string({ unit: "binary", maxLength: 60 }).map(text);
const trickyByte = fc.constantFrom(
  0x00,
  0x7f,
  0x80,
  0x8f,
  0x90,
  0x9f,
  0xa0,
  0xbf,
  0xc0,
  0xc1,
  0xc2,
  0xdf,
  0xe0,
  0xe1,
  0xec,
  0xed,
  0xee,
  0xef,
  0xf0,
  0xf1,
  0xf3,
  0xf4,
  0xf5,
  0xf8,
  0xfe,
  0xff,
);
const segment = fc.oneof(
  { arbitrary: validText, weight: 4 },
  { arbitrary: asciiRun, weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) =>
      a.map((b) => 0x80 | (b & 0x3f))
    ),
    weight: 1,
  },
  {
    arbitrary: fc.array(trickyByte, { minLength: 1, maxLength: 5 }).map((a) => Uint8Array.from(a)),
    weight: 2,
  },
);
/** Mostly-valid byte strings with damage here and there. */
const message = fc.array(segment, { maxLength: 8 }).map(concat);
const anyBytes = fc.oneof(message, fc.uint8Array({ maxLength: 64 }));

Deno.test("utf8 property: isValidUtf8 agrees with a fatal TextDecoder", () => {
  fc.assert(
    fc.property(anyBytes, fc.nat({ max: 7 }), fc.nat({ max: 3 }), (bytes, offset, extra) => {
      const expected = oracleValid(bytes);
      assert.equal(isValidUtf8(bytes), expected);
      // Same bytes at an arbitrary offset, with garbage around the range.
      const padded = new Uint8Array(offset + bytes.length + extra).fill(0xff);
      padded.set(bytes, offset);
      assert.equal(isValidUtf8(padded, offset, offset + bytes.length), expected);
      assert.equal(isValidUtf8(padded.subarray(offset, offset + bytes.length)), expected);
    }),
    { numRuns: 1500 },
  );
});

Deno.test("utf8 property: incremental validation under arbitrary chunkings agrees", () => {
  fc.assert(
    fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 10 }), (bytes, rawCuts) => {
      const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const bounds = [0, ...cuts, bytes.length];
      const failIndex = oracleFailAt(bytes);
      const v = new Utf8Validator();
      let failedAtChunk = -1;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const ok = v.update(bytes, bounds[k], bounds[k + 1]);
        if (failedAtChunk >= 0) assert.equal(ok, false, "stays failed");
        else if (!ok) failedAtChunk = k;
      }
      assert.equal(v.finish(), oracleValid(bytes));
      if (failIndex < 0) {
        assert.equal(failedAtChunk, -1);
      } else {
        // The failing chunk is the one holding the first impossible byte.
        assert.ok(failedAtChunk >= 0);
        assert.ok(bounds[failedAtChunk]! <= failIndex && failIndex < bounds[failedAtChunk + 1]!);
      }
    }),
    { numRuns: 1500 },
  );
});

Deno.test("utf8 property: fails at exactly the first byte where a streaming TextDecoder throws", () => {
  fc.assert(
    fc.property(anyBytes, (bytes) => {
      assert.equal(failAt(bytes), oracleFailAt(bytes));
      // Incomplete at the end but never impossible: update true, finish false.
      if (oracleFailAt(bytes) < 0) assert.equal(incrementalValid(bytes), oracleValid(bytes));
    }),
    { numRuns: 1500 },
  );
});

Deno.test("utf8 property: valid text is accepted whole and split anywhere", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.string({ unit: "grapheme-ascii", minLength: 20, maxLength: 90 }),
        ),
        {
          maxLength: 6,
        },
      ),
      fc.nat(),
      (parts, rawCut) => {
        const bytes = text(parts.join(""));
        assert.ok(isValidUtf8(bytes));
        const cut = rawCut % (bytes.length + 1);
        const v = new Utf8Validator();
        assert.ok(v.update(bytes, 0, cut) && v.update(bytes, cut) && v.finish());
        // Cutting off the last byte of a multi-byte tail leaves it incomplete.
        const last = bytes.length - 1;
        if (last >= 0 && bytes[last]! >= 0x80) assert.equal(isValidUtf8(bytes, 0, last), false);
      },
    ),
    { numRuns: 1500 },
  );
});
