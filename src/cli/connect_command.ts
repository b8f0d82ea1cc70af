/**
 * `connect URL`: the client. Opens the connection, prints what arrives, and sends what the
 * person types (interactive), what stdin carries (piped), or the `-x` lines; closes with 1000
 * when the input ends (unless `-n`), and turns how the connection ended into the exit code.
 *
 * @module
 */

import { Frame, readText } from "../core/frame.ts";
import { isTransientCloseCode, isTransientError } from "../core/transient.ts";
import { Backoff } from "../client/backoff.ts";
import type { ConnectSettings } from "./settings.ts";
import { type ClientLink, openClientLink } from "./client_link.ts";
import { COMMAND_HELP, parseCommand } from "./commands.ts";
import { describeError, exitCodeFor } from "./failures.ts";
import { describeClose, formatEntry, formatMs, formatSummary } from "./frame_format.ts";
import { ExitCode } from "./help.ts";
import { splitStream, toMessage } from "./input.ts";
import type { CliIo } from "./io.ts";
import { type Output, plainOutput, printMessage } from "./output.ts";
import { TappedConn } from "./tapped_conn.ts";
import { openTerminal, type Terminal } from "./terminal.ts";
import { WireRecorder } from "./wire_recorder.ts";

const lossy = new TextDecoder("utf-8", { ignoreBOM: true });

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

/** How the input ended. */
type InputEnd = "eof" | "quit" | "interrupt";

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

/**
 * Piped stdin as pieces, read across connections: a piece asked for by one connection that
 * ended before it came is kept for the next.
 */
class PipedInput {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #pieces: AsyncIterator<Uint8Array>;
  #pending: Promise<IteratorResult<Uint8Array>> | null = null;
  /** Pieces taken so far (for the notices). */
  index = 0;

  constructor(stdin: ReadableStream<Uint8Array>, framing: ConnectSettings["framing"]) {
    const reader = this.#reader = stdin.getReader();
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    });
    this.#pieces = splitStream(stream, framing)[Symbol.asyncIterator]();
  }

  /** The next piece (the same promise until {@linkcode PipedInput.take}). */
  next(): Promise<IteratorResult<Uint8Array>> {
    return this.#pending ??= this.#pieces.next();
  }

  /** The piece from {@linkcode PipedInput.next} was used. */
  take(): void {
    this.#pending = null;
  }

  /** Stops reading stdin. */
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/** How reading ended: normally, or with an error. */
interface ReadEnd {
  readonly error?: unknown;
}

/** One client connection's life: reading, the commands, the close. */
class ClientRun {
  readonly #link: ClientLink;
  readonly #out: Output;
  readonly #settings: ConnectSettings;
  /** Put before each printed message (`< ` when interactive). */
  readonly #prefix: string;
  /** Raw mode: our pings by payload (hex) and when they were sent, for the round trip. */
  readonly #pings = new Map<string, number>();
  /** Raw mode: the payload of the last ping received (what `/pong` answers). */
  #lastPing: Uint8Array = new Uint8Array(0);
  #ended = false;
  readonly #endedSignal = Promise.withResolvers<void>();
  #closing: Promise<void> | null = null;
  /** Ctrl-Cs received (outside the terminal). */
  #interrupts = 0;

  /** Whether the connection ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the tool started closing (end of input, `/close`, Ctrl-C). */
  get closing(): boolean {
    return this.#closing !== null;
  }

  constructor(link: ClientLink, out: Output, settings: ConnectSettings, prefix: string) {
    this.#link = link;
    this.#out = out;
    this.#settings = settings;
    this.#prefix = prefix;
  }

