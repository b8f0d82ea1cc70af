/**
 * The command line, read with Node's `parseArgs` (`node:util`): the subcommand, its flags and
 * their values, checked, into one typed `Invocation` (see `settings.ts`). Nothing here touches
 * the network or the file system.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { DeflateNegotiationOptions } from "../core/deflate_params.ts";
import { parseExtensionHeader } from "../core/extension_header.ts";
import {
  type CommonSettings,
  type ConnectSettings,
  type HelpTopic,
  type Invocation,
  type ListenSettings,
  UsageError,
} from "./settings.ts";
import { parseDuration, parseSize } from "./units.ts";

const COMMON = {
  help: { type: "boolean", short: "h" },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  framing: { type: "string" },
  input: { type: "string" },
  output: { type: "string" },
  binary: { type: "boolean" },
  "show-frames": { type: "boolean" },
  deflate: { type: "boolean" },
  "deflate-params": { type: "string" },
  "ping-interval": { type: "string" },
  "ping-timeout": { type: "string" },
  "max-message-size": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
} as const;

const CONNECT = {
  ...COMMON,
  header: { type: "string", short: "H", multiple: true },
  auth: { type: "string" },
  origin: { type: "string" },
  subprotocol: { type: "string", short: "s", multiple: true },
  ca: { type: "string", multiple: true },
  insecure: { type: "boolean", short: "k" },
  raw: { type: "boolean" },
  execute: { type: "string", short: "x", multiple: true },
  wait: { type: "string", short: "w" },
  "no-close": { type: "boolean", short: "n" },
  "expect-close": { type: "string" },
  "connect-timeout": { type: "string" },
  "close-timeout": { type: "string" },
  proxy: { type: "string" },
  location: { type: "boolean", short: "L" },
  "max-redirs": { type: "string" },
  reconnect: { type: "boolean" },
} as const;

const LISTEN = {
  ...COMMON,
  host: { type: "string" },
  path: { type: "string" },
  protocol: { type: "string", multiple: true },
  echo: { type: "boolean" },
  exec: { type: "string" },
  "max-connections": { type: "string" },
} as const;

/** Flags that are planned; given now they are a usage error that says so. */
const COMING: Record<string, string> = {};

/**
 * Reads the command line.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 *
 * const run = parseCommandLine(["connect", "ws://127.0.0.1:8080/", "-x", "hello"]);
 * if (run.command === "connect") console.log(run.url.href, run.execute); // ws://127.0.0.1:8080/ ["hello"]
 * ```
 *
 * @param args The arguments after the program name.
 * @returns What to run.
 * @throws {UsageError} When the command line cannot be run.
 */
export function parseCommandLine(args: readonly string[]): Invocation {
  const [first, ...rest] = args;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = rest[0];
    if (first === "help" && (topic === "connect" || topic === "listen")) {
      return { command: "help", topic };
    }
    return { command: "help", topic: "main" };
  }
  if (first === "-V" || first === "--version") return { command: "version" };
  if (first === "connect") return parseConnect(rest);
  if (first === "listen") return parseListen(rest);
  throw new UsageError(`unknown command "${first}" (use connect or listen)`, "main");
}

function parse<T extends Record<string, { type: "string" | "boolean" }>>(
  args: readonly string[],
  options: T,
  topic: HelpTopic,
) {
  for (const arg of args) {
    const name = arg.split("=")[0]!;
    if (COMING[name] !== undefined) {
      throw new UsageError(
        `${COMING[name]} is coming in a later release, not yet available`,
        topic,
      );
    }
  }
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split("\n")[0]! : String(err), topic);
  }
}

