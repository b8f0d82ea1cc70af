/**
 * `listen`: the tool as a server, driven by the library's client. Echo, broadcast (stdin to every
 * client, each client's messages printed with its id), `--exec` (a program per connection), the
 * inspector per connection, `--max-connections`, subprotocols, and a clean shutdown on SIGTERM.
 */

import assert from "node:assert/strict";
import { createClient } from "../../src/client/client.ts";
import { HandshakeError } from "../../src/core/errors.ts";
import { readText } from "../../src/core/frame.ts";
import type { DefaultWebSocketSession } from "../../src/session/managed_types.ts";
import { ExitCode } from "../../src/cli/help.ts";
import { runCli, startListen } from "./_cli.ts";

/** Reads the next text message. */
async function next(session: DefaultWebSocketSession): Promise<string> {
  const reader = session.incoming.getReader();
  try {
    const { value } = await reader.read();
    if (value === undefined) throw new Error("the session ended");
    return readText(value);
  } finally {
    reader.releaseLock();
  }
}

Deno.test("listen --echo: messages come back and are printed with the connection id; SIGTERM exits 0", async () => {
  const { cli, base } = await startListen(["--echo"]);
  try {
    await using client = createClient();
    await using session = await client.webSocketSession(`${base}/room`);
    await session.send("hello");
    assert.equal(await next(session), "hello");
    await session.send(new Uint8Array([0xca, 0xfe]));
    const reader = session.incoming.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    assert.deepEqual(value?.data, new Uint8Array([0xca, 0xfe]));
    assert.equal(await cli.stdoutLine(/^\[#1\] hello$/), "[#1] hello");
    await cli.stdoutLine(/^\[#1\] cafe$/);
    await cli.stderrLine(/^\[#1\] connected from 127\.0\.0\.1:\d+ to \/room$/);
    await session.close();
    await cli.stderrLine(/^\[#1\] closed: 1000 normal closure$/);
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
});

Deno.test("listen (broadcast): piped lines go to every client; stdin waits for the first one", async () => {
  const { cli, base } = await startListen([]);
  try {
    // Written before anyone is connected: held until the first client comes.
    await cli.write("first\n");
    await using client = createClient();
    await using a = await client.webSocketSession(`${base}/`);
    assert.equal(await next(a), "first");
    await using b = await client.webSocketSession(`${base}/`);
    await cli.stderrLine(/^\[#2\] connected/);
    await cli.write("to all\n");
    assert.equal(await next(a), "to all");
    assert.equal(await next(b), "to all");
    await b.send("from b");
    await cli.stdoutLine(/^\[#2\] from b$/);
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
  assert.ok(cli.stderr.includes("shutting down: closing every connection with 1001"));
});

Deno.test("listen --exec: a program per connection, messages to its stdin, its lines back", async () => {
  const { cli, base } = await startListen(["--exec", "sed -u 's/.*/\\U&/'"]);
  try {
    await using client = createClient();
    const session = await client.webSocketSession(`${base}/`);
    await session.send("abc");
    assert.equal(await next(session), "ABC");
    await session.send("second line");
    assert.equal(await next(session), "SECOND LINE");
    await session.close();
    // The client left: the program got EOF and exited.
    await cli.stderrLine(/^\[#1\] program exited with 0$/);
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
});

Deno.test("listen --exec: the program exits first, the connection closes with 1000", async () => {
  const { cli, base } = await startListen(["--exec", "echo one; echo two"]);
  try {
    await using client = createClient();
    const session = await client.webSocketSession(`${base}/`);
    const got: string[] = [];
    for await (const m of session.incoming) got.push(readText(m));
    assert.deepEqual(got, ["one", "two"]);
    const reason = await session.closeReason;
    assert.equal(reason?.code, 1000);
    assert.equal(reason?.message, "program exited with 0");
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
});

Deno.test("listen --show-frames --protocol --max-connections 1: frames per id, 503 beyond the limit", async () => {
  const { cli, base } = await startListen([
    "--echo",
    "--show-frames",
    "--protocol",
    "chat.v1",
    "--max-connections",
    "1",
    "--path",
    "/chat",
  ]);
  try {
    await using client = createClient();
    const session = await client.webSocketSession(`${base}/chat`, { protocols: ["chat.v1"] });
    assert.equal(session.protocol, "chat.v1");
    await session.send("hi");
    assert.equal(await next(session), "hi");
    await cli.stderrLine(
      /^\[#1\] << +\+[\d.]+ms {2}text {9}fin=1 rsv=000 mask=[0-9a-f]{8} len=2 "hi"$/,
    );
    await cli.stderrLine(
      /^\[#1\] >> +\+[\d.]+ms {2}text {9}fin=1 rsv=000 mask=none {5}len=2 "hi"$/,
    );
    await cli.stderrLine(/^\[#1\] > Sec-WebSocket-Protocol: chat\.v1$/);
    await assert.rejects(
      client.webSocketSession(`${base}/chat`),
      (err) => err instanceof HandshakeError && err.status === 503,
    );
    await cli.stderrLine(/^\[#2\] > HTTP\/1\.1 503 /);
    await session.close();
    await cli.stderrLine(/^\[#1\] summary over [\d.]+m?s: sent 2 frames/);
    await cli.stderrLine(
      /^\[#1\] close: received 1000 normal closure, then sent 1000 normal closure$/,
    );
  } finally {
    assert.equal(await cli.stop("SIGTERM"), ExitCode.OK);
  }
});

Deno.test("connect | listen: the tool talks to itself", async () => {
  const { cli, base } = await startListen(["--echo"]);
  try {
    const r = await runCli(["connect", `${base}/`, "-q"], "ping pong\n");
    assert.equal(r.code, ExitCode.OK, r.stderr);
    assert.equal(r.stdout, "ping pong\n");
    await cli.stdoutLine(/^\[#1\] ping pong$/);
  } finally {
    assert.equal(await cli.stop("SIGINT"), ExitCode.OK);
  }
});

Deno.test("listen: bad usage exits 2", async () => {
  const r = await runCli(["listen", "99999"]);
  assert.equal(r.code, ExitCode.USAGE);
  assert.match(r.stderr, /the port must be 0-65535/);
  const both = await runCli(["listen", "--echo", "--exec", "cat"]);
  assert.equal(both.code, ExitCode.USAGE);
});
