/**
 * Redirects of the upgrade request, on both clients: off by default; followed on request with a
 * relative Location, ws: → wss:, a cap on hops; loops, too many hops and wss: → ws: refused with
 * RedirectError; Authorization and Cookie dropped on a cross-origin hop unless kept; the final URL
 * on the session.
 */

import assert from "node:assert/strict";
import { createClient } from "../../src/client/client.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import { HandshakeError, RedirectError } from "../../src/core/errors.ts";
import { readText } from "../../src/core/frame.ts";

const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const readPem = (name: string): string => Deno.readTextFileSync(new URL(name, tlsDir));
const CA = readPem("ca.pem");

/** What the final endpoint saw of each upgrade. */
interface Seen {
  path: string;
  authorization: string | null;
  cookie: string | null;
}

/**
 * A server that answers `/go/<status>?to=<url>` with that redirect, `/hop/<n>` with a 302 to
 * `/hop/<n-1>` (and `/hop/0` upgrades), `/loop/a` ↔ `/loop/b`, and upgrades anything else,
 * echoing messages and recording the headers.
 */
function startServer(tls?: boolean) {
  const seen: Seen[] = [];
  const redirect = (status: number, location: string) =>
    new Response(null, { status, headers: { location } });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(tls ? { cert: readPem("server.pem"), key: readPem("server.key") } : {}),
  }, (req) => {
    const url = new URL(req.url);
    const go = /^\/go\/(\d+)$/.exec(url.pathname);
    if (go) return redirect(Number(go[1]), url.searchParams.get("to")!);
    const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
    if (hop && hop[1] !== "0") return redirect(302, `/hop/${Number(hop[1]) - 1}`);
    if (url.pathname === "/loop/a") return redirect(307, "b");
    if (url.pathname === "/loop/b") return redirect(308, "a");
    seen.push({
      path: url.pathname,
      authorization: req.headers.get("authorization"),
      cookie: req.headers.get("cookie"),
    });
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  const port = server.addr.port;
  return { server, port, seen, base: `${tls ? "wss" : "ws"}://127.0.0.1:${port}` };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => null, (e) => e);
}

Deno.test("redirects: not followed by default; the 3xx is a HandshakeError with its Location", async () => {
  const a = startServer();
  try {
    await using client = createClient();
    const err = await failure(client.webSocketSession(`${a.base}/go/302?to=/final`));
    assert.ok(err instanceof HandshakeError);
    assert.ok(!(err instanceof RedirectError));
    assert.equal(err.code, "HANDSHAKE_STATUS");
    assert.equal(err.status, 302);
    assert.equal(err.headers?.get("location"), "/final");
  } finally {
    await a.server.shutdown();
  }
});

Deno.test("redirects: every redirect status, a relative Location, the final URL on the session", async () => {
  const a = startServer();
  try {
    await using client = createClient({ followRedirects: true });
    for (const status of [301, 302, 303, 307, 308]) {
      await client.webSocket(`${a.base}/go/${status}?to=final-${status}`, async (session) => {
        assert.equal(session.call.request.url.href, `${a.base}/go/final-${status}`);
        await session.send("hi");
        for await (const m of session.incoming) return assert.equal(readText(m), "hi");
      });
    }
    assert.deepEqual(
      a.seen.map((s) => s.path),
      [301, 302, 303, 307, 308].map((s) => `/go/final-${s}`),
    );
    // The raw client follows too.
    const raw = await webSocketRawSession(`${a.base}/hop/2`, { followRedirects: true });
    assert.equal(raw.call.request.url.href, `${a.base}/hop/0`);
    await raw.closeAndRelease();
  } finally {
    await a.server.shutdown();
  }
});

Deno.test("redirects: the hop cap, loops, and a Location that is no WebSocket URL", async () => {
  const a = startServer();
  try {
    await using client = createClient({ followRedirects: true, maxRedirects: 3 });
    const ok = await client.webSocketSession(`${a.base}/hop/3`);
    assert.equal(ok.call.request.url.pathname, "/hop/0");
    await ok.close();
    const tooMany = await failure(client.webSocketSession(`${a.base}/hop/4`));
    assert.ok(tooMany instanceof RedirectError);
    assert.equal(tooMany.code, "TOO_MANY_REDIRECTS");
    assert.equal(tooMany.chain.length, 4);
    const ten = await failure(
      createClient({ followRedirects: true }).webSocketSession(
        `${a.base}/hop/11`,
      ),
    );
    assert.equal((ten as RedirectError).code, "TOO_MANY_REDIRECTS");
    const loop = await failure(client.webSocketSession(`${a.base}/loop/a`));
    assert.ok(loop instanceof RedirectError);
    assert.equal(loop.code, "REDIRECT_LOOP");
    assert.deepEqual(loop.chain, [`${a.base}/loop/a`, `${a.base}/loop/b`]);
    const ftp = await failure(client.webSocketSession(`${a.base}/go/302?to=ftp://x/`));
    assert.equal((ftp as RedirectError).code, "REDIRECT_INVALID");
  } finally {
    await a.server.shutdown();
  }
});

Deno.test("redirects: ws: → wss: is followed, wss: → ws: is refused", async () => {
  const plain = startServer();
  const secure = startServer(true);
  try {
    await using client = createClient({ followRedirects: true, tls: { caCerts: [CA] } });
    const up = await client.webSocketSession(
      `${plain.base}/go/301?to=${encodeURIComponent(`${secure.base}/tls`)}`,
    );
    assert.equal(up.call.request.url.href, `${secure.base}/tls`);
    await up.close();
    const down = await failure(client.webSocketSession(
      `${secure.base}/go/302?to=${encodeURIComponent(`${plain.base}/plain`)}`,
    ));
    assert.ok(down instanceof RedirectError);
    assert.equal(down.code, "REDIRECT_DOWNGRADE");
    assert.equal(down.location, `${plain.base}/plain`);
    assert.deepEqual(plain.seen, []);
  } finally {
    await plain.server.shutdown();
    await secure.server.shutdown();
  }
});

Deno.test("redirects: Authorization and Cookie stay on the origin unless kept", async () => {
  const a = startServer();
  const b = startServer();
  try {
    const headers = { authorization: "Bearer t0ken", cookie: "sid=1" };
    const other = encodeURIComponent(`${b.base}/elsewhere`);
    await using client = createClient({ followRedirects: true, headers });
    await (await client.webSocketSession(`${a.base}/go/302?to=/same`)).close();
    await (await client.webSocketSession(`${a.base}/go/302?to=${other}`)).close();
    await (await client.webSocketSession(`${a.base}/go/302?to=${other}`, {
      keepCredentialsOnRedirect: true,
    })).close();
    assert.deepEqual(a.seen, [{ path: "/same", authorization: "Bearer t0ken", cookie: "sid=1" }]);
    assert.deepEqual(b.seen, [
      { path: "/elsewhere", authorization: null, cookie: null },
      { path: "/elsewhere", authorization: "Bearer t0ken", cookie: "sid=1" },
    ]);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown();
  }
});
