/**
 * `connect` in a real terminal, driven as a person would: the tool runs in a tmux pane, the test
 * types with `send-keys` and reads the screen with `capture-pane`. A message and its echo,
 * `/ping` and its round trip, history (Up), `/close 4000 bye`; in `--raw`, answering the
 * server's ping and close by hand; Ctrl-D.
 */

import assert from "node:assert/strict";
import { CLI_COMMAND } from "./_cli.ts";
import { startTestServer } from "./_servers.ts";

const decoder = new TextDecoder();

/** A tmux server of its own (its own socket), with one pane running a command. */
class Pane implements AsyncDisposable {
  readonly #socket = `wirestream-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { TERM: "xterm-256color" },
    }).output();
    if (!out.success) throw new Error(`tmux ${args[0]} failed: ${decoder.decode(out.stderr)}`);
    return decoder.decode(out.stdout);
  }

  /** Starts `args` (the tool's arguments) in a 120x40 pane; the pane stays after the exit. */
  async start(args: string[]): Promise<void> {
    const quoted = [...CLI_COMMAND, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`);
    const script = `NO_COLOR=1 ${quoted.join(" ")}; echo "EXIT=$?"; exec cat`;
    await this.tmux("new-session", "-d", "-s", "cli", "-x", "120", "-y", "40", "sh", "-c", script);
  }

  /** Types keys (`Enter`, `Up`, `C-d` are key names, anything else is text). */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "cli", ...keys);
  }

  /** Types a line and Enter. */
  async type(line: string): Promise<void> {
    await this.tmux("send-keys", "-t", "cli", "-l", line);
    await this.keys("Enter");
  }

  /** The screen, trailing blank lines dropped. */
  async screen(): Promise<string> {
    return (await this.tmux("capture-pane", "-p", "-t", "cli")).replace(/\n+$/, "");
  }

  /** Polls the screen (bounded: 30 s, for a loaded CI machine) until `pattern` is on it; returns the screen. */
  async waitFor(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 30_000;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${pattern} never appeared; the screen:\n${screen}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
    // tmux leaves its socket file behind.
    const dir = `${Deno.env.get("TMUX_TMPDIR") ?? "/tmp"}/tmux-${Deno.uid()}`;
    await Deno.remove(`${dir}/${this.#socket}`).catch(() => {});
  }
}

Deno.test("interactive: a message, /ping, history, /close 4000 bye, as seen on the screen", async () => {
  await using server = startTestServer();
  await using pane = new Pane();
  await pane.start(["connect", `${server.base}/echo`]);
  await pane.waitFor(/type a message and Enter; \/help lists the commands; Ctrl-D leaves\n> ?$/);
  await pane.type("hello, terminal");
  await pane.waitFor(/^< hello, terminal$/m);
  await pane.type("/ping");
  await pane.waitFor(/^pong received after \d+\.\dms$/m);
  // History: Up twice brings back "hello, terminal".
  await pane.keys("Up", "Up");
  await pane.waitFor(/^> hello, terminal$/m);
  await pane.keys("Enter");
  await pane.waitFor(/^< hello, terminal\n(.*\n)*< hello, terminal$/m);
  await pane.type("/close 4000 bye");
  const screen = await pane.waitFor(/^EXIT=0$/m);
  const lines = screen.split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    `connected to ${server.base}/echo`,
    "type a message and Enter; /help lists the commands; Ctrl-D leaves",
    "> hello, terminal",
    "< hello, terminal",
  ]);
  assert.ok(lines.includes('closed: 4000 private use "bye"'), screen);
  assert.ok(lines.includes("> /close 4000 bye"), screen);
  const seen = await server.ended();
  assert.deepEqual(seen.messages, ["hello, terminal", "hello, terminal"]);
  assert.deepEqual(seen.close, { code: 4000, reason: "bye" });
});

Deno.test("interactive --raw --show-frames: the server's ping and close answered by hand", async () => {
  await using server = startTestServer();
  await using pane = new Pane();
  await pane.start(["connect", `${server.base}/script?wait=25000`, "--raw", "--show-frames"]);
  await pane.waitFor(/^ping received "p1": not answered \(--raw\); \/pong answers$/m);
  await pane.waitFor(/^< hel\n< lo$/m);
  await pane.waitFor(
    /^close received: 1001 going away "bye"; not echoed \(--raw\): \/close answers$/m,
  );
  await pane.type("/pong");
  await pane.waitFor(/^>> +\+[\d.]+m?s {2}pong {9}fin=1 rsv=000 mask=[0-9a-f]{8} len=2 "p1"$/m);
  await pane.type("/close 1001 bye");
  const screen = await pane.waitFor(/^EXIT=0$/m);
  assert.match(screen, /^>> +\+[\d.]+m?s {2}close {8}fin=1 .* 1001 going away "bye"$/m);
  assert.match(screen, /^close: received 1001 going away "bye", then sent 1001 going away "bye"$/m);
  assert.deepEqual((await server.ended()).messages, ["pong:p1"]);
});

Deno.test("interactive: Ctrl-D closes with 1000 and exits 0", async () => {
  await using server = startTestServer();
  await using pane = new Pane();
  await pane.start(["connect", `${server.base}/echo`]);
  await pane.waitFor(/^> ?$/m);
  await pane.keys("C-d");
  const screen = await pane.waitFor(/^EXIT=0$/m);
  assert.match(screen, /^closed: 1000 normal closure$/m);
  assert.deepEqual((await server.ended()).close, { code: 1000, reason: "" });
});
