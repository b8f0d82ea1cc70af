import assert from "node:assert/strict";
import {
  CloseReason,
  ConnectionClosedError,
  ConnectionError,
  createClient,
  type DefaultWebSocketSession,
  Frame,
  HandshakeError,
  readText,
  TimeoutError,
  webSocket,
  WebSocketError,
  type WebSocketExtensionFactory,
  webSocketSession,
  ws,
  wss,
} from "../../mod.ts";
import { nodeClose, startNodeEcho, startNodeServer, startPeerServer } from "../_helpers/ws_peer.ts";
import { RawServer } from "../_helpers/raw_server.ts";

const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const ca = Deno.readTextFileSync(new URL("ca.pem", tlsDir));
const cert = Deno.readTextFileSync(new URL("server.pem", tlsDir));
const key = Deno.readTextFileSync(new URL("server.key", tlsDir));

/** A Deno.serve echo server, plain or TLS. */
function denoEcho(tls: boolean): { port: number; stop(): Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      onListen() {},
      ...(tls ? { cert, key } : {}),
    },
    (req) => {
      if (req.headers.get("upgrade") !== "websocket") return new Response("nope", { status: 404 });
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    },
  );
  return {
    port: server.addr.port,
    stop: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("createClient checks its options", () => {
  assert.throws(() => createClient({ connectTimeout: -1 }), RangeError);
  assert.throws(() => createClient({ closeTimeout: NaN }), RangeError);
  assert.throws(() => createClient({ pingInterval: Infinity }), RangeError);
  assert.throws(() => createClient({ maxMessageSize: 0 }), RangeError);
  assert.throws(() => createClient({ maxFrameSize: -5 }), RangeError);
  assert.throws(() => createClient({ incomingQueue: { messages: 0 } }), RangeError);
  assert.throws(() => createClient({ outgoingQueue: { bytes: -1 } }), RangeError);
  assert.throws(() => createClient({ converter: { serialize() {} } as never }), TypeError);
  assert.throws(() => createClient({ headers: { "bad header": "x" } }), TypeError);
  assert.throws(() => createClient({ extensions: {} as never }), TypeError);
  const factory = (name: string, rsv: number): WebSocketExtensionFactory => ({
    name,
    rsv,
    clientOffers: () => [{ name, params: new Map() }],
    clientAccept: () => {
      throw new Error("unused");
    },
    serverAccept: () => null,
  });
  assert.throws(
    () => createClient({ extensions: [factory("x-a", 0x40), factory("x-b", 0x40)] }),
    /RSV1/,
  );
  createClient({ extensions: [factory("x-a", 0x40), factory("x-b", 0x20)] });
});

Deno.test("webSocket returns the handler's value and closes with 1000", async () => {
  await using server = await startNodeServer();
  server.wss.on("connection", (socket) => socket.on("message", (d) => socket.send(`re:${d}`)));
  const closed = server.connection().then(({ socket }) => nodeClose(socket));
  const answer = await webSocket(server.url("/chat"), async (session) => {
    await session.send("hi");
    for await (const m of session.incoming) return readText(m);
    throw new Error("no answer");
  });
  assert.equal(answer, "re:hi");
  assert.deepEqual(await closed, { code: 1000, reason: "" });
});

Deno.test("webSocket closes with 1011 when the handler throws, and rethrows", async () => {
  await using server = await startNodeServer();
  const closed = server.connection().then(({ socket }) => nodeClose(socket));
  const boom = new RangeError("handler broke");
  const err = await webSocket(server.url(), () => {
    throw boom;
  }).catch((e) => e);
  assert.equal(err, boom);
  const { code, reason } = await closed;
  assert.equal(code, 1011);
  assert.equal(reason, "RangeError: handler broke");
});

Deno.test("ws with { host, port, path }, params and merged headers", async () => {
  await using server = await startNodeEcho();
  await using client = createClient({ headers: { "x-default": "1", "x-both": "client" } });
  const request = server.connection().then((c) => c.request);
  const result = await client.ws(
    { host: "127.0.0.1", port: server.port, path: "/room?a=1", headers: { "x-both": "call" } },
    (session) => {
      assert.equal(session.call.request.url.href, `ws://127.0.0.1:${server.port}/room?a=1&b=2`);
      assert.equal(session.call.response.status, 101);
      return "done";
    },
    { params: { b: "2" } },
  );
  assert.equal(result, "done");
  const req = await request;
  assert.equal(req.url, "/room?a=1&b=2");
  assert.equal(req.headers["x-default"], "1");
  assert.equal(req.headers["x-both"], "call");
  assert.equal(req.headers.host, `127.0.0.1:${server.port}`);
});

Deno.test("protocols: the server's choice is session.protocol and in the response", async () => {
  await using server = await startNodeEcho();
  server.wss.options.handleProtocols = (protocols) => protocols.has("chat.v2") ? "chat.v2" : false;
  await using session = await webSocketSession(server.url(), { protocols: ["chat.v1", "chat.v2"] });
  assert.equal(session.protocol, "chat.v2");
  assert.equal(session.call.response.headers.get("sec-websocket-protocol"), "chat.v2");
  assert.equal(session.call.request.headers.get("sec-websocket-protocol"), "chat.v1, chat.v2");
});

Deno.test("wss connects with TLS (custom CA) to Deno's server; ws:// in wss() stays plain", async () => {
  const secure = denoEcho(true);
  const plain = denoEcho(false);
  try {
    await using client = createClient({ tls: { caCerts: [ca] } });
    const viaUrl = await client.webSocket(`wss://localhost:${secure.port}/`, async (session) => {
      assert.equal(session.call.request.url.protocol, "wss:");
      await session.send("secure");
      for await (const m of session.incoming) return readText(m);
      throw new Error("no answer");
    });
    assert.equal(viaUrl, "secure");
    const viaParts = await client.wss({ host: "localhost", port: secure.port }, (s) => {
      assert.equal(s.call.request.url.href, `wss://localhost:${secure.port}/`);
      return "tls by default";
    });
    assert.equal(viaParts, "tls by default");
    const schemeWins = await client.wss(`ws://127.0.0.1:${plain.port}/`, async (s) => {
      await s.send("plain");
      for await (const m of s.incoming) return `${s.call.request.url.protocol}${readText(m)}`;
      throw new Error("no answer");
    });
    assert.equal(schemeWins, "ws:plain");
    // Without the CA the handshake fails with a typed error.
    const err = await wss(`wss://localhost:${secure.port}/`, () => {}).catch((e) => e);
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.code, "TLS_FAILED");
  } finally {
    await secure.stop();
    await plain.stop();
  }
});

