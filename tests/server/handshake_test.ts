import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import { computeAccept } from "../../src/core/handshake_key.ts";
import { Frame } from "../../src/core/frame.ts";
import { exchange, KEY, RawPeer, upgradeRequest, write } from "./_tcp.ts";

/** A server with a raw echo route on `/ws` and a raw route needing `chat` on `/chat`. */
async function withServer(
  options: ServerOptions,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server = createServer({ onError: () => {}, ...options });
  server.webSocketRaw("/ws", async (session) => {
    for await (const frame of session.incoming) {
      if (frame.type === "close") {
        await session.close(null).catch(() => {});
        return;
      }
      await session.send(frame);
    }
  });
  server.webSocketRaw("/chat", () => {}, { protocol: "chat" });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    await fn(listener.addr.port);
  } finally {
    await listener.shutdown();
  }
}

Deno.test("handshake: a valid request gets 101 with the right accept value", async () => {
  await withServer({}, async (port) => {
    const { peer, status, headers } = await RawPeer.open(port, "/ws");
    try {
      assert.equal(status, 101);
      assert.equal(headers.get("upgrade"), "websocket");
      assert.equal(headers.get("connection"), "Upgrade");
      assert.equal(headers.get("sec-websocket-accept"), computeAccept(KEY));
      assert.equal(headers.get("sec-websocket-protocol"), null);
      await peer.send(Frame.text("hi"));
      const echo = await peer.next();
      assert.equal(echo?.type, "text");
      assert.equal(new TextDecoder().decode(echo!.data), "hi");
      await peer.send(Frame.close(null));
      assert.equal((await peer.next())?.type, "close");
      assert.equal(await peer.ended(), true);
    } finally {
      peer.close();
    }
  });
});

Deno.test("handshake: method other than GET gets 405 with Allow: GET", async () => {
  await withServer({}, async (port) => {
    const reply = await exchange(port, upgradeRequest("/ws", port, {}, "POST"));
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.get("allow"), "GET");
  });
});

Deno.test("handshake: HTTP/1.0 gets 400", async () => {
  await withServer({}, async (port) => {
    const reply = await exchange(port, upgradeRequest("/ws", port, {}, "GET", "HTTP/1.0"));
    assert.equal(reply.status, 400);
  });
});

Deno.test("handshake: a plain request to a WebSocket route gets 426", async () => {
  await withServer({}, async (port) => {
    const reply = await exchange(
      port,
      upgradeRequest("/ws", port, { Upgrade: null, Connection: null }),
    );
    assert.equal(reply.status, 426);
    assert.equal(reply.headers.get("upgrade"), "websocket");
  });
});

Deno.test("handshake: wrong Upgrade or Connection tokens get 400", async () => {
  await withServer({}, async (port) => {
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { Upgrade: "h2c" }))).status,
      400,
    );
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { Connection: "keep-alive" }))).status,
      400,
    );
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { Connection: null }))).status,
      400,
    );
    // Token lists and case are fine.
    const { peer, status } = await RawPeer.open(port, "/ws", {
      Upgrade: "WebSocket",
      Connection: "keep-alive, upgrade",
    });
    peer.close();
    assert.equal(status, 101);
  });
});

Deno.test("handshake: a key that is not 16 base64 bytes gets 400", async () => {
  await withServer({}, async (port) => {
    for (const key of ["abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSE=", null]) {
      const reply = await exchange(port, upgradeRequest("/ws", port, { "Sec-WebSocket-Key": key }));
      assert.equal(reply.status, 400, `key ${key}`);
    }
  });
});

Deno.test("handshake: a version other than 13 gets 426 with Sec-WebSocket-Version: 13", async () => {
  await withServer({}, async (port) => {
    for (const version of ["8", "14", null]) {
      const reply = await exchange(
        port,
        upgradeRequest("/ws", port, { "Sec-WebSocket-Version": version }),
      );
      assert.equal(reply.status, 426);
      assert.equal(reply.headers.get("sec-websocket-version"), "13");
    }
  });
});

Deno.test("handshake: origins allow-list (exact, RegExp, URLPattern) and 403", async () => {
  await withServer({
    origins: [
      "https://Example.com",
      /^https:\/\/[a-z]+\.example\.org$/,
      new URLPattern({ protocol: "http", hostname: "localhost", port: "*" }),
    ],
  }, async (port) => {
    const allowed = [
      "https://example.com",
      "https://app.example.org",
      "http://localhost:3000",
    ];
    for (const origin of allowed) {
      const { peer, status } = await RawPeer.open(port, "/ws", { Origin: origin });
      peer.close();
      assert.equal(status, 101, origin);
    }
    for (const origin of ["https://evil.com", "https://example.com.evil", "null", null]) {
      const reply = await exchange(port, upgradeRequest("/ws", port, { Origin: origin }));
      assert.equal(reply.status, 403, `origin ${origin}`);
    }
  });
});

