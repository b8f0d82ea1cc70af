/**
 * The raw client (`webSocketRaw`, `webSocketRawSession`, `wsRaw`, `wssRaw`) against real servers
 * on loopback: Deno's own WebSocket server, `npm:ws`, TLS and mTLS servers, a unix socket
 * server, and the crafted raw server for every way a handshake or a connect can go wrong.
 */

import assert from "node:assert/strict";
import * as https from "node:https";
import type { TLSSocket } from "node:tls";
import { CloseReason } from "../../src/core/close.ts";
import {
  ConnectionError,
  HandshakeError,
  TimeoutError,
  WebSocketError,
} from "../../src/core/errors.ts";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { webSocketRaw, webSocketRawSession, wsRaw, wssRaw } from "../../src/client/raw_client.ts";
import type { RawWebSocketSession } from "../../src/session/raw_session.ts";
// @ts-types="npm:@types/ws@8.18.2"
import { WebSocketServer } from "npm:ws@8.23.0";
import { RawServer } from "../_helpers/raw_server.ts";

const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const readPem = (name: string): string => Deno.readTextFileSync(new URL(name, tlsDir));
const CA = readPem("ca.pem");
const SERVER_TLS = { cert: readPem("server.pem"), key: readPem("server.key") };
const CLIENT_TLS = { cert: readPem("client.pem"), key: readPem("client.key") };

