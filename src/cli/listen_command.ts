/**
 * `listen [PORT]`: the server. Every connection gets an id; its messages are printed with it.
 * Broadcast (the default) sends every line typed or piped to all connected clients; `--echo`
 * sends each message back; `--exec` runs a program per connection. Ctrl-C (or SIGTERM) closes
 * every connection with 1001 and exits 0.
 *
 * @module
 */

import { readText } from "../core/frame.ts";
import type { DefaultWebSocketServerSession } from "../server/managed_server_session.ts";
import { createServer } from "../server/server.ts";
import { perMessageDeflate } from "../session/permessage_deflate.ts";
import { WRAP_CONN } from "../transport/conn_wrapper.ts";
import type { ListenSettings } from "./settings.ts";
import type { CliIo } from "./io.ts";
import { bridgeExec } from "./exec_bridge.ts";
import { describeError } from "./failures.ts";
import { describeClose, formatEntry, formatSummary } from "./frame_format.ts";
import { ExitCode } from "./help.ts";
import { splitStream, toMessage } from "./input.ts";
import { type Output, plainOutput, printMessage, type Received } from "./output.ts";
import { TappedConn } from "./tapped_conn.ts";
import { openTerminal } from "./terminal.ts";
import { WireRecorder } from "./wire_recorder.ts";

/** A connection, from accept on. */
interface Connection {
  readonly id: number;
  readonly recorder: WireRecorder;
}

/**
 * Runs `listen`.
 *
 * @example
 * ```ts ignore
 * import { runListen } from "./listen_command.ts";
 * import { parseCommandLine } from "./args.ts";
 *
 * const settings = parseCommandLine(["listen", "0", "--echo"]);
 * if (settings.command === "listen") Deno.exitCode = await runListen(settings, io);
 * ```
 *
 * @param settings The command line.
 * @param io The standard streams.
 * @returns The exit code.
 */
