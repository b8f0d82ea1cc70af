/**
 * Opening sockets (TCP, TLS, unix) with typed errors, deadlines and abort signals.
 */

import assert from "node:assert/strict";
import {
  ConnectionError,
  TimeoutError,
  WebSocketError,
  type WebSocketErrorCode,
} from "../../src/core/errors.ts";
import {
  abortError,
  connectionErrorFrom,
  type Deadline,
  deadline,
  openConnection,
  phasedDeadline,
} from "../../src/transport/connect.ts";
import { RawServer } from "../_helpers/raw_server.ts";

const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const readPem = (name: string): string => Deno.readTextFileSync(new URL(name, tlsDir));
const CA = readPem("ca.pem");
const SERVER_TLS = { cert: readPem("server.pem"), key: readPem("server.key") };

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function codeOf(promise: Promise<unknown>): Promise<WebSocketErrorCode> {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof WebSocketError, `expected a WebSocketError, got ${err}`);
  return err.code;
}

/** Lets every queued microtask run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("openConnection: TCP, one byte each way", async () => {
  await using server = RawServer.start();
  const connecting = openConnection({ hostname: "127.0.0.1", port: server.port, secure: false });
  const peer = await server.acceptRaw();
  const conn = await connecting;
  try {
    assert.equal((conn.remoteAddr as Deno.NetAddr).port, server.port);
    await conn.write(new Uint8Array([5]));
    await peer.write(new Uint8Array([6]));
    const buf = new Uint8Array(1);
    assert.equal(await conn.read(buf), 1);
    assert.equal(buf[0], 6);
  } finally {
    conn.close();
  }
  assert.equal(await peer.drain(), 1);
});

Deno.test("openConnection: TLS with the test CA, for an IP and for a name", async () => {
  await using server = RawServer.start({ tls: SERVER_TLS });
  for (const hostname of ["127.0.0.1", "localhost"]) {
    const connecting = openConnection(
      { hostname: "127.0.0.1", port: server.port, secure: true },
      { tls: { caCerts: [CA], serverName: hostname }, connectTimeout: 5000 },
    );
    const peer = await server.acceptRaw();
    const conn = await connecting;
    await conn.write(new Uint8Array([1, 2, 3]));
    conn.close();
    assert.equal(await peer.drain(), 3);
  }
});

Deno.test("openConnection: a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = RawServer.start({ unixPath: `${dir}/s.sock` });
    const connecting = openConnection({
      hostname: "ignored",
      port: 80,
      secure: false,
      unixPath: `${dir}/s.sock`,
    });
    const peer = await server.acceptRaw();
    const conn = await connecting;
    await conn.write(new Uint8Array([9]));
    conn.close();
    assert.equal(await peer.drain(), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openConnection: refused, missing unix socket, unknown host", async () => {
  assert.equal(
    await codeOf(openConnection({ hostname: "127.0.0.1", port: freePort(), secure: false })),
    "CONNECTION_REFUSED",
  );
  const missing = await openConnection({
    hostname: "h",
    port: 80,
    secure: false,
    unixPath: "/nonexistent/dir/ws.sock",
  }).then(() => null, (e) => e);
  assert.ok(missing instanceof ConnectionError);
  assert.match(missing.message, /\/nonexistent\/dir\/ws\.sock/);
  const dns = await codeOf(
    openConnection({ hostname: "nonexistent.invalid", port: 80, secure: false }, {
      connectTimeout: 5000,
    }),
  );
  assert.ok(dns === "DNS_FAILED" || dns === "CONNECT_TIMEOUT", dns);
});

Deno.test("openConnection: an IPv6 host in brackets", async (t) => {
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: "::1", port: 0 });
  } catch {
    await t.step({ name: "IPv6 loopback unavailable", ignore: true, fn() {} });
    return;
  }
  try {
    const accepted = listener.accept();
    const conn = await openConnection({
      hostname: "[::1]",
      port: (listener.addr as Deno.NetAddr).port,
      secure: false,
    });
    conn.close();
    (await accepted).close();
  } finally {
    listener.close();
  }
});

Deno.test("connectionErrorFrom: Deno errors map to stable codes", () => {
  const cases: [unknown, boolean, WebSocketErrorCode][] = [
    [new Deno.errors.ConnectionRefused("refused"), false, "CONNECTION_REFUSED"],
    [new Error("dns error: failed to lookup address information"), false, "DNS_FAILED"],
    [new Error("Name or service not known"), true, "DNS_FAILED"],
    [new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"), true, "TLS_FAILED"],
    [new Error("received fatal alert: HandshakeFailure"), true, "TLS_FAILED"],
    [new Error("received fatal alert: HandshakeFailure"), false, "CONNECTION_FAILED"],
    [new Deno.errors.ConnectionReset("reset"), false, "CONNECTION_RESET"],
    [new Deno.errors.BrokenPipe("pipe"), false, "CONNECTION_RESET"],
    [new Error("something else"), false, "CONNECTION_FAILED"],
    ["not even an error", false, "CONNECTION_FAILED"],
  ];
  for (const [err, secure, code] of cases) {
    const mapped = connectionErrorFrom(err, "h:1", secure);
    assert.ok(mapped instanceof ConnectionError, String(err));
    assert.equal(mapped.code, code, String(err));
    assert.equal(mapped.cause, err);
    assert.match(mapped.message, /h:1/);
  }
  const typed = new TimeoutError("CONNECT_TIMEOUT", "late");
  assert.equal(connectionErrorFrom(typed, "h:1", false), typed);
});

Deno.test("deadline: a timer rejects with a TimeoutError of the given code", async () => {
  const guard = deadline(10, "HANDSHAKE_TIMEOUT", "The thing");
  const err = await guard.promise.then(() => null, (e) => e);
  guard.cleanup();
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.code, "HANDSHAKE_TIMEOUT");
  assert.match(err.message, /The thing timed out after 10 ms/);
});

Deno.test("deadline: an abort rejects with ABORTED and the reason as cause; cleanup detaches", async () => {
  const controller = new AbortController();
  const guard = deadline(0, "CONNECT_TIMEOUT", "x", controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  const err = await guard.promise.then(() => null, (e) => e);
  guard.cleanup();
  assert.ok(err instanceof WebSocketError);
  assert.equal(err.code, "ABORTED");
  assert.equal(err.cause, reason);

  // After cleanup, neither the timer nor the signal settles the promise.
  const later = new AbortController();
  const quiet = deadline(0, "CONNECT_TIMEOUT", "x", later.signal);
  let settled = false;
  quiet.promise.catch(() => settled = true);
  quiet.cleanup();
  later.abort();
  await settle();
  assert.equal(settled, false);
});

Deno.test("Deadline: each phase keeps its own limit with one timer", async () => {
  const outcome = (guard: Deadline) =>
    guard.promise.then(() => null, (e: TimeoutError) => ({ code: e.code, at: performance.now() }));

  // A shorter second phase replaces the running timer.
  let guard = phasedDeadline();
  let start = performance.now();
  guard.phase(5_000, "CONNECT_TIMEOUT", "c");
  guard.phase(20, "HANDSHAKE_TIMEOUT", "h");
  let got = await outcome(guard);
  guard.cleanup();
  assert.equal(got?.code, "HANDSHAKE_TIMEOUT");
  assert.ok(got!.at - start < 2_000);

  // A longer second phase: the first phase's timer fires early, then waits for the rest.
  guard = phasedDeadline();
  guard.phase(20, "CONNECT_TIMEOUT", "c");
  await new Promise((resolve) => setTimeout(resolve, 10));
  start = performance.now();
  guard.phase(80, "HANDSHAKE_TIMEOUT", "the upgrade");
  got = await outcome(guard);
  guard.cleanup();
  assert.equal(got?.code, "HANDSHAKE_TIMEOUT");
  assert.ok(got!.at - start >= 75, `${got!.at - start} ms`);

  // A second phase with no limit: the first phase's timer fires and settles nothing.
  guard = phasedDeadline();
  let settled = false;
  guard.promise.catch(() => settled = true);
  guard.phase(10, "CONNECT_TIMEOUT", "c");
  guard.phase(0, "HANDSHAKE_TIMEOUT", "h");
  await new Promise((resolve) => setTimeout(resolve, 40));
  guard.cleanup();
  assert.equal(settled, false);
});

Deno.test("deadline and abortError: an aborted signal's WebSocketError reason is kept as is", async () => {
  const reason = new TimeoutError("PING_TIMEOUT", "custom");
  assert.equal(abortError(AbortSignal.abort(reason)), reason);
  const guard = deadline(0, "CONNECT_TIMEOUT", "x", AbortSignal.abort(reason));
  await assert.rejects(guard.promise, (e) => e === reason);
  guard.cleanup();
  const wrapped = abortError(AbortSignal.abort());
  assert.equal(wrapped.code, "ABORTED");
  assert.ok(wrapped.cause instanceof DOMException);
});

Deno.test("openConnection: an already aborted signal throws before connecting", async () => {
  const err = await openConnection(
    { hostname: "127.0.0.1", port: freePort(), secure: false },
    { signal: AbortSignal.abort() },
  ).then(() => null, (e) => e);
  assert.ok(err instanceof WebSocketError);
  assert.equal(err.code, "ABORTED");
});

Deno.test("openConnection: tls.serverName sets SNI and the checked name, not the host connected to", async () => {
  // The server listens on 127.0.0.2 only; its certificate names localhost. Before, serverName
  // was used as the host to connect to, and this was CONNECTION_REFUSED (localhost is 127.0.0.1).
  const listener = Deno.listenTls({ hostname: "127.0.0.2", port: 0, ...SERVER_TLS });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const conn = await listener.accept();
    try {
      await conn.handshake();
      const buf = new Uint8Array(1);
      await conn.read(buf);
      await conn.write(buf);
    } finally {
      conn.close();
    }
  })();
  try {
    const conn = await openConnection(
      { hostname: "127.0.0.2", port, secure: true },
      { tls: { caCerts: [CA], serverName: "localhost" }, connectTimeout: 5000 },
    );
    try {
      assert.equal((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.2");
      await conn.write(new Uint8Array([4]));
      const buf = new Uint8Array(1);
      assert.equal(await conn.read(buf), 1);
      assert.equal(buf[0], 4);
    } finally {
      conn.close();
    }
    await served;
    // A name the certificate does not hold fails the check: the name is what is verified.
    const wrong = openConnection(
      { hostname: "127.0.0.2", port, secure: true },
      { tls: { caCerts: [CA], serverName: "example.org" }, connectTimeout: 5000 },
    );
    const accepted = listener.accept();
    assert.equal(await codeOf(wrong), "TLS_FAILED");
    (await accepted).close();
    // Deno.startTls takes no client certificate: refused before connecting.
    await assert.rejects(
      openConnection({ hostname: "127.0.0.2", port, secure: true }, {
        tls: { serverName: "localhost", cert: "x", key: "y" },
      }),
      TypeError,
    );
  } finally {
    listener.close();
  }
});

Deno.test("connecting without --allow-net is PERMISSION_DENIED, in one sentence naming the flag", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    import { webSocket, isTransientError } from ${JSON.stringify(mod)};
    try {
      await webSocket("ws://127.0.0.1:${port}/", () => {});
    } catch (err) {
      console.log(JSON.stringify({
        name: err.name, code: err.code, message: err.message, transient: isTransientError(err),
      }));
    }
  `;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", "--no-lock", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = out.stdin.getWriter();
    await writer.write(new TextEncoder().encode(script));
    await writer.close();
    const { stdout, stderr } = await out.output();
    const text = new TextDecoder().decode(stdout).trim();
    assert.ok(text, new TextDecoder().decode(stderr));
    const seen = JSON.parse(text);
    assert.deepEqual(seen, {
      name: "ConnectionError",
      code: "PERMISSION_DENIED",
      message: `Network access to 127.0.0.1:${port} is not allowed: run with --allow-net ` +
        `(or --allow-net=127.0.0.1:${port})`,
      transient: false,
    });
  } finally {
    listener.close();
  }
});

Deno.test("connectionErrorFrom: Deno's permission errors become PERMISSION_DENIED", () => {
  const denied = new Deno.errors.NotCapable(
    'Requires net access to "proxy.test:3128", run again with the --allow-net flag',
  );
  const err = connectionErrorFrom(denied, "example.com:443", true);
  assert.equal(err.code, "PERMISSION_DENIED");
  assert.equal(
    err.message,
    "Network access to proxy.test:3128 is not allowed: run with --allow-net " +
      "(or --allow-net=proxy.test:3128)",
  );
  assert.equal(err.cause, denied);
  const unix = connectionErrorFrom(
    new Deno.errors.PermissionDenied('Requires read access to "/tmp/ws.sock", run again'),
    "/tmp/ws.sock",
    false,
  );
  assert.equal(unix.code, "PERMISSION_DENIED");
  assert.match(unix.message, /--allow-read/);
});
