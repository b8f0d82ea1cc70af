/**
 * The clients through real proxies started on loopback: Debian's tinyproxy (HTTP CONNECT, with
 * and without Basic authentication) and dante-server (SOCKS5, with and without username/password
 * authentication). The interop checks (text, binary, 1 MiB, fragments, ping, close, subprotocol,
 * permessage-deflate) run against the python-websockets peer through each; wss: runs TLS inside
 * the tunnel; the environment variables, NO_PROXY, refusals and wrong credentials are checked
 * with typed errors that never show a password.
 */

import assert from "node:assert/strict";
import { createClient } from "../../src/client/client.ts";
import { webSocketRaw } from "../../src/client/raw_client.ts";
import { ConnectionError, ProxyError, WebSocketError } from "../../src/core/errors.ts";
import { readText } from "../../src/core/frame.ts";
import { createServer } from "../../src/server/server.ts";
import { startPythonScript } from "../_helpers/python.ts";
import {
  HTTP_PROXY_USER,
  type RunningProxy,
  SOCKS_USER,
  startDante,
  startTinyproxy,
  withCredentials,
} from "../_helpers/proxies.ts";
import { libraryClientChecks } from "../interop/_matrix.ts";

const PEER = new URL("../interop/_matrix_peer.py", import.meta.url).pathname;
const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const readPem = (name: string): string => Deno.readTextFileSync(new URL(name, tlsDir));
const CA = readPem("ca.pem");

/** The variables the client reads; tests that set them restore them. */
const PROXY_VARS = [
  "ws_proxy",
  "WS_PROXY",
  "wss_proxy",
  "WSS_PROXY",
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY",
];

/** Runs `fn` with exactly `vars` set among the proxy variables, then restores them. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(PROXY_VARS.map((name) => [name, Deno.env.get(name)]));
  for (const name of PROXY_VARS) Deno.env.delete(name);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

/** A TLS echo server of the library (`/echo`), for wss: through the tunnels. */
function tlsEchoServer() {
  const server = createServer();
  server.webSocket("/echo", async (session) => {
    for await (const message of session.incoming) await session.send(message);
  });
  return server.listen({
    hostname: "127.0.0.1",
    port: 0,
    cert: readPem("server.pem"),
    key: readPem("server.key"),
  });
}

/** Sends one text message through a managed session and returns the echo. */
async function echoOnce(url: string, options: Parameters<typeof createClient>[0]) {
  await using client = createClient({ ...options, closeTimeout: 3000 });
  return await client.webSocket(url, async (session) => {
    await session.send("through the tunnel ✓");
    for await (const message of session.incoming) return readText(message);
    return null;
  });
}

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<WebSocketError> {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof WebSocketError, `expected a WebSocketError, got ${err}`);
  return err;
}

/** Asserts that no message or field of `err` (or its causes) holds `secret`. */
function assertNoSecret(err: unknown, secret: string): void {
  for (let e = err; e instanceof Error; e = e.cause) {
    assert.ok(!e.message.includes(secret), `the message shows the password: ${e.message}`);
    assert.ok(!JSON.stringify(e).includes(secret), "a field shows the password");
  }
}

const connects = (proxy: RunningProxy) =>
  proxy.log.filter((line) => /CONNECT|tcp\/connect/.test(line)).length;

Deno.test("proxy: the interop checks through tinyproxy (HTTP CONNECT), explicit option", async (t) => {
  await using proxy = await startTinyproxy();
  const py = await startPythonScript(PEER, ["server"]);
  try {
    await libraryClientChecks(t, {
      base: `ws://127.0.0.1:${py.port}`,
      deflate: true,
      client: { proxy: proxy.url },
    });
    assert.ok(connects(proxy) >= 8, `tinyproxy saw ${connects(proxy)} CONNECTs`);
  } finally {
    await py.stop();
  }
});

Deno.test("proxy: the interop checks through tinyproxy with Basic auth, from HTTP_PROXY", async (t) => {
  await using proxy = await startTinyproxy({ auth: true });
  const py = await startPythonScript(PEER, ["server"]);
  try {
    await withEnv({ HTTP_PROXY: withCredentials(proxy, HTTP_PROXY_USER) }, async () => {
      await libraryClientChecks(t, { base: `ws://127.0.0.1:${py.port}`, deflate: true });
    });
    assert.ok(connects(proxy) >= 8, `tinyproxy saw ${connects(proxy)} CONNECTs`);
  } finally {
    await py.stop();
  }
});