export async function runListen(settings: ListenSettings, io: CliIo): Promise<number> {
  const interactive = io.isTerminal && settings.mode === "broadcast";
  const plain = plainOutput(io.stdout, io.stderr);
  let tls: { cert: string; key: string } | undefined;
  try {
    if (settings.cert !== undefined && settings.key !== undefined) {
      tls = {
        cert: await Deno.readTextFile(settings.cert),
        key: await Deno.readTextFile(settings.key),
      };
    }
  } catch (err) {
    plain.note(describeError(err));
    return ExitCode.ERROR;
  }
  const terminal = interactive ? openTerminal("> ") : null;
  const out: Output = terminal?.output ?? plain;
  const notice = (text: string) => settings.quiet || out.note(text);
  const byAddress = new Map<string, Connection>();
  const sessions = new Map<number, DefaultWebSocketServerSession>();
  const joined = new EventTarget();
  let nextId = 1;
  const limit = settings.maxMessageSize;

  const server = createServer(
    {
      pingInterval: settings.pingInterval,
      ...(settings.pingTimeout === undefined ? {} : { timeout: settings.pingTimeout }),
      ...(limit === undefined ? {} : { maxMessageSize: limit, maxFrameSize: limit }),
      ...(settings.maxConnections === undefined ? {} : { maxConnections: settings.maxConnections }),
      extensions: settings.deflate === null ? [] : [perMessageDeflate(settings.deflate)],
      onError: (error, context) => {
        if (context.phase === "handler") out.note(`handler: ${describeError(error)}`);
      },
      [WRAP_CONN]: (conn: Deno.Conn) => {
        const id = nextId++;
        const label = `[#${id}] `;
        const recorder = new WireRecorder("server", {
          onEntry: settings.showFrames
            ? (e) => formatEntry(e, { label }).forEach(out.note)
            : undefined,
        });
        const key = addressKey(conn.remoteAddr);
        byAddress.set(key, { id, recorder });
        return new TappedConn(conn, recorder, {
          onClose: () => {
            byAddress.delete(key);
            if (recorder.status === 101) return;
            if (recorder.status !== null) notice(`${label}refused: HTTP ${recorder.status}`);
          },
        });
      },
    } as Parameters<typeof createServer>[0],
  );

  const print = (id: number, message: Received) =>
    printMessage(out, message, {
      json: settings.json,
      output: settings.output,
      prefix: `[#${id}] `,
    });

  const serve = async (session: DefaultWebSocketServerSession) => {
    const conn = byAddress.get(addressKey(session.remoteAddr));
    const id = conn?.id ?? nextId++;
    const label = `[#${id}] `;
    const where = session.remoteAddr === undefined ? "" : ` from ${addressKey(session.remoteAddr)}`;
    const extras = [
      session.protocol === "" ? "" : `subprotocol ${session.protocol}`,
      session.extensions.length === 0 ? "" : "permessage-deflate",
    ].filter((s) => s !== "");
    notice(
      `${label}connected${where} to ${session.request.url.pathname}` +
        (extras.length ? ` (${extras.join("; ")})` : ""),
    );
    sessions.set(id, session);
    joined.dispatchEvent(new Event("join"));
    try {
      if (settings.mode === "exec") {
        await bridgeExec(session, settings.exec!, {
          framing: settings.framing,
          input: settings.input,
          output: settings.output,
          exitTimeout: 5000,
          note: (text) => notice(label + text),
        });
        return;
      }
      for await (const message of session.incoming) {
        print(
          id,
          message.type === "text"
            ? { type: "text", data: readText(message) }
            : { type: "binary", data: message.data },
        );
        if (settings.mode === "echo") await session.send(message);
      }
    } catch (err) {
      notice(`${label}${describeError(err)}`);
    } finally {
      sessions.delete(id);
      const reason = await session.closeReason;
      const peer = conn?.recorder.closes.find((c) => c.direction === "in");
      const shown = peer ??
        (reason === null ? null : { code: reason.code, reason: reason.message });
      notice(`${label}closed${shown ? `: ${describeClose(shown.code, shown.reason)}` : ""}`);
      if (settings.showFrames && conn) {
        // The close handshake ends after the handler: report once the socket is released.
        session.closed.then(() => formatSummary(conn.recorder, label).forEach(out.note));
      }
    }
  };
  for (
    const protocol of settings.protocols.length > 0
      ? [...settings.protocols, undefined]
      : [undefined]
  ) {
    server.webSocket(settings.path, serve, { protocol });
  }

  let listener;
  try {
    listener = server.listen({ hostname: settings.host, port: settings.port, ...tls });
  } catch (err) {
    terminal?.close();
    out.note(`cannot listen on ${settings.host}:${settings.port}: ${describeError(err)}`);
    return ExitCode.ERROR;
  }
  const scheme = tls ? "wss" : "ws";
  const shownPath = settings.path === "/*" ? "/" : settings.path;
  out.note(
    `listening on ${scheme}://${
      hostForUrl(listener.addr.hostname)
    }:${listener.addr.port}${shownPath}`,
  );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    notice("shutting down: closing every connection with 1001");
    listener.shutdown();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);

  const broadcast = async (text: string | Uint8Array) => {
    const type = typeof text === "string" ? "text" : "binary";
    await Promise.allSettled([...sessions.values()].map((s) => s.send(text)));
    return type;
  };
  if (settings.mode === "broadcast") {
    if (terminal) {
      terminal.run(async (line) => {
        if (sessions.size === 0) out.note("no client connected: not sent");
        else await broadcast(line);
      }).then(stop);
    } else {
      pipeBroadcast(io.stdin(), settings, sessions, joined, broadcast, out, () => stopping);
    }
  }
  await listener.finished;
  terminal?.close();
  for (const s of signals) Deno.removeSignalListener(s, stop);
  return ExitCode.OK;
}

/** Reads piped stdin while a client is connected, and sends each message to every client. */
async function pipeBroadcast(
  stdin: ReadableStream<Uint8Array>,
  settings: ListenSettings,
  sessions: Map<number, unknown>,
  joined: EventTarget,
  broadcast: (data: string | Uint8Array) => Promise<unknown>,
  out: Output,
  stopping: () => boolean,
): Promise<void> {
  const someone = () =>
    sessions.size > 0 ? Promise.resolve() : new Promise<void>((resolve) => {
      joined.addEventListener("join", () => resolve(), { once: true });
    });
  // Nothing is read until the first client is there: stdin's backpressure holds the input.
  const reader = stdin.getReader();
  const gated = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      await someone();
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  }, { highWaterMark: 0 });
  try {
    for await (const piece of splitStream(gated, settings.framing)) {
      if (stopping()) break;
      await someone();
      const message = toMessage(piece, settings.input);
      if (message.kind === "invalid") out.note(`stdin message skipped: ${message.error}`);
      else await broadcast(message.kind === "text" ? message.text : message.data);
    }
  } catch (err) {
    out.note(`stdin: ${describeError(err)}`);
  }
}

function addressKey(addr: Deno.Addr | undefined): string {
  if (addr === undefined) return "?";
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return `${hostForUrl(addr.hostname)}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : "?";
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
