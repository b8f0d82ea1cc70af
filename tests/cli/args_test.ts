/**
 * Reading the command line and the lines people type: subcommands, flags and their checks,
 * `--deflate-params`, durations and sizes, slash commands, hex and base64, stdin framing.
 */

import assert from "node:assert/strict";
import { parseCommandLine, parseDeflateParams } from "../../src/cli/args.ts";
import { decodeBinary, parseBinaryArgument } from "../../src/cli/codec.ts";
import { parseCommand } from "../../src/cli/commands.ts";
import { helpText } from "../../src/cli/help.ts";
import { splitStream, toMessage } from "../../src/cli/input.ts";
import { main } from "../../src/cli/main.ts";
import { UsageError } from "../../src/cli/settings.ts";
import { parseDuration, parseSize } from "../../src/cli/units.ts";

const enc = new TextEncoder();

Deno.test("parseCommandLine: connect with every kind of flag", () => {
  const run = parseCommandLine([
    "connect",
    "127.0.0.1:9001/chat",
    "-H",
    "X-A: 1",
    "--auth",
    "u:p",
    "--origin",
    "https://o.example",
    "-s",
    "a,b",
    "-s",
    "c",
    "--deflate-params",
    "server_no_context_takeover; client_max_window_bits=10",
    "--ping-interval",
    "500ms",
    "--max-message-size",
    "1M",
    "-x",
    "one",
    "-x",
    "/ping",
    "-w",
    "1.5",
    "-n",
    "--expect-close",
    "1000",
    "--binary",
    "--raw",
    "--show-frames",
  ]);
  assert.equal(run.command, "connect");
  if (run.command !== "connect") return;
  assert.equal(run.url.href, "ws://127.0.0.1:9001/chat", "no scheme means ws://");
  assert.deepEqual(run.headers, [
    ["X-A", "1"],
    ["authorization", "Basic dTpw"],
    ["origin", "https://o.example"],
  ]);
  assert.deepEqual(run.protocols, ["a", "b", "c"]);
  assert.deepEqual(run.deflate, { serverNoContextTakeover: true, clientMaxWindowBits: 10 });
  assert.equal(run.pingInterval, 500);
  assert.equal(run.maxMessageSize, 1024 * 1024);
  assert.deepEqual(run.execute, ["one", "/ping"]);
  assert.equal(run.wait, 1500);
  assert.equal(run.noClose, true);
  assert.equal(run.expectClose, 1000);
  assert.equal(run.input, "binary");
  assert.equal(run.output, "raw");
  assert.equal(run.raw, true);
  assert.equal(run.showFrames, true);
  const https = parseCommandLine(["connect", "https://example.com/x"]);
  assert.equal(https.command === "connect" && https.url.protocol, "wss:");
  assert.equal(https.command === "connect" && https.proxy, undefined, "the environment's");
  assert.equal(https.command === "connect" && https.followRedirects, false);
  const reach = parseCommandLine([
    "connect",
    "ws://x/",
    "--proxy",
    "socks5h://u:p@127.0.0.1:1080",
    "-L",
    "--max-redirs",
    "3",
  ]);
  assert.ok(reach.command === "connect");
  assert.equal(reach.proxy, "socks5h://u:p@127.0.0.1:1080");
  assert.equal(reach.followRedirects, true);
  assert.equal(reach.maxRedirects, 3);
  const direct = parseCommandLine(["connect", "ws://x/", "--proxy", "none"]);
  assert.equal(direct.command === "connect" && direct.proxy, false);
  assert.equal(direct.command === "connect" && direct.reconnect, false);
  const again = parseCommandLine(["connect", "ws://x/", "--reconnect"]);
  assert.equal(again.command === "connect" && again.reconnect, true);
});

