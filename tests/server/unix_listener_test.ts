/**
 * `server.listen({ path })`: managed and raw routes on a unix socket, the fallback, and the
 * socket file removed on shutdown.
 */

import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import { createClient } from "../../src/client/client.ts";
import { webSocketRaw } from "../../src/client/raw_client.ts";
import { Frame, readText } from "../../src/core/frame.ts";

Deno.test("unix listener: managed and raw routes, the fallback, shutdown removes the socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ws.sock`;
  try {
    const hooks: unknown[] = [];
    const server = createServer({ fallback: () => new Response("plain over unix") });
    server.webSocket("/managed", async (session) => {
      await session.send(`managed ${session.request.url.href} ${session.remoteAddr?.transport}`);
      for await (const m of session.incoming) await session.send(m);
    }, { upgrade: (_request, context) => void hooks.push(context.remoteAddr) });
    server.webSocketRaw("/raw", async (session) => {
      for await (const frame of session.incoming) {
        if (frame.type === "close") return;
        await session.send(frame);
      }
    });
    const listener = server.listen({ path });
    assert.equal(listener.addr.transport, "unix");
    assert.equal(listener.addr.path, path);
    {
      await using client = createClient();
      const got = await client.webSocket("ws://app.local/managed", async (session) => {
        const hello = [];
        await session.send("echo ✓");
        for await (const m of session.incoming) {
          hello.push(readText(m));
          if (hello.length === 2) break;
        }
        return hello;
      }, { unixPath: path });
      assert.deepEqual(got, ["managed http://app.local/managed unix", "echo ✓"]);
    }
    assert.deepEqual(hooks, [undefined]);
    const raw = await webSocketRaw("ws://app.local/raw", async (session) => {
      await session.send(Frame.ping(new Uint8Array([1, 2])));
      for await (const frame of session.incoming) return frame.type;
      return null;
    }, { unixPath: path });
    assert.equal(raw, "ping"); // echoed as it came: nothing automatic on a raw route
    const conn = await Deno.connect({ transport: "unix", path });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    let text = "";
    const buf = new Uint8Array(1024);
    for (let i = 0; i < 20 && !text.includes("plain over unix"); i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /plain over unix/);
    await listener.shutdown();
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unix listener: a path with a port, an address or TLS is a TypeError", () => {
  const server = createServer();
  // deno-lint-ignore no-explicit-any
  const listen = (o: any) => server.listen(o);
  assert.throws(() => listen({ path: "/tmp/x.sock", port: 1 }), TypeError);
  assert.throws(() => listen({ path: "/tmp/x.sock", hostname: "127.0.0.1" }), TypeError);
  assert.throws(() => listen({ path: "/tmp/x.sock", cert: "c", key: "k" }), TypeError);
  assert.throws(() => listen({ path: "" }), TypeError);
});
