/**
 * `connect` as scripts use it: stdin piped in, messages out on stdout, and the exit code. Against
 * the project's server and against `npm:ws`: line, NUL and whole-stream framing, binary round
 * trips through hex and base64, EOF with and without `-n`, `-x`/`-w`, headers and subprotocols,
 * and every documented exit code.
 */

import assert from "node:assert/strict";
import { Frame } from "../../src/core/frame.ts";
import { ExitCode } from "../../src/cli/help.ts";
import { startWsServer } from "../_helpers/node_ws_server.ts";
import { RawServer } from "../_helpers/raw_server.ts";
import { runCli, RunningCli } from "./_cli.ts";
import { startTestServer } from "./_servers.ts";

Deno.test("echo hi | connect: the project's server echoes, the tool prints it and closes with 1000", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/echo`], "hi\n");
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, "hi\n");
  assert.match(r.stderr, /connected to ws:\/\/127\.0\.0\.1:\d+\/echo/);
  assert.match(r.stderr, /closed: 1000 normal closure/);
  const seen = await server.ended();
  assert.deepEqual(seen.messages, ["hi"]);
  assert.deepEqual(seen.close, { code: 1000, reason: "" });
});

Deno.test("echo hi | connect: npm ws echoes too", async () => {
  await using ws = await startWsServer();
  ws.wss.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  const r = await runCli(["connect", ws.url("/")], "hi\nthere\n");
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, "hi\nthere\n");
});

Deno.test("stdin EOF: everything queued is sent, then the close (1000)", async () => {
  await using server = startTestServer();
  const input = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n") + "\n";
  const r = await runCli(["connect", `${server.base}/echo`, "-q"], input);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  const seen = await server.ended();
  assert.equal(seen.messages.length, 200);
  assert.equal(seen.messages.at(-1), "line 199");
  assert.deepEqual(seen.close, { code: 1000, reason: "" });
  assert.equal(r.stdout, input, "every echo arrives before the close handshake ends");
  assert.equal(r.stderr, "", "-q: no notices");
});

Deno.test("-n: stdin EOF keeps the connection open until the server closes", async () => {
  await using server = startTestServer();
  const r = await runCli(
    ["connect", `${server.base}/hold`, "-n", "--expect-close", "4001"],
    "a\nbye-please\n",
  );
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, "a\n");
  assert.match(r.stderr, /closed: 4001 private use "done"/);
  const seen = await server.ended();
  assert.deepEqual(seen.messages, ["a", "bye-please"]);
  assert.deepEqual(seen.close, { code: 4001, reason: "done" }, "the server closed, not the tool");
});

Deno.test("Ctrl-C (SIGINT) while piped: the tool closes with 1000 and exits 0", async () => {
  await using server = startTestServer();
  const cli = new RunningCli(["connect", `${server.base}/echo`]);
  await cli.write("before\n");
  await cli.stdoutLine(/^before$/);
  assert.equal(await cli.stop("SIGINT"), ExitCode.OK, cli.stderr.join("\n"));
  const seen = await server.ended();
  assert.deepEqual(seen.messages, ["before"]);
  assert.deepEqual(seen.close, { code: 1000, reason: "" });
});

Deno.test("Ctrl-C just after the end of stdin: the close under way finishes (1000, exit 0)", async () => {
  await using server = startTestServer();
  const cli = new RunningCli(["connect", `${server.base}/echo`]);
  await cli.write("before\n");
  await cli.stdoutLine(/^before$/);
  await cli.closeStdin(); // the close starts
  assert.equal(await cli.stop("SIGINT"), ExitCode.OK, cli.stderr.join("\n"));
  const seen = await server.ended();
  assert.deepEqual(seen.close, { code: 1000, reason: "" });
});

Deno.test("--framing null and whole cut stdin at NUL bytes or not at all", async () => {
  await using server = startTestServer();
  const nul = await runCli(["connect", `${server.base}/echo`, "--framing", "null"], "a\nb\0c\0");
  assert.equal(nul.code, ExitCode.OK, nul.stderr);
  assert.deepEqual((await server.ended()).messages, ["a\nb", "c"]);
  const whole = await runCli(["connect", `${server.base}/echo`, "--framing", "whole"], "a\nb\n");
  assert.equal(whole.code, ExitCode.OK, whole.stderr);
  assert.deepEqual((await server.ended()).messages, ["a\nb\n"]);
});

Deno.test("binary round trips: hex in, hex out; base64 in, base64 out; raw bytes both ways", async () => {
  await using server = startTestServer();
  const hex = await runCli(["connect", `${server.base}/echo`, "--input", "hex"], "cafe\n00ff10\n");
  assert.equal(hex.code, ExitCode.OK, hex.stderr);
  assert.equal(hex.stdout, "cafe\n00ff10\n");
  assert.deepEqual((await server.ended()).messages, ["hex:cafe", "hex:00ff10"]);

  const b64 = await runCli(
    ["connect", `${server.base}/echo`, "--input", "base64", "--output", "base64"],
    "yv4=\nAP8Q\n",
  );
  assert.equal(b64.code, ExitCode.OK, b64.stderr);
  assert.equal(b64.stdout, "yv4=\nAP8Q\n");
  assert.deepEqual((await server.ended()).messages, ["hex:cafe", "hex:00ff10"]);

  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      "cli.ts",
      "connect",
      `${server.base}/echo`,
      "--binary",
      "--framing",
      "whole",
      "-q",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, ExitCode.OK, new TextDecoder().decode(out.stderr));
  assert.deepEqual(out.stdout, bytes, "raw bytes out are the bytes in");
  assert.equal((await server.ended()).messages[0], `hex:${bytes.toHex()}`);
});

Deno.test("bad hex on stdin is skipped with a notice; the rest is sent", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/echo`, "--input", "hex"], "zz\nab\n");
  assert.equal(r.code, ExitCode.OK);
  assert.match(r.stderr, /stdin message 1 skipped: not valid hex/);
  assert.deepEqual((await server.ended()).messages, ["hex:ab"]);
});

