/**
 * Where the tool writes: messages to stdout (one per line; raw bytes with `--output raw`),
 * notices and the inspector to stderr. Writes are synchronous, so lines keep their order and
 * nothing is lost when the tool exits right after.
 *
 * @module
 */

import type { OutputKind } from "./settings.ts";
import { encodeBinary } from "./codec.ts";

/** Something written to synchronously (`Deno.stdout`, `Deno.stderr`). */
export interface SyncWriter {
  /**
   * Writes some of `p`.
   *
   * @param p The bytes.
   * @returns How many were written.
   */
  writeSync(p: Uint8Array): number;
}

/** The tool's two channels. */
export interface Output {
  /**
   * Writes a line to stdout.
   *
   * @param text The line (without the newline).
   */
  message(text: string): void;
  /**
   * Writes bytes to stdout as they are.
   *
   * @param data The bytes.
   */
  bytes(data: Uint8Array): void;
  /**
   * Writes a line to stderr.
   *
   * @param text The line (without the newline).
   */
  note(text: string): void;
}

const encoder = new TextEncoder();

/**
 * Writes all of `data`.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./output.ts";
 *
 * writeAllSync(Deno.stdout, new TextEncoder().encode("hi\n"));
 * ```
 *
 * @param writer Where.
 * @param data What.
 */
export function writeAllSync(writer: SyncWriter, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writer.writeSync(data.subarray(off));
}

/**
 * The plain output: stdout and stderr as they are (pipes, files, or a terminal when stdin is
 * not one).
 *
 * @example
 * ```ts
 * import { plainOutput } from "./output.ts";
 *
 * const out = plainOutput(Deno.stdout, Deno.stderr);
 * out.message("a message");
 * out.note("a notice");
 * ```
 *
 * @param stdout Messages.
 * @param stderr Notices.
 * @returns The output.
 */
export function plainOutput(stdout: SyncWriter, stderr: SyncWriter): Output {
  return {
    message: (text) => writeAllSync(stdout, encoder.encode(text + "\n")),
    bytes: (data) => writeAllSync(stdout, data),
    note: (text) => writeAllSync(stderr, encoder.encode(text + "\n")),
  };
}

/** A received message: text (as a string) or binary data. */
export type Received =
  | { readonly type: "text"; readonly data: string }
  | { readonly type: "binary"; readonly data: Uint8Array };

/** Options of {@linkcode printMessage}. */
export interface PrintOptions {
  /** Pretty-print JSON text. */
  json: boolean;
  /** How binary messages are shown. */
  output: OutputKind;
  /**
   * Put before every line (`< ` when interactive, `[#1] ` on a server).
   * @default {""}
   */
  prefix?: string;
  /**
   * Mark binary messages shown as text: `(binary, 2 bytes) cafe`.
   * @default {false}
   */
  markBinary?: boolean;
}

/**
 * Prints a received message (or, in raw mode, a data frame): text as it is (pretty JSON with
 * `json`), binary as hex, base64 or raw bytes.
 *
 * @example
 * ```ts
 * import { plainOutput, printMessage } from "./output.ts";
 *
 * const out = plainOutput(Deno.stdout, Deno.stderr);
 * const message = { type: "binary" as const, data: new Uint8Array([0xca, 0xfe]) };
 * printMessage(out, message, { json: false, output: "hex" }); // cafe
 * ```
 *
 * @param out Where.
 * @param message The message.
 * @param options JSON, binary format, prefix.
 */
export function printMessage(out: Output, message: Received, options: PrintOptions): void {
  const prefix = options.prefix ?? "";
  if (message.type === "binary") {
    const data = message.data;
    if (options.output === "raw") {
      out.bytes(data);
      return;
    }
    const mark = options.markBinary ? `(binary, ${data.length} bytes) ` : "";
    out.message(prefix + mark + encodeBinary(data, options.output));
    return;
  }
  let text = message.data;
  if (options.json) text = prettyJson(text);
  out.message(prefix === "" ? text : text.split("\n").map((l) => prefix + l).join("\n"));
}

/** The text pretty-printed when it is JSON, or as it is. */
function prettyJson(text: string): string {
  const trimmed = text.trim();
  if (!/^[[{"]|^-?\d|^(true|false|null)$/.test(trimmed)) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}
