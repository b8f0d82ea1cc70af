/**
 * `connect` through a proxy (a real tinyproxy) and across a redirect (`-L`), and the refusal of
 * a redirect without `-L`.
 */

import assert from "node:assert/strict";
import { ExitCode } from "../../src/cli/help.ts";
import { startTinyproxy } from "../_helpers/proxies.ts";
import { runCli } from "./_cli.ts";
import { startTestServer } from "./_servers.ts";

Deno.test("connect --proxy: through tinyproxy's CONNECT to the echo server", async () => {
  await using server = startTestServer();
  const port = Number(new URL(server.base).port);
  await using proxy = await startTinyproxy({ connectPorts: [port] });
  const r = await runCli(["connect", `${server.base}/echo`, "--proxy", proxy.url], "via\n");
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, "via\n");
  assert.ok(proxy.log.some((line) => line.includes("CONNECT")), proxy.log.join("\n"));
});

Deno.test("connect -L: a 302 to the echo route is followed; without -L it is refused (exit 4)", async () => {
  await using server = startTestServer();
  const ac = new AbortController();
  const redirector = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
    () =>
      new Response(null, {
        status: 302,
        headers: { location: `${server.base}/echo` },
      }),
  );
  const from = `ws://127.0.0.1:${redirector.addr.port}/old`;
  try {
    const followed = await runCli(["connect", from, "-L"], "moved\n");
    assert.equal(followed.code, ExitCode.OK, followed.stderr);
    assert.equal(followed.stdout, "moved\n");
    const refused = await runCli(["connect", from], "moved\n");
    assert.equal(refused.code, ExitCode.HANDSHAKE_REFUSED, refused.stderr);
    assert.match(refused.stderr, /302/);
    const capped = await runCli(["connect", from, "-L", "--max-redirs", "0"], "moved\n");
    assert.notEqual(capped.code, ExitCode.OK);
  } finally {
    ac.abort();
    await redirector.finished;
  }
});
