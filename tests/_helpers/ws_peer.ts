/**
 * Test peers for the managed client: a scripted raw WebSocket server (`startPeerServer`: it
 * performs the opening handshake with the library's core, then the test writes and reads
 * frames byte by byte, so it can misbehave at will) and an `npm:ws` server
 * (`startNodeServer`), both on 127.0.0.1.
 *
 * @module
 */

// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";
import { startWsServer, type WsConnection, type WsServer } from "./node_ws_server.ts";
import { buildServerResponse } from "../../src/core/handshake_response.ts";
import { validateClientRequest } from "../../src/core/handshake_request.ts";
import { type ParsedRequestHead, parseRequestHead } from "../../src/core/http1_request.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import type { Frame } from "../../src/core/frame.ts";

export { NodeWebSocket };

/** What a {@linkcode PeerServer} answers to the upgrade request. */
export interface PeerReply {
  /** The subprotocol to choose. */
  protocol?: string;
  /** The `Sec-WebSocket-Extensions` value to answer with. */
  extensions?: string;
  /** Extra response headers. */
  headers?: HeadersInit;
  /** Bytes written right after the 101 head, in the same write. */
  then?: Uint8Array;
  /** RSV bits the peer accepts on the client's frames (for extension tests). */
  allowedRsv?: number;
}

/** One upgraded connection, driven by the test. */
export class WsPeer {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** The client's upgrade request. */
  readonly request: ParsedRequestHead;
  readonly #decoder = new FrameDecoder({ role: "server", maxFrameSize: 1 << 30 });
  #closed = false;

  /**
   * Wraps an upgraded socket.
   *
   * @param conn The socket.
   * @param request The request head.
   * @param leftover Bytes read past the head.
   */
  constructor(
    conn: Deno.Conn,
    request: ParsedRequestHead,
    leftover: Uint8Array,
    allowedRsv = 0,
  ) {
    this.conn = conn;
    this.request = request;
    this.#decoder.allowedRsv = allowedRsv;
    this.#decoder.compressedRsv = allowedRsv;
    if (leftover.length > 0) this.#decoder.push(leftover);
  }

  /**
   * Writes bytes.
   *
   * @param bytes The bytes.
   */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /**
   * Writes one unmasked frame.
   *
   * @param frame The frame.
   * @param options `continuation` writes opcode 0; `maskKey` masks (a protocol error).
   */
  send(frame: Frame, options?: { continuation?: boolean; maskKey?: Uint8Array }): Promise<void> {
    return this.write(encodeFrame(frame, options));
  }

  /**
   * Reads the client's next frame (fragments as they come).
   *
   * @returns The frame, or `null` at end of stream (or on a reset).
   */
  async readFrame(): Promise<Frame | null> {
    while (true) {
      const frame = this.#decoder.next();
      if (frame !== null) return frame;
      const buf = new Uint8Array(64 * 1024);
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) return null;
      this.#decoder.push(buf.subarray(0, n));
    }
  }

  /**
   * Reads frames until one of `type` (skipping others), or `null` at end of stream.
   *
   * @param type The frame type wanted.
   * @returns The frame, or `null`.
   */
  async readUntil(type: Frame["type"]): Promise<Frame | null> {
    while (true) {
      const frame = await this.readFrame();
      if (frame === null || frame.type === type) return frame;
    }
  }

  /**
   * Reads until the client ends the stream.
   *
   * @returns The frames read.
   */
  async readToEnd(): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (let f = await this.readFrame(); f !== null; f = await this.readFrame()) frames.push(f);
    return frames;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** A raw TCP listener whose connections the test upgrades and drives. */
export class PeerServer implements AsyncDisposable {
  /** The listener. */
  readonly listener: Deno.Listener;
  readonly #peers = new Set<WsPeer | Deno.Conn>();
  #closed = false;

  /**
   * Listens on 127.0.0.1 (a free port), or on a unix socket.
   *
   * @param unixPath A unix socket path to listen on instead of TCP.
   */
  constructor(unixPath?: string) {
    this.listener = unixPath === undefined
      ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
      : Deno.listen({ transport: "unix", path: unixPath });
  }

  /** The TCP port (0 for a unix socket). */
  get port(): number {
    const addr = this.listener.addr;
    return addr.transport === "tcp" ? addr.port : 0;
  }

  /**
   * The URL of `path` on this server.
   *
   * @param path The path.
   * @returns `ws://127.0.0.1:<port><path>`.
   */
  url(path = "/"): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /**
   * Accepts a connection and reads its request head without answering.
   *
   * @returns The socket, the head, and the bytes after it.
   */
  async acceptHead(): Promise<{ conn: Deno.Conn; head: ParsedRequestHead; rest: Uint8Array }> {
    const conn = await this.listener.accept();
    this.#peers.add(conn);
    let buf = new Uint8Array(0);
    while (true) {
      const head = parseRequestHead(buf);
      if (head !== null) return { conn, head, rest: buf.slice(head.headLength) };
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("the client closed before the request head");
      const joined = new Uint8Array(buf.length + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.length);
      buf = joined;
    }
  }

  /**
   * Accepts a connection and upgrades it.
   *
   * @param reply What to put in the 101 response.
   * @returns The peer.
   */
  async accept(reply?: PeerReply): Promise<WsPeer> {
    const { conn, head, rest } = await this.acceptHead();
    const check = validateClientRequest(head);
    if (!check.ok) throw new Error(`bad upgrade request: ${check.reason}`);
    const response = buildServerResponse(check.key, {
      protocol: reply?.protocol,
      extensions: reply?.extensions,
      headers: reply?.headers,
    });
    const then = reply?.then ?? new Uint8Array(0);
    const out = new Uint8Array(response.length + then.length);
    out.set(response);
    out.set(then, response.length);
    const peer = new WsPeer(conn, head, rest, reply?.allowedRsv);
    this.#peers.delete(conn);
    this.#peers.add(peer);
    await peer.write(out);
    return peer;
  }

  /** Closes the listener and every connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#peers) {
      try {
        p.close();
      } catch {
        // Already closed.
      }
    }
    try {
      this.listener.close();
    } catch {
      // Already closed.
    }
  }

  /** {@linkcode PeerServer.close} for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Starts a raw peer server on 127.0.0.1 (or on a unix socket).
 *
 * @param unixPath A unix socket path.
 * @returns The server.
 */
export function startPeerServer(unixPath?: string): PeerServer {
  return new PeerServer(unixPath);
}

// The npm:ws server helper lives in node_ws_server.ts; these names are kept for the tests
// that import them from here.
export type { WsConnection as NodeConnection, WsServer as NodeServer };
export const startNodeServer: typeof startWsServer = startWsServer;

/**
 * The next `close` event of an `npm:ws` socket.
 *
 * @param socket The socket.
 * @returns The code and reason.
 */
export function nodeClose(socket: NodeWebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/**
 * Starts an echo server (`npm:ws`): every message is sent back as it came.
 *
 * @returns The server.
 */
export async function startNodeEcho(): Promise<WsServer> {
  const server = await startNodeServer();
  server.wss.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  return server;
}
