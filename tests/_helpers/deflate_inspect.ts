/**
 * A small RFC 1951 (DEFLATE) decoder for tests: it inflates a raw deflate stream and reports the
 * largest back-reference distance used, so a test can check that a compressor stayed within the
 * LZ77 window it agreed to (RFC 7692 §7.1.2), whatever the inflater it talks to tolerates.
 *
 * Written for clarity, not speed: use it on test-sized inputs only.
 *
 * @module
 */

/** What {@linkcode inspectDeflate} found. */
export interface DeflateInspection {
  /** The decompressed bytes. */
  output: Uint8Array;
  /** The largest match distance in the stream (0 when it has no matches). */
  maxDistance: number;
  /** How many blocks were read. */
  blocks: number;
  /** Whether a block with BFINAL was read. */
  final: boolean;
}

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEN_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function huffman(lengths: ArrayLike<number>): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]!]!++;
  counts[0] = 0;
  const offsets = new Uint16Array(16);
  for (let i = 1; i < 16; i++) offsets[i] = offsets[i - 1]! + counts[i - 1]!;
  const symbols = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i]) symbols[offsets[lengths[i]!]!++] = i;
  }
  return { counts, symbols };
}

const FIXED_LITERALS = huffman(
  Array.from({ length: 288 }, (_, i) => i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8),
);
const FIXED_DISTANCES = huffman(new Array(30).fill(5));

/**
 * Inflates a raw DEFLATE stream (a sync-flushed stream may end without a final block) and
 * reports the largest match distance.
 *
 * @param data The compressed bytes.
 * @returns The output and what the stream used.
 * @throws {RangeError} On a malformed stream.
 */
export function inspectDeflate(data: Uint8Array): DeflateInspection {
  let pos = 0;
  let bitBuf = 0;
  let bitCount = 0;
  const out: number[] = [];
  let maxDistance = 0;
  let blocks = 0;
  let final = false;
  const bits = (n: number): number => {
    while (bitCount < n) {
      if (pos >= data.length) throw new RangeError("Unexpected end of DEFLATE data");
      bitBuf |= data[pos++]! << bitCount;
      bitCount += 8;
    }
    const value = bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCount -= n;
    return value;
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.counts[len]!;
      if (code - count < first) return h.symbols[index + (code - first)]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new RangeError("Invalid Huffman code");
  };
  while (!final && (pos < data.length || bitCount >= 3)) {
    final = bits(1) === 1;
    const type = bits(2);
    blocks++;
    if (type === 0) {
      bitBuf = 0;
      bitCount = 0;
      // RFC 7692 §7.2.1: a message ends with the header of an empty stored block whose
      // LEN/NLEN (00 00 ff ff) were removed.
      if (pos === data.length) break;
      if (pos + 4 > data.length) throw new RangeError("Unexpected end of stored block");
      const len = data[pos]! | (data[pos + 1]! << 8);
      const nlen = data[pos + 2]! | (data[pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new RangeError("Stored block length mismatch");
      pos += 4;
      if (pos + len > data.length) throw new RangeError("Unexpected end of stored block");
      for (let i = 0; i < len; i++) out.push(data[pos++]!);
      continue;
    }
    if (type === 3) throw new RangeError("Invalid block type");
    let literals = FIXED_LITERALS;
    let distances = FIXED_DISTANCES;
    if (type === 2) {
      const hlit = bits(5) + 257;
      const hdist = bits(5) + 1;
      const hclen = bits(4) + 4;
      const codeLengths = new Array(19).fill(0);
      for (let i = 0; i < hclen; i++) codeLengths[CODE_LENGTH_ORDER[i]!] = bits(3);
      const lengthCode = huffman(codeLengths);
      const lengths: number[] = [];
      while (lengths.length < hlit + hdist) {
        const sym = decode(lengthCode);
        if (sym < 16) lengths.push(sym);
        else if (sym === 16) {
          const previous = lengths[lengths.length - 1];
          if (previous === undefined) throw new RangeError("Repeat with no previous length");
          for (let r = 3 + bits(2); r > 0; r--) lengths.push(previous);
        } else if (sym === 17) { for (let r = 3 + bits(3); r > 0; r--) lengths.push(0); }
        else for (let r = 11 + bits(7); r > 0; r--) lengths.push(0);
      }
      literals = huffman(lengths.slice(0, hlit));
      distances = huffman(lengths.slice(hlit));
    }
    for (;;) {
      const sym = decode(literals);
      if (sym < 256) out.push(sym);
      else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw new RangeError("Invalid length symbol");
        const length = LEN_BASE[li]! + bits(LEN_EXTRA[li]!);
        const di = decode(distances);
        if (di >= 30) throw new RangeError("Invalid distance symbol");
        const distance = DIST_BASE[di]! + bits(DIST_EXTRA[di]!);
        if (distance > out.length) throw new RangeError("Distance too far back");
        if (distance > maxDistance) maxDistance = distance;
        for (let i = 0; i < length; i++) out.push(out[out.length - distance]!);
      }
    }
  }
  return { output: Uint8Array.from(out), maxDistance, blocks, final };
}
