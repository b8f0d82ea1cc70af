/**
 * What went wrong, for people and for scripts: an error in one line, and its exit code.
 *
 * @module
 */

import {
  ConnectionClosedError,
  ConnectionError,
  HandshakeError,
  ProtocolError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import { UsageError } from "./settings.ts";
import { describeClose } from "./frame_format.ts";
import { ExitCode } from "./help.ts";

/**
 * The exit code of an error.
 *
 * @example
 * ```ts
 * import { exitCodeFor } from "./failures.ts";
 *
 * console.log(exitCodeFor(new Error("?"))); // 1
 * ```
 *
 * @param err The error.
 * @returns The exit code.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof HandshakeError) return ExitCode.HANDSHAKE_REFUSED;
  if (err instanceof ProtocolError) return ExitCode.PROTOCOL_ERROR;
  if (
    err instanceof ConnectionError || err instanceof TimeoutError ||
    err instanceof ConnectionClosedError
  ) {
    return ExitCode.CONNECTION_FAILED;
  }
  if (err instanceof WebSocketError && err.code === "ABORTED") return ExitCode.CONNECTION_FAILED;
  return ExitCode.ERROR;
}

const lossy = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * An error in one line (two for a refused handshake with a body).
 *
 * @example
 * ```ts
 * import { describeError } from "./failures.ts";
 *
 * console.log(describeError(new Error("boom"))); // error: boom
 * ```
 *
 * @param err The error.
 * @returns The text.
 */
export function describeError(err: unknown): string {
  if (err instanceof HandshakeError && err.code === "HANDSHAKE_STATUS") {
    const body = err.body === undefined || err.body.length === 0
      ? ""
      : `\n  body: ${JSON.stringify(lossy.decode(err.body).slice(0, 200))}`;
    return `handshake refused: HTTP ${err.status}${body}`;
  }
  if (err instanceof HandshakeError) return `handshake failed (${err.code}): ${err.message}`;
  if (err instanceof ProtocolError) {
    return `protocol error (${err.code}): ${err.message}; closed with ` +
      describeClose(err.closeCode, "");
  }
  if (err instanceof WebSocketError) return `${err.code.toLowerCase()}: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
