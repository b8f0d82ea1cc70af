/**
 * `connect --reconnect`: a connection that ends transiently (dropped without a close frame, or
 * closed with 1012) is reconnected with backoff, piped stdin goes on to the new connection and
 * its messages to stdout; without the flag the first drop ends the tool (exit 3).
 */

import assert from "node:assert/strict";
import { CloseReason } from "../../src/core/close.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { ExitCode } from "../../src/cli/help.ts";
import { RawServer } from "../_helpers/raw_server.ts";
import { RunningCli } from "./_cli.ts";

/** The second connection: reads "hello", echoes "echo:hello", then answers the client's close. */
async function echoOnce(raw: RawServer, cli: RunningCli): Promise<void> {
  const second = await raw.accept();
  await second.upgrade();
  await cli.write("hello\n");
  const got = await second.readFrame();
  assert.ok(got !== null && got.type === "text");
  assert.equal(readText(got), "hello");
  await second.send(Frame.text("echo:hello"));
  assert.equal(await cli.stdoutLine(/echo:hello/), "echo:hello");
  await cli.closeStdin();
  const close = await second.readFrame();
  assert.ok(close !== null && close.type === "close");
  await second.send(Frame.close(new CloseReason(1000, "")));
  second.close();
}

Deno.test("--reconnect: dropped without a close frame, the tool reconnects and stdin goes on", async () => {
  await using raw = RawServer.start();
  await using cli = new RunningCli(["connect", raw.url("/"), "--reconnect"]);
  const first = await raw.accept();
  await first.upgrade();
  first.close();
  const notice = await cli.stderrLine(/^reconnecting in /);
  assert.match(
    notice,
    /^reconnecting in \d+ ms \(attempt 1\): .*(closed_abnormally|abnormal closure)/,
  );
  await echoOnce(raw, cli);
  assert.equal(await cli.finished(), ExitCode.OK);
  assert.equal(cli.stdout.filter((l) => l === "echo:hello").length, 1);
});

Deno.test("--reconnect: a close with 1012 is transient too", async () => {
  await using raw = RawServer.start();
  await using cli = new RunningCli(["connect", raw.url("/"), "--reconnect"]);
  const first = await raw.accept();
  await first.upgrade();
  await first.send(Frame.close(new CloseReason(1012, "restart")));
  const echoed = await first.readFrame(); // the client's close
  assert.ok(echoed !== null && echoed.type === "close");
  first.close();
  const notice = await cli.stderrLine(/^reconnecting in /);
  assert.match(notice, /^reconnecting in \d+ ms \(attempt 1\): the server closed with 1012/);
  await echoOnce(raw, cli);
  assert.equal(await cli.finished(), ExitCode.OK);
});

Deno.test("without --reconnect the first drop ends the tool with exit 3", async () => {
  await using raw = RawServer.start();
  await using cli = new RunningCli(["connect", raw.url("/")]);
  const first = await raw.accept();
  await first.upgrade();
  first.close();
  assert.equal(await cli.finished(), ExitCode.CONNECTION_FAILED);
  assert.ok(!cli.stderr.some((l) => l.startsWith("reconnecting")));
  assert.ok(cli.stderr.some((l) => /closed_abnormally|abnormal closure/.test(l)));
});

Deno.test("--reconnect: failed connects are retried too; Ctrl-C while waiting ends the tool", async () => {
  await using raw = RawServer.start();
  await using cli = new RunningCli(["connect", raw.url("/"), "--reconnect"]);
  const first = await raw.accept();
  await first.upgrade();
  raw.close(); // the drop, and every connect from now on is refused
  await cli.stderrLine(/^reconnecting in \d+ ms \(attempt 1\)/);
  const second = await cli.stderrLine(/^reconnecting in \d+ ms \(attempt 2\)/);
  assert.match(second, /connection_refused/i);
  assert.equal(await cli.stop("SIGINT"), ExitCode.CONNECTION_FAILED);
});
