/**
 * `listen --exec COMMAND`: one program per connection, its stdin and stdout wired to messages.
 * Each message is written to the program's stdin followed by the framing's delimiter (a newline
 * by default); each piece of its stdout is sent as a message. The connection closes with 1000
 * when the program exits (after its last output is sent); when the client goes first, the
 * program's stdin is closed, and it is ended (SIGTERM) if it has not exited within the close
 * timeout.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import { Frame, readText } from "../core/frame.ts";
import type { DefaultWebSocketSession } from "../session/managed_types.ts";
import type { Framing, InputKind, OutputKind } from "./settings.ts";
import { encodeBinary } from "./codec.ts";
import { splitStream, toMessage } from "./input.ts";

/** Options of {@linkcode bridgeExec}. */
export interface ExecOptions {
  /** How the program's stdout is cut into messages (and what ends each message written). */
  framing: Framing;
  /** What each piece of the program's output is. */
  input: InputKind;
  /** How binary messages are written to the program. */
  output: OutputKind;
  /** Milliseconds the program may take to exit once its stdin is closed. */
  exitTimeout: number;
  /** Notices (the program's exit status). */
  note: (text: string) => void;
}

const encoder = new TextEncoder();
const DELIMITERS: Record<Framing, Uint8Array> = {
  line: new Uint8Array([10]),
  null: new Uint8Array([0]),
  whole: new Uint8Array(0),
};

/**
 * Runs `command` (with `sh -c`) for one session until either ends.
 *
 * @example
 * ```ts ignore
 * import { bridgeExec } from "./exec_bridge.ts";
 *
 * server.webSocket("/*", (session) =>
 *   bridgeExec(session, "tr a-z A-Z", {
 *     framing: "line", input: "text", output: "hex", exitTimeout: 5000, note: console.error,
 *   }));
 * ```
 *
 * @param session The connection.
 * @param command The shell command.
 * @param options Framing, encodings, the exit timeout, where notices go.
 * @returns When the program has exited and the session is closing.
 */
export async function bridgeExec(
  session: DefaultWebSocketSession,
  command: string,
  options: ExecOptions,
): Promise<void> {
  const child = new Deno.Command("sh", {
    args: ["-c", command],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const delimiter = DELIMITERS[options.framing];
  const toChild = (async () => {
    try {
      for await (const message of session.incoming) {
        const data = message.type === "text"
          ? encoder.encode(readText(message))
          : options.output === "raw"
          ? message.data
          : encoder.encode(encodeBinary(message.data, options.output));
        await writer.write(data);
        if (delimiter.length > 0) await writer.write(delimiter);
      }
    } catch {
      // The session failed or the program closed its stdin: either way, no more input.
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  const fromChild = (async () => {
    try {
      for await (const piece of splitStream(child.stdout, options.framing)) {
        const message = toMessage(piece, options.input);
        if (message.kind === "invalid") {
          options.note(`output skipped: ${message.error}`);
          continue;
        }
        await session.send(
          message.kind === "text" ? Frame.text(message.text) : Frame.binary(message.data),
        );
      }
    } catch {
      // The session ended: the rest of the output has nowhere to go.
    }
  })();
  // The client went away: the program gets EOF, then a little time, then SIGTERM.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let exited = false;
  toChild.then(() => {
    if (exited) return;
    timer = setTimeout(() => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
    }, options.exitTimeout);
  });
  const status = await child.status;
  exited = true;
  clearTimeout(timer);
  await fromChild;
  const how = status.signal === null ? `exited with ${status.code}` : `ended by ${status.signal}`;
  options.note(`program ${how}`);
  if (session.state === "open") {
    await session.close(new CloseReason(1000, `program ${how}`.slice(0, 123))).catch(() => {});
  }
  await toChild;
}
