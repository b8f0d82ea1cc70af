/**
 * `connect URL`: the client. Opens the connection, prints what arrives, and sends what the
 * person types (interactive), what stdin carries (piped), or the `-x` lines; closes with 1000
 * when the input ends (unless `-n`), and turns how the connection ended into the exit code.
 *
 * @module
 */

import { isTransientCloseCode, isTransientError } from "../core/transient.ts";
import { Backoff } from "../client/backoff.ts";
import type { ConnectSettings } from "./settings.ts";
import { type ClientLink, openClientLink } from "./client_link.ts";
import { describeError, exitCodeFor } from "./failures.ts";
import { describeClose, formatEntry, formatSummary } from "./frame_format.ts";
import { ExitCode } from "./help.ts";
import type { CliIo } from "./io.ts";
import { plainOutput } from "./output.ts";
import { TappedConn } from "./tapped_conn.ts";
import { openTerminal, type Terminal } from "./terminal.ts";
import { WireRecorder } from "./wire_recorder.ts";
import { ClientRun, type InputEnd, PipedInput, type ReadEnd } from "./client_run.ts";

/**
 * Runs `connect`.
 *
 * @example
 * ```ts ignore
 * import { runConnect } from "./connect_command.ts";
 * import { parseCommandLine } from "./args.ts";
 *
 * const settings = parseCommandLine(["connect", "ws://127.0.0.1:8080/", "-x", "hi"]);
 * if (settings.command === "connect") Deno.exitCode = await runConnect(settings, io);
 * ```
 *
 * @param settings The command line.
 * @param io The standard streams.
 * @returns The exit code.
 */
export async function runConnect(settings: ConnectSettings, io: CliIo): Promise<number> {
  const interactive = io.isTerminal && settings.execute.length === 0;
  const plain = plainOutput(io.stdout, io.stderr);
  let tls;
  try {
    tls = await readTls(settings);
  } catch (err) {
    plain.note(describeError(err));
    return ExitCode.ERROR;
  }
  const terminal: Terminal | null = interactive ? openTerminal("> ") : null;
  const out = terminal?.output ?? plain;
  const notice = (text: string) => settings.quiet || out.note(text);
  const newRecorder = () =>
    new WireRecorder("client", {
      onEntry: settings.showFrames ? (e) => formatEntry(e).forEach(out.note) : undefined,
    });
  // One per connection: a redirect (-L) opens another, whose bytes start with a new handshake.
  let recorder = newRecorder();
  if (settings.raw && (settings.deflate !== null || settings.pingInterval > 0)) {
    notice("note: --raw negotiates no extensions and sends no pings of its own");
  }
  const open = () =>
    openClientLink(settings, {
      tls,
      wrap: (conn) => new TappedConn(conn, recorder = newRecorder()),
    });
  let link: ClientLink;
  try {
    link = await open();
  } catch (err) {
    terminal?.close();
    out.note(describeError(err));
    if (settings.showFrames) formatSummary(recorder).forEach(out.note);
    return exitCodeFor(err);
  }
  const connected = (link: ClientLink) => {
    const details = [
      link.protocol === "" ? "" : `subprotocol ${link.protocol}`,
      link.extensions === "" ? "" : `extensions ${link.extensions}`,
      link.raw ? "raw: nothing automatic" : "",
    ].filter((s) => s !== "");
    notice(`connected to ${settings.url.href}${details.length ? ` (${details.join("; ")})` : ""}`);
  };
  connected(link);
  if (interactive) notice("type a message and Enter; /help lists the commands; Ctrl-D leaves");

  // --reconnect: one ClientRun per connection; the input outlives them. Piped stdin is read by
  // each run in turn (a message read while disconnected waits for the next connection); the
  // terminal and the -x lines go to the run of the moment.
  let run = new ClientRun(link, out, settings, interactive ? "< " : "");
  const piped = terminal === null && settings.execute.length === 0
    ? new PipedInput(io.stdin(), settings.framing)
    : null;
  const shared: Promise<InputEnd> | null = terminal
    ? terminal.run((line) => run.line(line))
    : piped === null
    ? (async () => {
      for (const line of settings.execute) {
        if (run.ended) break;
        if ((await run.line(line)) === "quit") return "quit";
      }
      return "eof";
    })()
    : null;
  let inputEnd: InputEnd | null = null;
  let stopped = false;
  const stopping = new AbortController();
  const stopOnSignal = () => {
    stopped = true;
    stopping.abort();
    run.stop();
  };
  addSignalListener("SIGINT", stopOnSignal);
  const backoff = new Backoff(CLI_BACKOFF);
  let attempt = 0;
  try {
    while (true) {
      const openedAt = Date.now();
      const ended = run.readIncoming();
      const input: Promise<InputEnd | "ended"> = inputEnd !== null
        ? new Promise<never>(() => {})
        : piped
        ? run.pipe(piped)
        : shared!;
      const first = await Promise.race([ended.then(() => "ended" as const), input]);
      if (first !== "ended") {
        inputEnd = first;
        const leaving = first === "quit" || first === "interrupt";
        if (!settings.noClose || leaving) {
          if (!leaving && settings.wait > 0) await run.waitOrEnd(settings.wait);
          await run.closeOnce(1000, "");
        }
      }
      const end = await ended;
      let cause = settings.reconnect && !stopped && !run.closing && inputEnd !== "quit" &&
          inputEnd !== "interrupt"
        ? transientCause(end, recorder)
        : null;
      if (cause === null) {
        terminal?.close();
        if (settings.showFrames) formatSummary(recorder).forEach(out.note);
        return run.exitCode(end, recorder);
      }
      if (settings.showFrames) formatSummary(recorder).forEach(out.note);
      await link.dispose().catch(() => {});
      if (Date.now() - openedAt >= backoff.minUptime) {
        backoff.reset();
        attempt = 0;
      }
      let next: ClientLink | null = null;
      while (next === null) {
        const delay = Math.round(backoff.next());
        out.note(`reconnecting in ${delay} ms (attempt ${++attempt}): ${cause}`);
        const waited = await Promise.race([
          sleep(delay, stopping.signal),
          // Ctrl-D, Ctrl-C or /quit at the prompt while waiting: leave.
          terminal && inputEnd === null ? shared!.then(() => false) : new Promise<never>(() => {}),
        ]);
        if (!waited) {
          terminal?.close();
          return run.exitCode(end, recorder);
        }
        try {
          next = await open();
        } catch (err) {
          if (!isTransientError(err) || stopped) {
            terminal?.close();
            out.note(describeError(err));
            if (settings.showFrames) formatSummary(recorder).forEach(out.note);
            return exitCodeFor(err);
          }
          cause = describeError(err);
        }
      }
      link = next;
      connected(link);
      run = new ClientRun(link, out, settings, interactive ? "< " : "");
      if (stopped) run.stop();
    }
  } finally {
    removeSignalListener("SIGINT", stopOnSignal);
    terminal?.close();
    piped?.cancel();
    await link.dispose().catch(() => {});
  }
}

