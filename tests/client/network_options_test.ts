/**
 * The clients' URL overrides (Ktor's `url { protocol = WSS; port = 443 }`) and the checks of the
 * proxy and redirect options.
 */

import assert from "node:assert/strict";
import { createClient } from "../../src/client/client.ts";
import { webSocketRaw } from "../../src/client/raw_client.ts";
import { wss } from "../../src/client/default_client.ts";
import { readText } from "../../src/core/frame.ts";

const tlsDir = new URL("../fixtures/tls/", import.meta.url);
const readPem = (name: string): string => Deno.readTextFileSync(new URL(name, tlsDir));
const CA = readPem("ca.pem");

function tlsEcho() {
  return Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    cert: readPem("server.pem"),
    key: readPem("server.key"),
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(`${new URL(req.url).protocol} ${e.data}`);
    return response;
  });
}

Deno.test("URL overrides: scheme and port turn a ws:// string into wss: on another port", async () => {
  const server = tlsEcho();
  try {
    const port = server.addr.port;
    const tls = { caCerts: [CA] };
    const echo = async (session: { send(m: string): Promise<void>; incoming: ReadableStream }) => {
      await session.send("hi");
      for await (const m of session.incoming) return readText(m);
      return null;
    };
    // wss("ws://…") stays plain, as in Ktor; the overrides change it.
    await using client = createClient({ tls });
    assert.equal(
      await client.webSocket("ws://localhost:1/x", echo, { scheme: "wss", port }),
      "https: hi",
    );
    assert.equal(
      await wss("ws://localhost:1/x", echo, { scheme: "wss", port, tls }),
      "https: hi",
    );
    assert.equal(
      await webSocketRaw(`ws://localhost:${port}/x`, echo, { scheme: "wss", tls }),
      "https: hi",
    );
    await using client2 = createClient({ tls });
    const session = await client2.webSocketSession("ws://localhost:1/y", { scheme: "wss", port });
    assert.equal(session.call.request.url.href, `wss://localhost:${port}/y`);
    await session.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("network options: bad values are TypeError or RangeError before any I/O", () => {
  for (const proxy of ["https://p:1", "ftp://p", 42, {}, true]) {
    // deno-lint-ignore no-explicit-any
    assert.throws(() => createClient({ proxy: proxy as any }), TypeError, String(proxy));
  }
  assert.throws(() => createClient({ maxRedirects: -1 }), RangeError);
  assert.throws(() => createClient({ maxRedirects: 1.5 }), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createClient({ followRedirects: "yes" as any }), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createClient({ keepCredentialsOnRedirect: 1 as any }), TypeError);
  assert.throws(
    () => createClient({ proxy: "https://user:hunter2@p:1" }),
    (err: Error) => err instanceof TypeError && !err.message.includes("hunter2"),
  );
  createClient({ proxy: false });
  createClient({ proxy: new URL("socks5h://u:p@127.0.0.1:1080") });
});

Deno.test("URL overrides: a bad scheme or port is a TypeError or RangeError", async () => {
  await using client = createClient();
  // deno-lint-ignore no-explicit-any
  await assert.rejects(client.webSocketSession("ws://h/", { scheme: "ftp" as any }), TypeError);
  await assert.rejects(client.webSocketSession("ws://h/", { port: 70000 }), RangeError);
});
