/**
 * The conformance peer's own frame codec, written independently of `src/core` so that the suite
 * does not check the library with the library: it encodes any frame (any opcode, RSV bits, FIN,
 * a wrong length, masked or not) and parses whatever the library sends without judging it, so
 * that a verdict can be formed about every byte.
 *
 * @module
 */

/** Wire opcodes. */
export const Op = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

const utf8 = new TextEncoder();

/** Bytes of a string (UTF-8) or the bytes themselves. */
export function toBytes(data: string | Uint8Array | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === "string" ? utf8.encode(data) : data;
}

/** A frame as the peer writes it. */
export interface FrameSpec {
  /** The opcode, 0-15 (reserved ones too). */
  opcode: number;
  /** The payload. */
  payload?: string | Uint8Array;
  /** FIN. Default true. */
  fin?: boolean;
  /** The RSV bits as a number 0-7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). Default 0. */
  rsv?: number;
  /**
   * Whether to mask: by default a client masks (with a random key) and a server does not. A
   * key masks with that key.
   */
  mask?: boolean | Uint8Array;
}

/** A frame as the peer read it. */
export interface WireFrame {
  fin: boolean;
  /** RSV bits as a number 0-7 (RSV1 = 4). */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The unmasked payload. */
  payload: Uint8Array;
}

/**
 * Encodes one frame exactly as specified (RFC 6455 §5.2 layout, minimal length encoding).
 *
 * @param spec The frame.
 * @param client Whether the peer is a client (masks by default).
 */
export function encodeWire(spec: FrameSpec, client: boolean): Uint8Array {
  const payload = toBytes(spec.payload);
  const n = payload.length;
  const maskOption = spec.mask ?? client;
  const key = maskOption === false
    ? null
    : maskOption === true
    ? crypto.getRandomValues(new Uint8Array(4))
    : maskOption;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = 2 + lenBytes + (key ? 4 : 0);
  const out = new Uint8Array(head + n);
  out[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 | (spec.opcode & 0xf);
  const maskBit = key ? 0x80 : 0;
  if (lenBytes === 0) {
    out[1] = maskBit | n;
  } else if (lenBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = maskBit | 127;
    const view = new DataView(out.buffer);
    view.setUint32(2, Math.floor(n / 2 ** 32));
    view.setUint32(6, n >>> 0);
  }
  if (key) {
    out.set(key, head - 4);
    for (let i = 0; i < n; i++) out[head + i] = payload[i]! ^ key[i & 3]!;
  } else {
    out.set(payload, head);
  }
  return out;
}

/**
 * Parses frames out of a byte stream without validating them (any opcode, RSV bits, masking,
 * control frame size). Only a 64-bit length with the top bit set, or a frame larger than
 * `maxFrame`, stops it (`error` is set).
 */
export class WireParser {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** Why parsing stopped, if it did. */
  error: string | null = null;
  readonly maxFrame: number;

  constructor(maxFrame = 1 << 30) {
    this.maxFrame = maxFrame;
  }

  /** Bytes received but not parsed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends received bytes (copied). */
  push(chunk: Uint8Array): void {
    const have = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (have + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(have + chunk.length, this.#buf.length * 2, 4096));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = have;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** The next complete frame, or `null`. */
  next(): WireFrame | null {
    if (this.error !== null) return null;
    const b = this.#buf;
    const p = this.#start;
    const avail = this.#end - p;
    if (avail < 2) return null;
    const b0 = b[p]!;
    const b1 = b[p + 1]!;
    const masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (avail < 4) return null;
      len = (b[p + 2]! << 8) | b[p + 3]!;
      head = 4;
    } else if (len === 127) {
      if (avail < 10) return null;
      const view = new DataView(b.buffer, b.byteOffset + p + 2, 8);
      const hi = view.getUint32(0);
      if (hi >= 0x80000000) {
        this.error = "64-bit length with the top bit set";
        return null;
      }
      len = hi * 2 ** 32 + view.getUint32(4);
      head = 10;
    }
    if (len > this.maxFrame) {
      this.error = `frame of ${len} bytes is over the peer's limit`;
      return null;
    }
    const keyAt = p + head;
    if (masked) head += 4;
    if (avail < head + len) return null;
    const payload = b.slice(p + head, p + head + len);
    if (masked) {
      for (let i = 0; i < len; i++) payload[i]! ^= b[keyAt + (i & 3)]!;
    }
    this.#start = p + head + len;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0xf,
      masked,
      payload,
    };
  }
}

/** A close frame payload: a 2-byte code and a reason (either may be absent). */
export function closePayload(code?: number, reason?: string | Uint8Array): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const r = toBytes(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** 32-bit FNV-1a of `data` (a cheap fingerprint for comparing large echoed payloads). */
export function fingerprint(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hex of at most `max` bytes, for reports. */
export function hex(data: Uint8Array, max = 24): string {
  let s = "";
  for (let i = 0; i < Math.min(data.length, max); i++) s += data[i]!.toString(16).padStart(2, "0");
  return data.length > max ? `${s}…(${data.length} bytes)` : s;
}
