/**
 * A synchronous SHA-1 (FIPS 180-4 §6.1), for `Sec-WebSocket-Accept`: the opening handshake hashes
 * 60 bytes per connection, which WebCrypto's asynchronous `digest` makes far costlier than the
 * hashing itself. SHA-1 is not collision resistant; the handshake does not rely on it being so.
 *
 * No allocation per call besides the result (none when `out` is given): the message schedule
 * and the padded last blocks live in buffers shared by every call.
 *
 * @module
 */

/** The message schedule W0…W79 (FIPS 180-4 §6.1.2 step 1). */
const W = new Int32Array(80);
/** The last one or two blocks, padded (§5.1.1). */
const TAIL = new Uint8Array(128);
/** The hash value H0…H4 between blocks. */
const H = new Int32Array(5);

/**
 * Runs the compression function over the 64-byte block at `offset` of `block`, updating `H`.
 */
function compress(block: Uint8Array, offset: number): void {
  const w = W;
  for (let t = 0; t < 16; t++) {
    const i = offset + 4 * t;
    w[t] = (block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!;
  }
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let t = 0;
  // Ch(x, y, z) = (x AND y) XOR (NOT x AND z), written as z XOR (x AND (y XOR z)).
  for (; t < 20; t++) {
    const temp = (((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + e + 0x5a827999 + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  // Parity(x, y, z) = x XOR y XOR z.
  for (; t < 40; t++) {
    const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  // Maj(x, y, z) = (x AND y) XOR (x AND z) XOR (y AND z), written as (x AND y) OR (z AND (x OR y)).
  for (; t < 60; t++) {
    const temp = (((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + e + 0x8f1bbcdc + w[t]!) |
      0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  for (; t < 80; t++) {
    const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0xca62c1d6 + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  H[0] = H[0]! + a;
  H[1] = H[1]! + b;
  H[2] = H[2]! + c;
  H[3] = H[3]! + d;
  H[4] = H[4]! + e;
}

/**
 * @internal The SHA-1 digest of `data`, computed synchronously.
 *
 * @example
 * ```ts
 * import { sha1 } from "./sha1.ts";
 *
 * const digest = sha1(new TextEncoder().encode("abc"));
 * console.log(digest.length, digest[0]); // 20 169
 * ```
 *
 * @param data The message.
 * @param out Where to write the 20-byte digest (at index 0); a new array when absent.
 * @returns The digest: `out`, or the new array.
 * @throws {TypeError} When `data` or `out` is not a `Uint8Array`.
 * @throws {RangeError} When `out` holds fewer than 20 bytes.
 */
export function sha1(data: Uint8Array, out?: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  if (out === undefined) out = new Uint8Array(20);
  else if (!(out instanceof Uint8Array)) throw new TypeError("out must be a Uint8Array");
  else if (out.length < 20) throw new RangeError("out must hold at least 20 bytes");
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0 | 0;
  const length = data.length;
  const full = length - (length % 64);
  for (let offset = 0; offset < full; offset += 64) compress(data, offset);
  // Padding (§5.1.1): the rest, a 1 bit, zeros, and the length in bits as a 64-bit big-endian
  // integer, filling one block when the rest is at most 55 bytes, else two.
  const rest = length - full;
  const tailLength = rest < 56 ? 64 : 128;
  const tail = TAIL;
  for (let i = 0; i < rest; i++) tail[i] = data[full + i]!;
  tail[rest] = 0x80;
  tail.fill(0, rest + 1, tailLength - 8);
  // The bit length is 8 × length; length < 2^53, so the high word is floor(length / 2^29).
  const high = Math.floor(length / 0x20000000);
  const low = (length << 3) >>> 0;
  tail[tailLength - 8] = high >>> 24;
  tail[tailLength - 7] = high >>> 16;
  tail[tailLength - 6] = high >>> 8;
  tail[tailLength - 5] = high;
  tail[tailLength - 4] = low >>> 24;
  tail[tailLength - 3] = low >>> 16;
  tail[tailLength - 2] = low >>> 8;
  tail[tailLength - 1] = low;
  compress(tail, 0);
  if (tailLength === 128) compress(tail, 64);
  for (let i = 0; i < 5; i++) {
    const h = H[i]!;
    out[4 * i] = h >>> 24;
    out[4 * i + 1] = h >>> 16;
    out[4 * i + 2] = h >>> 8;
    out[4 * i + 3] = h;
  }
  return out;
}