Deno.test("-x sends lines and commands in order, -w waits, then the tool closes", async () => {
  await using server = startTestServer();
  const r = await runCli([
    "connect",
    `${server.base}/echo`,
    "-x",
    '{"a":[1,2]}',
    "-x",
    "/binary hex:0102",
    "-x",
    "/fragment ab|cd",
    "-x",
    "/ping hi",
    "-x",
    "//slash",
    "-w",
    "0.2",
    "--json",
  ]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, '{\n  "a": [\n    1,\n    2\n  ]\n}\n0102\nabcd\n/slash\n');
  assert.match(r.stderr, /pong received "hi" after \d+\.\dms/);
  assert.deepEqual((await server.ended()).messages, ['{"a":[1,2]}', "hex:0102", "abcd", "/slash"]);
});

Deno.test("-x /close 4000 bye: the close code and reason the tool sent", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/echo`, "-x", "/close 4000 bye"]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.match(r.stderr, /closed: 4000 private use "bye"/);
  assert.deepEqual((await server.ended()).close, { code: 4000, reason: "bye" });
});

Deno.test("headers, Basic auth, origin and subprotocols reach the server", async () => {
  await using server = startTestServer();
  const r = await runCli([
    "connect",
    `${server.base}/echo`,
    "-H",
    "X-Test: yes",
    "--auth",
    "ann:secret",
    "--origin",
    "https://example.com",
    "-s",
    "chat.v2,chat.v1",
    "--deflate",
    "-x",
    "hello",
  ]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.match(r.stderr, /subprotocol chat\.v1; extensions permessage-deflate/);
  const seen = await server.ended();
  assert.equal(seen.headers.get("x-test"), "yes");
  assert.equal(seen.headers.get("authorization"), `Basic ${btoa("ann:secret")}`);
  assert.equal(seen.headers.get("origin"), "https://example.com");
  assert.equal(seen.protocol, "chat.v1");
  assert.deepEqual(seen.messages, ["hello"]);
});

Deno.test("exit 2: bad usage", async () => {
  const missing = await runCli(["connect"]);
  assert.equal(missing.code, ExitCode.USAGE);
  assert.match(missing.stderr, /connect needs a URL/);
  const bad = await runCli(["connect", "ftp://x/", "--wait", "soon"]);
  assert.equal(bad.code, ExitCode.USAGE);
  const proxy = await runCli(["connect", "ws://127.0.0.1:1/", "--proxy", "ftp://p:1"]);
  assert.equal(proxy.code, ExitCode.USAGE);
});

Deno.test("exit 1: a CA file that cannot be read", async () => {
  const r = await runCli(["connect", "wss://127.0.0.1:1/", "--ca", "/nonexistent/ca.pem"]);
  assert.equal(r.code, ExitCode.ERROR);
  assert.match(r.stderr, /No such file/);
});

Deno.test("exit 3: connection refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await runCli(["connect", `ws://127.0.0.1:${port}/`]);
  assert.equal(r.code, ExitCode.CONNECTION_FAILED);
  assert.match(r.stderr, /connection_refused/);
});

