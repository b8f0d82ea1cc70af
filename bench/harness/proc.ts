/**
 * A child process of the driver: `deno run` with piped stdio, tagged lines read off its
 * stdout, commands written to its stdin, the tail of its stderr kept for error messages.
 *
 * @module
 */

/** The repository root (children run there, so that deno.json's imports apply). */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

const ENCODER = new TextEncoder();

/** A running child. */
export class Proc {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #wake: (() => void) | null = null;
  #stderr = "";
  #exited = false;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #drained: Promise<unknown>;

  /**
   * Starts `deno run -A --v8-flags=--expose-gc <script> ...args`.
   *
   * @param script The script, relative to the repository root.
   * @param args Its arguments.
   * @param flags More `deno run` flags (e.g. `--cpu-prof`).
   * @param env More environment variables.
   */
  constructor(
    script: string,
    args: string[],
    flags: string[] = [],
    env: Record<string, string> = {},
  ) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--v8-flags=--expose-gc", ...flags, script, ...args],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      this.#notify();
      return s;
    });
    this.#drained = Promise.all([this.#readStdout(), this.#readStderr()]);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #readStdout(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.#child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        this.#lines.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      this.#notify();
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-4000);
    }
  }

  /**
   * Resolves with the JSON of the first line `TAG {...}` not yet taken.
   *
   * @param tag The tag.
   * @param timeoutMs How long to wait.
   * @throws {Error} When the child exits first or the time runs out (with its stderr).
   */
  async expect(tag: string, timeoutMs: number): Promise<Record<string, number>> {
    const end = performance.now() + timeoutMs;
    while (true) {
      const i = this.#lines.findIndex((l) => l.startsWith(tag + " "));
      if (i >= 0) {
        const line = this.#lines.splice(i, 1)[0]!;
        return JSON.parse(line.slice(tag.length + 1));
      }
      const left = end - performance.now();
      if (this.#exited) throw this.#failure(`exited before ${tag}`);
      if (left <= 0) throw this.#failure(`no ${tag} within ${timeoutMs} ms`);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#wake = resolve;
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
    }
  }

  #failure(what: string): Error {
    const tail = this.#stderr.trim().split("\n").slice(-6).join(" | ");
    return new Error(`${what}${tail ? `: ${tail}` : ""}`);
  }

  /** Writes a command line to the child's stdin (ignored once it exited). */
  async send(line: string): Promise<void> {
    if (this.#exited) return;
    try {
      await this.#stdin.write(ENCODER.encode(line + "\n"));
    } catch {
      // It exited meanwhile.
    }
  }

  /**
   * Ends the child: `exit` on stdin, then SIGKILL after `graceMs`; waits for it and its pipes.
   *
   * @param graceMs How long the child may take to exit by itself.
   */
  async stop(graceMs = 200): Promise<void> {
    await this.send("exit");
    const timer = setTimeout(() => {
      if (!this.#exited) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }
    }, graceMs);
    await this.#status;
    clearTimeout(timer);
    try {
      await this.#stdin.close();
    } catch {
      // Already closed.
    }
    await this.#drained;
  }
}
