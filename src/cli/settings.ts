/**
 * What the command line asks for, once read: the settings of `connect` and `listen`, and the
 * error of a command line that cannot be run.
 *
 * @module
 */

import type { DeflateNegotiationOptions } from "../core/deflate_params.ts";

/** A command line that cannot be run; the message says why (exit code 2). */
export class UsageError extends Error {
  /** The help topic to point at. */
  readonly topic: HelpTopic;

  /**
   * Creates a usage error.
   *
   * @param message What is wrong.
   * @param topic The help topic to point at.
   */
  constructor(message: string, topic: HelpTopic) {
    super(message);
    this.topic = topic;
  }

  /** `"UsageError"`. */
  override get name(): string {
    return "UsageError";
  }
}

/** The help pages. */
export type HelpTopic = "main" | "connect" | "listen";

/** How piped input is cut into messages. */
export type Framing = "line" | "null" | "whole";
/** What each piece of input is. */
export type InputKind = "text" | "hex" | "base64" | "binary";
/** How received binary messages are printed. */
export type OutputKind = "hex" | "base64" | "raw";

/** Flags both subcommands take. */
export interface CommonSettings {
  /** No connection notices on stderr (errors and the inspector still print). */
  quiet: boolean;
  /** Pretty-print text messages that are JSON. */
  json: boolean;
  /** How piped input is cut into messages. */
  framing: Framing;
  /** What each piece of input is. */
  input: InputKind;
  /** How received binary messages are printed. */
  output: OutputKind;
  /** Run the frame inspector. */
  showFrames: boolean;
  /** permessage-deflate settings, or `null` when off. */
  deflate: DeflateNegotiationOptions | null;
  /** Milliseconds between pings; 0 = none. */
  pingInterval: number;
  /** Milliseconds to wait for a pong, when given. */
  pingTimeout: number | undefined;
  /** The largest incoming message, when given. */
  maxMessageSize: number | undefined;
}

/** `connect URL`. */
export interface ConnectSettings extends CommonSettings {
  /** The subcommand. */
  command: "connect";
  /** The `ws:`/`wss:` URL. */
  url: URL;
  /** Extra request headers, in order. */
  headers: [string, string][];
  /** Subprotocols to offer. */
  protocols: string[];
  /** CA certificate files. */
  ca: string[];
  /** Client certificate file. */
  cert: string | undefined;
  /** Client key file. */
  key: string | undefined;
  /** Skip TLS certificate checks. */
  insecure: boolean;
  /** Raw session: every frame shown, nothing automatic. */
  raw: boolean;
  /** Lines to run after connecting (`-x`), in order. */
  execute: string[];
  /** Milliseconds to wait after the input ends before closing. */
  wait: number;
  /** Keep the connection open after the input ends. */
  noClose: boolean;
  /** The close code expected from the server, or `null`. */
  expectClose: number | null;
  /** Milliseconds for TCP, TLS and the upgrade each. */
  connectTimeout: number;
  /** Milliseconds to wait for the close handshake. */
  closeTimeout: number;
  /** `--proxy`: a proxy URL, `false` for none, `undefined` for the environment's. */
  proxy: string | false | undefined;
  /** `-L`: follow redirects. */
  followRedirects: boolean;
  /** `--max-redirs`: the most redirects followed (the library's default when absent). */
  maxRedirects: number | undefined;
  /** `--reconnect`: reconnect with backoff when the connection ends transiently. */
  reconnect: boolean;
}

/** `listen [PORT]`. */
export interface ListenSettings extends CommonSettings {
  /** The subcommand. */
  command: "listen";
  /** The TCP port (0 = any free one). */
  port: number;
  /** The address to bind. */
  host: string;
  /** The route path pattern. */
  path: string;
  /** Subprotocols the server accepts, preferred first. */
  protocols: string[];
  /** Certificate chain file (TLS). */
  cert: string | undefined;
  /** Key file (TLS). */
  key: string | undefined;
  /** What the server does with each connection. */
  mode: "broadcast" | "echo" | "exec";
  /** The command of `--exec`. */
  exec: string | undefined;
  /** The most connections served at once. */
  maxConnections: number | undefined;
}

/** What the command line asks for. */
export type Invocation =
  | ConnectSettings
  | ListenSettings
  | { command: "help"; topic: HelpTopic }
  | { command: "version" };
