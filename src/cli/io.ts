/**
 * The tool's standard streams, as one object: the real ones by default, others in tests or
 * when the tool is embedded.
 *
 * @module
 */

import type { SyncWriter } from "./output.ts";

/** The standard streams of a run of the tool. */
export interface CliIo {
  /** Opens stdin as a stream; called at most once, and only when stdin is read. */
  stdin(): ReadableStream<Uint8Array>;
  /** Whether stdin is a terminal: then `connect` is interactive (a prompt, line editing). */
  readonly isTerminal: boolean;
  /** Where messages go. */
  readonly stdout: SyncWriter;
  /** Where notices, errors and the inspector go. */
  readonly stderr: SyncWriter;
}

/**
 * The process's own stdin, stdout and stderr.
 *
 * @example
 * ```ts
 * import { processIo } from "./io.ts";
 *
 * const io = processIo();
 * io.stdout.writeSync(new TextEncoder().encode(`interactive: ${io.isTerminal}\n`));
 * ```
 *
 * @returns The streams.
 */
export function processIo(): CliIo {
  return {
    stdin: () => Deno.stdin.readable,
    isTerminal: Deno.stdin.isTerminal(),
    stdout: Deno.stdout,
    stderr: Deno.stderr,
  };
}
