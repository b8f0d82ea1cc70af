/**
 * The hidden `WRAP_CONN` option: the managed client, the raw client and the standalone listener
 * run their sessions over the connection the wrapper returns, from the first byte of the
 * handshake on.
 */

import assert from "node:assert/strict";
import { createClient } from "../../src/client/client.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import { readText } from "../../src/core/frame.ts";
import { createServer } from "../../src/server/server.ts";
import { connWrapperOf, WRAP_CONN } from "../../src/transport/conn_wrapper.ts";

const decoder = new TextDecoder();

/** A pass-through connection that records what goes through it, as text. */
class Recording implements Deno.Conn {
  readonly inner: Deno.Conn;
  got = "";
  written = "";

  constructor(inner: Deno.Conn) {
    this.inner = inner;
  }
  get localAddr(): Deno.Addr {
    return this.inner.localAddr;
  }
  get remoteAddr(): Deno.Addr {
    return this.inner.remoteAddr;
  }
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.inner.readable;
  }
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.inner.writable;
  }
  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.inner.read(p);
    if (n !== null) this.got += decoder.decode(p.subarray(0, n));
    return n;
  }
  async write(p: Uint8Array): Promise<number> {
    const n = await this.inner.write(p);
    this.written += decoder.decode(p.subarray(0, n));
    return n;
  }
  close(): void {
    this.inner.close();
  }
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }
  ref(): void {
    this.inner.ref();
  }
  unref(): void {
    this.inner.unref();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

Deno.test("connWrapperOf finds the wrapper under the symbol only", () => {
  const wrap = (conn: Deno.Conn) => conn;
  assert.equal(connWrapperOf({ [WRAP_CONN]: wrap }), wrap);
  assert.equal(connWrapperOf({ wrapConn: wrap }), undefined);
  assert.equal(connWrapperOf({ [WRAP_CONN]: "no" }), undefined);
  assert.equal(connWrapperOf(undefined), undefined);
});

Deno.test("WRAP_CONN: server, managed client and raw client all run over the wrapped socket", async () => {
  const accepted: Recording[] = [];
  const server = createServer(
    {
      [WRAP_CONN]: (conn: Deno.Conn) => {
        const r = new Recording(conn);
        accepted.push(r);
        return r;
      },
    } as Parameters<typeof createServer>[0],
  );
  server.webSocket("/echo", async (session) => {
    for await (const message of session.incoming) await session.send(message);
  });
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${listener.addr.port}/echo`;
  try {
    const opened: Recording[] = [];
    const wrap = (conn: Deno.Conn) => {
      const r = new Recording(conn);
      opened.push(r);
      return r;
    };
    {
      await using client = createClient(
        { [WRAP_CONN]: wrap } as Parameters<typeof createClient>[0],
      );
      await client.webSocket(url, async (session) => {
        await session.send("managed-hello");
        for await (const m of session.incoming) return readText(m);
        return null;
      });
    }
    {
      await using session = await webSocketRawSession(url, { [WRAP_CONN]: wrap } as object);
      await session.send("raw-hello");
      for await (const frame of session.incoming) {
        assert.equal(readText(frame), "raw-hello");
        break;
      }
    }
    assert.equal(opened.length, 2);
    assert.match(opened[0]!.written, /^GET \/echo HTTP\/1\.1\r\n/);
    assert.match(opened[0]!.got, /^HTTP\/1\.1 101 /);
    assert.match(opened[0]!.got, /managed-hello/); // the server's frames are unmasked
    assert.match(opened[1]!.got, /raw-hello/);
    await listener.shutdown();
    assert.equal(accepted.length, 2);
    assert.match(accepted[0]!.got, /^GET \/echo HTTP\/1\.1\r\n/);
    assert.match(accepted[0]!.written, /^HTTP\/1\.1 101 /);
    assert.match(accepted[1]!.written, /raw-hello/);
  } finally {
    await listener.shutdown();
  }
});
