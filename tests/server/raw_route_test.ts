import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerErrorContext } from "../../src/server/options.ts";
import type { RawWebSocketServerSession } from "../../src/server/raw_server_session.ts";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { CloseReason } from "../../src/core/close.ts";
import { webSocketRaw, webSocketRawSession } from "../../src/client/raw_client.ts";
import {
  deflateFrame,
  inflateFrame,
  perMessageDeflate,
} from "../../src/session/permessage_deflate.ts";
import { RawPeer } from "./_tcp.ts";
// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";

/** A raw echo: every data frame, fragments included, as it came; answers the close. */
async function rawEcho(session: RawWebSocketServerSession): Promise<void> {
  for await (const frame of session.incoming.values({ preventCancel: true })) {
    if (frame.type === "close") {
      await session.close(readReason(frame)).catch(() => {});
      return;
    }
    if (frame.type === "text" || frame.type === "binary") await session.send(frame);
  }
}

Deno.test("raw route: frames surface one by one (fragments, ping, pong) and nothing is automatic", async () => {
  const seen: string[] = [];
  const server = createServer();
  server.webSocketRaw("/raw", async (session) => {
    for await (const frame of session.incoming.values({ preventCancel: true })) {
      seen.push(
        frame.type === "close"
          ? `close:${readReason(frame)?.code}:${readReason(frame)?.message}`
          : `${frame.type}:${frame.fin}:${new TextDecoder().decode(frame.data)}`,
      );
      if (frame.type === "close") {
        await session.close(new CloseReason(4000, "done"));
        return;
      }
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer, status } = await RawPeer.open(listener.addr.port, "/raw");
    assert.equal(status, 101);
    await peer.send(Frame.text("Hel", { fin: false }));
    await peer.send(Frame.ping(new TextEncoder().encode("p")));
    await peer.send(Frame.text("lo"), { continuation: true });
    await peer.send(Frame.pong(new TextEncoder().encode("q")));
    await peer.send(Frame.close(new CloseReason(1000, "bye")));
    // No pong came back for the ping: the first frame is the handler's close.
    const reply = await peer.next();
    assert.equal(reply?.type, "close");
    assert.deepEqual(readReason(reply!), new CloseReason(4000, "done"));
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.deepEqual(seen, [
    "text:false:Hel",
    "ping:true:p",
    "text:true:lo",
    "pong:true:q",
    "close:1000:bye",
  ]);
});

Deno.test("raw route: echo with this library's raw client, Deno's WebSocket and npm:ws", async () => {
  const server = createServer();
  server.webSocketRaw("/echo", rawEcho);
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const url = `ws://127.0.0.1:${listener.addr.port}/echo`;
  try {
    // Own raw client.
    const got = await webSocketRaw(url, async (session) => {
      await session.send(Frame.binary(new Uint8Array([1, 2, 3])));
      for await (const frame of session.incoming.values({ preventCancel: true })) return frame;
      return null;
    });
    assert.deepEqual(got?.data, new Uint8Array([1, 2, 3]));

    // Deno's client.
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    await new Promise((r) => ws.onopen = r);
    ws.send("deno");
    const message = await new Promise<string>((r) => ws.onmessage = (e) => r(e.data));
    assert.equal(message, "deno");
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.close(1000, "ok");
    const event = await closed;
    assert.equal(event.code, 1000);
    assert.equal(event.reason, "ok");

    // npm:ws, with a 100 KiB message.
    const node = new NodeWebSocket(url);
    await new Promise((r) => node.once("open", r));
    const big = new Uint8Array(100 * 1024).map((_, i) => i & 0xff);
    node.send(big);
    const echoed = await new Promise<Uint8Array>((r) =>
      node.once("message", (data) => r(new Uint8Array(data as ArrayBuffer)))
    );
    assert.deepEqual(echoed, big);
    const nodeClosed = new Promise<[number, string]>((r) =>
      node.once("close", (code, reason) => r([code, reason.toString()]))
    );
    node.close(4001, "node done");
    assert.deepEqual(await nodeClosed, [4001, "node done"]);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("raw route: a handler that returns sends 1000, then the socket is released", async () => {
  let resolveClosed!: () => void;
  const released = new Promise<void>((r) => resolveClosed = r);
  const server = createServer();
  server.webSocketRaw("/bye", async (session) => {
    await session.send("last words");
    session.closed.then(resolveClosed);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const session = await webSocketRawSession(`ws://127.0.0.1:${listener.addr.port}/bye`);
    const frames: Frame[] = [];
    const reader = session.incoming.getReader();
    while (true) {
      const { value } = await reader.read();
      frames.push(value!);
      if (value!.type === "close") break;
    }
    assert.equal(readText(frames[0]!), "last words");
    assert.deepEqual(readReason(frames[1]!), new CloseReason(1000, ""));
    await session.close(new CloseReason(1000, ""));
    assert.equal((await reader.read()).done, true);
    reader.releaseLock();
    await released;
    assert.equal(server.connections, 0);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("raw route: a handler that throws sends 1011 and reports to onError", async () => {
  const errors: [unknown, ServerErrorContext][] = [];
  const server = createServer({ onError: (e, c) => void errors.push([e, c]), closeTimeout: 200 });
  server.webSocketRaw("/fail/:id", () => {
    throw new RangeError("handler broke");
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/fail/7");
    const close = await peer.next();
    assert.deepEqual(readReason(close!), new CloseReason(1011, "Internal error"));
    await peer.send(Frame.close(readReason(close!)));
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.equal(errors.length, 1);
  assert.equal((errors[0]![0] as Error).message, "handler broke");
  assert.equal(errors[0]![1].phase, "handler");
  assert.equal(errors[0]![1].route, "/fail/:id");
  assert.equal(errors[0]![1].request?.url.pathname, "/fail/7");
  assert.equal((errors[0]![1].remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
});

Deno.test("raw route: a client that never answers the close is cut off after closeTimeout", async () => {
  const server = createServer({ closeTimeout: 150 });
  server.webSocketRaw("/", () => {});
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/");
    const started = performance.now();
    assert.equal((await peer.next())?.type, "close");
    assert.equal(await peer.ended(), true);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 100 && elapsed < 2000, `ended after ${elapsed} ms`);
    peer.close();
  } finally {
    await listener.shutdown();
  }
});

Deno.test("raw route: maxFrameSize closes with 1009", async () => {
  const server = createServer({ maxFrameSize: 1024 });
  let failure: unknown;
  server.webSocketRaw("/", async (session) => {
    try {
      for await (const _ of session.incoming) { /* drain */ }
    } catch (err) {
      failure = err;
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const { peer } = await RawPeer.open(listener.addr.port, "/");
    await peer.send(Frame.binary(new Uint8Array(1025)));
    const close = await peer.next();
    assert.equal(readReason(close!)?.code, 1009);
    assert.equal(await peer.ended(), true);
    peer.close();
  } finally {
    await listener.shutdown();
  }
  assert.equal((failure as { code?: string }).code, "FRAME_TOO_BIG");
});

Deno.test("raw route: a TLS listener with the test certificate", async () => {
  const dir = new URL("../fixtures/tls/", import.meta.url);
  const cert = await Deno.readTextFile(new URL("server.pem", dir));
  const key = await Deno.readTextFile(new URL("server.key", dir));
  const ca = await Deno.readTextFile(new URL("ca.pem", dir));
  const server = createServer();
  server.webSocketRaw("/secure", rawEcho);
  const listener = server.listen({ port: 0, hostname: "127.0.0.1", cert, key });
  try {
    const got = await webSocketRaw(
      `wss://localhost:${listener.addr.port}/secure`,
      async (session) => {
        await session.send("over tls");
        for await (const frame of session.incoming.values({ preventCancel: true })) {
          return readText(frame);
        }
        return null;
      },
      { tls: { caCerts: [ca] } },
    );
    assert.equal(got, "over tls");

    // npm:ws over TLS too.
    const node = new NodeWebSocket(`wss://localhost:${listener.addr.port}/secure`, { ca });
    await new Promise((r, j) => {
      node.once("open", r);
      node.once("error", j);
    });
    node.send("node tls");
    const echoed = await new Promise<string>((r) => node.once("message", (d) => r(String(d))));
    assert.equal(echoed, "node tls");
    const closed = new Promise((r) => node.once("close", r));
    node.close(1000);
    await closed;
  } finally {
    await listener.shutdown();
  }
});

Deno.test("raw route: a TLS client that fails its handshake is dropped quietly", async () => {
  const dir = new URL("../fixtures/tls/", import.meta.url);
  const errors: unknown[] = [];
  const server = createServer({ onError: (e) => void errors.push(e) });
  server.webSocketRaw("/", rawEcho);
  const listener = server.listen({
    port: 0,
    hostname: "127.0.0.1",
    cert: await Deno.readTextFile(new URL("server.pem", dir)),
    key: await Deno.readTextFile(new URL("server.key", dir)),
  });
  try {
    // Plain text to a TLS port.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(1024);
    try {
      while ((await conn.read(buf)) !== null) { /* drain */ }
    } catch { /* reset */ }
    conn.close();
  } finally {
    await listener.shutdown();
  }
  assert.deepEqual(errors, []);
  assert.equal(server.connections, 0);
});

Deno.test("raw route: negotiateExtensions surfaces compressed frames (inflate/deflate by hand)", async () => {
  const server = createServer({ extensions: [perMessageDeflate()] });
  const seen: string[] = [];
  server.webSocketRaw("/z", async (session) => {
    seen.push(session.call.response.headers.get("sec-websocket-extensions") ?? "none");
    for await (const received of session.incoming.values({ preventCancel: true })) {
      if (received.type === "close") {
        await session.close(readReason(received)).catch(() => {});
        return;
      }
      seen.push(`rsv1=${received.rsv1}`);
      const frame = inflateFrame(received, session);
      await session.send(deflateFrame(Frame.text(`got ${readText(frame).length}`), session));
    }
  }, { negotiateExtensions: true });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const node = new NodeWebSocket(`ws://127.0.0.1:${listener.addr.port}/z`, {
      perMessageDeflate: { threshold: 0 },
    });
    await new Promise((r) => node.once("open", r));
    node.send("x".repeat(5000));
    assert.equal(
      await new Promise<string>((r) => node.once("message", (d) => r(String(d)))),
      "got 5000",
    );
    const closed = new Promise((r) => node.once("close", r));
    node.close(1000);
    await closed;
  } finally {
    await listener.shutdown();
  }
  assert.match(seen[0]!, /^permessage-deflate/);
  assert.equal(seen[1], "rsv1=true");
});
