import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerErrorContext } from "../../src/server/options.ts";
import type { UpgradeContext } from "../../src/server/upgrade_hook.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { exchange, RawPeer, upgradeRequest } from "./_tcp.ts";

Deno.test("upgrade hook: refuses with any Response (401 + WWW-Authenticate + body)", async () => {
  const server = createServer({
    upgrade(request) {
      if (request.headers.get("authorization") !== "Bearer good") {
        return new Response("who are you?", {
          status: 401,
          headers: { "WWW-Authenticate": 'Bearer realm="test"', "X-Reason": "no token" },
        });
      }
      return { data: { user: "alice" }, headers: { "Set-Cookie": "sid=1", "X-Extra": "yes" } };
    },
  });
  const seen: unknown[] = [];
  server.webSocketRaw<{ user: string }>("/ws", (session) => {
    seen.push(session.data.user);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    const refused = await exchange(port, upgradeRequest("/ws", port));
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="test"');
    assert.equal(refused.headers.get("x-reason"), "no token");
    assert.equal(refused.body, "who are you?");

    const { peer, status, headers } = await RawPeer.open(port, "/ws", {
      Authorization: "Bearer good",
    });
    assert.equal(status, 101);
    assert.equal(headers.get("set-cookie"), "sid=1");
    assert.equal(headers.get("x-extra"), "yes");
    assert.equal((await peer.next())?.type, "close");
    await peer.send(Frame.close(null));
    await peer.ended();
    peer.close();
    assert.deepEqual(seen, ["alice"]);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("upgrade hook: headers reach Deno's WebSocket client; data and params reach the session", async () => {
  const contexts: UpgradeContext[] = [];
  const server = createServer({
    upgrade: (_request, context) => {
      contexts.push(context);
      return { data: "from server" };
    },
  });
  server.webSocketRaw<string>("/room/:name", async (session) => {
    await session.send(`${session.data}|${session.params.name}|${session.protocol}`);
    for await (const frame of session.incoming) {
      if (frame.type === "close") {
        await session.close(readReason(frame)).catch(() => {});
        return;
      }
    }
  }, {
    upgrade: (request, context) => {
      contexts.push(context);
      assert.equal(request.headers.get("x-token"), "t0k3n");
      return { data: `${context.data}+route`, protocol: "b" };
    },
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/room/lobby`, {
      headers: { "X-Token": "t0k3n" },
      protocols: ["a", "b"],
    });
    const message = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(e.data);
      ws.onerror = () => reject(new Error("error"));
    });
    assert.equal(ws.protocol, "b");
    assert.equal(message, "from server+route|lobby|b");
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.close(1000);
    assert.equal((await closed).code, 1000);
  } finally {
    await listener.shutdown();
  }
  assert.equal(contexts.length, 2);
  assert.equal(contexts[0]!.route, "/room/:name");
  assert.equal(contexts[0]!.kind, "raw");
  assert.deepEqual(contexts[0]!.params, { name: "lobby" });
  assert.deepEqual(contexts[0]!.protocols, ["a", "b"]);
  assert.equal(contexts[0]!.remoteAddr?.hostname, "127.0.0.1");
  assert.equal(contexts[1]!.data, "from server");
});

Deno.test("upgrade hook: a throw gets 500 and goes to onError; a thrown Response is the reply", async () => {
  const errors: [unknown, ServerErrorContext][] = [];
  const server = createServer({ onError: (e, c) => void errors.push([e, c]) });
  server.webSocketRaw("/boom", () => {}, {
    upgrade: () => {
      throw new Error("hook broke");
    },
  });
  server.webSocketRaw("/thrown", () => {}, {
    upgrade: () => {
      throw new Response(null, { status: 302, headers: { Location: "/login" } });
    },
  });
  server.webSocketRaw("/reserved", () => {}, {
    upgrade: () => ({ headers: { "Sec-WebSocket-Accept": "nope" } }),
  });
  server.webSocketRaw("/badproto", () => {}, { upgrade: () => ({ protocol: "never" }) });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    assert.equal((await exchange(port, upgradeRequest("/boom", port))).status, 500);
    const thrown = await exchange(port, upgradeRequest("/thrown", port));
    assert.equal(thrown.status, 302);
    assert.equal(thrown.headers.get("location"), "/login");
    assert.equal((await exchange(port, upgradeRequest("/reserved", port))).status, 500);
    assert.equal((await exchange(port, upgradeRequest("/badproto", port))).status, 500);
  } finally {
    await listener.shutdown();
  }
  assert.equal(errors.length, 3);
  assert.equal((errors[0]![0] as Error).message, "hook broke");
  assert.equal(errors[0]![1].phase, "upgrade");
  assert.equal(errors[0]![1].route, "/boom");
  assert.equal(errors[0]![1].request?.url.pathname, "/boom");
  assert.ok(errors[1]![0] instanceof TypeError);
  assert.ok(errors[2]![0] instanceof TypeError);
});

Deno.test("upgrade hook: an async hook slower than handshakeTimeout loses the connection", async () => {
  let aborted = false;
  const server = createServer({ handshakeTimeout: 100 });
  server.webSocketRaw("/slow", () => {}, {
    upgrade: async (_request, context) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        context.signal.addEventListener("abort", () => {
          aborted = true;
          clearTimeout(timer);
          resolve();
        });
      });
    },
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = listener.addr.port;
    const reply = await exchange(port, upgradeRequest("/slow", port));
    assert.equal(reply.status, 0); // closed without a reply
    assert.equal(aborted, true);
  } finally {
    await listener.shutdown();
  }
});