Deno.test("no forced ports: wss by parts means 443, ws by parts means 80 or the given one", async () => {
  const dir = await Deno.makeTempDir();
  const unixPath = `${dir}/peer.sock`;
  // Over a unix socket the URL only names the Host header (and no TLS is spoken): it shows
  // which port the request meant.
  const unix = startPeerServer(unixPath);
  try {
    for (
      const [open, href, host] of [
        [() => client443(unixPath), "wss://example.com/x", "example.com"],
        [
          () => webSocketSession({ host: "example.com", path: "/y" }, { unixPath }),
          "ws://example.com/y",
          "example.com",
        ],
      ] as const
    ) {
      const [session, peer] = await Promise.all([open(), unix.accept()]);
      assert.equal(session.call.request.url.href, href);
      assert.equal(peer.request.headers.get("host"), host);
      session.abort();
      await session.closed;
    }
  } finally {
    unix.close();
    await Deno.remove(dir, { recursive: true });
  }
  const ac = new AbortController();
  ac.abort();
  const err = await wss({ host: "127.0.0.1", path: "/x" }, () => {}, { signal: ac.signal })
    .catch((e) => e);
  assert.ok(err instanceof WebSocketError);
  assert.equal(err.code, "ABORTED");
  const peers = startPeerServer();
  try {
    const [session] = await Promise.all([
      webSocketSession({ host: "127.0.0.1", port: peers.port, path: "/p" }),
      peers.accept(),
    ]);
    assert.equal(session.call.request.url.href, `ws://127.0.0.1:${peers.port}/p`);
    session.abort();
    await session.closed;
  } finally {
    peers.close();
  }
});

/** `wss({ host, path })` over a unix socket: resolves with the session the block saw. */
function client443(unixPath: string): Promise<DefaultWebSocketSession> {
  const { promise, resolve } = Promise.withResolvers<DefaultWebSocketSession>();
  wss({ host: "example.com", path: "/x" }, (session) => {
    resolve(session);
    return session.closed;
  }, { unixPath }).catch(() => {});
  return promise;
}

Deno.test("webSocketSession: the caller closes; http: URLs are accepted", async () => {
  await using server = await startNodeEcho();
  const session = await webSocketSession(`http://127.0.0.1:${server.port}/`);
  assert.equal(session.call.request.url.protocol, "ws:");
  await session.send("x");
  assert.equal(readText((await session.incoming.getReader().read()).value!), "x");
  await session.close();
  await session.closed;
});

