/**
 * TLS in the tool: `listen --cert --key` serves wss://, `connect --ca` trusts the test CA,
 * `--cert/--key` give a client certificate, a server the system does not trust fails with exit 3,
 * and `--insecure` connects anyway (by running Deno again without certificate checks).
 */

import assert from "node:assert/strict";
import { ExitCode } from "../../src/cli/help.ts";
import { runCli, startListen } from "./_cli.ts";

const tls = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname;

Deno.test("wss: listen --cert --key, connect --ca (and a client certificate)", async () => {
  const { cli, base } = await startListen([
    "--echo",
    "--cert",
    tls("server.pem"),
    "--key",
    tls("server.key"),
  ]);
  const wss = base.replace("ws://", "wss://");
  try {
    assert.ok(cli.stderr.some((l) => l.startsWith("listening on wss://127.0.0.1:")));
    const r = await runCli(["connect", `${wss}/`, "--ca", tls("ca.pem")], "over tls\n");
    assert.equal(r.code, ExitCode.OK, r.stderr);
    assert.equal(r.stdout, "over tls\n");
    const mtls = await runCli([
      "connect",
      `${wss}/`,
      "--ca",
      tls("ca.pem"),
      "--cert",
      tls("client.pem"),
      "--key",
      tls("client.key"),
      "-x",
      "with a client certificate",
    ]);
    assert.equal(mtls.code, ExitCode.OK, mtls.stderr);
    assert.equal(mtls.stdout, "with a client certificate\n");

    const untrusted = await runCli(["connect", `${wss}/`, "-x", "x"]);
    assert.equal(untrusted.code, ExitCode.CONNECTION_FAILED);
    assert.match(untrusted.stderr, /tls_failed/);

    const insecure = await runCli(["connect", `${wss}/`, "--insecure", "-x", "anyway"]);
    assert.equal(insecure.code, ExitCode.OK, insecure.stderr);
    assert.equal(insecure.stdout, "anyway\n");
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
});