Deno.test("proxy: tinyproxy with auth refuses wrong or missing credentials (407, or its 401)", async () => {
  await using proxy = await startTinyproxy({ auth: true });
  await using listener = tlsEchoServer();
  const url = `ws://127.0.0.1:${listener.addr.port}/echo`;
  const wrong = withCredentials(proxy, { username: "alice", password: "not-the-password" });
  const err = await failure(echoOnce(url, { proxy: wrong }));
  assert.ok(err instanceof ProxyError);
  assert.equal(err.code, "PROXY_AUTH_FAILED");
  // tinyproxy 1.11 answers wrong credentials with 401 (407 when there are none).
  assert.ok(err.status === 407 || err.status === 401, `status ${err.status}`);
  assert.equal(err.proxy, proxy.url);
  assert.match(err.message, /rejected the credentials/);
  assertNoSecret(err, "not-the-password");
  const none = await failure(echoOnce(url, { proxy: proxy.url }));
  assert.ok(none instanceof ProxyError);
  assert.equal(none.code, "PROXY_AUTH_FAILED");
  assert.equal(none.status, 407);
  assert.match(none.message, /requires credentials/);
});

Deno.test("proxy: wss: through tinyproxy runs TLS inside the tunnel with the target's name", async () => {
  await using proxy = await startTinyproxy({ auth: true });
  await using listener = tlsEchoServer();
  const proxyUrl = withCredentials(proxy, HTTP_PROXY_USER);
  for (const host of ["localhost", "127.0.0.1"]) {
    const url = `wss://${host}:${listener.addr.port}/echo`;
    assert.equal(
      await echoOnce(url, { proxy: proxyUrl, tls: { caCerts: [CA] } }),
      "through the tunnel ✓",
    );
  }
  // Without the CA the certificate check fails inside the tunnel: TLS_FAILED, not a proxy error.
  const err = await failure(
    echoOnce(`wss://localhost:${listener.addr.port}/echo`, { proxy: proxyUrl }),
  );
  assert.equal(err.code, "TLS_FAILED");
  assertNoSecret(err, HTTP_PROXY_USER.password);
  // A client certificate cannot go through startTls.
  await assert.rejects(
    echoOnce(`wss://localhost:${listener.addr.port}/echo`, {
      proxy: proxyUrl,
      tls: { caCerts: [CA], cert: readPem("client.pem"), key: readPem("client.key") },
    }),
    TypeError,
  );
});

Deno.test("proxy: a CONNECT refusal (403, an unreachable target) is PROXY_REFUSED with its status", async () => {
  await using proxy = await startTinyproxy({ connectPorts: [443] });
  await using listener = tlsEchoServer();
  const err = await failure(echoOnce(`ws://127.0.0.1:${listener.addr.port}/echo`, {
    proxy: proxy.url,
  }));
  assert.ok(err instanceof ProxyError);
  assert.equal(err.code, "PROXY_REFUSED");
  assert.equal(err.status, 403);
  await using open = await startTinyproxy();
  const closedPort = listener.addr.port;
  await listener.shutdown();
  const gone = await failure(echoOnce(`ws://127.0.0.1:${closedPort}/echo`, { proxy: open.url }));
  assert.ok(gone instanceof ProxyError);
  assert.equal(gone.code, "PROXY_REFUSED");
  assert.ok(gone.status !== undefined && gone.status >= 500, `status ${gone.status}`);
});

Deno.test("proxy: NO_PROXY bypasses the environment's proxy; proxy: false ignores it", async () => {
  await using listener = tlsEchoServer();
  const port = listener.addr.port;
  const url = `wss://127.0.0.1:${port}/echo`;
  const tls = { caCerts: [CA] };
  // A proxy that is not running: using it fails, bypassing it works.
  const dead = `http://127.0.0.1:${port + 1 === 65536 ? port - 1 : port + 1}`;
  await withEnv({ HTTPS_PROXY: dead }, async () => {
    const err = await failure(echoOnce(url, { tls }));
    assert.ok(err instanceof ConnectionError);
    assert.match(err.message, /the proxy http:\/\/127\.0\.0\.1/);
    assert.equal(await echoOnce(url, { tls, proxy: false }), "through the tunnel ✓");
  });
  for (
    const noProxy of ["127.0.0.1", "127.0.0.0/8", `127.0.0.1:${port}`, "*", "x.org, 127.0.0.1"]
  ) {
    await withEnv({ HTTPS_PROXY: dead, NO_PROXY: noProxy }, async () => {
      assert.equal(await echoOnce(url, { tls }), "through the tunnel ✓", noProxy);
    });
  }
  await withEnv({ HTTPS_PROXY: dead, no_proxy: `127.0.0.1:${port + 7}` }, async () => {
    assert.equal((await failure(echoOnce(url, { tls }))).code, "CONNECTION_REFUSED");
  });
  // ws: reads WS_PROXY/HTTP_PROXY, not HTTPS_PROXY.
  await withEnv({ HTTPS_PROXY: dead }, async () => {
    const plain = createServer();
    plain.webSocket("/echo", async (session) => {
      for await (const m of session.incoming) await session.send(m);
    });
    await using l = plain.listen({ hostname: "127.0.0.1", port: 0 });
    assert.equal(await echoOnce(`ws://127.0.0.1:${l.addr.port}/echo`, {}), "through the tunnel ✓");
  });
});

