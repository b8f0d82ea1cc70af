/**
 * Memory per idle server session of a prototype event-style session (callbacks instead of
 * `incoming`, reading driven by promise callbacks, no async function waiting): the floor an API
 * without a `ReadableStream` per session would allow, built on the library's own socket layer
 * (`Link`), protocol and read loop. The handshake is done by hand; the client side is the one of
 * `session_memory.ts`. Compare with `session_memory.ts`, which measures today's sessions.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/event_session_memory.ts 3000
 * ```
 *
 * @module
 */

import { computeAccept } from "../src/core/handshake_key.ts";
import type { Frame } from "../src/core/frame.ts";
import { Protocol } from "../src/core/protocol.ts";
import { Link } from "../src/session/_link.ts";
import { readFrame } from "../src/transport/read_loop.ts";

/** An event-style session: `onMessage` instead of `incoming`. */
class EventSession {
  readonly #link: Link;
  readonly #protocol: Protocol;
  /** Called with every message. */
  onMessage: ((frame: Frame) => void) | null = null;

  constructor(conn: Deno.Conn, leftover: Uint8Array | undefined) {
    this.#protocol = new Protocol({
      role: "server",
      maxFrameSize: 1 << 24,
      assemble: true,
      autoPong: true,
    });
    this.#link = new Link(conn, this.#protocol, { leftover, masking: false });
    this.#read();
  }

  readonly #onFrame = (frame: Frame | null): void => {
    if (frame === null) {
      this.#link.release();
      return;
    }
    for (let f: Frame | null = frame; f !== null; f = this.#protocol.next()) this.onMessage?.(f);
    this.#read();
  };

  readonly #onError = (): void => this.#link.release();

  #read(): void {
    const frame = this.#protocol.next();
    if (frame !== null) this.#onFrame(frame);
    else readFrame(this.#link.reader, this.#protocol).then(this.#onFrame, this.#onError);
  }
}

/** Answers the upgrade by hand, then starts an event session. */
async function accept(conn: Deno.TcpConn, sessions: EventSession[]): Promise<boolean> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(4096);
  let len = 0;
  let end = -1;
  while (end < 0) {
    const got = await conn.read(buf.subarray(len));
    if (got === null) return false;
    len += got;
    end = new TextDecoder().decode(buf.subarray(0, len)).indexOf("\r\n\r\n");
  }
  const head = new TextDecoder().decode(buf.subarray(0, end));
  const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
  await conn.write(
    new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
    ),
  );
  sessions.push(new EventSession(conn, len > end + 4 ? buf.slice(end + 4, len) : undefined));
  return true;
}

const n = Number(Deno.args[0] ?? 3000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
const measure = () => {
  gc();
  gc();
  return Deno.memoryUsage();
};
const sessions: EventSession[] = [];
const all = Promise.withResolvers<void>();
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
(async () => {
  for await (const conn of listener) {
    accept(conn, sessions).then((ok) => {
      if (ok && sessions.length === n) all.resolve();
    });
  }
})();
const before = measure();
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("./session_memory.ts", import.meta.url).pathname,
    "--client",
    String(listener.addr.port),
    String(n),
  ],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let out = "";
while (!out.includes("READY")) {
  const { done, value } = await lines.read();
  if (done) throw new Error("the client ended before its connections were open");
  out += value;
}
await all.promise;
const after = measure();
const per = (key: keyof Deno.MemoryUsage) => Math.round((after[key] - before[key]) / n);
console.log(
  `event prototype: ${n} sessions, per session: RSS ${per("rss")} B, live heap ${
    per("heapUsed")
  } B, array buffers ${per("external")} B`,
);
await child.stdin.close();
await lines.cancel();
await child.status;
Deno.exit(0);