Deno.test("signal: aborting after connect aborts the session", async () => {
  await using server = await startNodeServer();
  const ac = new AbortController();
  const session = await webSocketSession(server.url(), { signal: ac.signal });
  ac.abort(new Error("user gave up"));
  assert.equal((await session.closeReason)?.code, 1006);
  const err = await session.send("x").catch((e) => e);
  assert.equal(err.code, "ABORTED");
  await session.closed;
});

Deno.test("handshakeTimeout: a server that never answers the upgrade", async () => {
  await using peers = startPeerServer();
  const accepted = peers.acceptHead();
  const err = await webSocketSession(peers.url(), { handshakeTimeout: 50 }).catch((e) => e);
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.code, "HANDSHAKE_TIMEOUT");
  (await accepted).conn.close();
});

Deno.test("connection refused and non-101 answers are typed errors", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await webSocketSession(`ws://127.0.0.1:${port}/`).catch((e) => e);
  assert.ok(refused instanceof ConnectionError);
  assert.equal(refused.code, "CONNECTION_REFUSED");

  const server = denoEcho(false);
  try {
    const { port } = server;
    const ac = new AbortController();
    const http = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      () => new Response("no such route", { status: 404 }),
    );
    const err = await webSocket(`ws://127.0.0.1:${http.addr.port}/`, () => {}).catch((e) => e);
    ac.abort();
    await http.finished;
    assert.ok(err instanceof HandshakeError);
    assert.equal(err.status, 404);
    assert.equal(err.bodyText, "no such route");
    assert.equal(
      err.message,
      `ws://127.0.0.1:${http.addr.port}/ answered the upgrade request with 404 Not Found ` +
        "instead of 101 Switching Protocols: no such route",
    );
    assert.ok(port > 0);
  } finally {
    await server.stop();
  }
});

Deno.test("maxHeadSize is the deprecated name of maxHeaderSize; a call's value wins under either", async () => {
  assert.throws(
    () => createClient({ maxHeaderSize: 4096, maxHeadSize: 8192 }),
    {
      name: "TypeError",
      message: "maxHeaderSize and maxHeadSize are the same option (maxHeadSize is an alias): " +
        "give one, got 4096 and 8192",
    },
  );
  assert.throws(() => createClient({ maxHeadSize: 10 }), {
    name: "RangeError",
    message: /^maxHeadSize must be/,
  });
  assert.throws(() => createClient({ maxHeaderSize: 1.5 }), {
    name: "RangeError",
    message: /^maxHeaderSize must be/,
  });
  await createClient({ maxHeaderSize: 4096, maxHeadSize: 4096 }).close();
  await using client = createClient({ maxHeadSize: 4096 });
  const big = { headers: [`X-Big: ${"a".repeat(8192)}`] };
  {
    await using server = RawServer.start();
    const opening = client.webSocketSession(server.url()).catch((e) => e);
    const peer = await server.accept();
    await peer.upgrade(big);
    const err = await opening;
    assert.ok(err instanceof HandshakeError, String(err));
    assert.equal(err.code, "HANDSHAKE_HEAD_TOO_LARGE");
    await peer.drain();
  }
  {
    await using server = RawServer.start();
    const opening = client.webSocketSession(server.url(), { maxHeaderSize: 65536 });
    const peer = await server.accept();
    await peer.upgrade(big);
    const session = await opening;
    session.abort();
    await peer.drain();
    await session.closed;
  }
});

Deno.test("client.close() closes every session with 1001 and refuses new calls", async () => {
  await using server = await startNodeServer();
  const client = createClient();
  const a = await client.webSocketSession(server.url());
  const b = await client.webSocketSession(server.url());
  const closes = [server.connection(), server.connection()].map((c) =>
    c.then(({ socket }) => nodeClose(socket))
  );
  assert.equal(client.openSessions, 2);
  await client.close();
  assert.equal((await a.closeReason)?.code, 1001);
  assert.equal((await b.closeReason)?.code, 1001);
  for (const c of closes) assert.equal((await c).code, 1001);
  assert.equal(client.openSessions, 0);
  const err = await client.webSocketSession(server.url()).catch((e) => e);
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.code, "SESSION_CLOSED");
});

