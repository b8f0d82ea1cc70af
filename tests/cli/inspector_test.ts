/**
 * The frame inspector (`--show-frames`) in the tool, against a server that pings, fragments and
 * closes: with `--raw` every frame is shown and nothing is answered; managed, the automatic pong
 * and close echo show up going out; our pings' round trips reach the summary.
 */

import assert from "node:assert/strict";
import { ExitCode } from "../../src/cli/help.ts";
import { runCli } from "./_cli.ts";
import { startTestServer } from "./_servers.ts";

Deno.test("--show-frames --raw: a server that pings, fragments and closes, shown frame by frame; nothing answered", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/script`, "--show-frames", "--raw", "-n"]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  const lines = r.stderr.split("\n");
  const frameLines = lines.filter((l) => /^(<<|>>) /.test(l));
  assert.deepEqual(frameLines.map((l) => l.replace(/\s+\+[\d.]+m?s/, " +T")), [
    '<< +T  ping         fin=1 rsv=000 mask=none     len=2 "p1"',
    '<< +T  text         fin=0 rsv=000 mask=none     len=3 "hel"',
    '<< +T  continuation fin=1 rsv=000 mask=none     len=2 "lo"',
    '<< +T  close        fin=1 rsv=000 mask=none     len=5 1001 going away "bye"',
  ]);
  assert.ok(lines.includes("> GET /script HTTP/1.1"), "the request head is shown");
  assert.ok(lines.includes("< HTTP/1.1 101 Switching Protocols"), "the response head is shown");
  assert.match(r.stderr, /ping received "p1": not answered \(--raw\); \/pong answers/);
  assert.match(r.stderr, /close received: 1001 going away "bye"; not echoed \(--raw\)/);
  assert.equal(r.stdout, "hel\nlo\n", "raw: fragments printed as they come");
  assert.match(
    r.stderr,
    /summary over [\d.]+m?s: sent 0 frames \(0 bytes, \+\d+ handshake\), received 4 frames \(20 bytes, \+\d+ handshake\)/,
  );
  assert.match(r.stderr, /close: received 1001 going away "bye", then none sent/);
  assert.deepEqual((await server.ended()).messages, [], "no pong was sent");
});

Deno.test("--show-frames (managed): the automatic pong and close echo show up going out", async () => {
  await using server = startTestServer();
  const r = await runCli(["connect", `${server.base}/script`, "--show-frames", "-n"]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  const out = r.stderr.split("\n").filter((l) => /^>> /.test(l));
  assert.equal(out.length, 2, r.stderr);
  assert.match(out[0]!, /^>> +\+[\d.]+ms {2}pong {9}fin=1 rsv=000 mask=[0-9a-f]{8} len=2 "p1"$/);
  assert.match(
    out[1]!,
    /^>> +\+[\d.]+ms {2}close {8}fin=1 rsv=000 mask=[0-9a-f]{8} len=5 1001 going away "bye"$/,
  );
  assert.equal(r.stdout, "hello\n", "managed: the fragments are one message");
  assert.match(r.stderr, /close: received 1001 going away "bye", then sent 1001 going away "bye"/);
  assert.deepEqual((await server.ended()).messages, ["pong:p1"]);
});

Deno.test("--show-frames: our pings' round trips in the summary", async () => {
  await using server = startTestServer();
  const r = await runCli([
    "connect",
    `${server.base}/echo`,
    "--show-frames",
    "-x",
    "/ping one",
    "-x",
    "/ping two",
    "-w",
    "0.3",
  ]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.match(r.stderr, /<< +\+[\d.]+ms {2}pong .* len=3 "one" \(round trip [\d.]+ms\)/);
  assert.match(
    r.stderr,
    /pings: 2 sent, 2 answered; round trip min [\d.]+ms, avg [\d.]+ms, max [\d.]+ms/,
  );
  await server.ended();
});

Deno.test("--show-frames --deflate --ping-interval: compressed frames marked, keepalive pings' round trips", async () => {
  await using server = startTestServer();
  const r = await runCli([
    "connect",
    `${server.base}/echo`,
    "--deflate",
    "--deflate-params",
    "client_max_window_bits=10",
    "--ping-interval",
    "100ms",
    "--show-frames",
    "-x",
    "hello hello hello hello",
    "-w",
    "0.4",
  ]);
  assert.equal(r.code, ExitCode.OK, r.stderr);
  assert.equal(r.stdout, "hello hello hello hello\n");
  assert.match(
    r.stderr,
    /^< Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10$/m,
  );
  assert.match(
    r.stderr,
    /^>> +\+[\d.]+m?s {2}text {9}fin=1 rsv=100 mask=[0-9a-f]{8} len=\d+ \[compressed\] [0-9a-f]+$/m,
  );
  assert.match(
    r.stderr,
    /^<< +\+[\d.]+m?s {2}text {9}fin=1 rsv=100 mask=none {5}len=\d+ \[compressed\] [0-9a-f]+$/m,
  );
  assert.match(r.stderr, /^<< +\+[\d.]+m?s {2}pong .* \(round trip [\d.]+ms\)$/m);
  assert.match(r.stderr, /^pings: \d+ sent, [1-9]\d* answered; round trip min/m);
  assert.deepEqual((await server.ended()).messages, ["hello hello hello hello"]);
});
