import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerErrorContext } from "../../src/server/options.ts";
import { exchange, readToEnd, upgradeRequest, write } from "./_tcp.ts";

Deno.test("fallback: plain requests go to the fetch-style handler", async () => {
  const server = createServer({
    fallback: async (request, info) => {
      const url = new URL(request.url);
      if (url.pathname === "/echo") {
        return new Response(`${request.method} ${await request.text()}`, {
          headers: { "X-Remote": info.remoteAddr.hostname },
        });
      }
      if (url.pathname === "/stream") {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("part1,"));
            controller.enqueue(new TextEncoder().encode("part2"));
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/plain" } });
      }
      return new Response("<h1>page</h1>", { headers: { "content-type": "text/html" } });
    },
  });
  server.webSocketRaw("/ws", () => {});
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `http://127.0.0.1:${listener.addr.port}`;
  try {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html");
    assert.equal(await page.text(), "<h1>page</h1>");

    const echo = await fetch(`${base}/echo`, { method: "POST", body: "payload" });
    assert.equal(await echo.text(), "POST payload");
    assert.equal(echo.headers.get("x-remote"), "127.0.0.1");

    const stream = await fetch(`${base}/stream`);
    assert.equal(await stream.text(), "part1,part2");

    // A plain GET on a WebSocket route's path goes to the fallback too.
    const onRoute = await fetch(`${base}/ws`);
    assert.equal(await onRoute.text(), "<h1>page</h1>");

    const head = await fetch(`${base}/`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  } finally {
    await listener.shutdown();
  }
});

Deno.test("fallback: keep-alive serves several requests, then a WebSocket upgrade, on one connection", async () => {
  const server = createServer({
    closeTimeout: 50,
    fallback: (r) => new Response(new URL(r.url).pathname),
  });
  server.webSocketRaw("/ws", async (session) => {
    await session.send("upgraded");
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await write(
      conn,
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
        upgradeRequest("/ws", port),
    );
    const text = new TextDecoder().decode(await readToEnd(conn));
    const parts = text.split("HTTP/1.1 ");
    assert.equal(parts.length, 4, text);
    assert.match(parts[1]!, /^200 OK/);
    assert.match(parts[1]!, /\/one/);
    assert.match(parts[2]!, /^200 OK/);
    assert.match(parts[2]!, /\/two/);
    assert.match(parts[3]!, /^101 Switching Protocols/);
    assert.match(parts[3]!, /upgraded/);
  } finally {
    conn.close();
    await listener.shutdown();
  }
});

Deno.test("fallback: without one, plain requests get 426 on a route path and 404 elsewhere", async () => {
  const server = createServer();
  server.webSocketRaw("/ws", () => {});
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    const onRoute = await exchange(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(onRoute.status, 426);
    assert.equal(onRoute.headers.get("upgrade"), "websocket");
    assert.equal((await exchange(port, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")).status, 404);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("fallback: a throwing handler gets 500 and goes to onError", async () => {
  const errors: [unknown, ServerErrorContext][] = [];
  const server = createServer({
    onError: (e, c) => void errors.push([e, c]),
    fallback: () => {
      throw new Error("page broke");
    },
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const response = await fetch(`http://127.0.0.1:${listener.addr.port}/p`);
    assert.equal(response.status, 500);
    await response.body?.cancel();
  } finally {
    await listener.shutdown();
  }
  assert.equal(errors.length, 1);
  assert.equal(errors[0]![1].phase, "fallback");
  assert.equal(errors[0]![1].request?.url.pathname, "/p");
});

Deno.test("fallback: chunked request bodies get 501, bad Content-Length 400", async () => {
  const server = createServer({ fallback: () => new Response("ok") });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    const chunked = await exchange(
      port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert.equal(chunked.status, 501);
    const bad = await exchange(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n");
    assert.equal(bad.status, 400);
  } finally {
    await listener.shutdown();
  }
});
