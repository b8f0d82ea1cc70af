/**
 * The lines a person types (or gives with `-x`): a text message, or a slash command (`/ping`,
 * `/pong`, `/close`, `/binary`, `/fragment`, `/quit`, `/help`). `//text` sends `/text`.
 *
 * @module
 */

import { isValidCloseCode } from "../core/close.ts";
import { type BinarySource, parseBinaryArgument } from "./codec.ts";

/** What a line asks for. */
export type Command =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly source: BinarySource }
  | { readonly kind: "ping"; readonly data: Uint8Array }
  | { readonly kind: "pong"; readonly data: Uint8Array | null }
  | { readonly kind: "close"; readonly code: number; readonly reason: string }
  | { readonly kind: "fragment"; readonly parts: readonly string[] }
  | { readonly kind: "quit" }
  | { readonly kind: "help" }
  | { readonly kind: "invalid"; readonly error: string };

/** The commands, for `/help`. */
export const COMMAND_HELP: readonly string[] = [
  "/ping [data]             send a ping (the round trip is printed when the pong comes)",
  "/pong [data]             send a pong (in --raw, answers the last ping with its data)",
  "/close [code] [reason]   start the close handshake (default 1000)",
  "/binary <hex|base64|@file>  send a binary message",
  "/fragment A|B|C          send one text message in fragments (no |: in two halves)",
  "/quit                    close with 1000 and leave (also Ctrl-D)",
  "//text                   send a text message that starts with /",
];

const encoder = new TextEncoder();

/**
 * Reads one line.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./commands.ts";
 *
 * console.log(parseCommand("/close 4000 bye")); // { kind: "close", code: 4000, reason: "bye" }
 * console.log(parseCommand("hello")); // { kind: "text", text: "hello" }
 * ```
 *
 * @param line The line, without its newline.
 * @returns What it asks for.
 */
export function parseCommand(line: string): Command {
  if (!line.startsWith("/")) return { kind: "text", text: line };
  if (line.startsWith("//")) return { kind: "text", text: line.slice(1) };
  const match = /^\/(\S*)(?:\s(.*))?$/s.exec(line)!;
  const name = match[1]!.toLowerCase();
  const arg = match[2] ?? "";
  switch (name) {
    case "ping":
    case "pong": {
      const data = encoder.encode(arg);
      if (data.length > 125) return invalid(`/${name} data is at most 125 bytes`);
      if (name === "ping") return { kind: "ping", data };
      return { kind: "pong", data: arg === "" ? null : data };
    }
    case "close":
      return parseClose(arg);
    case "binary":
      try {
        return { kind: "binary", source: parseBinaryArgument(arg) };
      } catch (err) {
        return invalid((err as Error).message);
      }
    case "fragment":
      return parseFragment(arg);
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "help":
    case "?":
      return { kind: "help" };
    default:
      return invalid(`unknown command /${name} (/help lists them; //text sends "/text")`);
  }
}

function invalid(error: string): Command {
  return { kind: "invalid", error };
}

function parseClose(arg: string): Command {
  const m = /^\s*(\d+)?\s*(.*)$/s.exec(arg)!;
  const code = m[1] === undefined ? 1000 : Number(m[1]);
  const reason = m[2]!;
  if (m[1] === undefined && reason !== "") {
    return invalid("/close takes a code first: /close [code] [reason]");
  }
  if (!isValidCloseCode(code)) {
    return invalid(`/close: ${code} may not be sent (1000-1003, 1007-1014, 3000-4999)`);
  }
  if (encoder.encode(reason).length > 123) {
    return invalid("/close: the reason is at most 123 bytes");
  }
  return { kind: "close", code, reason };
}

function parseFragment(arg: string): Command {
  if (arg === "") return invalid("/fragment needs text: /fragment A|B|C");
  if (arg.includes("|")) return { kind: "fragment", parts: arg.split("|") };
  const chars = [...arg];
  if (chars.length < 2) return { kind: "fragment", parts: [arg, ""] };
  const half = Math.ceil(chars.length / 2);
  return { kind: "fragment", parts: [chars.slice(0, half).join(""), chars.slice(half).join("")] };
}
