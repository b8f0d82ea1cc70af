/**
 * Running a Python helper script (for example python_echo_server.py, a python-websockets peer)
 * as a child process of a Deno test.
 *
 * Always uses Debian's `/usr/bin/python3`: the `python3` first on PATH may be another install that
 * cannot import Debian's `python3-websockets` (installed by tools/setup.sh).
 *
 * @module
 */

import { lines } from "./lines.ts";

/** The interpreter used: Debian's, which has `python3-websockets`. */
export const PYTHON = "/usr/bin/python3";

/** How long a script may take to print its `PORT` line. */
const START_TIMEOUT_MS = 10_000;

/** A running Python script started by {@linkcode startPythonScript}. */
export interface PythonScript {
  /** The port from the script's first stdout line `PORT <port> <info>`. */
  port: number;
  /** The rest of that line (for python_echo_server.py: `websockets 10.4`), or `""`. */
  info: string;
  /**
   * Sends SIGTERM (if still running) and waits for the process to exit and its stdout to be
   * drained. Safe to call more than once; call it in `finally` so the sanitizers stay quiet.
   */
  stop(): Promise<void>;
  /** Same as {@linkcode PythonScript.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Spawns `/usr/bin/python3 <path> ...args` and waits for its first stdout line, which must be
 * `PORT <port> <info>` (printed with `flush=True`). The rest of stdout is read and discarded in
 * the background; stderr goes to the test's stderr.
 *
 * Throws a clear `Error` when Python is missing or cannot import `websockets` ("run
 * tools/setup.sh"), when the script exits before printing the line, prints something else first,
 * or takes longer than 10 s.
 *
 * @example
 * ```ts
 * const py = await startPythonScript(
 *   new URL("./python_echo_server.py", import.meta.url).pathname,
 *   ["--compression", "none"],
 * );
 * try {
 *   const ws = new WebSocket(`ws://127.0.0.1:${py.port}/`);
 *   // ...
 * } finally {
 *   await py.stop();
 * }
 * ```
 *
 * @param path The script, a path (relative to the working directory) or a `file:` URL.
 * @param args Arguments passed to the script.
 */
export async function startPythonScript(
  path: string | URL,
  args: string[] = [],
): Promise<PythonScript> {
  const script = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(PYTHON, {
      args: [script, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
      env: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${PYTHON} not found: run tools/setup.sh (it installs python3-websockets)`,
        { cause: e },
      );
    }
    throw e;
  }

  const reader = lines(child.stdout).getReader();
  const drain = async (): Promise<void> => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* the stream errored: nothing left to drain */ }
  };
  const fail = async (message: string): Promise<never> => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    const [status] = await Promise.all([child.status, drain()]);
    if (!status.success && !(await canImportWebsockets())) {
      throw new Error(
        `${PYTHON} cannot import websockets: run tools/setup.sh ` +
          `(apt-get install python3-websockets)`,
      );
    }
    throw new Error(`${message} (python exit code ${status.code}, signal ${status.signal})`);
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), START_TIMEOUT_MS);
  });
  let first: ReadableStreamReadResult<string> | "timeout";
  try {
    first = await Promise.race([reader.read(), timeout]);
  } catch (e) {
    first = { done: true, value: undefined };
    console.error(`reading the stdout of ${script}:`, e);
  } finally {
    clearTimeout(timer);
  }

  if (first === "timeout") {
    return fail(`${script} printed no "PORT <n>" line within ${START_TIMEOUT_MS} ms`);
  }
  if (first.done) return fail(`${script} exited before printing its "PORT <n>" line`);
  const match = /^PORT (\d+)(?: (.*))?$/.exec(first.value);
  if (!match) {
    return fail(`${script}: expected "PORT <n> <info>" as first line, got ${first.value}`);
  }

  const drained = drain();
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await drained;
    })();
    return stopped;
  };
  return { port: Number(match[1]), info: match[2] ?? "", stop, [Symbol.asyncDispose]: stop };
}

async function canImportWebsockets(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(PYTHON, {
      args: ["-c", "import websockets"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