/** Runs `read` and turns its RangeError/TypeError into a usage error for `topic`. */
function checked<T>(topic: HelpTopic, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) {
      throw new UsageError(err.message, topic);
    }
    throw err;
  }
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as string[]).includes(value)) {
    throw new RangeError(`${flag} takes ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

type CommonValues = {
  [K in keyof typeof COMMON]?: (typeof COMMON)[K]["type"] extends "string" ? string : boolean;
};

function common(v: CommonValues): CommonSettings {
  const binary = v.binary === true;
  const deflate = v.deflate === true || v["deflate-params"] !== undefined
    ? parseDeflateParams(v["deflate-params"] ?? "")
    : null;
  const pingTimeout = v["ping-timeout"];
  const maxMessageSize = v["max-message-size"];
  return {
    quiet: v.quiet === true,
    json: v.json === true,
    framing: oneOf("--framing", v.framing, ["line", "null", "whole"], "line"),
    input: oneOf(
      "--input",
      v.input,
      ["text", "hex", "base64", "binary"],
      binary ? "binary" : "text",
    ),
    output: oneOf("--output", v.output, ["hex", "base64", "raw"], binary ? "raw" : "hex"),
    showFrames: v["show-frames"] === true,
    deflate,
    pingInterval: v["ping-interval"] === undefined
      ? 0
      : parseDuration("--ping-interval", v["ping-interval"]),
    pingTimeout: pingTimeout === undefined
      ? undefined
      : parseDuration("--ping-timeout", pingTimeout),
    maxMessageSize: maxMessageSize === undefined
      ? undefined
      : parseSize("--max-message-size", maxMessageSize),
  };
}

/**
 * Reads `--deflate-params`: RFC 7692 parameters as in the extension header
 * (`server_no_context_takeover; client_max_window_bits=10`).
 *
 * @example
 * ```ts
 * import { parseDeflateParams } from "./args.ts";
 *
 * console.log(parseDeflateParams("server_max_window_bits=10")); // { serverMaxWindowBits: 10 }
 * ```
 *
 * @param text The parameters.
 * @returns The negotiation settings.
 * @throws {RangeError} On an unknown parameter or a bad value.
 */
export function parseDeflateParams(text: string): DeflateNegotiationOptions {
  const out: DeflateNegotiationOptions = {};
  if (text.trim() === "") return out;
  let params: Map<string, string | true>;
  try {
    params = parseExtensionHeader(`permessage-deflate; ${text}`)[0]!.params;
  } catch {
    throw new RangeError(`--deflate-params: cannot read "${text}"`);
  }
  const bits = (name: string, value: string | true): number => {
    const n = Number(value);
    if (value === true || !Number.isInteger(n) || n < 8 || n > 15) {
      throw new RangeError(`--deflate-params: ${name} takes 8 to 15, got ${value}`);
    }
    return n;
  };
  for (const [name, value] of params) {
    switch (name) {
      case "server_no_context_takeover":
        out.serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        out.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        out.serverMaxWindowBits = bits(name, value);
        break;
      case "client_max_window_bits":
        out.clientMaxWindowBits = value === true ? true : bits(name, value);
        break;
      default:
        throw new RangeError(`--deflate-params: unknown parameter ${name}`);
    }
  }
  return out;
}

function parseConnect(
  args: readonly string[],
): ConnectSettings | { command: "help"; topic: "connect" } {
  const { values: v, positionals } = parse(args, CONNECT, "connect");
  if (v.help) return { command: "help", topic: "connect" };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? "connect needs a URL" : `unexpected argument "${positionals[1]}"`,
      "connect",
    );
  }
  return checked("connect", () => {
    const url = parseUrl(positionals[0]!);
    const headers = (v.header ?? []).map(parseHeader);
    if (v.auth !== undefined) {
      if (!v.auth.includes(":")) throw new RangeError("--auth takes USER:PASSWORD");
      const token = new TextEncoder().encode(v.auth).toBase64();
      headers.push(["authorization", `Basic ${token}`]);
    }
    if (v.origin !== undefined) headers.push(["origin", v.origin]);
    if ((v.cert === undefined) !== (v.key === undefined)) {
      throw new RangeError("--cert and --key go together");
    }
    const expect = v["expect-close"];
    const expectClose = expect === undefined ? null : Number(expect);
    if (
      expectClose !== null &&
      !(Number.isInteger(expectClose) && expectClose >= 1000 && expectClose <= 4999)
    ) {
      throw new RangeError(`--expect-close takes a close code (1000-4999), got "${expect}"`);
    }
    return {
      command: "connect",
      ...common(v),
      url,
      headers,
      protocols: (v.subprotocol ?? []).flatMap((s) => s.split(",")).map((s) => s.trim())
        .filter((s) => s !== ""),
      ca: v.ca ?? [],
      cert: v.cert,
      key: v.key,
      insecure: v.insecure === true,
      raw: v.raw === true,
      execute: v.execute ?? [],
      wait: v.wait === undefined ? 0 : parseDuration("--wait", v.wait),
      noClose: v["no-close"] === true,
      expectClose,
      connectTimeout: v["connect-timeout"] === undefined
        ? 10_000
        : parseDuration("--connect-timeout", v["connect-timeout"]),
      closeTimeout: v["close-timeout"] === undefined
        ? 5_000
        : parseDuration("--close-timeout", v["close-timeout"]),
      proxy: parseProxy(v.proxy),
      followRedirects: v.location === true,
      maxRedirects: parseRedirects(v["max-redirs"]),
      reconnect: v.reconnect === true,
    };
  });
}

/** `--proxy URL` (http://, socks5://, socks5h://) or `--proxy none`; absent: the environment. */
function parseProxy(value: string | undefined): string | false | undefined {
  if (value === undefined) return undefined;
  if (value === "none" || value === "") return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`--proxy takes a URL (http://, socks5://, socks5h://) or none`);
  }
  if (!["http:", "socks5:", "socks5h:"].includes(url.protocol)) {
    throw new RangeError(`--proxy takes http://, socks5:// or socks5h://, got ${url.protocol}//`);
  }
  return value;
}

/** `--max-redirs N`: a whole number, 0 or more. */
function parseRedirects(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`--max-redirs takes a whole number, got "${value}"`);
  }
  return n;
}

