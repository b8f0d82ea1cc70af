/**
 * The wirestream command-line tool: a WebSocket client with wscat's ease and websocat's pipes,
 * a server (echo, print, broadcast, a program per connection), and a frame inspector.
 *
 * ```sh
 * deno run -A jsr:@wirestream/ws/cli connect wss://example.com/socket
 * deno run -A jsr:@wirestream/ws/cli connect ws://127.0.0.1:8080/ --show-frames --raw
 * echo hello | deno run -A jsr:@wirestream/ws/cli connect ws://127.0.0.1:8080/echo
 * deno run -A jsr:@wirestream/ws/cli listen 8080 --echo
 * ```
 *
 * - **`connect URL`**: interactive when stdin is a terminal (each line a text message; `/ping`,
 *   `/pong`, `/close`, `/binary`, `/fragment`, `/quit`), piped otherwise (line, NUL or
 *   whole-stream framing; text, hex, base64 or binary input). Messages go to stdout, one per
 *   line; notices to stderr. Headers, Basic auth, origin, subprotocols, CA and client
 *   certificates, permessage-deflate, pings, message limits; `-x` and `-w` for scripts.
 * - **`listen [PORT]`**: broadcast (the default), `--echo`, or `--exec COMMAND`.
 * - **`--show-frames`**: every frame in and out (direction, time since the previous frame,
 *   opcode, FIN, RSV, mask, length, a preview, close codes in words), the handshake, and a
 *   summary: frames and bytes each way, ping round trips, the close. With `--raw` nothing is
 *   automatic: see how a server pings, fragments and closes, and answer by hand.
 *
 * `wirestream --help`, `wirestream connect --help` and `wirestream listen --help` list every
 * flag. The exit codes are {@linkcode ExitCode}. `deno compile -A --output wirestream cli.ts`
 * makes one binary.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

export { main } from "./src/cli/main.ts";
export { ExitCode } from "./src/cli/help.ts";
export type { CliIo } from "./src/cli/io.ts";
export type { SyncWriter } from "./src/cli/output.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
