/**
 * examples/echo_server.ts, the fuzzing client's target, run as `deno run` and put through the
 * Autobahn cases: the managed echo, the raw echo (`--raw`) and permessage-deflate
 * (`--deflate`), each in its own process.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ConformanceCase } from "./_dsl.ts";
import { basicCases } from "./_cases_basic.ts";
import { utf8Cases } from "./_cases_utf8.ts";
import { CI_SCALE, limitsCases } from "./_cases_limits.ts";
import { deflateCases } from "./_cases_deflate.ts";
import { runCases, type TargetName } from "./_runner.ts";

const EXAMPLE = new URL("../../examples/echo_server.ts", import.meta.url).pathname;

async function withEchoServer(
  flags: string[],
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, "--port", "0", ...flags],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  try {
    const { value } = await reader.read();
    const port = Number(/:(\d+)\//.exec(value ?? "")?.[1]);
    assert.ok(port > 0, `no port in ${JSON.stringify(value)}`);
    await fn(port);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await reader.cancel();
    const errors = await stderr;
    assert.equal(status.code, 0, `echo_server exited with ${status.code}: ${errors}`);
  }
}

async function assertNoFailure(target: TargetName, cases: ConformanceCase[], port: number) {
  const results = await runCases(target, cases, { port, concurrency: 8 });
  const failed = results.filter((r) => r.verdict === "FAILED").map((r) => `${r.id}: ${r.reason}`);
  assert.deepEqual(failed, []);
  assert.equal(results.length, cases.length);
}

const plain = [...basicCases(), ...utf8Cases(), ...limitsCases(CI_SCALE)];

Deno.test("examples/echo_server.ts passes categories 1-7, 9 (scaled) and 10", async () => {
  await withEchoServer([], (port) => assertNoFailure("server/managed", plain, port));
});

Deno.test("examples/echo_server.ts --raw passes categories 1-7, 9 (scaled) and 10", async () => {
  await withEchoServer(["--raw"], (port) => assertNoFailure("server/raw", plain, port));
});

Deno.test("examples/echo_server.ts --deflate passes categories 12 and 13 (first case of each)", async () => {
  const cases = deflateCases(3).filter((c) => c.id.endsWith(".1") || c.id.startsWith("12.1."));
  await withEchoServer(["--deflate"], (port) => assertNoFailure("server/managed", cases, port));
});
