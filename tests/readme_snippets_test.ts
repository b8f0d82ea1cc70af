/**
 * The README's quick starts run as shown, the way a reader runs them: from a project of its own
 * whose `deno.json` is the import map of the README's Install section (pointing at this checkout,
 * as `../wirestream`), each snippet in its own `deno run -A --check` process.
 *
 * The snippets run here are the README's ```` ```ts ignore ```` blocks (ignored by
 * `deno test --doc`, which cannot start a server) whose first line is one of:
 *
 * - `// Start the echo server first: deno run -A examples/echo_server.ts`: a client, run against
 *   `examples/echo_server.ts` started on a free loopback port (its `127.0.0.1:9001` rewritten to
 *   that port); it must exit 0;
 * - `// A server of its own: …`: run with `port: 9001` rewritten to `port: 0`; once it prints its
 *   URL, its routes are exercised, then SIGINT must end it with exit code 0.
 *
 * Every process is bounded (killed by PID past the bound, which fails the test).
 */

import assert from "node:assert/strict";
import { lines } from "./_helpers/lines.ts";
import { HandshakeError } from "../src/core/errors.ts";
import { readText } from "../src/core/frame.ts";
import { webSocket } from "../src/client/default_client.ts";
import { webSocketRaw } from "../src/client/raw_client.ts";

const ROOT = new URL("../", import.meta.url);
const CLIENT_MARKER = "// Start the echo server first: deno run -A examples/echo_server.ts";
const SERVER_MARKER = "// A server of its own:";
/** The bound of one snippet's run, type check included. */
const BOUND_MS = 60_000;

const readme = await Deno.readTextFile(new URL("README.md", ROOT));
const blocks = (lang: string) =>
  [...readme.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1]!.trim() === lang)
    .map((m) => m[2]!);
const snippets = blocks("ts ignore");
const clients = snippets.filter((s) => s.startsWith(CLIENT_MARKER + "\n"));
const servers = snippets.filter((s) => s.startsWith(SERVER_MARKER));
const importMap = blocks("json").find((s) => s.includes('"@wirestream/ws"'));

/** A reader's project next to a checkout: `<tmp>/wirestream` (this checkout), `<tmp>/app`. */
async function project(): Promise<{ app: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "wirestream_readme_" });
  await Deno.symlink(ROOT.pathname, `${dir}/wirestream`);
  await Deno.mkdir(`${dir}/app`);
  await Deno.writeTextFile(`${dir}/app/deno.json`, importMap!);
  return {
    app: `${dir}/app`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Spawns `deno <args>` in `cwd`, killed by PID at `BOUND_MS`. */
function spawn(cwd: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, BOUND_MS);
  child.status.finally(() => clearTimeout(timer));
  return { child, timedOut: () => timedOut };
}

/** Reads `out` until a line matches `pattern`; returns the match. */
async function waitFor(
  out: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  while (true) {
    const { value, done } = await out.read();
    if (done) throw new Error(`${what} ended before printing ${pattern}`);
    const match = pattern.exec(value);
    if (match) return match;
  }
}

/** Starts `examples/echo_server.ts` on a free port; `fn` gets the port; stops it by PID. */
async function withEchoServer(fn: (port: number) => Promise<void>): Promise<void> {
  const { child } = spawn(ROOT.pathname, ["run", "-A", "examples/echo_server.ts", "--port", "0"]);
  const out = lines(child.stdout).getReader();
  const stderr = new Response(child.stderr).text();
  try {
    const match = await waitFor(out, /on ws:\/\/127\.0\.0\.1:(\d+)\//, "echo_server.ts");
    await fn(Number(match[1]));
  } finally {
    child.kill("SIGTERM");
    while (!(await out.read()).done) { /* drain */ }
    const status = await child.status;
    assert.equal(status.code, 0, `echo_server.ts: ${await stderr}`);
  }
}

Deno.test("README: the Install section's import map and the snippets the test runs are there", () => {
  assert.ok(importMap, "the Install section's deno.json");
  assert.match(readme, /deno run -A examples\/echo_server\.ts/);
  assert.ok(clients.length >= 2, "the raw and managed client quick starts");
  assert.equal(servers.length, 1, "the server quick start");
  for (const snippet of clients) assert.match(snippet, /127\.0\.0\.1:9001/);
  assert.match(servers[0]!, /port: 9001/);
});

Deno.test("README: the client quick starts run as shown against examples/echo_server.ts", async () => {
  await using dir = await project();
  await withEchoServer(async (port) => {
    for (const [i, snippet] of clients.entries()) {
      const file = `client_${i}.ts`;
      await Deno.writeTextFile(
        `${dir.app}/${file}`,
        snippet.replaceAll("127.0.0.1:9001", `127.0.0.1:${port}`),
      );
      const { child, timedOut } = spawn(dir.app, ["run", "-A", "--check", file]);
      const { code, stdout, stderr } = await child.output();
      const text = new TextDecoder();
      assert.ok(!timedOut(), `${file} still running after ${BOUND_MS} ms:\n${snippet}`);
      assert.equal(code, 0, `${file}:\n${snippet}\n${text.decode(stdout)}${text.decode(stderr)}`);
    }
  });
});

Deno.test("README: the server quick start serves its routes and stops on SIGINT", async () => {
  await using dir = await project();
  await Deno.writeTextFile(
    `${dir.app}/my_server.ts`,
    servers[0]!.replace("port: 9001", "port: 0"),
  );
  const { child, timedOut } = spawn(dir.app, ["run", "-A", "--check", "my_server.ts"]);
  const out = lines(child.stdout).getReader();
  const stderr = new Response(child.stderr).text();
  try {
    const match = await waitFor(out, /^listening on (ws:\/\/127\.0\.0\.1:\d+\/)$/, "my_server.ts");
    const base = match[1]!;
    const echoed = await webSocket(`${base}echo/lobby`, async (session) => {
      assert.equal(session.call.response.headers.get("x-room"), "ok");
      await session.send("hi");
      for await (const message of session.incoming) return readText(message);
      return null;
    }, { headers: { authorization: "Bearer t0ken" } });
    assert.equal(echoed, "hi");
    const refused = await webSocket(`${base}echo/lobby`, () => {}).then(() => null, (e) => e);
    assert.ok(refused instanceof HandshakeError);
    assert.equal(refused.status, 401);
    const raw = await webSocketRaw(`${base}raw`, async (session) => {
      await session.send("raw hi");
      for await (const frame of session.incoming) if (frame.type === "text") return readText(frame);
      return null;
    });
    assert.equal(raw, "raw hi");
  } finally {
    child.kill("SIGINT");
    while (!(await out.read()).done) { /* drain */ }
    const status = await child.status;
    const err = await stderr;
    assert.ok(!timedOut(), `my_server.ts still running after ${BOUND_MS} ms`);
    assert.equal(status.code, 0, `my_server.ts: ${err}`);
  }
});
