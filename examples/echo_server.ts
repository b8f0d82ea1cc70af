/**
 * An echo server: every text and binary message comes back as it went (also the Autobahn
 * fuzzingclient target).
 *
 * ```sh
 * deno run -A examples/echo_server.ts [--port 9001] [--hostname 127.0.0.1] [--deflate] [--raw]
 *                                     [--protocol NAME]
 * ```
 *
 * - `--deflate` accepts permessage-deflate (managed mode).
 * - `--raw` serves a raw route that echoes frame by frame (fragments as they came), answers
 *   pings and the close by hand.
 * - `--protocol NAME` selects that subprotocol when a client offers it.
 *
 * Ctrl-C (SIGINT) or SIGTERM shuts the server down: 1001 to every session, then exit.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  createServer,
  type DefaultWebSocketServerSession,
  Frame,
  perMessageDeflate,
  type RawWebSocketServerSession,
  readReason,
} from "../server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "9001" },
    hostname: { type: "string", default: "127.0.0.1" },
    deflate: { type: "boolean", default: false },
    raw: { type: "boolean", default: false },
    protocol: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: deno run -A examples/echo_server.ts [--port 9001] [--hostname 127.0.0.1] " +
      "[--deflate] [--raw] [--protocol NAME]",
  );
  Deno.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be 0-65535, got ${values.port}`);
  Deno.exit(2);
}
if (values.deflate && values.raw) {
  console.error("note: --deflate applies to the managed echo; the raw echo negotiates nothing");
}

const server = createServer({
  // Autobahn sends messages up to 16 MiB.
  maxFrameSize: 64 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  extensions: values.deflate ? [perMessageDeflate()] : [],
  onError: (error, context) => console.error(`${context.phase} ${context.route ?? ""}:`, error),
});

const rawEcho = async (session: RawWebSocketServerSession) => {
  for await (const frame of session.incoming) {
    switch (frame.type) {
      case "ping":
        await session.send(Frame.pong(frame.data));
        break;
      case "pong":
        break;
      case "close":
        // Answer with the same code (none when the client sent none), then stop.
        await session.close(readReason(frame)).catch(() => {});
        return;
      default:
        // Text and binary frames, fragments included, go back as they came.
        await session.send(frame);
    }
  }
};
const managedEcho = async (session: DefaultWebSocketServerSession) => {
  for await (const message of session.incoming) await session.send(message);
};

// With --protocol, a client offering NAME gets it selected; one that does not offer it is
// served by the same echo without a subprotocol.
for (const protocol of values.protocol ? [values.protocol, undefined] : [undefined]) {
  if (values.raw) server.webSocketRaw("/*", rawEcho, { protocol });
  else server.webSocket("/*", managedEcho, { protocol });
}

const listener = server.listen({ port, hostname: values.hostname });
const mode = values.raw ? "raw" : values.deflate ? "managed, permessage-deflate" : "managed";
console.log(
  `echo server (${mode}${values.protocol ? `, protocol ${values.protocol}` : ""}) on ` +
    `ws://${listener.addr.hostname}:${listener.addr.port}/`,
);

let stopping = false;
const stop = (signal: Deno.Signal) => () => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  listener.shutdown();
};
const onInt = stop("SIGINT");
const onTerm = stop("SIGTERM");
Deno.addSignalListener("SIGINT", onInt);
Deno.addSignalListener("SIGTERM", onTerm);
await listener.finished;
Deno.removeSignalListener("SIGINT", onInt);
Deno.removeSignalListener("SIGTERM", onTerm);
console.log("stopped");