function parseListen(
  args: readonly string[],
): ListenSettings | { command: "help"; topic: "listen" } {
  const { values: v, positionals } = parse(args, LISTEN, "listen");
  if (v.help) return { command: "help", topic: "listen" };
  if (positionals.length > 1) {
    throw new UsageError(`unexpected argument "${positionals[1]}"`, "listen");
  }
  return checked("listen", () => {
    const portText = positionals[0] ?? "8080";
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) {
      throw new RangeError(`the port must be 0-65535, got "${portText}"`);
    }
    if ((v.cert === undefined) !== (v.key === undefined)) {
      throw new RangeError("--cert and --key go together");
    }
    if (v.echo && v.exec !== undefined) {
      throw new RangeError("--echo and --exec exclude each other");
    }
    const path = v.path ?? "/*";
    if (!path.startsWith("/")) throw new RangeError(`--path must start with "/", got "${path}"`);
    const maxText = v["max-connections"];
    const maxConnections = maxText === undefined ? undefined : Number(maxText);
    if (
      maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)
    ) {
      throw new RangeError(`--max-connections takes a whole number >= 1, got "${maxText}"`);
    }
    return {
      command: "listen",
      ...common(v),
      port,
      host: v.host ?? "127.0.0.1",
      path,
      protocols: v.protocol ?? [],
      cert: v.cert,
      key: v.key,
      mode: v.echo ? "echo" : v.exec !== undefined ? "exec" : "broadcast",
      exec: v.exec,
      maxConnections,
    };
  });
}

/** `ws:`/`wss:` URLs; `http:`/`https:` are taken as `ws:`/`wss:`; no scheme means `ws://`. */
function parseUrl(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ws://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TypeError(`not a URL: "${text}"`);
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`the URL must be ws: or wss:, got "${text}"`);
  }
  return url;
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new RangeError(`-H takes "Name: value", got "${text}"`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}