Deno.test("parseCommandLine: listen, help, version, and usage errors", () => {
  const run = parseCommandLine(["listen", "0", "--exec", "cat", "--protocol", "p1"]);
  assert.equal(run.command, "listen");
  if (run.command === "listen") {
    assert.equal(run.port, 0);
    assert.equal(run.mode, "exec");
    assert.equal(run.path, "/*");
    assert.equal(run.host, "127.0.0.1");
    assert.deepEqual(run.protocols, ["p1"]);
  }
  assert.deepEqual(parseCommandLine([]), { command: "help", topic: "main" });
  assert.deepEqual(parseCommandLine(["help", "listen"]), { command: "help", topic: "listen" });
  assert.deepEqual(parseCommandLine(["connect", "-h"]), { command: "help", topic: "connect" });
  assert.deepEqual(parseCommandLine(["--version"]), { command: "version" });
  const usage = (args: string[], pattern: RegExp) =>
    assert.throws(
      () => parseCommandLine(args),
      (e) => e instanceof UsageError && pattern.test(e.message),
    );
  usage(["frobnicate"], /unknown command "frobnicate"/);
  usage(["connect", "ftp://x/"], /must be ws: or wss:/);
  usage(["connect", "ws://x/", "--bogus"], /Unknown option '--bogus'/);
  usage(["connect", "ws://x/", "-H", "nocolon"], /-H takes "Name: value"/);
  usage(["connect", "ws://x/", "--cert", "c.pem"], /--cert and --key go together/);
  usage(["connect", "ws://x/", "--expect-close", "999"], /--expect-close takes a close code/);
  usage(["connect", "ws://x/", "--framing", "words"], /--framing takes line, null, whole/);
  usage(["connect", "ws://x/", "--proxy", "ftp://p:1/"], /--proxy takes http:\/\/, socks5/);
  usage(["connect", "ws://x/", "--max-redirs=-1"], /--max-redirs takes a whole number/);
  usage(["listen", "--max-connections", "0"], /--max-connections takes a whole number/);
  usage(["listen", "--path", "chat"], /--path must start with "\/"/);
});

Deno.test("parseDeflateParams, parseDuration, parseSize", () => {
  assert.deepEqual(parseDeflateParams(""), {});
  assert.deepEqual(parseDeflateParams("client_max_window_bits"), { clientMaxWindowBits: true });
  assert.deepEqual(parseDeflateParams("server_max_window_bits=9; client_no_context_takeover"), {
    serverMaxWindowBits: 9,
    clientNoContextTakeover: true,
  });
  assert.throws(() => parseDeflateParams("server_max_window_bits=16"), RangeError);
  assert.throws(() => parseDeflateParams("level=9"), /unknown parameter level/);
  assert.equal(parseDuration("--w", "2"), 2000);
  assert.equal(parseDuration("--w", ".5"), 500);
  assert.equal(parseDuration("--w", "250ms"), 250);
  assert.equal(parseDuration("--w", "1m"), 60_000);
  assert.throws(() => parseDuration("--w", "-1"), RangeError);
  assert.equal(parseSize("--s", "64k"), 65536);
  assert.equal(parseSize("--s", "16MiB"), 16 * 1024 * 1024);
  assert.equal(parseSize("--s", "100"), 100);
  assert.throws(() => parseSize("--s", "0"), RangeError);
  assert.throws(() => parseSize("--s", "lots"), RangeError);
});

Deno.test("parseCommand: messages and every slash command", () => {
  assert.deepEqual(parseCommand("hello"), { kind: "text", text: "hello" });
  assert.deepEqual(parseCommand("//etc"), { kind: "text", text: "/etc" });
  assert.deepEqual(parseCommand("/ping"), { kind: "ping", data: new Uint8Array(0) });
  assert.deepEqual(parseCommand("/ping hi there"), { kind: "ping", data: enc.encode("hi there") });
  assert.deepEqual(parseCommand("/pong"), { kind: "pong", data: null });
  assert.deepEqual(parseCommand("/close"), { kind: "close", code: 1000, reason: "" });
  assert.deepEqual(parseCommand("/close 4000 bye now"), {
    kind: "close",
    code: 4000,
    reason: "bye now",
  });
  assert.equal(parseCommand("/close 1005").kind, "invalid");
  assert.equal(parseCommand("/close bye").kind, "invalid");
  assert.equal(parseCommand(`/ping ${"x".repeat(126)}`).kind, "invalid");
  assert.deepEqual(parseCommand("/fragment a|b|c"), { kind: "fragment", parts: ["a", "b", "c"] });
  assert.deepEqual(parseCommand("/fragment hello"), { kind: "fragment", parts: ["hel", "lo"] });
  assert.deepEqual(parseCommand("/quit"), { kind: "quit" });
  assert.deepEqual(parseCommand("/help"), { kind: "help" });
  assert.deepEqual(parseCommand("/binary @a.bin"), { kind: "binary", source: { file: "a.bin" } });
  assert.match((parseCommand("/nope") as { error: string }).error, /unknown command \/nope/);
});

