/**
 * The neutral side of the benchmarks: a minimal WebSocket codec written for the harness alone
 * (not wirestream's core), so that the load generator and the neutral server treat every
 * implementation alike. Frames are pre-encoded once; incoming bytes are scanned in place.
 *
 * @module
 */

/** Opcodes the harness uses. */
export const OP_TEXT = 1;
/** Binary frame. */
export const OP_BINARY = 2;
/** Close frame. */
export const OP_CLOSE = 8;
/** Ping frame. */
export const OP_PING = 9;
/** Pong frame. */
export const OP_PONG = 10;

/** The fixed masking key of pre-encoded client frames (servers do not check keys). */
export const MASK_KEY: Uint8Array = new Uint8Array([0x5a, 0x13, 0xc7, 0x2e]);

/** The size of a frame header for a payload of `length` bytes. */
export function headerSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header into `out` at `at`; returns the offset after it.
 *
 * @param out The buffer.
 * @param at Where the header starts.
 * @param opcode The opcode (FIN is always set).
 * @param length The payload length.
 * @param maskKey The masking key, or `null` for an unmasked frame.
 */
export function writeHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  length: number,
  maskKey: Uint8Array | null,
): number {
  out[at++] = 0x80 | opcode;
  const m = maskKey !== null ? 0x80 : 0;
  if (length < 126) {
    out[at++] = m | length;
  } else if (length < 65536) {
    out[at++] = m | 126;
    out[at++] = length >>> 8;
    out[at++] = length & 0xff;
  } else {
    out[at++] = m | 127;
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = (length >>> 24) & 0xff;
    out[at++] = (length >>> 16) & 0xff;
    out[at++] = (length >>> 8) & 0xff;
    out[at++] = length & 0xff;
  }
  if (maskKey !== null) {
    out.set(maskKey, at);
    at += 4;
  }
  return at;
}

/**
 * Encodes `count` copies of one frame back to back.
 *
 * @param opcode The opcode.
 * @param payload The payload.
 * @param masked Whether to mask (client to server).
 * @param count How many copies.
 */
export function encodeFrames(
  opcode: number,
  payload: Uint8Array,
  masked: boolean,
  count = 1,
): Uint8Array {
  const size = headerSize(payload.length, masked) + payload.length;
  const out = new Uint8Array(size * count);
  const key = masked ? MASK_KEY : null;
  let at = writeHeader(out, 0, opcode, payload.length, key);
  out.set(payload, at);
  if (key !== null) {
    for (let i = 0; i < payload.length; i++) out[at + i]! ^= key[i & 3]!;
  }
  at += payload.length;
  for (let c = 1; c < count; c++) out.copyWithin(c * size, 0, size);
  return out;
}

/** Encodes one frame. */
export function encodeFrame(opcode: number, payload: Uint8Array, masked: boolean): Uint8Array {
  return encodeFrames(opcode, payload, masked, 1);
}

/** What a {@linkcode FrameScanner} reports. */
export interface ScanEvents {
  /** A frame header was read. */
  onHeader?(opcode: number, length: number, maskKey: Uint8Array | null): void;
  /** Payload bytes of the current frame (a view; valid during the call). */
  onPayload?(chunk: Uint8Array, offset: number): void;
  /** A frame ended; `text` holds the payload of a text or close frame of at most 125 bytes. */
  onFrame?(opcode: number, length: number, text: string | null): void;
}

const DECODER = new TextDecoder();

/**
 * Walks frames across arbitrary read boundaries without copying payloads. Counts frames and
 * payload bytes; small text and close payloads are collected (unmasked) for acknowledgements.
 */
export class FrameScanner {
  /** Frames completed so far. */
  frames = 0;
  /** Data frames (text or binary) completed so far. */
  dataFrames = 0;
  /** Payload bytes seen so far. */
  payloadBytes = 0;
  readonly #events: ScanEvents;
  readonly #head = new Uint8Array(14);
  #headLen = 0;
  #remaining = -1;
  #length = 0;
  #opcode = 0;
  #key: Uint8Array | null = null;
  readonly #keyBuf = new Uint8Array(4);
  #small: Uint8Array | null = null;
  #smallLen = 0;

  /** @param events The callbacks. */
  constructor(events: ScanEvents = {}) {
    this.#events = events;
  }

