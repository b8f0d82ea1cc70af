/**
 * The interactive terminal: a prompt with line editing and history (Node's `readline`), and an
 * {@linkcode Output} that prints above the line being typed and redraws it.
 *
 * @module
 */

import process from "node:process";
import * as readline from "node:readline";
import type { Output } from "./output.ts";

/** How the typing ended. */
export type TerminalEnd = "eof" | "quit" | "interrupt";

/** A prompt on the terminal. */
export interface Terminal {
  /** Prints messages (stdout) and notices (stderr) above the prompt. */
  readonly output: Output;
  /**
   * Reads lines until Ctrl-D, Ctrl-C, or `handle` answers `"quit"`; each line is handled
   * before the next is taken.
   *
   * @param handle What to do with a line.
   * @returns How it ended.
   */
  run(handle: (line: string) => Promise<"quit" | void>): Promise<TerminalEnd>;
  /** Stops prompting and gives the terminal back. */
  close(): void;
}

/**
 * Opens the prompt (stdin must be a terminal). The prompt and the typing go to stdout when it
 * is a terminal, else to stderr, so `connect URL > log` still shows what is typed.
 *
 * @example
 * ```ts ignore
 * import { openTerminal } from "./terminal.ts";
 *
 * const terminal = openTerminal("> ");
 * terminal.output.message("< hello");
 * await terminal.run(async (line) => (line === "/quit" ? "quit" : undefined));
 * terminal.close();
 * ```
 *
 * @param prompt The prompt.
 * @returns The terminal.
 */
export function openTerminal(prompt: string): Terminal {
  const screen = process.stdout.isTTY ? process.stdout : process.stderr;
  const rl = readline.createInterface({
    input: process.stdin,
    output: screen,
    terminal: true,
    historySize: 1000,
    removeHistoryDuplicates: true,
    prompt,
  });
  let open = true;
  let closed = false;
  const print = (stream: { write(text: string): unknown }, text: string) => {
    if (!open) {
      stream.write(text + "\n");
      return;
    }
    readline.clearLine(screen, 0);
    readline.cursorTo(screen, 0);
    stream.write(text + "\n");
    rl.prompt(true);
  };
  const output: Output = {
    message: (text) => print(process.stdout, text),
    bytes: (data) => print(process.stdout, new TextDecoder().decode(data)),
    note: (text) => print(process.stderr, text),
  };
  return {
    output,
    run(handle) {
      return new Promise<TerminalEnd>((resolve) => {
        let queue = Promise.resolve();
        const finish = (end: TerminalEnd) => {
          if (!open) return;
          open = false;
          resolve(end);
        };
        rl.on("line", (line) => {
          queue = queue.then(async () => {
            if (!open) return;
            if ((await handle(line)) === "quit") finish("quit");
            else if (open) rl.prompt();
          });
        });
        rl.on("close", () => finish("eof"));
        rl.on("SIGINT", () => {
          screen.write("^C\n");
          finish("interrupt");
        });
        rl.prompt();
      });
    },
    close() {
      if (open || !closed) {
        // Take the prompt off the screen.
        readline.clearLine(screen, 0);
        readline.cursorTo(screen, 0);
      }
      open = false;
      closed = true;
      rl.close();
      process.stdin.pause();
    },
  };
}