/** What the Deno server saw of one connection. */
interface Seen {
  /** The request's URL and headers (a Deno request's headers are gone after the upgrade). */
  request: { url: string; headers: Headers };
  socket: WebSocket;
  /** Resolves with the close event's code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A `Deno.serve` WebSocket server that echoes messages. */
interface DenoWsServer extends AsyncDisposable {
  port: number;
  /** Resolves with the next upgraded connection. */
  next(): Promise<Seen>;
}

function serveDeno(options?: {
  tls?: { cert: string; key: string };
  hostname?: string;
  path?: string;
  protocol?: (offered: string[]) => string | undefined;
  reply?: (request: Request) => Response | null;
}): DenoWsServer {
  const queue: Seen[] = [];
  const waiting: ((s: Seen) => void)[] = [];
  const handler = (request: Request): Response => {
    const early = options?.reply?.(request);
    if (early) return early;
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((p) => p.trim()).filter((p) => p !== "");
    const protocol = options?.protocol?.(offered);
    const copy = { url: request.url, headers: new Headers(request.headers) };
    const { socket, response } = Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    const closed = Promise.withResolvers<{ code: number; reason: string }>();
    socket.onclose = (e) => closed.resolve({ code: e.code, reason: e.reason });
    socket.onmessage = (e) => socket.send(e.data);
    socket.onerror = () => {};
    const seen = {
      request: copy,
      socket,
      closed: closed.promise,
    };
    const w = waiting.shift();
    if (w) w(seen);
    else queue.push(seen);
    return response;
  };
  const listen = options?.path !== undefined ? { path: options.path, onListen() {} } : {
    hostname: options?.hostname ?? "127.0.0.1",
    port: 0,
    onListen() {},
    ...options?.tls,
  };
  const server = Deno.serve(listen as Deno.ServeTcpOptions, handler);
  return {
    port: options?.path !== undefined ? 0 : (server.addr as Deno.NetAddr).port,
    next: () => {
      const s = queue.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await server.finished;
    },
  };
}

/** A port nothing listens on: listen, note the port, close. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The error `promise` rejects with (fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}

/** Reads the next frame of `session.incoming`. */
async function nextFrame(session: RawWebSocketSession): Promise<Frame> {
  const reader = session.incoming.getReader();
  try {
    const { value, done } = await reader.read();
    assert.ok(!done, "incoming ended early");
    return value;
  } finally {
    reader.releaseLock();
  }
}

// ---------------------------------------------------------------------------------------------
// Against Deno's server

Deno.test("raw client: echo with Deno.serve; the block returns the handler's value, close 1000", async () => {
  await using server = serveDeno();
  const result = await webSocketRaw(`ws://127.0.0.1:${server.port}/echo`, async (session) => {
    await session.send("hello");
    await session.send(new Uint8Array([1, 2, 3]));
    const a = await nextFrame(session);
    const b = await nextFrame(session);
    return [readText(a), b.type, [...b.data]];
  });
  assert.deepEqual(result, ["hello", "binary", [1, 2, 3]]);
  const seen = await server.next();
  assert.equal(new URL(seen.request.url).pathname, "/echo");
  assert.deepEqual(await seen.closed, { code: 1000, reason: "" });
});

Deno.test("raw client: an error thrown by the handler propagates, the server sees 1011", async () => {
  await using server = serveDeno();
  const boom = new Error("boom");
  const err = await failure(
    webSocketRaw(`ws://127.0.0.1:${server.port}/`, async (session) => {
      await session.send("x");
      throw boom;
    }),
  );
  assert.equal(err, boom);
  const closed = await (await server.next()).closed;
  assert.equal(closed.code, 1011);
  assert.match(closed.reason, /boom/);
});

Deno.test("raw client: a handler that sends its own close frame is not closed twice", async () => {
  await using server = serveDeno();
  const frames = await wsRaw({ host: "127.0.0.1", port: server.port, path: "/" }, async (s) => {
    await s.close(new CloseReason(4000, "mine"));
    const out: Frame[] = [];
    for await (const f of s.incoming) out.push(f);
    return out;
  });
  // Deno's server echoes the close frame; the raw session surfaces it and ends.
  assert.equal(frames.length, 1);
  assert.equal(readReason(frames[0]!)?.code, 4000);
  assert.deepEqual(await (await server.next()).closed, { code: 4000, reason: "mine" });
});

Deno.test("raw client: `await using` releases the socket even when the block throws", async () => {
  await using server = serveDeno();
  let session: RawWebSocketSession | undefined;
  await assert.rejects(async () => {
    await using s = await webSocketRawSession(`ws://127.0.0.1:${server.port}/`);
    session = s;
    await s.send("x");
    throw new Error("inside");
  }, /inside/);
  assert.ok(session);
  assert.equal(session.signal.aborted, true);
  assert.deepEqual(await (await server.next()).closed, { code: 1000, reason: "" });
});

Deno.test("raw client: headers, cookies and params reach the server; call shows both sides", async () => {
  await using server = serveDeno();
  const session = await webSocketRawSession(`ws://127.0.0.1:${server.port}/path?a=1`, {
    headers: { Authorization: "Bearer t0ken", Cookie: "sid=42; theme=dark" },
    params: { b: "two words", c: "ü" },
  });
  try {
    const { request } = await server.next();
    assert.equal(request.headers.get("authorization"), "Bearer t0ken");
    assert.equal(request.headers.get("cookie"), "sid=42; theme=dark");
    const url = new URL(request.url);
    assert.equal(url.pathname, "/path");
    assert.equal(url.searchParams.get("a"), "1");
    assert.equal(url.searchParams.get("b"), "two words");
    assert.equal(url.searchParams.get("c"), "ü");
    assert.equal(request.headers.get("host"), `127.0.0.1:${server.port}`);

    const { request: sent, response } = session.call;
    assert.equal(sent.method, "GET");
    assert.equal(sent.url.searchParams.get("b"), "two words");
    assert.equal(sent.headers.get("authorization"), "Bearer t0ken");
    assert.equal(sent.headers.get("upgrade"), "websocket");
    assert.ok(sent.headers.get("sec-websocket-key"));
    assert.equal(response.status, 101);
    assert.equal(response.headers.get("upgrade")?.toLowerCase(), "websocket");
    assert.ok(response.headers.get("sec-websocket-accept"));
    assert.equal(session.protocol, "");
  } finally {
    await session.closeAndRelease();
  }
});

Deno.test("raw client: the server's subprotocol choice becomes session.protocol", async () => {
  await using server = serveDeno({ protocol: (offered) => offered.at(-1) });
  const protocol = await webSocketRaw(
    `ws://127.0.0.1:${server.port}/`,
    (s) => s.protocol,
    { protocols: ["chat.v1", "chat.v2"] },
  );
  assert.equal(protocol, "chat.v2");
  const { request } = await server.next();
  assert.equal(request.headers.get("sec-websocket-protocol"), "chat.v1, chat.v2");
});

Deno.test("raw client: a refusal's message names the URL, the status and a clean snippet of the body", async () => {
  const body = "\x1b[31mtoken\u0000 required\x1b[0m\r\n\t" + "x".repeat(500);
  await using server = serveDeno({
    reply: () => new Response(body, { status: 401, statusText: "Unauthorized" }),
  });
  const url = `ws://127.0.0.1:${server.port}/chat?token=abc`;
  const err = await failure(webSocketRawSession(url));
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_STATUS");
  assert.equal(err.bodyText, body);
  const prefix = `ws://127.0.0.1:${server.port}/chat answered the upgrade request with ` +
    "401 Unauthorized instead of 101 Switching Protocols: token required x";
  assert.ok(err.message.startsWith(prefix), err.message);
  assert.ok(err.message.endsWith("x…"), err.message);
  // deno-lint-ignore no-control-regex
  assert.ok(!/abc|[\x00-\x1f\x7f]/.test(err.message), err.message);
  assert.ok(err.message.length < prefix.length + 200, err.message);
});

Deno.test("raw client: a non-101 reply is a HandshakeError with status, headers and body", async () => {
  await using server = serveDeno({
    reply: () => new Response("nope", { status: 404, headers: { "x-why": "no route" } }),
  });
  const err = await failure(webSocketRawSession(`ws://127.0.0.1:${server.port}/missing`));
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_STATUS");
  assert.equal(err.status, 404);
  assert.equal(err.headers?.get("x-why"), "no route");
  assert.deepEqual(err.body, new TextEncoder().encode("nope"));
  assert.equal(err.bodyText, "nope");
});

// ---------------------------------------------------------------------------------------------
// Handshake faults, scripted with the raw server

/** Starts a client against a raw server, runs `script` on the accepted peer, returns the error. */
async function handshakeFailure(
  script: (peer: Awaited<ReturnType<RawServer["accept"]>>) => Promise<void>,
  options?: Parameters<typeof webSocketRawSession>[1],
): Promise<unknown> {
  await using server = RawServer.start();
  const opening = failure(webSocketRawSession(server.url(), options));
  const peer = await server.accept();
  await script(peer);
  const err = await opening;
  // The client let go of the socket: the server reads end of stream.
  await peer.drain();
  return err;
}

Deno.test("raw client: a wrong Sec-WebSocket-Accept is HANDSHAKE_ACCEPT_MISMATCH", async () => {
  const err = await handshakeFailure((peer) =>
    peer.upgrade({ accept: "dGhpcyBpcyBub3QgcmlnaHQ=" })
  );
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_ACCEPT_MISMATCH");
  assert.equal(err.status, 101);
});

Deno.test("raw client: a 101 without Upgrade is HANDSHAKE_INVALID", async () => {
  const err = await handshakeFailure((peer) => peer.upgrade({ omit: ["upgrade"] }));
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_INVALID");
});

Deno.test("raw client: a subprotocol not offered is HANDSHAKE_PROTOCOL_MISMATCH", async () => {
  const err = await handshakeFailure(
    (peer) => peer.upgrade({ headers: ["Sec-WebSocket-Protocol: mqtt"] }),
    { protocols: ["chat"] },
  );
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_PROTOCOL_MISMATCH");
  assert.equal(err.headers?.get("sec-websocket-protocol"), "mqtt");
});

Deno.test("raw client: an extension not offered is HANDSHAKE_EXTENSION_MISMATCH", async () => {
  const err = await handshakeFailure((peer) => {
    assert.equal(peer.request?.headers.get("sec-websocket-extensions"), null);
    return peer.upgrade({ headers: ["Sec-WebSocket-Extensions: permessage-deflate"] });
  });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_EXTENSION_MISMATCH");
});

Deno.test("raw client: a head over maxHeaderSize is HANDSHAKE_HEAD_TOO_LARGE", async () => {
  const err = await handshakeFailure(
    (peer) => peer.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${"a".repeat(8192)}\r\n`),
    { maxHeaderSize: 4096 },
  );
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_HEAD_TOO_LARGE");
});

Deno.test("raw client: maxHeadSize is the deprecated name of maxHeaderSize", async () => {
  const err = await handshakeFailure(
    (peer) => peer.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${"a".repeat(8192)}\r\n`),
    { maxHeadSize: 4096 },
  );
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_HEAD_TOO_LARGE");
  const url = `ws://127.0.0.1:${freePort()}/`;
  await assert.rejects(
    webSocketRawSession(url, { maxHeaderSize: 4096, maxHeadSize: 8192 }),
    {
      name: "TypeError",
      message: "maxHeaderSize and maxHeadSize are the same option (maxHeadSize is an alias): " +
        "give one, got 4096 and 8192",
    },
  );
  // The same value under both names is no conflict: the connect is attempted (the port is closed).
  await assert.rejects(
    webSocketRawSession(url, { maxHeaderSize: 4096, maxHeadSize: 4096 }),
    ConnectionError,
  );
  await assert.rejects(
    webSocketRawSession(url, { maxHeadSize: 1.5 }),
    { name: "RangeError", message: "maxHeadSize must be an integer >= 64, got 1.5" },
  );
});