Deno.test("proxy: the interop checks through danted (SOCKS5), socks5h from ALL_PROXY", async (t) => {
  await using proxy = await startDante();
  const py = await startPythonScript(PEER, ["server"]);
  try {
    await withEnv({ ALL_PROXY: proxy.url.replace("socks5:", "socks5h:") }, async () => {
      await libraryClientChecks(t, { base: `ws://localhost:${py.port}`, deflate: true });
    });
    assert.ok(connects(proxy) >= 8, `danted saw ${connects(proxy)} connects`);
  } finally {
    await py.stop();
  }
});

Deno.test("proxy: the interop checks through danted with username/password, socks5", async (t) => {
  await using proxy = await startDante({ auth: true });
  const py = await startPythonScript(PEER, ["server"]);
  try {
    await libraryClientChecks(t, {
      base: `ws://127.0.0.1:${py.port}`,
      deflate: true,
      client: { proxy: withCredentials(proxy, SOCKS_USER) },
    });
  } finally {
    await py.stop();
  }
});

Deno.test("proxy: danted refuses wrong and missing credentials with PROXY_AUTH_FAILED", async () => {
  await using proxy = await startDante({ auth: true });
  await using listener = tlsEchoServer();
  const url = `wss://localhost:${listener.addr.port}/echo`;
  const wrong = withCredentials(proxy, { username: SOCKS_USER.username, password: "wrong-pw" });
  const err = await failure(echoOnce(url, { proxy: wrong, tls: { caCerts: [CA] } }));
  assert.ok(err instanceof ProxyError);
  assert.equal(err.code, "PROXY_AUTH_FAILED");
  assert.equal(err.proxy, proxy.url);
  assert.notEqual(err.reply, 0);
  assertNoSecret(err, "wrong-pw");
  const none = await failure(echoOnce(url, { proxy: proxy.url, tls: { caCerts: [CA] } }));
  assert.ok(none instanceof ProxyError);
  assert.equal(none.code, "PROXY_AUTH_FAILED");
  assert.equal(none.reply, 0xff);
  // The right ones, wss: inside the SOCKS tunnel, raw client too.
  const good = withCredentials(proxy, SOCKS_USER, "socks5h:");
  assert.equal(
    await echoOnce(url, { proxy: good, tls: { caCerts: [CA] } }),
    "through the tunnel ✓",
  );
  const first = await webSocketRaw(url, async (session) => {
    await session.send("raw ✓");
    for await (const frame of session.incoming) return readText(frame);
    return null;
  }, { proxy: good, tls: { caCerts: [CA] } });
  assert.equal(first, "raw ✓");
});

Deno.test("proxy: socks5 resolves names here, socks5h at the proxy; SOCKS replies are typed", async () => {
  await using proxy = await startDante();
  const name = "no-such-host.invalid";
  const local = await failure(echoOnce(`ws://${name}:9/`, { proxy: proxy.url }));
  assert.equal(local.code, "DNS_FAILED");
  assert.ok(!(local instanceof ProxyError));
  const atProxy = await failure(echoOnce(`ws://${name}:9/`, {
    proxy: proxy.url.replace("socks5:", "socks5h:"),
  }));
  assert.ok(atProxy instanceof ProxyError, String(atProxy));
  assert.equal(atProxy.code, "PROXY_REFUSED");
  assert.ok(atProxy.reply !== undefined && atProxy.reply > 0);
  // A closed port behind the proxy: reply 5, connection refused.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const refused = await failure(echoOnce(`ws://127.0.0.1:${closedPort}/`, { proxy: proxy.url }));
  assert.ok(refused instanceof ProxyError);
  assert.equal(refused.code, "PROXY_REFUSED");
  assert.equal(refused.reply, 5);
  assert.match(refused.message, /connection refused \(reply 5\)/);
});
