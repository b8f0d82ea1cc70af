/**
 * A crafted raw TCP (or TLS, or unix socket) server for client tests: it accepts connections,
 * reads the HTTP request head, and lets the test script every byte of the reply (a correct or
 * broken 101, a non-101 with a body, garbage, silence, half a head), then frames, and read the
 * client's frames back.
 *
 * @module
 */

import { computeAccept } from "../../src/core/handshake_key.ts";
import { type ParsedRequestHead, parseRequestHead } from "../../src/core/http1_request.ts";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import type { Frame } from "../../src/core/frame.ts";

const encoder = new TextEncoder();

/** Bytes from a string (UTF-8) or the bytes themselves. */
export function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Options of {@linkcode RawServer.start}. */
export interface RawServerOptions {
  /** Serve TLS with this certificate chain and key. */
  tls?: { cert: string; key: string };
  /** Listen on this unix socket path instead of TCP. */
  unixPath?: string;
}

/** What {@linkcode RawPeer.upgrade} writes. */
export interface UpgradeReply {
  /** Extra header lines (`Name: value`) after the standard ones. */
  headers?: string[];
  /** Replace the computed `Sec-WebSocket-Accept` value. */
  accept?: string;
  /** Standard headers to leave out (`upgrade`, `connection`, `sec-websocket-accept`). */
  omit?: string[];
  /** Bytes sent in the same write, right after the head (the first frames). */
  then?: Uint8Array;
}

/** One accepted connection. */
export class RawPeer {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** The request head, once read. */
  request: ParsedRequestHead | null = null;
  #buf = new Uint8Array(0);
  #decoder = new FrameDecoder({ role: "server", maxFrameSize: 256 * 1024 * 1024 });
  #closed = false;

  /**
   * Wraps an accepted socket.
   *
   * @param conn The socket.
   */
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /**
   * Reads until the end of the request head.
   *
   * @returns The head, or `null` when the client closed first.
   */
  async readRequest(): Promise<ParsedRequestHead | null> {
    let buf = new Uint8Array(0);
    while (true) {
      const head = parseRequestHead(buf);
      if (head !== null) {
        this.request = head;
        this.#buf = buf.slice(head.headLength);
        return head;
      }
      const chunk = await this.#read();
      if (chunk === null) return null;
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
    }
  }

  /**
   * Writes bytes (a string is UTF-8 encoded).
   *
   * @param data The bytes.
   */
  async write(data: string | Uint8Array): Promise<void> {
    const p = bytes(data);
    let off = 0;
    while (off < p.length) off += await this.conn.write(p.subarray(off));
  }

  /**
   * Writes a 101 response for the request read, correct unless `reply` breaks it.
   *
   * @param reply Changes to the standard response.
   */
  async upgrade(reply?: UpgradeReply): Promise<void> {
    const key = this.request?.headers.get("sec-websocket-key") ?? "";
    const omit = new Set((reply?.omit ?? []).map((h) => h.toLowerCase()));
    const lines = ["HTTP/1.1 101 Switching Protocols"];
    if (!omit.has("upgrade")) lines.push("Upgrade: websocket");
    if (!omit.has("connection")) lines.push("Connection: Upgrade");
    if (!omit.has("sec-websocket-accept")) {
      lines.push(`Sec-WebSocket-Accept: ${reply?.accept ?? computeAccept(key)}`);
    }
    lines.push(...(reply?.headers ?? []));
    const head = bytes(lines.join("\r\n") + "\r\n\r\n");
    const then = reply?.then ?? new Uint8Array(0);
    const out = new Uint8Array(head.length + then.length);
    out.set(head);
    out.set(then, head.length);
    await this.write(out);
  }

  /**
   * Writes one frame (unmasked unless `maskKey` is given).
   *
   * @param frame The frame.
   * @param options A mask key (a server must not mask: for the protocol error test), or
   *   `continuation` to write the frame with opcode 0.
   */
  async send(
    frame: Frame,
    options?: { maskKey?: Uint8Array; continuation?: boolean },
  ): Promise<void> {
    await this.write(encodeFrame(frame, options));
  }

  /**
   * Reads the client's next frame (masked, as the client must send them).
   *
   * @returns The frame, or `null` at end of stream.
   */
  async readFrame(): Promise<Frame | null> {
    if (this.#buf.length > 0) {
      this.#decoder.push(this.#buf);
      this.#buf = new Uint8Array(0);
    }
    while (true) {
      const frame = this.#decoder.next();
      if (frame !== null) return frame;
      const chunk = await this.#read();
      if (chunk === null) return null;
      this.#decoder.push(chunk);
    }
  }

  /**
   * Reads and counts bytes until the client ends the stream (or resets it).
   *
   * @returns The number of bytes read.
   */
  async drain(): Promise<number> {
    let total = this.#buf.length;
    this.#buf = new Uint8Array(0);
    for (let chunk = await this.#read(); chunk !== null; chunk = await this.#read()) {
      total += chunk.length;
    }
    return total;
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

  async #read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      return null;
    }
    return n === null ? null : chunk.subarray(0, n);
  }
}

/** A listening raw server; see the module docs. */
export class RawServer implements AsyncDisposable {
  /** The listener. */
  readonly listener: Deno.Listener;
  readonly #peers: RawPeer[] = [];
  readonly #secure: boolean;
  #closed = false;

  private constructor(listener: Deno.Listener, secure: boolean) {
    this.listener = listener;
    this.#secure = secure;
  }

  /**
   * Starts listening on 127.0.0.1 on a free port (or on `options.unixPath`).
   *
   * @param options TLS or a unix socket path.
   * @returns The server.
   */
  static start(options?: RawServerOptions): RawServer {
    if (options?.unixPath !== undefined) {
      return new RawServer(Deno.listen({ transport: "unix", path: options.unixPath }), false);
    }
    if (options?.tls) {
      return new RawServer(
        Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...options.tls }),
        true,
      );
    }
    return new RawServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), false);
  }

  /** The TCP port. */
  get port(): number {
    return (this.listener.addr as Deno.NetAddr).port;
  }

  /**
   * The `ws:` (or `wss:`) URL of `path` on this server.
   *
   * @param path The path and query.
   * @returns The URL.
   */
  url(path = "/"): string {
    return `${this.#secure ? "wss" : "ws"}://127.0.0.1:${this.port}${path}`;
  }

  /**
   * Accepts the next connection without reading from it.
   *
   * @returns The peer.
   */
  async acceptRaw(): Promise<RawPeer> {
    const peer = new RawPeer(await this.listener.accept());
    this.#peers.push(peer);
    return peer;
  }

  /**
   * Accepts the next connection and reads its request head.
   *
   * @returns The peer (its `request` set).
   * @throws {Error} When the client closes before a head is complete.
   */
  async accept(): Promise<RawPeer> {
    const peer = await this.acceptRaw();
    if ((await peer.readRequest()) === null) throw new Error("client closed before the head");
    return peer;
  }

  /** Closes the listener and every accepted socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.#peers) peer.close();
    try {
      this.listener.close();
    } catch {
      // Already closed.
    }
  }

  /** Same as {@linkcode RawServer.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
