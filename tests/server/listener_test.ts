import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import { computeAccept } from "../../src/core/handshake_key.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { exchange, KEY, RawPeer, upgradeRequest, write } from "./_tcp.ts";

interface Seen {
  url: string;
  method: string;
  host: string | null;
  xa: string | null;
  stable: boolean;
  status: number;
  statusText: string;
  accept: string | null;
  protocol: string | null;
}

Deno.test("listener: sessions see the request's URL, method and headers as received", async () => {
  const seen: Seen[] = [];
  const errors: unknown[] = [];
  const server = createServer({ onError: (error) => errors.push(error) });
  const record = (session: {
    request: { url: URL; method: string; headers: Headers };
    call: { response: { status: number; statusText: string; headers: Headers } };
  }) => {
    const { request, call } = session;
    // Shown and serialized as the plain object it stands for.
    const plain = { url: request.url, method: request.method, headers: request.headers };
    const shown = JSON.stringify(request) === JSON.stringify(plain) &&
      Deno.inspect(request) === Deno.inspect(plain);
    seen.push({
      url: request.url.href,
      method: request.method,
      host: request.headers.get("host"),
      xa: request.headers.get("x-a"),
      stable: shown && request.url === request.url && request.headers === request.headers &&
        call.response.headers === call.response.headers,
      status: call.response.status,
      statusText: call.response.statusText,
      accept: call.response.headers.get("sec-websocket-accept"),
      protocol: call.response.headers.get("sec-websocket-protocol"),
    });
  };
  server.webSocketRaw("/ws", record);
  server.webSocketRaw("/chat", record, { protocol: "chat" });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  const local = `127.0.0.1:${port}`;
  const accept = await computeAccept(KEY);
  try {
    const open = async (path: string, extra: Record<string, string | null> = {}) => {
      const { peer, status } = await RawPeer.open(port, path, extra);
      try {
        assert.equal(status, 101, path);
        assert.equal((await peer.next())?.type, "close");
        await peer.send(Frame.close(null));
        assert.equal(await peer.ended(), true);
      } finally {
        peer.close();
      }
      return seen.at(-1)!;
    };
    const expected = (url: string, host = local, more: Partial<Seen> = {}): Seen => ({
      url,
      method: "GET",
      host,
      xa: null,
      stable: true,
      status: 101,
      statusText: "Switching Protocols",
      accept,
      protocol: null,
      ...more,
    });
    // The first request from a Host makes the URL at once, later ones on first use.
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await open(`/ws?q=${i}`), expected(`http://${local}/ws?q=${i}`));
    }
    assert.deepEqual(
      await open("/ws", { "X-A": "1", "x-a": "2" }),
      expected(`http://${local}/ws`, local, { xa: "1, 2" }),
    );
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(
        await open("/ws#frag", { Host: "Example.COM:8080" }),
        expected("http://example.com:8080/ws#frag", "Example.COM:8080"),
      );
    }
    // Targets the URL parser rewrites, and the absolute form.
    assert.deepEqual(await open("/x/../ws?a=%41"), expected(`http://${local}/ws?a=%41`));
    assert.deepEqual(
      await open("http://other.example/ws?b"),
      expected("http://other.example/ws?b"),
    );
    // A reply with more than the handshake's own fields.
    assert.deepEqual(
      await open("/chat", { "Sec-WebSocket-Protocol": "x, chat" }),
      expected(`http://${local}/chat`, local, { protocol: "chat" }),
    );
    assert.deepEqual(errors, []);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("listener: a Host that does not make a URL gets 400, every time", async () => {
  const server = createServer({ onError: () => {}, closeTimeout: 50 });
  server.webSocketRaw("/ws", () => {});
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  try {
    assert.equal((await exchange(port, upgradeRequest("/ws", port))).status, 101);
    for (const host of ["a:99999", "a:99999", "bad host", "a@b", "[::1", "", "1.2.3.999"]) {
      const reply = await exchange(port, upgradeRequest("/ws", port, { Host: host }));
      assert.equal(reply.status, 400, host);
      assert.equal(reply.body, "Invalid request target or Host", host);
    }
  } finally {
    await listener.shutdown();
  }
});

Deno.test("listener: every unfinished handshake times out on its own deadline", async () => {
  const timeout = 300;
  const server = createServer({ onError: () => {}, handshakeTimeout: timeout });
  server.webSocketRaw("/ws", async (session) => {
    for await (const frame of session.incoming) {
      if (frame.type === "close") return;
      await session.send(frame);
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  /** Opens a connection that sends half a head; resolves with how long it lived. */
  const slow = async (): Promise<number> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const started = performance.now();
    try {
      await write(conn, "GET /ws HTTP/1.1\r\nHost: a\r\n");
      const n = await conn.read(new Uint8Array(64)).catch(() => null);
      assert.equal(n, null);
      return performance.now() - started;
    } finally {
      conn.close();
    }
  };
  try {
    const first = slow();
    const second = new Promise<number>((resolve, reject) => {
      setTimeout(() => slow().then(resolve, reject), timeout / 2);
    });
    // A handshake that completes meanwhile keeps its connection.
    const { peer, status } = await RawPeer.open(port, "/ws");
    try {
      assert.equal(status, 101);
      const lives = await Promise.all([first, second]);
      for (const ms of lives) assert.ok(ms >= timeout - 20 && ms < timeout * 5, `lived ${ms} ms`);
      await peer.send(Frame.text("still here"));
      assert.equal(readText((await peer.next())!), "still here");
      await peer.send(Frame.close(null));
    } finally {
      peer.close();
    }
  } finally {
    await listener.shutdown();
  }
});

Deno.test("listener: head buffers reused across connections keep each connection's bytes", async () => {
  const server = createServer({ onError: () => {} });
  server.webSocketRaw("/ws", async (session) => {
    for await (const frame of session.incoming) {
      if (frame.type === "close") return;
      await session.send(frame);
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  const mask = new Uint8Array([9, 8, 7, 6]);
  try {
    for (let i = 0; i < 6; i++) {
      const early = i % 2 === 0;
      const head = new TextEncoder().encode(upgradeRequest("/ws", port));
      const frame = encodeFrame(Frame.text(`frame ${i}`), { maskKey: mask });
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const peer = new RawPeer(conn);
      try {
        await write(conn, early ? new Uint8Array([...head, ...frame]) : head);
        // Read up to the end of the 101; what follows goes to the frame decoder.
        let got = new Uint8Array(0);
        let end = -1;
        while (end < 0) {
          const buf = new Uint8Array(4096);
          const n = await conn.read(buf);
          assert.ok(n !== null);
          got = new Uint8Array([...got, ...buf.subarray(0, n)]);
          end = new TextDecoder().decode(got).indexOf("\r\n\r\n");
        }
        peer.decoder.push(got.slice(end + 4));
        if (!early) await write(conn, frame);
        assert.equal(readText((await peer.next())!), `frame ${i}`);
        await peer.send(Frame.close(null));
      } finally {
        peer.close();
      }
    }
  } finally {
    await listener.shutdown();
  }
});