Deno.test("handshake: a route's protocol must be offered (400), and is echoed", async () => {
  await withServer({}, async (port) => {
    assert.equal((await exchange(port, upgradeRequest("/chat", port))).status, 400);
    assert.equal(
      (await exchange(port, upgradeRequest("/chat", port, { "Sec-WebSocket-Protocol": "other" })))
        .status,
      400,
    );
    const { peer, status, headers } = await RawPeer.open(port, "/chat", {
      "Sec-WebSocket-Protocol": "other, chat",
    });
    peer.close();
    assert.equal(status, 101);
    assert.equal(headers.get("sec-websocket-protocol"), "chat");
    // A route without protocol names none, even when offered.
    const plain = await RawPeer.open(port, "/ws", { "Sec-WebSocket-Protocol": "chat" });
    plain.peer.close();
    assert.equal(plain.status, 101);
    assert.equal(plain.headers.get("sec-websocket-protocol"), null);
  });
});

Deno.test("handshake: routes on one path are chosen by subprotocol", async () => {
  const server = createServer();
  const seen: string[] = [];
  server.webSocketRaw("/multi", (s) => void seen.push(`v1:${s.protocol}`), { protocol: "v1" });
  server.webSocketRaw("/multi", (s) => void seen.push(`v2:${s.protocol}`), { protocol: "v2" });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    for (const offer of ["v2", "v1", "v3, v2"]) {
      const { peer, headers } = await RawPeer.open(port, "/multi", {
        "Sec-WebSocket-Protocol": offer,
      });
      assert.equal((await peer.next())?.type, "close");
      await peer.send(Frame.close(null));
      await peer.ended();
      peer.close();
      seen.push(`header:${headers.get("sec-websocket-protocol")}`);
    }
  } finally {
    await listener.shutdown();
  }
  assert.deepEqual(seen, ["v2:v2", "header:v2", "v1:v1", "header:v1", "v2:v2", "header:v2"]);
});

Deno.test("handshake: a head over maxHeaderSize gets 431", async () => {
  await withServer({ maxHeaderSize: 1024 }, async (port) => {
    const reply = await exchange(
      port,
      upgradeRequest("/ws", port, { "X-Big": "a".repeat(2000) }),
    );
    assert.equal(reply.status, 431);
    // Just under the limit passes.
    const { peer, status } = await RawPeer.open(port, "/ws", { "X-Big": "a".repeat(700) });
    peer.close();
    assert.equal(status, 101);
  });
});

Deno.test("handshake: malformed heads get 400, unknown paths 404", async () => {
  await withServer({}, async (port) => {
    assert.equal((await exchange(port, "GARBAGE\x01\r\n\r\n")).status, 400);
    assert.equal((await exchange(port, "GET /ws HTTP/1.1\nHost: x\n\n")).status, 400);
    assert.equal((await exchange(port, "GET * HTTP/1.1\r\nHost: x\r\n\r\n")).status, 400);
    assert.equal((await exchange(port, upgradeRequest("/nope", port))).status, 404);
    assert.equal((await exchange(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")).status, 404);
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { Host: null }))).status,
      400,
    );
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { "Content-Length": "5" }) + "hello"))
        .status,
      400,
    );
  });
});

Deno.test("handshake: a client that does not finish its head is disconnected (slowloris)", async () => {
  await withServer({ handshakeTimeout: 200 }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const started = performance.now();
      await write(conn, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      // Keep trickling bytes: the deadline covers the whole head, not each read.
      let closed = false;
      const buf = new Uint8Array(1024);
      const reading = conn.read(buf).then((n) => n === null, () => true);
      for (let i = 0; i < 20 && !closed; i++) {
        try {
          await write(conn, "X");
        } catch {
          break;
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        closed = await Promise.race([
          reading,
          new Promise<boolean>((r) => timer = setTimeout(() => r(false), 50)),
        ]);
        clearTimeout(timer);
      }
      assert.equal(await reading, true);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 2000, `closed after ${elapsed} ms`);
    } finally {
      conn.close();
    }
  });
});

Deno.test("handshake: frames sent right behind the head are not lost", async () => {
  await withServer({}, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new RawPeer(conn);
    try {
      const { encodeFrame } = await import("../../src/core/frame_encoder.ts");
      const frame = encodeFrame(Frame.text("early"), { maskKey: new Uint8Array([9, 8, 7, 6]) });
      const head = new TextEncoder().encode(upgradeRequest("/ws", port));
      const both = new Uint8Array(head.length + frame.length);
      both.set(head);
      both.set(frame, head.length);
      await write(conn, both);
      // Read the 101 and the echo.
      const chunks: number[] = [];
      const buf = new Uint8Array(4096);
      let text = "";
      while (!text.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        assert.ok(n !== null);
        chunks.push(...buf.subarray(0, n));
        text = new TextDecoder("latin1").decode(new Uint8Array(chunks));
      }
      const end = text.indexOf("\r\n\r\n") + 4;
      peer.decoder.push(new Uint8Array(chunks.slice(end)));
      const echo = await peer.next();
      assert.equal(new TextDecoder().decode(echo!.data), "early");
    } finally {
      peer.close();
    }
  });
});
