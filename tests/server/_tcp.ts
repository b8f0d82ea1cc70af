/**
 * A raw TCP client for server tests: write any bytes, read the raw reply, parse a response head.
 *
 * @module
 */

import { parseResponseHead } from "../../src/core/http1_response.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import type { Frame } from "../../src/core/frame.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A valid key. */
export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A reply read to the end of the connection. */
export interface RawReply {
  status: number;
  headers: Headers;
  body: string;
  /** Everything read, head included. */
  text: string;
}

/**
 * Builds an upgrade request head.
 *
 * @param path The target.
 * @param port The port (for Host).
 * @param extra Extra header lines, or `null` values to drop standard ones by name.
 */
export function upgradeRequest(
  path: string,
  port: number,
  extra: Record<string, string | null> = {},
  method = "GET",
  version = "HTTP/1.1",
): string {
  const fields: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
    ...extra,
  };
  let head = `${method} ${path} ${version}\r\n`;
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null) head += `${name}: ${value}\r\n`;
  }
  return head + "\r\n";
}

/**
 * Sends `request` and reads one response: to the end of its `Content-Length` body or chunked
 * body, or until the server closes the connection.
 */
export async function exchange(port: number, request: string | Uint8Array): Promise<RawReply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await write(conn, request);
    const bytes = await readResponse(conn);
    return parseReply(bytes);
  } finally {
    conn.close();
  }
}

/** Reads one response (see {@linkcode exchange}). */
export async function readResponse(conn: Deno.Conn): Promise<Uint8Array> {
  let got = new Uint8Array(0);
  const buf = new Uint8Array(8192);
  while (true) {
    const head = parseResponseHead(got);
    if (head !== null) {
      const length = head.headers.get("content-length");
      const body = got.length - head.headLength;
      if (length !== null && body >= Number(length)) return got;
      if (
        head.headers.get("transfer-encoding") === "chunked" &&
        decoder.decode(got.subarray(head.headLength)).endsWith("0\r\n\r\n")
      ) return got;
    }
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      return got;
    }
    if (n === null) return got;
    const joined = new Uint8Array(got.length + n);
    joined.set(got);
    joined.set(buf.subarray(0, n), got.length);
    got = joined;
  }
}

/** Writes all of `data`. */
export async function write(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Reads until end of stream (or a reset, which ends it too). */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(8192);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      break;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Parses a reply read in full. */
export function parseReply(bytes: Uint8Array): RawReply {
  const head = parseResponseHead(bytes);
  const text = decoder.decode(bytes);
  if (head === null) return { status: 0, headers: new Headers(), body: "", text };
  return {
    status: head.status,
    headers: head.headers,
    body: decoder.decode(bytes.subarray(head.headLength)),
    text,
  };
}

/** A raw WebSocket peer over a TCP connection, after a 101 it read itself. */
export class RawPeer {
  readonly conn: Deno.Conn;
  readonly decoder = new FrameDecoder({ role: "client", maxFrameSize: 64 * 1024 * 1024 });
  #buf = new Uint8Array(65536);

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /**
   * Connects, sends an upgrade request and reads the 101 head; bytes after it go to the decoder.
   */
  static async open(
    port: number,
    path = "/",
    extra: Record<string, string | null> = {},
  ): Promise<{ peer: RawPeer; status: number; headers: Headers }> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new RawPeer(conn);
    await write(conn, upgradeRequest(path, port, extra));
    let got = new Uint8Array(0);
    while (true) {
      const head = parseResponseHead(got);
      if (head !== null) {
        if (got.length > head.headLength) peer.decoder.push(got.slice(head.headLength));
        return { peer, status: head.status, headers: head.headers };
      }
      const n = await conn.read(peer.#buf);
      if (n === null) throw new Error("EOF before the response head");
      const joined = new Uint8Array(got.length + n);
      joined.set(got);
      joined.set(peer.#buf.subarray(0, n), got.length);
      got = joined;
    }
  }

  /** Sends a frame, masked as a client must (a fixed key), or unmasked. */
  send(frame: Frame, options: { mask?: boolean; continuation?: boolean } = {}): Promise<void> {
    const maskKey = options.mask === false ? undefined : new Uint8Array([1, 2, 3, 4]);
    return write(this.conn, encodeFrame(frame, { maskKey, continuation: options.continuation }));
  }

  /** The next frame, or `null` at end of stream. */
  async next(): Promise<Frame | null> {
    while (true) {
      const frame = this.decoder.next();
      if (frame !== null) return frame;
      let n: number | null;
      try {
        n = await this.conn.read(this.#buf);
      } catch {
        return null;
      }
      if (n === null) return null;
      this.decoder.push(this.#buf.slice(0, n));
    }
  }

  /** Whether the server ended the connection (reads to the end, dropping frames). */
  async ended(): Promise<boolean> {
    while ((await this.next()) !== null) {
      // drop
    }
    return true;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}