Deno.test("client.close() cancels a connect in progress", async () => {
  await using peers = startPeerServer();
  const client = createClient();
  const accepted = peers.acceptHead();
  const opening = client.webSocketSession(peers.url()).catch((e) => e);
  await accepted;
  await client.close();
  const err = await opening;
  assert.ok(err instanceof WebSocketError);
  assert.equal(err.code, "SESSION_CLOSED");
  (await accepted).conn.close();
});

Deno.test("extensions are offered, negotiated in the server's order, refused when unknown", async () => {
  const made: string[] = [];
  const factory = (name: string, rsv: number): WebSocketExtensionFactory => ({
    name,
    rsv,
    clientOffers: () => [{ name, params: new Map([["level", "3"]]) }],
    clientAccept: (response, context) => {
      made.push(`${name}:${response.params.get("level")}:${context?.maxMessageSize}`);
      return {
        name,
        rsv,
        params: response,
        processOutgoing: (f) => f,
        processIncoming: (f) => f,
        dispose: () => {},
      };
    },
    serverAccept: () => null,
  });
  await using client = createClient({
    extensions: [factory("x-one", 0x40), factory("x-two", 0x20)],
    maxMessageSize: 1234,
  });
  await using peers = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(peers.url()),
    peers.accept({ extensions: "x-two; level=9, x-one" }),
  ]);
  assert.equal(
    peer.request.headers.get("sec-websocket-extensions"),
    "x-one; level=3, x-two; level=3",
  );
  assert.deepEqual(session.extensions.map((e) => e.name), ["x-two", "x-one"]);
  assert.deepEqual(made, ["x-two:9:1234", "x-one:undefined:1234"]);
  session.abort();
  await session.closed;

  const [failed] = await Promise.all([
    client.webSocketSession(peers.url()).catch((e) => e),
    peers.accept({ extensions: "x-three" }),
  ]);
  assert.ok(failed instanceof HandshakeError);
  assert.equal(failed.code, "HANDSHAKE_EXTENSION_MISMATCH");
});

Deno.test("per-call pinger and closeTimeout override the client's", async () => {
  await using client = createClient({ pingInterval: 0, closeTimeout: 10_000 });
  await using peers = startPeerServer();
  const [session, peer] = await Promise.all([
    client.webSocketSession(peers.url(), { pingInterval: 10, closeTimeout: 30 }),
    peers.accept(),
  ]);
  assert.equal(session.pingInterval, 10);
  assert.equal((await peer.readFrame())?.type, "ping");
  const started = performance.now();
  await session.close();
  assert.ok(performance.now() - started < 2000);
  assert.equal((await session.closeReason)?.code, 1000);
});

Deno.test("frames sent by the server right after the 101 are not lost", async () => {
  await using peers = startPeerServer();
  const first = new Uint8Array([0x81, 0x05, ...new TextEncoder().encode("early")]);
  const [session] = await Promise.all([
    webSocketSession(peers.url()),
    peers.accept({ then: first }),
  ]);
  assert.equal(readText((await session.incoming.getReader().read()).value!), "early");
  session.abort();
  await session.closed;
});

Deno.test("the block form ends cleanly when the server closes first", async () => {
  await using server = await startNodeServer();
  server.wss.on("connection", (socket) => socket.close(1001, "restarting"));
  const reason = await ws(server.url(), async (session) => {
    for await (const _ of session.incoming) assert.fail("no message expected");
    return session.closeReason;
  });
  assert.deepEqual(reason, new CloseReason(1001, "restarting"));
});

Deno.test("bad arguments are TypeErrors and RangeErrors, before any connect", async () => {
  await assert.rejects(webSocket("ftp://x/", () => {}), TypeError);
  await assert.rejects(webSocket("ws://127.0.0.1:1/", null as never), TypeError);
  await assert.rejects(webSocketSession({ host: "127.0.0.1", port: 70000 }), RangeError);
  await assert.rejects(webSocketSession("ws://127.0.0.1:1/", { closeTimeout: -1 }), RangeError);
  await assert.rejects(
    webSocketSession("ws://127.0.0.1:1/", { headers: { "sec-websocket-key": "x" } }),
    TypeError,
  );
  await assert.rejects(webSocketSession(42 as never), TypeError);
  const session = await (async () => {
    await using server = await startNodeEcho();
    await using s = await webSocketSession(server.url());
    await assert.rejects(s.close(new CloseReason(1005, "")), RangeError);
    await assert.rejects(s.close("bye" as never), TypeError);
    await assert.rejects(s.send(42 as never), TypeError);
    return s;
  })();
  assert.equal(session.state, "closed");
  assert.ok(Frame.text("x"));
});
