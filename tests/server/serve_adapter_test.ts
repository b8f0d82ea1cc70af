import assert from "node:assert/strict";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { ServerErrorContext, ServerOptions } from "../../src/server/options.ts";
import { CloseReason } from "../../src/core/close.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { jsonConverter } from "../../src/session/converter.ts";
import { webSocket } from "../../src/client/default_client.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import { exchange, RawPeer, upgradeRequest } from "./_tcp.ts";
// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";

/** Runs `fn` with the server behind `Deno.serve`, then shuts both down. */
async function served(
  options: ServerOptions,
  setup: (server: WebSocketServer) => void,
  fn: (port: number, server: WebSocketServer) => Promise<void>,
): Promise<void> {
  const server = createServer(options);
  setup(server);
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.handler);
  try {
    await fn(http.addr.port, server);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket error"));
  });
}

Deno.test("Deno.serve adapter: managed echo with Deno's client (headers, protocols, params, data)", async () => {
  await served({
    upgrade: (request) => ({ data: request.headers.get("x-user") }),
  }, (server) => {
    server.webSocket<string | null>("/chat/:room", async (session) => {
      await session.send(`${session.data}@${session.params.room}/${session.protocol}`);
      for await (const message of session.incoming) await session.send(message);
    }, { protocol: "chat.v2" });
  }, async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/lobby`, {
      headers: { "X-User": "bob" },
      protocols: ["chat.v1", "chat.v2"],
    });
    ws.binaryType = "arraybuffer";
    const messages: unknown[] = [];
    const three = new Promise<void>((r) =>
      ws.onmessage = (e) => {
        messages.push(e.data);
        if (messages.length === 3) r();
      }
    );
    await opened(ws);
    assert.equal(ws.protocol, "chat.v2");
    ws.send("text back");
    ws.send(new Uint8Array([5, 6]));
    await three;
    assert.equal(messages[0], "bob@lobby/chat.v2");
    assert.equal(messages[1], "text back");
    assert.deepEqual(new Uint8Array(messages[2] as ArrayBuffer), new Uint8Array([5, 6]));
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.close(4002, "done");
    const event = await closed;
    assert.equal(event.code, 4002);
  });
});

Deno.test("Deno.serve adapter: hook headers reach the 101; npm:ws and this library's clients work", async () => {
  await served({}, (server) => {
    server.webSocket("/echo", async (session) => {
      for await (const message of session.incoming) await session.send(message);
    }, { upgrade: () => ({ headers: { "X-Extra": "hello" } }) });
  }, async (port) => {
    const { peer, status, headers } = await RawPeer.open(port, "/echo");
    assert.equal(status, 101);
    assert.equal(headers.get("x-extra"), "hello");
    peer.close();

    const raw = await webSocketRawSession(`ws://127.0.0.1:${port}/echo`);
    assert.equal(raw.call.response.headers.get("x-extra"), "hello");
    await raw.close(new CloseReason(1000, ""));
    for await (const _ of raw.incoming.values({ preventCancel: true })) { /* until closed */ }

    const node = new NodeWebSocket(`ws://127.0.0.1:${port}/echo`);
    await new Promise((r) => node.once("open", r));
    node.send("node");
    assert.equal(
      await new Promise<string>((r) => node.once("message", (d) => r(String(d)))),
      "node",
    );
    const nodeClosed = new Promise((r) => node.once("close", r));
    node.close(1000);
    await nodeClosed;

    const answer = await webSocket(`ws://127.0.0.1:${port}/echo`, async (session) => {
      await session.send("managed client");
      for await (const message of session.incoming) return readText(message);
      return null;
    });
    assert.equal(answer, "managed client");
  });
});

Deno.test("Deno.serve adapter: raw routes answer 501 and are reported once", async () => {
  const errors: [unknown, ServerErrorContext][] = [];
  await served({ onError: (e, c) => void errors.push([e, c]) }, (server) => {
    server.webSocketRaw("/raw", () => {});
  }, async (port) => {
    for (let i = 0; i < 2; i++) {
      const reply = await exchange(port, upgradeRequest("/raw", port));
      assert.equal(reply.status, 501);
      assert.match(reply.body, /server\.listen/);
    }
  });
  assert.equal(errors.length, 1);
  assert.ok(errors[0]![0] instanceof TypeError);
  assert.match((errors[0]![0] as Error).message, /cannot be served through server\.fetch/);
  assert.equal(errors[0]![1].route, "/raw");
});