  /** Scans `buf[start, end)`. */
  scan(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      if (this.#remaining < 0) {
        // Collect the header.
        const head = this.#head;
        if (this.#headLen === 0 && end - i >= 14) {
          i = this.#parseHeader(buf, i);
        } else {
          while (i < end && this.#headLen < 2) head[this.#headLen++] = buf[i++]!;
          if (this.#headLen < 2) return;
          const need = headerSize(
            (head[1]! & 0x7f) === 127 ? 65536 : (head[1]! & 0x7f) === 126 ? 126 : 0,
            (head[1]! & 0x80) !== 0,
          );
          while (i < end && this.#headLen < need) head[this.#headLen++] = buf[i++]!;
          if (this.#headLen < need) return;
          this.#parseHeader(head, 0);
          this.#headLen = 0;
        }
        if (this.#remaining === 0) this.#endFrame();
        continue;
      }
      const take = Math.min(this.#remaining, end - i);
      const offset = this.#length - this.#remaining;
      if (this.#small !== null) {
        for (let k = 0; k < take; k++) {
          const b = buf[i + k]!;
          this.#small[this.#smallLen++] = this.#key !== null ? b ^ this.#key[(offset + k) & 3]! : b;
        }
      }
      this.#events.onPayload?.(buf.subarray(i, i + take), offset);
      this.payloadBytes += take;
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  #parseHeader(b: Uint8Array, at: number): number {
    this.#opcode = b[at]! & 0x0f;
    const b1 = b[at + 1]!;
    let len = b1 & 0x7f;
    at += 2;
    if (len === 126) {
      len = (b[at]! << 8) | b[at + 1]!;
      at += 2;
    } else if (len === 127) {
      len = (b[at + 4]! * 0x1000000) + ((b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!);
      at += 8;
    }
    if ((b1 & 0x80) !== 0) {
      const key = this.#keyBuf;
      key[0] = b[at]!;
      key[1] = b[at + 1]!;
      key[2] = b[at + 2]!;
      key[3] = b[at + 3]!;
      this.#key = key;
      at += 4;
    } else {
      this.#key = null;
    }
    this.#length = len;
    this.#remaining = len;
    const op = this.#opcode;
    this.#small = (op === OP_TEXT || op === OP_CLOSE) && len <= 125 ? new Uint8Array(len) : null;
    this.#smallLen = 0;
    this.#events.onHeader?.(op, len, this.#key);
    return at;
  }

  #endFrame(): void {
    const op = this.#opcode;
    this.frames++;
    if (op === OP_TEXT || op === OP_BINARY || op === 0) this.dataFrames++;
    const text = this.#small !== null ? DECODER.decode(this.#small) : null;
    this.#small = null;
    this.#remaining = -1;
    this.#events.onFrame?.(op, this.#length, text);
  }
}

/** A socket as the harness uses it. */
export type Conn = Deno.TcpConn;

/**
 * Writes all of `p`.
 *
 * @param conn The socket.
 * @param p The bytes.
 */
export async function writeAll(conn: Conn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await conn.write(off === 0 ? p : p.subarray(off));
}

/** The offset just past the first `\r\n\r\n` in `buf[0, len)`, or -1. */
export function headEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** An HTTP head read off a socket, and what followed it. */
export interface Head {
  /** The head as text. */
  text: string;
  /** Bytes read past the head. */
  leftover: Uint8Array;
}

/**
 * Reads an HTTP head (at most 8 KiB).
 *
 * @param conn The socket.
 * @returns The head, or `null` at end of stream.
 */
export async function readHead(conn: Conn): Promise<Head | null> {
  const buf = new Uint8Array(8192);
  let len = 0;
  while (len < buf.length) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) return null;
    len += n;
    const end = headEnd(buf, len);
    if (end >= 0) {
      return { text: DECODER.decode(buf.subarray(0, end)), leftover: buf.slice(end, len) };
    }
  }
  throw new Error("HTTP head larger than 8 KiB");
}

const ENCODER = new TextEncoder();

/**
 * Connects and upgrades to WebSocket with a fixed key (the accept value is not checked: the
 * harness trusts loopback servers under test to answer correctly, and checks the status).
 *
 * @param port The server's port.
 * @param path The request path.
 * @returns The socket and the bytes read past the 101 head.
 */
export async function connectWs(
  port: number,
  path: string,
): Promise<{ conn: Conn; leftover: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  await writeAll(
    conn,
    ENCODER.encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  const head = await readHead(conn);
  if (head === null || !head.text.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`upgrade refused: ${head?.text.split("\r\n")[0] ?? "end of stream"}`);
  }
  return { conn, leftover: head.leftover };
}

/**
 * The `Sec-WebSocket-Accept` value for `key`.
 *
 * @param key The client's key.
 */
export async function acceptValue(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    ENCODER.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * Answers an upgrade request on a raw socket (the neutral server's handshake).
 *
 * @param conn The accepted socket.
 * @returns The bytes read past the request head, or `null` if the request was no upgrade.
 */
export async function acceptWs(conn: Conn): Promise<Uint8Array | null> {
  const head = await readHead(conn);
  if (head === null) return null;
  const match = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.text);
  if (match === null) {
    await writeAll(conn, ENCODER.encode("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
    return null;
  }
  const accept = await acceptValue(match[1]!);
  await writeAll(
    conn,
    ENCODER.encode(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ),
  );
  return head.leftover;
}