/** The backoff of `--reconnect`: the library's, with a first delay of up to 1 s. */
const CLI_BACKOFF = { initialDelay: 1_000 };

/**
 * Why a connection's end is worth a reconnect (the library's classification), in words, or
 * `null` when it is not.
 */
function transientCause(end: ReadEnd, recorder: WireRecorder): string | null {
  if (end.error !== undefined) {
    return isTransientError(end.error) ? describeError(end.error) : null;
  }
  const peerClose = recorder.closes.find((c) => c.direction === "in");
  if (peerClose === undefined) return "the server sent no close frame (abnormal closure)";
  return isTransientCloseCode(peerClose.code)
    ? `the server closed with ${describeClose(peerClose.code, peerClose.reason)}`
    : null;
}

/** Waits `ms`: `true`, or `false` as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function readTls(settings: ConnectSettings) {
  if (settings.ca.length === 0 && settings.cert === undefined) return undefined;
  const caCerts = await Promise.all(settings.ca.map((f) => Deno.readTextFile(f)));
  return {
    caCerts: caCerts.length > 0 ? caCerts : undefined,
    ...(settings.cert !== undefined && settings.key !== undefined
      ? { cert: await Deno.readTextFile(settings.cert), key: await Deno.readTextFile(settings.key) }
      : {}),
  };
}

function addSignalListener(signal: Deno.Signal, handler: () => void): void {
  try {
    Deno.addSignalListener(signal, handler);
  } catch {
    // Not on this platform.
  }
}

function removeSignalListener(signal: Deno.Signal, handler: () => void): void {
  try {
    Deno.removeSignalListener(signal, handler);
  } catch {
    // Not on this platform.
  }
}