Deno.test("hex and base64: /binary guesses, prefixes decide, bad input is a TypeError", () => {
  assert.deepEqual(parseBinaryArgument("ca fe"), { data: new Uint8Array([0xca, 0xfe]) });
  assert.deepEqual(parseBinaryArgument("ca:fe"), { data: new Uint8Array([0xca, 0xfe]) });
  assert.deepEqual(parseBinaryArgument("yv4="), { data: new Uint8Array([0xca, 0xfe]) });
  assert.deepEqual(parseBinaryArgument("base64:cafe"), { data: Uint8Array.fromBase64("cafe") });
  assert.deepEqual(parseBinaryArgument("hex:00"), { data: new Uint8Array([0]) });
  assert.throws(() => parseBinaryArgument(""), TypeError);
  assert.throws(() => decodeBinary("abc", "hex"), /not valid hex/);
  assert.throws(() => decodeBinary("!!", "base64"), /not valid base64/);
});

Deno.test("splitStream and toMessage: line (CRLF too), NUL and whole framing, a last piece without its end", async () => {
  const split = async (chunks: string[], framing: "line" | "null" | "whole") => {
    const out: string[] = [];
    const stream = ReadableStream.from(chunks.map((c) => enc.encode(c)));
    for await (const piece of splitStream(stream, framing)) {
      out.push(new TextDecoder().decode(piece));
    }
    return out;
  };
  assert.deepEqual(await split(["a\r\nb", "c\n\nd"], "line"), ["a", "bc", "", "d"]);
  assert.deepEqual(await split(["a\0b", "\0"], "null"), ["a", "b"]);
  assert.deepEqual(await split(["a\n", "b\n"], "whole"), ["a\nb\n"]);
  assert.deepEqual(await split([], "whole"), []);
  assert.deepEqual(toMessage(enc.encode("hi"), "text"), { kind: "text", text: "hi" });
  assert.deepEqual(toMessage(enc.encode("AP8="), "base64"), {
    kind: "binary",
    data: new Uint8Array([0, 255]),
  });
  assert.equal(toMessage(enc.encode("xyz"), "hex").kind, "invalid");
});

Deno.test("main: help pages and usage errors, in process", async () => {
  const chunks: string[] = [];
  const writer = (into: string[]) => ({
    writeSync(p: Uint8Array) {
      into.push(new TextDecoder().decode(p));
      return p.length;
    },
  });
  const out: string[] = [];
  const io = {
    stdin: () => ReadableStream.from<Uint8Array>([]),
    isTerminal: false,
    stdout: writer(out),
    stderr: writer(chunks),
  };
  assert.equal(await main(["connect", "--help"], io), 0);
  assert.equal(out.join(""), helpText("connect").trimEnd() + "\n");
  for (const topic of ["main", "connect", "listen"] as const) {
    const text = helpText(topic);
    assert.match(text, /Examples:/, `${topic} has examples`);
    assert.match(
      text,
      /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 .*\n {2}5 .*\n {2}6 /,
    );
  }
  assert.match(helpText("connect"), /--proxy URL .*\n(.*\n)*.*-L, --location/);
  assert.match(helpText("connect"), /--reconnect +when the connection ends transiently/);
  assert.doesNotMatch(helpText("connect"), /coming in a later release/);
  assert.equal(await main(["connect", "--nope"], io), 2);
  assert.match(
    chunks.join(""),
    /wirestream: Unknown option '--nope'.*\nrun "wirestream connect --help" for help/s,
  );
  out.length = 0;
  assert.equal(await main(["--version"], io), 0);
  assert.match(out.join(""), /^wirestream \d+\.\d+\.\d+ \(@wirestream\/ws; Deno \d/);
});