Deno.test("exit 3: the server drops the connection without a close frame", async () => {
  await using raw = RawServer.start();
  const serving = (async () => {
    const peer = await raw.accept();
    await peer.upgrade();
    await peer.readFrame(); // "hi"
    peer.close();
  })();
  const r = await runCli(["connect", raw.url("/"), "-n"], "hi\n");
  await serving;
  assert.equal(r.code, ExitCode.CONNECTION_FAILED);
  assert.match(r.stderr, /closed_abnormally/);
});

Deno.test("exit 4: the handshake is refused, with the status and body", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/refuse`]);
  assert.equal(r.code, ExitCode.HANDSHAKE_REFUSED);
  assert.match(r.stderr, /handshake refused: HTTP 403\n {2}body: "go away"/);
});

Deno.test("exit 5: the server breaks the protocol (a reserved opcode); the tool closes with 1002", async () => {
  await using raw = RawServer.start();
  const serving = (async () => {
    const peer = await raw.accept();
    await peer.upgrade({ then: new Uint8Array([0x83, 0x00]) });
    const frame = await peer.readFrame();
    peer.close();
    return frame;
  })();
  const r = await runCli(["connect", raw.url("/"), "-n"], "");
  const answer = await serving;
  assert.equal(r.code, ExitCode.PROTOCOL_ERROR, r.stderr);
  assert.match(r.stderr, /protocol error \(PROTOCOL_ERROR\).*closed with 1002 protocol error/);
  assert.equal(answer?.type, "close");
  assert.deepEqual([...answer!.data.subarray(0, 2)], [0x03, 0xea]);
});

Deno.test("exit 6: --expect-close 1000 and the server closes with 4000", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/close4000`, "-n", "--expect-close", "1000"]);
  assert.equal(r.code, ExitCode.UNEXPECTED_CLOSE);
  assert.match(r.stderr, /closed: 4000 private use "bye"/);
  assert.match(r.stderr, /expected close code 1000, got 4000/);
  const ok = await runCli(["connect", `${server.base}/close4000`, "-n", "--expect-close", "4000"]);
  assert.equal(ok.code, ExitCode.OK);
});

Deno.test("--max-message-size: a larger message fails the session with 1009 (exit 5)", async () => {
  await using raw = RawServer.start();
  const serving = (async () => {
    const peer = await raw.accept();
    await peer.upgrade();
    await peer.send(Frame.text("x".repeat(2000)));
    const frame = await peer.readFrame();
    peer.close();
    return frame;
  })();
  const r = await runCli(["connect", raw.url("/"), "-n", "--max-message-size", "1k"], "");
  const answer = await serving;
  assert.equal(r.code, ExitCode.PROTOCOL_ERROR, r.stderr);
  assert.deepEqual([...answer!.data.subarray(0, 2)], [0x03, 0xf1]);
});
