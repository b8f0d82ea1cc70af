/**
 * One `connect` connection's life (`ClientRun`): reading what arrives, the typed or piped input
 * and its commands, the close; and piped stdin read across connections (`PipedInput`).
 *
 * @module
 */

import { Frame, readText } from "../core/frame.ts";
import type { ConnectSettings } from "./settings.ts";
import type { ClientLink } from "./client_link.ts";
import { COMMAND_HELP, parseCommand } from "./commands.ts";
import { describeError, exitCodeFor } from "./failures.ts";
import { describeClose, formatMs } from "./frame_format.ts";
import { ExitCode } from "./help.ts";
import { splitStream, toMessage } from "./input.ts";
import { type Output, printMessage } from "./output.ts";
import type { WireRecorder } from "./wire_recorder.ts";

const lossy = new TextDecoder("utf-8", { ignoreBOM: true });

/** How the input ended. */
export type InputEnd = "eof" | "quit" | "interrupt";

/**
 * Piped stdin as pieces, read across connections: a piece asked for by one connection that
 * ended before it came is kept for the next.
 */
export class PipedInput {
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
export interface ReadEnd {
  readonly error?: unknown;
}

/** One client connection's life: reading, the commands, the close. */
export class ClientRun {
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