  /** Prints what arrives until the connection ends. */
  async readIncoming(): Promise<ReadEnd> {
    const print = {
      json: this.#settings.json,
      output: this.#settings.output,
      prefix: this.#prefix,
      markBinary: this.#prefix !== "",
    };
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    try {
      for await (const frame of this.#link.incoming) {
        switch (frame.type) {
          case "text":
            printMessage(this.#out, {
              type: "text",
              data: this.#link.raw
                ? decoder.decode(frame.data, { stream: !frame.fin })
                : readText(frame),
            }, print);
            break;
          case "binary":
            printMessage(this.#out, { type: "binary", data: frame.data }, print);
            break;
          case "ping":
            this.#lastPing = frame.data.slice();
            this.#out.note(`ping received${show(frame.data)}: not answered (--raw); /pong answers`);
            break;
          case "pong": {
            const sent = this.#pings.get(frame.data.toHex());
            this.#pings.delete(frame.data.toHex());
            const rtt = sent === undefined ? "" : ` after ${formatMs(performance.now() - sent)}`;
            this.#out.note(`pong received${show(frame.data)}${rtt}`);
            break;
          }
          case "close": {
            const code = frame.data.length >= 2 ? (frame.data[0]! << 8) | frame.data[1]! : 1005;
            const text = describeClose(code, lossy.decode(frame.data.subarray(2)));
            this.#out.note(
              this.#link.closeSent
                ? `close received: ${text}`
                : `close received: ${text}; not echoed (--raw): /close answers`,
            );
            break;
          }
        }
      }
      return {};
    } catch (error) {
      return { error };
    } finally {
      this.#ended = true;
      this.#endedSignal.resolve();
    }
  }

  /** Handles a typed line; `"quit"` ends the typing. */
  async line(line: string): Promise<"quit" | void> {
    const cmd = parseCommand(line);
    const link = this.#link;
    const out = this.#out;
    try {
      switch (cmd.kind) {
        case "text":
          await link.send(Frame.text(cmd.text));
          return;
        case "binary": {
          const data = "file" in cmd.source
            ? await Deno.readFile(cmd.source.file)
            : cmd.source.data;
          await link.send(Frame.binary(data));
          return;
        }
        case "ping": {
          const sentAt = performance.now();
          if (link.raw) {
            this.#pings.set(cmd.data.toHex(), sentAt);
            await link.ping(cmd.data);
            return;
          }
          // Managed: the round trip is printed when the pong comes; typing goes on meanwhile.
          link.ping(cmd.data).then(
            (rtt) => out.note(`pong received${show(cmd.data)} after ${formatMs(rtt ?? 0)}`),
            (err) => this.#ended || out.note(`ping: ${describeError(err)}`),
          );
          return;
        }
        case "pong":
          await link.send(Frame.pong(cmd.data ?? (link.raw ? this.#lastPing : undefined)));
          return;
        case "close":
          this.closeOnce(cmd.code, cmd.reason);
          return;
        case "fragment": {
          const parts = cmd.parts;
          for (let i = 0; i < parts.length; i++) {
            await link.send(Frame.text(parts[i]!, { fin: i === parts.length - 1 }));
          }
          return;
        }
        case "quit":
          return "quit";
        case "help":
          COMMAND_HELP.forEach((l) => out.note(l));
          return;
        case "invalid":
          out.note(cmd.error);
          return;
      }
    } catch (err) {
      out.note(`cannot send: ${describeError(err)}`);
    }
  }

  /**
   * Sends piped stdin as messages, in order, each once the previous one was taken; `"ended"`
   * when the connection ended first.
   */
  async pipe(input: PipedInput): Promise<"eof" | "ended"> {
    const ended = this.#endedSignal.promise.then(() => null);
    while (true) {
      if (this.#ended) return "ended";
      let next;
      try {
        next = await Promise.race([input.next(), ended]);
      } catch (err) {
        input.take();
        if (this.#ended) return "ended";
        this.#out.note(`stdin: ${describeError(err)}`);
        return "eof";
      }
      if (next === null) return "ended";
      input.take();
      if (next.done) return "eof";
      const index = ++input.index;
      const message = toMessage(next.value, this.#settings.input);
      if (message.kind === "invalid") {
        this.#out.note(`stdin message ${index} skipped: ${message.error}`);
        continue;
      }
      const frame = message.kind === "text" ? Frame.text(message.text) : Frame.binary(message.data);
      try {
        await this.#link.send(frame);
      } catch (err) {
        // The connection is going down, most likely: the message is lost, never sent again.
        if (!this.#ended) this.#out.note(`stdin message ${index} not sent: ${describeError(err)}`);
        await this.waitOrEnd(this.#settings.closeTimeout);
        return this.#ended ? "ended" : "eof";
      }
    }
  }

  /** Waits `ms`, or less if the connection ends first. */
  async waitOrEnd(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#endedSignal.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Closes (once): managed, the close handshake; raw, our close frame, then up to the close
   * timeout for the connection to end.
   */
  closeOnce(code: number, reason: string): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#ended) return;
      if (!this.#link.closeSent) {
        try {
          await this.#link.close(code, reason);
        } catch (err) {
          if (!this.#ended) this.#out.note(`close: ${describeError(err)}`);
        }
      }
      await this.waitOrEnd(this.#settings.closeTimeout + 1000);
      if (!this.#ended) this.#link.abort();
    })();
    return this.#closing;
  }

  /**
   * Ctrl-C outside the terminal: close with 1000; a second Ctrl-C aborts. A close already
   * under way for another reason (the end of stdin) is no first Ctrl-C: it is left to finish.
   */
  stop(): void {
    if (++this.#interrupts === 1) {
      this.closeOnce(1000, "");
      return;
    }
    this.#link.abort();
  }

  /** The exit code of how the connection ended. */
  exitCode(end: ReadEnd, recorder: WireRecorder): number {
    if (end.error !== undefined) {
      this.#out.note(describeError(end.error));
      return exitCodeFor(end.error);
    }
    const peerClose = recorder.closes.find((c) => c.direction === "in");
    const expected = this.#settings.expectClose;
    if (peerClose === undefined) {
      this.#out.note("closed: the server sent no close frame (abnormal closure)");
      return ExitCode.CONNECTION_FAILED;
    }
    if (!this.#settings.quiet) {
      this.#out.note(`closed: ${describeClose(peerClose.code, peerClose.reason)}`);
    }
    if (expected !== null && peerClose.code !== expected) {
      this.#out.note(`expected close code ${expected}, got ${peerClose.code}`);
      return ExitCode.UNEXPECTED_CLOSE;
    }
    return ExitCode.OK;
  }
}

/** ` "data"` (or hex) for a control frame's payload, or nothing when empty. */
function show(data: Uint8Array): string {
  if (data.length === 0) return "";
  const text = lossy.decode(data);
  // deno-lint-ignore no-control-regex
  return /[\x00-\x1f\x7f\ufffd]/.test(text) ? ` ${data.toHex()}` : ` ${JSON.stringify(text)}`;
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
