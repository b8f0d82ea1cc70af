/**
 * The Redis backplane's use of the client (`npm:ioredis`): creating a connection with the scripts
 * defined, running the read script, and closing a connection without leaving a timer behind.
 *
 * ioredis is loaded with a dynamic `import()` when the first backplane starts, and used through
 * the few methods declared here ({@linkcode Client}): its types (and `@types/node`'s) stay out of
 * the public module graph, and importing `@wirestream/ws/redis` loads nothing from npm by itself.
 *
 * @module
 */

import { randomEpoch } from "./_history.ts";
import {
  decodeEntry,
  PUBLISH_SCRIPT,
  type RawEntry,
  READ_SCRIPT,
  type TopicKeys,
  type WireMessage,
} from "./_redis_protocol.ts";

/** The read script's reply with Buffer strings. */
type ReadReply = [Uint8Array, number, number, RawEntry[]];

/** The two scripts, as ioredis defines them on the command connection. */
export interface ScriptCommands {
  wirestreamPublish(...args: (string | number | Uint8Array)[]): Promise<[number, string]>;
  wirestreamReadBuffer(...args: (string | number)[]): Promise<ReadReply>;
}

/** The part of an ioredis connection the backplane uses. */
export interface Client {
  /** `wait`, `connecting`, `connect`, `ready`, `close`, `reconnecting` or `end`. */
  readonly status: string;
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(
    event: "messageBuffer",
    listener: (channel: Uint8Array, payload: Uint8Array) => void,
  ): unknown;
  once(event: "end", listener: () => void): unknown;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

/** The command connection: a client with the scripts. */
export type CommandClient = Client & ScriptCommands;

/** ioredis's `Redis` constructor, as far as the backplane uses it. */
export type ClientConstructor = new (url: string, options: Record<string, unknown>) => Client;

let loading: Promise<ClientConstructor> | undefined;

/** Loads ioredis (once per process). */
export function loadClient(): Promise<ClientConstructor> {
  loading ??= import("npm:ioredis@6.1.0").then((m) => m.Redis as unknown as ClientConstructor);
  return loading;
}

/** How to open a connection. */
export interface ClientOptions {
  readonly url: string;
  readonly connectTimeout: number;
  /** `CLIENT SETNAME`: shows in `CLIENT LIST`. */
  readonly name: string;
  /** Called once when the connection ends, with the last error seen. */
  readonly onEnd: (error: unknown) => void;
}

/**
 * A connection, not yet connected: no reconnection and no offline queue of its own (the backplane
 * reconnects itself, with fresh connections), no automatic resubscription.
 */
export function createClient(Redis: ClientConstructor, options: ClientOptions): Client {
  const client = new Redis(options.url, {
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeout,
    connectionName: options.name,
  });
  // Without an "error" listener the client's errors would be thrown as uncaught.
  client.on("error", (error) => lastErrors.set(client, error));
  client.once("end", () => options.onEnd(lastErrorOf(client) ?? new Error("connection closed")));
  return client;
}

const lastErrors = new WeakMap<Client, unknown>();

/**
 * The last error a connection reported (a refused connection, `WRONGPASS`…): more telling than
 * the "Connection is closed." its pending commands and `connect()` reject with.
 */
export function lastErrorOf(client: Client): unknown {
  return lastErrors.get(client);
}

/** A command connection: {@linkcode createClient} with the two scripts defined. */
export function createCommandClient(
  Redis: ClientConstructor,
  options: ClientOptions,
): CommandClient {
  const cmd = createClient(Redis, options) as CommandClient;
  // EVALSHA, and EVAL when Redis answers NOSCRIPT (after a restart, say).
  cmd.defineCommand("wirestreamPublish", { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
  cmd.defineCommand("wirestreamRead", { numberOfKeys: 3, lua: READ_SCRIPT });
  return cmd;
}

/** What the read script returns. */
export interface ReadResult {
  readonly epoch: string;
  readonly head: number;
  /** Redis's clock, in ms. */
  readonly now: number;
  /** The history from the offset asked for (at most `count` entries). */
  readonly entries: WireMessage[];
}

const decoder = new TextDecoder();

/** Runs the read script: the head of a topic and, with `count` > 0, its history from `from`. */
export async function readTopic(
  cmd: CommandClient,
  keys: TopicKeys,
  from: number,
  count: number,
): Promise<ReadResult> {
  const [epochBytes, head, now, raw] = await cmd.wirestreamReadBuffer(
    keys.counter,
    keys.epoch,
    keys.history,
    randomEpoch(),
    from,
    count,
  );
  const epoch = decoder.decode(epochBytes);
  return {
    epoch,
    head: Number(head),
    now: Number(now),
    entries: raw.map((e) => decodeEntry(e, epoch)),
  };
}

/**
 * Closes a client and resolves once its socket is gone: `QUIT` when it is ready (at most
 * {@linkcode QUIT_TIMEOUT} ms), otherwise `disconnect()`.
 *
 * `disconnect()` arms a timer that only the socket's next `close` event clears: it must not be
 * called on a socket that already closed (Redis went away), or the timer outlives the backplane.
 */
export async function shutdown(client: Client): Promise<void> {
  if (client.status === "end") return;
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  const socket = (client as unknown as { stream?: { destroyed?: boolean } }).stream;
  const destroyed = () => socket?.destroyed === true;
  if (client.status === "ready" && !destroyed()) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(resolve, QUIT_TIMEOUT, "late")
    );
    try {
      const outcome = await Promise.race([client.quit(), late]);
      if (outcome === "late" && !destroyed()) client.disconnect();
    } catch {
      if (!destroyed()) client.disconnect();
    } finally {
      clearTimeout(timer);
    }
  } else if (!destroyed()) {
    client.disconnect();
  }
  await ended;
}

/** How long `shutdown` waits for Redis to answer `QUIT`, in ms. */
export const QUIT_TIMEOUT = 1000;
