/**
 * The Autobahn|Testsuite fuzzing-server client: runs every case of a `wstest -m fuzzingserver`
 * against this library's managed client, which echoes every message it receives, then asks the
 * server to write its reports.
 *
 * ```sh
 * deno run -A examples/autobahn_client.ts [ws://127.0.0.1:9001] [--agent wirestream]
 *                                         [--deflate] [--cases 1-50] [--timeout 10]
 * ```
 *
 * - It reads the number of cases from `/getCaseCount`, runs `/runCase?case=N&agent=NAME` for
 *   each case N in turn, and ends with `/updateReports?agent=NAME`.
 * - `--deflate` offers permessage-deflate (for categories 12 and 13).
 * - `--cases 1-50` (or `7`, or `3-`) limits the case numbers run.
 * - `--timeout 10` is how many seconds `/getCaseCount` may take (connect included) before the
 *   client gives up: a server that is no fuzzing server may accept and never answer.
 *
 * It exits with status 0 once the reports are updated (whatever the verdicts: they are in the
 * server's report), and 1 when the server cannot be reached or does not answer `/getCaseCount`
 * in time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createClient, perMessageDeflate, readText, type WebSocketClient } from "../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    agent: { type: "string", default: "wirestream" },
    deflate: { type: "boolean", default: false },
    cases: { type: "string" },
    quiet: { type: "boolean", short: "q", default: false },
    timeout: { type: "string", default: "10" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: deno run -A examples/autobahn_client.ts [ws://127.0.0.1:9001] [--agent NAME] " +
      "[--deflate] [--cases FROM-TO] [--timeout SECONDS]",
  );
  Deno.exit(0);
}

const base = (positionals[0] ?? "ws://127.0.0.1:9001").replace(/\/+$/, "");
const agent = values.agent;
const timeout = Number(values.timeout);
if (!(timeout > 0)) {
  console.error(`--timeout must be a number of seconds above 0, got ${values.timeout}`);
  Deno.exit(2);
}

/** The inclusive range of case numbers `--cases` asks for (`7`, `1-50`, `3-`). */
function caseRange(spec: string | undefined, count: number): [number, number] {
  if (spec === undefined) return [1, count];
  const match = /^(\d+)(?:-(\d*))?$/.exec(spec.trim());
  if (!match) {
    console.error(`--cases must look like 7, 1-50 or 3-, got ${spec}`);
    Deno.exit(2);
  }
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : match[2] === "" ? count : Number(match[2]);
  return [Math.max(1, from), Math.min(count, to)];
}

const client: WebSocketClient = createClient({
  // Autobahn's largest messages are 16 MiB (category 9).
  maxFrameSize: 64 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  extensions: values.deflate ? [perMessageDeflate()] : [],
});

/** Connects to `path` and echoes every message until the server closes. */
async function echoCase(path: string): Promise<void> {
  try {
    const session = await client.webSocketSession(`${base}${path}`);
    try {
      for await (const message of session.incoming) await session.send(message);
    } catch {
      // The case failed the connection on purpose (a protocol error, invalid UTF-8, ...).
    }
    await session.closed;
  } catch (error) {
    // A refused handshake is a verdict too; the report has the details.
    if (!values.quiet) console.error(`${path}: ${error}`);
  }
}

let count = NaN;
const gaveUp = AbortSignal.timeout(timeout * 1000);
try {
  count = await client.webSocket(`${base}/getCaseCount`, async (session) => {
    for await (const message of session.incoming) return Number(readText(message));
    return NaN;
  }, { signal: gaveUp });
} catch (error) {
  if (!gaveUp.aborted) {
    console.error(`cannot reach the fuzzing server at ${base}: ${error}`);
    await client.close();
    Deno.exit(1);
  }
}
if (gaveUp.aborted) {
  console.error(
    `no answer from ${base}/getCaseCount within ${timeout} s: is it an Autobahn fuzzing ` +
      "server (wstest -m fuzzingserver)? (--timeout sets the wait)",
  );
  await client.close();
  Deno.exit(1);
}
if (!Number.isInteger(count) || count < 0) {
  console.error(`/getCaseCount answered ${count}`);
  await client.close();
  Deno.exit(1);
}

const [from, to] = caseRange(values.cases, count);
const started = performance.now();
for (let n = from; n <= to; n++) {
  if (!values.quiet) console.log(`case ${n}/${count}`);
  await echoCase(`/runCase?case=${n}&agent=${encodeURIComponent(agent)}`);
}
await echoCase(`/updateReports?agent=${encodeURIComponent(agent)}`);
await client.close();
console.log(
  `ran cases ${from}-${to} of ${count} as "${agent}" in ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s; reports updated`,
);
