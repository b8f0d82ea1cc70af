import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { sha1 } from "../../src/core/sha1.ts";
import { computeAccept, WEBSOCKET_GUID } from "../../src/core/handshake_key.ts";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function reference(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-1", bytes.slice()));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

// FIPS 180 / RFC 3174 §7.3 test vectors.
const VECTORS: [string, Uint8Array, string][] = [
  ["empty", new Uint8Array(0), "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
  ["abc", ascii("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d"],
  [
    "448-bit message",
    ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  ],
  [
    "896-bit message",
    ascii(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq" +
        "klmnopqrlmnopqrsmnopqrstnopqrstu",
    ),
    "a49b2446a02c645bf419f995b67091253a04a259",
  ],
  ["a million a", new Uint8Array(1_000_000).fill(0x61), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"],
];

for (const [name, message, digest] of VECTORS) {
  Deno.test(`sha1 gives the FIPS 180 digest: ${name}`, () => {
    assert.equal(hex(sha1(message)), digest);
  });
}

Deno.test("sha1 agrees with the test vectors when calls are interleaved", () => {
  // The shared state must be reset by every call.
  for (let round = 0; round < 3; round++) {
    for (const [, message, digest] of VECTORS.slice(0, 4)) assert.equal(hex(sha1(message)), digest);
  }
});

Deno.test("sha1 writes into out and returns it", () => {
  const out = new Uint8Array(24).fill(0xee);
  assert.equal(sha1(ascii("abc"), out), out);
  assert.equal(hex(out.subarray(0, 20)), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.deepEqual([...out.subarray(20)], [0xee, 0xee, 0xee, 0xee]);
});

Deno.test("sha1 returns a fresh array without out", () => {
  const a = sha1(ascii("abc"));
  const b = sha1(ascii("abc"));
  assert.notEqual(a, b);
  assert.deepEqual(a, b);
  assert.equal(a.length, 20);
});

Deno.test("sha1 hashes a view at an offset of its buffer", () => {
  const buffer = new Uint8Array(200).map((_, i) => i * 7);
  for (const [start, end] of [[1, 4], [3, 67], [5, 200], [64, 128]] as const) {
    const view = buffer.subarray(start, end);
    assert.deepEqual(sha1(view), sha1(view.slice()));
  }
  const view = new Uint8Array(ascii("xxabc").buffer, 2);
  assert.equal(hex(sha1(view)), "a9993e364706816aba3e25717850c26c9cd0d89d");
});

Deno.test("sha1 rejects bad arguments", () => {
  assert.throws(() => sha1("abc" as unknown as Uint8Array), TypeError);
  assert.throws(() => sha1([1, 2, 3] as unknown as Uint8Array), TypeError);
  assert.throws(() => sha1(new Uint8Array(1), [] as unknown as Uint8Array), TypeError);
  assert.throws(() => sha1(new Uint8Array(1), new Uint8Array(19)), RangeError);
});

Deno.test("sha1 equals WebCrypto's SHA-1 around every block boundary", async () => {
  const lengths = [0, 1, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 121, 127, 128, 129, 183, 184];
  for (const length of lengths) {
    const message = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
    assert.equal(hex(sha1(message)), hex(await reference(message)), `length ${length}`);
  }
});

Deno.test("sha1 equals WebCrypto's SHA-1 for any bytes up to 300 long", async () => {
  const boundary = fc.constantFrom(0, 55, 56, 63, 64, 119, 120, 183, 184, 300).chain((length) =>
    fc.uint8Array({ minLength: length, maxLength: length })
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 300 }), boundary),
      async (bytes) => {
        assert.equal(hex(sha1(bytes)), hex(await reference(bytes)));
      },
    ),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------
// Sec-WebSocket-Accept

Deno.test("computeAccept gives the RFC 6455 §1.3 value", () => {
  assert.equal(computeAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("computeAccept throws on a non-string key", () => {
  assert.throws(() => computeAccept(undefined as unknown as string), TypeError);
  assert.throws(() => computeAccept(1 as unknown as string), TypeError);
});

Deno.test("computeAccept hashes the key's UTF-8 bytes, whatever the key", async () => {
  const expected = async (key: string) =>
    base64(await reference(new TextEncoder().encode(key + WEBSOCKET_GUID)));
  const keys = ["", "a", "é", "\u{1f600}", "x".repeat(500), "ü".repeat(40), "\ud800"];
  for (const key of keys) assert.equal(computeAccept(key), await expected(key), key);
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "binary", maxLength: 80 }), async (key) => {
      assert.equal(computeAccept(key), await expected(key));
    }),
    { numRuns: 300 },
  );
});
