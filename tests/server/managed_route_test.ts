import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerErrorContext } from "../../src/server/options.ts";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { CloseReason } from "../../src/core/close.ts";
import { jsonConverter } from "../../src/session/converter.ts";
import { createClient } from "../../src/client/client.ts";
import { webSocket, webSocketSession } from "../../src/client/default_client.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import { perMessageDeflate } from "../../src/session/permessage_deflate.ts";
import { RawPeer } from "./_tcp.ts";
// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";

Deno.test("managed route: echo with Deno's client, npm:ws and this library's managed client", async () => {
  const server = createServer();
  server.webSocket("/echo", async (session) => {
    for await (const message of session.incoming) await session.send(message);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const url = `ws://127.0.0.1:${listener.addr.port}/echo`;
  try {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.onopen = r);
    ws.send("deno");
    assert.equal(await new Promise<string>((r) => ws.onmessage = (e) => r(e.data)), "deno");
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.close(4000, "bye");
    const event = await closed;
    assert.equal(event.code, 4000);
    assert.equal(event.reason, "bye");

    const node = new NodeWebSocket(url);
    await new Promise((r) => node.once("open", r));
    // Fragmented by npm:ws? Send a big binary and a text; both come back whole.
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    node.send(big);
    node.send("node text");
    const got: unknown[] = [];
    await new Promise<void>((r) =>
      node.on("message", (data, isBinary) => {
        got.push(isBinary ? new Uint8Array(data as ArrayBuffer) : String(data));
        if (got.length === 2) r();
      })
    );
    assert.deepEqual(got[0], big);
    assert.equal(got[1], "node text");
    const nodeClosed = new Promise<number>((r) => node.once("close", (code) => r(code)));
    node.close(1000);
    assert.equal(await nodeClosed, 1000);

    const answer = await webSocket(url, async (session) => {
      await session.send("managed");
      for await (const message of session.incoming) return readText(message);
      return null;
    });
    assert.equal(answer, "managed");
  } finally {
    await listener.shutdown();
  }
});

Deno.test("managed route: automatic pong, reassembly and close echo, seen by a raw client", async () => {
  let received = "";
  const server = createServer();
  server.webSocket("/", async (session) => {
    for await (const message of session.incoming) received += readText(message);
    assert.deepEqual(await session.closeReason, new CloseReason(1000, "done"));
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/");
    await peer.send(Frame.text("ABC", { fin: false }));
    await peer.send(Frame.ping(new Uint8Array([1, 2, 3])));
    await peer.send(Frame.text("12", { fin: false }), { continuation: true });
    await peer.send(Frame.text("3"), { continuation: true });
    const pong = await peer.next();
    assert.equal(pong?.type, "pong");
    assert.deepEqual(pong?.data, new Uint8Array([1, 2, 3]));
    await peer.send(Frame.close(new CloseReason(1000, "done")));
    const echo = await peer.next();
    assert.deepEqual(readReason(echo!), new CloseReason(1000, "done"));
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.equal(received, "ABC123");
});

Deno.test("managed route: the pinger pings, and a client that never pongs gets 1011 Ping timeout", async () => {
  const server = createServer({ pingInterval: 50, timeout: 100 });
  let reason: CloseReason | null = null;
  server.webSocket("/", async (session) => {
    try {
      for await (const _ of session.incoming) { /* nothing */ }
    } catch {
      // PING_TIMEOUT
    }
    reason = await session.closeReason;
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/");
    assert.equal((await peer.next())?.type, "ping");
    const close = await peer.next();
    assert.deepEqual(readReason(close!), new CloseReason(1011, "Ping timeout"));
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.deepEqual(reason, new CloseReason(1011, "Ping timeout"));
});

Deno.test("managed route: maxMessageSize closes with 1009 across fragments", async () => {
  const server = createServer({ maxMessageSize: 1025 });
  let failure: unknown;
  server.webSocket("/", async (session) => {
    try {
      for await (const _ of session.incoming) { /* nothing */ }
    } catch (err) {
      failure = err;
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/");
    await peer.send(Frame.binary(new Uint8Array(1024), { fin: false }));
    await peer.send(Frame.binary(new Uint8Array(1024)), { continuation: true });
    const close = await peer.next();
    assert.equal(readReason(close!)?.code, 1009);
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.equal((failure as { code?: string }).code, "MESSAGE_TOO_BIG");
});

Deno.test("managed route: a handler that returns sends 1000; one that throws sends 1011 and reports", async () => {
  const errors: [unknown, ServerErrorContext][] = [];
  const server = createServer({ onError: (e, c) => void errors.push([e, c]) });
  server.webSocket("/ok", async (session) => {
    await session.send("bye soon");
  });
  server.webSocket("/fail", () => {
    throw new Error("managed broke");
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const base = `ws://127.0.0.1:${listener.addr.port}`;
    const ok = await webSocketRawSession(`${base}/ok`);
    const reader = ok.incoming.getReader();
    assert.equal(readText((await reader.read()).value!), "bye soon");
    assert.deepEqual(readReason((await reader.read()).value!), new CloseReason(1000, ""));
    await ok.close(new CloseReason(1000, ""));
    assert.equal((await reader.read()).done, true);
    reader.releaseLock();

    const session = await webSocketSession(`${base}/fail`);
    assert.deepEqual(await session.closeReason, new CloseReason(1011, "Internal error"));
    await session.closed;
  } finally {
    await listener.shutdown();
  }
  assert.equal(errors.length, 1);
  assert.equal((errors[0]![0] as Error).message, "managed broke");
  assert.equal(errors[0]![1].phase, "handler");
  assert.equal(errors[0]![1].route, "/fail");
});

Deno.test("managed route: serialization with the server's converter", async () => {
  const server = createServer({ converter: jsonConverter() });
  server.webSocket("/json", async (session) => {
    const value = await session.receiveDeserialized<{ n: number }>();
    await session.sendSerialized({ n: value.n + 1, from: session.request.url.pathname });
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const reply = await webSocket(`ws://127.0.0.1:${listener.addr.port}/json`, async (s) => {
      await s.send(JSON.stringify({ n: 41 }));
      for await (const message of s.incoming) return JSON.parse(readText(message));
      return null;
    });
    assert.deepEqual(reply, { n: 42, from: "/json" });
  } finally {
    await listener.shutdown();
  }
});

Deno.test("managed route: permessage-deflate negotiated with npm:ws and this library's client", async () => {
  const server = createServer({ extensions: [perMessageDeflate()] });
  const seen: string[] = [];
  server.webSocket("/z", async (session) => {
    seen.push(session.call.response.headers.get("sec-websocket-extensions") ?? "none");
    for await (const message of session.incoming) await session.send(message);
  });
  server.webSocketRaw("/raw", async (session) => {
    seen.push(`raw:${session.extensions.length}`);
    await session.close(new CloseReason(1000, ""));
    for await (const frame of session.incoming.values({ preventCancel: true })) {
      if (frame.type === "close") return;
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `ws://127.0.0.1:${listener.addr.port}`;
  try {
    const text = "compress me ".repeat(1000);
    const node = new NodeWebSocket(`${base}/z`, { perMessageDeflate: true });
    await new Promise((r) => node.once("open", r));
    assert.match(node.extensions, /permessage-deflate/);
    node.send(text);
    assert.equal(await new Promise<string>((r) => node.once("message", (d) => r(String(d)))), text);
    const closed = new Promise((r) => node.once("close", r));
    node.close(1000);
    await closed;

    await using client = createClient({ extensions: [perMessageDeflate()] });
    const echoed = await client.webSocket(`${base}/z`, async (session) => {
      assert.equal(session.extensions.length, 1);
      await session.send(text);
      for await (const message of session.incoming) return readText(message);
      return null;
    });
    assert.equal(echoed, text);

    // A raw route negotiates nothing unless asked.
    const raw = new NodeWebSocket(`${base}/raw`, { perMessageDeflate: true });
    await new Promise((r) => raw.once("open", r));
    assert.equal(raw.extensions, "");
    await new Promise((r) => raw.once("close", r));
  } finally {
    await listener.shutdown();
  }
  assert.equal(seen[0]!.startsWith("permessage-deflate"), true);
  assert.equal(seen.at(-1), "raw:0");
});