Deno.test("raw client: end of stream in the middle of the head is HANDSHAKE_EOF", async () => {
  const err = await handshakeFailure(async (peer) => {
    await peer.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: webso");
    await peer.conn.closeWrite();
  });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_EOF");
});

Deno.test("raw client: garbage instead of an HTTP head is HANDSHAKE_INVALID", async () => {
  const err = await handshakeFailure((peer) => peer.write("\x00\x01garbage\r\n\r\n"));
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.code, "HANDSHAKE_INVALID");
});

Deno.test("raw client: a non-101 with a long body keeps only the first KiB", async () => {
  const err = await handshakeFailure(async (peer) => {
    const body = "x".repeat(5000);
    await peer.write(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.status, 503);
  assert.equal(err.body?.length, 1024);
});

Deno.test("raw client: a non-101 without Content-Length ends with the connection", async () => {
  const err = await handshakeFailure(async (peer) => {
    await peer.write("HTTP/1.1 403 Forbidden\r\n\r\ngo away");
    await peer.conn.closeWrite();
  });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.status, 403);
  assert.equal(err.bodyText, "go away");
});

Deno.test("raw client: a silent server is HANDSHAKE_TIMEOUT", async () => {
  const err = await handshakeFailure(() => Promise.resolve(), { handshakeTimeout: 100 });
  assert.ok(err instanceof TimeoutError, String(err));
  assert.equal(err.code, "HANDSHAKE_TIMEOUT");
});

// ---------------------------------------------------------------------------------------------
// Connect faults

Deno.test("raw client: a closed port is CONNECTION_REFUSED", async () => {
  const err = await failure(webSocketRawSession(`ws://127.0.0.1:${freePort()}/`));
  assert.ok(err instanceof ConnectionError, String(err));
  assert.equal(err.code, "CONNECTION_REFUSED");
});

Deno.test("raw client: an unknown host is DNS_FAILED, within the connect timeout", async () => {
  const started = Date.now();
  const err = await failure(
    webSocketRawSession("ws://nonexistent.invalid/", { connectTimeout: 5000 }),
  );
  assert.ok(err instanceof WebSocketError, String(err));
  // A reachable resolver answers NXDOMAIN; an unreachable one hits the connect timeout.
  assert.ok(err.code === "DNS_FAILED" || err.code === "CONNECT_TIMEOUT", err.code);
  assert.ok(Date.now() - started < 6000);
});

Deno.test("raw client: TLS to a server that never answers the ClientHello is CONNECT_TIMEOUT", async () => {
  await using server = RawServer.start();
  const opening = failure(
    webSocketRawSession(`wss://127.0.0.1:${server.port}/`, {
      connectTimeout: 150,
      tls: { caCerts: [CA] },
    }),
  );
  const peer = await server.acceptRaw();
  const err = await opening;
  assert.ok(err instanceof TimeoutError, String(err));
  assert.equal(err.code, "CONNECT_TIMEOUT");
  // Deno lets the socket of an unfinished TLS handshake go only when the peer acts (see
  // openConnection): the JS side is released at once, the descriptor when the peer closes.
  peer.close();
});

Deno.test("raw client: aborting during the connect rejects with ABORTED", async () => {
  await using server = RawServer.start();
  const controller = new AbortController();
  const opening = failure(
    webSocketRawSession(`wss://127.0.0.1:${server.port}/`, {
      signal: controller.signal,
      tls: { caCerts: [CA] },
    }),
  );
  const peer = await server.acceptRaw();
  controller.abort();
  const err = await opening;
  assert.ok(err instanceof WebSocketError, String(err));
  assert.equal(err.code, "ABORTED");
  peer.close();
});

Deno.test("raw client: aborting during the handshake rejects with the signal's reason", async () => {
  await using server = RawServer.start();
  const controller = new AbortController();
  const opening = failure(webSocketRawSession(server.url(), { signal: controller.signal }));
  const peer = await server.accept();
  const reason = new Error("user gave up");
  controller.abort(reason);
  const err = await opening;
  assert.ok(err instanceof WebSocketError, String(err));
  assert.equal(err.code, "ABORTED");
  assert.equal(err.cause, reason);
  await peer.drain();
});

Deno.test("raw client: an already aborted signal rejects before connecting", async () => {
  const err = await failure(
    webSocketRawSession(`ws://127.0.0.1:${freePort()}/`, { signal: AbortSignal.abort() }),
  );
  assert.ok(err instanceof WebSocketError, String(err));
  assert.equal(err.code, "ABORTED");
});

Deno.test("raw client: aborting an open session fails incoming with ABORTED and releases the socket", async () => {
  await using server = RawServer.start();
  const controller = new AbortController();
  const opening = webSocketRawSession(server.url(), { signal: controller.signal });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  const reader = session.incoming.getReader();
  const pending = reader.read();
  controller.abort();
  const err = await failure(pending);
  assert.ok(err instanceof WebSocketError, String(err));
  assert.equal(err.code, "ABORTED");
  await session.closed;
  assert.equal(await peer.drain(), 0);
  await assert.rejects(session.send("x"), WebSocketError);
});

// ---------------------------------------------------------------------------------------------
// TLS

function ipv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

for (const host of ["127.0.0.1", "localhost", "::1"]) {
  Deno.test({
    name: `raw client: wss://${host} with the test CA`,
    ignore: host === "::1" && !ipv6Loopback(),
  }, async () => {
    await using server = serveDeno({ tls: SERVER_TLS, hostname: host });
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const echoed = await webSocketRaw(
      `wss://${urlHost}:${server.port}/secure`,
      async (session) => {
        await session.send("over tls");
        return readText(await nextFrame(session));
      },
      { tls: { caCerts: [CA] } },
    );
    assert.equal(echoed, "over tls");
    assert.equal((await (await server.next()).closed).code, 1000);
  });
}

Deno.test("raw client: wssRaw with parts connects with TLS; a ws:// string keeps its scheme", async () => {
  await using secure = serveDeno({ tls: SERVER_TLS });
  const viaParts = await wssRaw(
    { host: "127.0.0.1", port: secure.port, path: "/p" },
    (s) => s.call.request.url.href,
    { tls: { caCerts: [CA] } },
  );
  assert.equal(viaParts, `wss://127.0.0.1:${secure.port}/p`);
  await (await secure.next()).closed;

  await using plain = serveDeno();
  const viaString = await wssRaw(`ws://127.0.0.1:${plain.port}/q`, (s) => s.call.request.url.href);
  assert.equal(viaString, `ws://127.0.0.1:${plain.port}/q`);
  await (await plain.next()).closed;
});

Deno.test("raw client: wss without the CA is TLS_FAILED", async () => {
  await using server = RawServer.start({ tls: SERVER_TLS });
  const opening = failure(webSocketRawSession(server.url()));
  const peer = await server.acceptRaw();
  const err = await opening;
  assert.ok(err instanceof ConnectionError, String(err));
  assert.equal(err.code, "TLS_FAILED");
  assert.match(err.message, /UnknownIssuer|certificate/i);
  await peer.drain();
});

/** A `ws` server over `node:https` that requires a client certificate signed by the test CA. */
async function startMtlsServer(): Promise<{
  port: number;
  authorized: Promise<boolean>;
  close(): Promise<void>;
}> {
  const httpsServer = https.createServer({
    ...SERVER_TLS,
    ca: [CA],
    requestCert: true,
    rejectUnauthorized: true,
  });
  const wss = new WebSocketServer({ server: httpsServer, perMessageDeflate: false });
  const authorized = Promise.withResolvers<boolean>();
  wss.on("connection", (socket, request) => {
    authorized.resolve((request.socket as TLSSocket).authorized);
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  const listening = Promise.withResolvers<void>();
  httpsServer.listen(0, "127.0.0.1", () => listening.resolve());
  await listening.promise;
  return {
    port: (httpsServer.address() as { port: number }).port,
    authorized: authorized.promise,
    async close() {
      for (const c of wss.clients) c.terminate();
      const a = Promise.withResolvers<void>();
      wss.close(() => a.resolve());
      await a.promise;
      const b = Promise.withResolvers<void>();
      httpsServer.close(() => b.resolve());
      httpsServer.closeAllConnections();
      await b.promise;
    },
  };
}

Deno.test("raw client: mutual TLS with a client certificate", async () => {
  const server = await startMtlsServer();
  try {
    const echoed = await webSocketRaw(
      `wss://127.0.0.1:${server.port}/`,
      async (session) => {
        await session.send("mtls");
        return readText(await nextFrame(session));
      },
      { tls: { caCerts: [CA], ...CLIENT_TLS } },
    );
    assert.equal(echoed, "mtls");
    assert.equal(await server.authorized, true);
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Unix sockets

Deno.test("raw client: unixPath connects to a unix socket; the URL still names the Host", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ws.sock`;
  try {
    await using server = serveDeno({ path });
    const echoed = await webSocketRaw("ws://unix.example/sock", async (session) => {
      await session.send("via unix");
      return readText(await nextFrame(session));
    }, { unixPath: path });
    assert.equal(echoed, "via unix");
    const seen = await server.next();
    assert.equal(seen.request.headers.get("host"), "unix.example");
    assert.equal((await seen.closed).code, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Bad arguments: typed errors before any connection is attempted (the port is closed, so a
// connect attempt would give a ConnectionError instead)

Deno.test("raw client: bad arguments are TypeError or RangeError before any I/O", async () => {
  const port = freePort();
  const url = `ws://127.0.0.1:${port}/`;
  await assert.rejects(webSocketRawSession(`ftp://127.0.0.1:${port}/`), TypeError);
  await assert.rejects(webSocketRawSession("not a url"), TypeError);
  await assert.rejects(webSocketRawSession(`ws://127.0.0.1:${port}/#frag`), TypeError);
  await assert.rejects(webSocketRawSession({ host: "127.0.0.1", port: 70000 }), RangeError);
  await assert.rejects(webSocketRawSession(url, { connectTimeout: -1 }), RangeError);
  await assert.rejects(webSocketRawSession(url, { handshakeTimeout: -5 }), RangeError);
  await assert.rejects(webSocketRawSession(url, { closeTimeout: NaN }), RangeError);
  await assert.rejects(webSocketRawSession(url, { maxFrameSize: 0 }), RangeError);
  await assert.rejects(webSocketRawSession(url, { maxHeaderSize: -1 }), RangeError);
  await assert.rejects(webSocketRawSession(url, { masking: "yes" as never }), TypeError);
  await assert.rejects(webSocketRawSession(url, { headers: { "bad name": "x" } }), TypeError);
  await assert.rejects(webSocketRawSession(url, { protocols: ["has space"] }), TypeError);
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    webSocketRaw(url, "not a function" as any),
    TypeError,
  );
  // deno-lint-ignore no-explicit-any
  await assert.rejects(wssRaw(url, null as any), TypeError);
  assert.throws(() => Frame.ping(new Uint8Array(126)), RangeError);
  assert.throws(() => new CloseReason(1000, "x".repeat(124)), RangeError);
});

Deno.test("raw client: the block ends promptly even when the handler left incoming locked", async () => {
  await using server = serveDeno();
  const started = performance.now();
  const got = await webSocketRaw(`ws://127.0.0.1:${server.port}/`, async (session) => {
    const reader = session.incoming.getReader();
    await session.send("one");
    const { value } = await reader.read();
    return readText(value!);
  }, { closeTimeout: 10_000 });
  assert.equal(got, "one");
  assert.deepEqual(await (await server.next()).closed, { code: 1000, reason: "" });
  assert.ok(performance.now() - started < 5000, "waited for the close timeout");
});

Deno.test("raw client: the upgrade request on the wire", async () => {
  await using server = RawServer.start();
  const opening = webSocketRawSession(`ws://127.0.0.1:${server.port}/room/1?x=y`, {
    protocols: ["a", "b"],
    headers: [["X-Trace", "42"], ["Origin", "http://example.test"]],
  });
  const peer = await server.accept();
  const head = peer.request!;
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/room/1?x=y");
  assert.equal(head.version, "HTTP/1.1");
  assert.equal(head.headers.get("host"), `127.0.0.1:${server.port}`);
  assert.equal(head.headers.get("upgrade"), "websocket");
  assert.match(head.headers.get("connection") ?? "", /upgrade/i);
  assert.equal(head.headers.get("sec-websocket-version"), "13");
  const key = head.headers.get("sec-websocket-key") ?? "";
  assert.equal(Uint8Array.fromBase64(key).length, 16);
  assert.equal(head.headers.get("sec-websocket-protocol"), "a, b");
  assert.equal(head.headers.get("x-trace"), "42");
  assert.equal(head.headers.get("origin"), "http://example.test");
  assert.equal(head.headers.get("sec-websocket-extensions"), null);
  await peer.upgrade({ headers: ["Sec-WebSocket-Protocol: b", "X-Server: raw"] });
  const session = await opening;
  assert.equal(session.protocol, "b");
  assert.equal(session.call.response.headers.get("x-server"), "raw");
  assert.equal(session.call.response.statusText, "Switching Protocols");
  assert.equal(session.call.request.headers.get("sec-websocket-key"), key);
  session.abort();
  // A second connection uses a fresh key.
  const again = failure(webSocketRawSession(server.url()));
  const peer2 = await server.accept();
  assert.notEqual(peer2.request!.headers.get("sec-websocket-key"), key);
  peer2.close();
  assert.ok((await again) instanceof HandshakeError);
});

Deno.test("raw client: mutual TLS without a client certificate fails with a typed error", async () => {
  const server = await startMtlsServer();
  try {
    const err = await failure(
      webSocketRawSession(`wss://127.0.0.1:${server.port}/`, {
        tls: { caCerts: [CA] },
        handshakeTimeout: 5000,
      }),
    );
    assert.ok(err instanceof WebSocketError, String(err));
    // Normally TLS_FAILED ("received fatal alert: CertificateRequired", which TLS 1.3 sends
    // after the client finished its handshake); a reset may win the race on a busy machine.
    assert.ok(
      ["TLS_FAILED", "CONNECTION_RESET", "HANDSHAKE_EOF"].includes(err.code),
      `${err.code}: ${err.message}`,
    );
  } finally {
    await server.close();
  }
});

Deno.test("raw client: a chunked non-101 reply on a kept-alive connection gives its decoded body", async () => {
  const err = await handshakeFailure(async (peer) => {
    await peer.write(
      "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "4\r\nnope\r\n7;ext=1\r\n, sorry\r\n0\r\n\r\n",
    );
    // The connection stays open: the client must not wait for its end.
    const closed = peer.drain();
    assert.equal(await closed, 0);
  }, { handshakeTimeout: 10_000 });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.status, 500);
  assert.equal(err.bodyText, "nope, sorry");
});

Deno.test("raw client: a non-101 reply without a body length is still a HandshakeError at the deadline", async () => {
  const err = await handshakeFailure(async (peer) => {
    await peer.write("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\npartial");
  }, { handshakeTimeout: 100 });
  assert.ok(err instanceof HandshakeError, String(err));
  assert.equal(err.status, 401);
  assert.equal(err.headers?.get("www-authenticate"), "Bearer");
  assert.equal(err.bodyText, "partial");
});

Deno.test("raw client: a 204 or 304 reply has no body to wait for", async () => {
  for (const status of ["204 No Content", "304 Not Modified"]) {
    const err = await handshakeFailure(async (peer) => {
      await peer.write(`HTTP/1.1 ${status}\r\nContent-Length: 10\r\n\r\n`);
      assert.equal(await peer.drain(), 0);
    }, { handshakeTimeout: 10_000 });
    assert.ok(err instanceof HandshakeError, String(err));
    assert.equal(err.status, Number(status.slice(0, 3)));
    assert.equal(err.body?.length ?? 0, 0);
  }
});

Deno.test("raw client: a handler error with a long message closes with a 1011 reason cut to 123 bytes", async () => {
  await using server = serveDeno();
  const err = await failure(
    webSocketRaw(`ws://127.0.0.1:${server.port}/`, () => {
      throw new RangeError("é".repeat(200));
    }),
  );
  assert.ok(err instanceof RangeError);
  const closed = await (await server.next()).closed;
  assert.equal(closed.code, 1011);
  assert.ok(new TextEncoder().encode(closed.reason).length <= 123);
  assert.match(closed.reason, /^RangeError: éé/);
  assert.ok(!closed.reason.includes("\ufffd"));
});