Deno.test("Deno.serve adapter: refusals (404, 426, 403, 400, 401) and the fallback", async () => {
  await served({
    origins: ["http://good.example"],
    fallback: (request) =>
      new URL(request.url).pathname === "/page" ? new Response("page") : new Response(
        "nothing here",
        { status: 404 },
      ),
  }, (server) => {
    server.webSocket("/ws", () => {});
    server.webSocket("/proto", () => {}, { protocol: "p1" });
    server.webSocket("/auth", () => {}, {
      upgrade: () => new Response("no", { status: 401, headers: { "WWW-Authenticate": "Basic" } }),
    });
  }, async (port) => {
    const origin = { Origin: "http://good.example" };
    assert.equal((await exchange(port, upgradeRequest("/nope", port, origin))).status, 404);
    assert.equal((await exchange(port, upgradeRequest("/ws", port))).status, 403);
    assert.equal(
      (await exchange(
        port,
        upgradeRequest("/ws", port, { ...origin, "Sec-WebSocket-Version": "8" }),
      ))
        .status,
      426,
    );
    assert.equal(
      (await exchange(port, upgradeRequest("/ws", port, { ...origin, "Sec-WebSocket-Key": "x" })))
        .status,
      400,
    );
    assert.equal((await exchange(port, upgradeRequest("/proto", port, origin))).status, 400);
    const auth = await exchange(port, upgradeRequest("/auth", port, origin));
    assert.equal(auth.status, 401);
    assert.equal(auth.headers.get("www-authenticate"), "Basic");
    const page = await fetch(`http://127.0.0.1:${port}/page`);
    assert.equal(await page.text(), "page");
    const wsPath = await fetch(`http://127.0.0.1:${port}/ws`);
    assert.equal(wsPath.status, 404);
    await wsPath.body?.cancel();
  });
  // Without a fallback, a plain request to a route gets 426.
  await served({}, (server) => server.webSocket("/ws", () => {}), async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}/ws`);
    assert.equal(response.status, 426);
    await response.body?.cancel();
  });
});

Deno.test("Deno.serve adapter: handler return → 1000, throw → 1011 and onError", async () => {
  const errors: unknown[] = [];
  await served({ onError: (e) => void errors.push(e), closeTimeout: 1000 }, (server) => {
    server.webSocket("/ok", (session) => session.send("one"));
    server.webSocket("/fail", () => {
      throw new Error("native broke");
    });
  }, async (port) => {
    const ok = new WebSocket(`ws://127.0.0.1:${port}/ok`);
    const got = new Promise<string>((r) => ok.onmessage = (e) => r(e.data));
    const okClosed = new Promise<CloseEvent>((r) => ok.onclose = r);
    assert.equal(await got, "one");
    assert.equal((await okClosed).code, 1000);

    const fail = new WebSocket(`ws://127.0.0.1:${port}/fail`);
    const event = await new Promise<CloseEvent>((r) => fail.onclose = r);
    assert.equal(event.code, 1011);
    assert.equal(event.reason, "Internal error");
  });
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error).message, "native broke");
});

Deno.test("Deno.serve adapter: unsupported operations fail clearly; serialization works", async () => {
  const results: string[] = [];
  await served({ converter: jsonConverter(), pingPeriod: 20_000 }, (server) => {
    server.webSocket("/", async (session) => {
      assert.equal(session.pingInterval, 20_000);
      assert.throws(() => session.pingInterval = 1000, TypeError);
      assert.throws(() => session.timeout = 1000, TypeError);
      assert.throws(() => session.maxFrameSize = 1000, TypeError);
      await assert.rejects(session.ping(), TypeError);
      await assert.rejects(session.send(Frame.ping()), TypeError);
      await assert.rejects(session.send(Frame.text("a", { fin: false })), TypeError);
      const value = await session.receiveDeserialized<{ a: number }>();
      await session.sendSerialized({ b: value.a * 2 });
      results.push("done");
    });
  }, async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await opened(ws);
    ws.send(JSON.stringify({ a: 21 }));
    const reply = await new Promise<string>((r) => ws.onmessage = (e) => r(e.data));
    assert.deepEqual(JSON.parse(reply), { b: 42 });
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    assert.equal((await closed).code, 1000);
  });
  assert.deepEqual(results, ["done"]);
});

Deno.test("Deno.serve adapter: maxMessageSize → 1009, incoming overflow → 1008", async () => {
  const failures: string[] = [];
  await served({ maxMessageSize: 100, incomingQueue: { messages: 2 } }, (server) => {
    server.webSocket("/big", async (session) => {
      try {
        for await (const _ of session.incoming) { /* nothing */ }
      } catch (err) {
        failures.push((err as { code: string }).code);
      }
    });
    server.webSocket("/slow", async (session) => {
      // Never reads until the session is over.
      await session.closeReason;
      try {
        for await (const _ of session.incoming) { /* the queued ones */ }
      } catch (err) {
        failures.push((err as { code: string }).code);
      }
    });
  }, async (port) => {
    const big = new WebSocket(`ws://127.0.0.1:${port}/big`);
    await opened(big);
    const bigClosed = new Promise<CloseEvent>((r) => big.onclose = r);
    big.send("x".repeat(101));
    assert.equal((await bigClosed).code, 1009);

    const slow = new WebSocket(`ws://127.0.0.1:${port}/slow`);
    await opened(slow);
    const slowClosed = new Promise<CloseEvent>((r) => slow.onclose = r);
    // Two fill the queue, the third overflows it. (A client that keeps sending after Deno's
    // close frame gets its connection dropped by Deno, without a close code.)
    for (let i = 0; i < 3; i++) slow.send(`m${i}`);
    const event = await slowClosed;
    assert.equal(event.code, 1008);
    assert.equal(event.reason, "Incoming queue overflow");
  });
  assert.deepEqual(failures.sort(), ["MESSAGE_TOO_BIG", "QUEUE_OVERFLOW"]);
});

Deno.test("Deno.serve adapter: server.shutdown sends 1001; maxConnections gives 503", async () => {
  await served({ maxConnections: 1 }, (server) => {
    server.webSocket("/", async (session) => {
      for await (const _ of session.incoming) { /* nothing */ }
    });
  }, async (port, server) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await opened(ws);
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    const refused = await exchange(port, upgradeRequest("/", port));
    assert.equal(refused.status, 503);
    await server.shutdown();
    const event = await closed;
    assert.equal(event.code, 1001);
    assert.equal(event.reason, "Server is going down");
    assert.equal(server.connections, 0);
  });
});
