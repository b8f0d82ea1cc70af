/**
 * Running the command-line tool as a person or a script would: `deno run -A cli.ts …` in a
 * child process, with piped stdin, and its stdout, stderr and exit code collected.
 *
 * @module
 */

import { lines } from "../_helpers/lines.ts";

/** The tool's entry. */
export const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** The command that runs the tool (type checking is `deno check cli.ts`'s job). */
export const CLI_COMMAND: readonly string[] = [Deno.execPath(), "run", "-A", "--no-check", CLI];

/** What a finished run gave. */
export interface CliResult {
  /** The exit code. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs the tool to the end.
 *
 * @param args The arguments after `cli.ts`.
 * @param stdin What is piped in (then closed); nothing (`/dev/null`) by default.
 * @returns Exit code, stdout, stderr.
 */
export async function runCli(args: string[], stdin?: string | Uint8Array): Promise<CliResult> {
  const child = new Deno.Command(CLI_COMMAND[0]!, {
    args: [...CLI_COMMAND.slice(1), ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(typeof stdin === "string" ? encoder.encode(stdin) : stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A tool that keeps running (a server, a client held open): its stdin, and its lines. */
export class RunningCli implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #out: ReadableStreamDefaultReader<string>;
  readonly #err: ReadableStreamDefaultReader<string>;
  /** Every stdout line read so far. */
  readonly stdout: string[] = [];
  /** Every stderr line read so far. */
  readonly stderr: string[] = [];

  constructor(args: string[]) {
    this.child = new Deno.Command(CLI_COMMAND[0]!, {
      args: [...CLI_COMMAND.slice(1), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.#out = lines(this.child.stdout).getReader();
    this.#err = lines(this.child.stderr).getReader();
  }

  /** Writes to the tool's stdin. */
  async write(text: string): Promise<void> {
    await this.#stdin.write(encoder.encode(text));
  }

  /** Closes the tool's stdin (EOF). */
  async closeStdin(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  /** Reads stdout lines until one matches; returns it. */
  stdoutLine(pattern: RegExp): Promise<string> {
    return this.#until(this.#out, this.stdout, pattern, "stdout");
  }

  /** Reads stderr lines until one matches; returns it. */
  stderrLine(pattern: RegExp): Promise<string> {
    return this.#until(this.#err, this.stderr, pattern, "stderr");
  }

  async #until(
    reader: ReadableStreamDefaultReader<string>,
    seen: string[],
    pattern: RegExp,
    name: string,
  ): Promise<string> {
    for (const line of seen) if (pattern.test(line)) return line;
    while (true) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`${name} ended without ${pattern}; it had:\n${seen.join("\n")}`);
      seen.push(value);
      if (pattern.test(value)) return value;
    }
  }

  /** Sends a signal and collects the exit code and the rest of the output. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.finished();
  }

  /** Waits for the exit; reads the rest of both outputs. */
  async finished(): Promise<number> {
    await this.closeStdin();
    const drain = async (r: ReadableStreamDefaultReader<string>, into: string[]) => {
      while (true) {
        const { done, value } = await r.read();
        if (done) return;
        into.push(value);
      }
    };
    await Promise.all([drain(this.#out, this.stdout), drain(this.#err, this.stderr)]);
    return (await this.child.status).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/**
 * Starts `listen 0 …` and reads the port it printed.
 *
 * @param args Flags after `listen 0`.
 * @returns The running server and its `ws://127.0.0.1:PORT` base.
 */
export async function startListen(args: string[]): Promise<{ cli: RunningCli; base: string }> {
  const cli = new RunningCli(["listen", "0", ...args]);
  const line = await cli.stderrLine(/^listening on /);
  const port = /:(\d+)\//.exec(line)![1];
  return { cli, base: `ws://127.0.0.1:${port}` };
}
