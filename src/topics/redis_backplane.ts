/**
 * The Redis backplane: topics across processes and hosts through one Redis server (7.0 or later
 * is tested; any server with streams, Lua and pub/sub should do).
 *
 * Publishing runs one Lua script that atomically takes the topic's next offset, appends the
 * message to the topic's history stream (trimmed by size and age) and `PUBLISH`es it on the
 * topic's channel, so the channel carries every topic's messages in offset order. Subscribing
 * `SUBSCRIBE`s first and then reads the head: every later message arrives on the channel.
 *
 * Two connections: one for commands, one in subscriber mode. When either drops, the backplane
 * reports `down`, reconnects with a bounded exponential backoff, resubscribes, fetches from the
 * history what each topic missed (reporting what it cannot fetch as a `gap`, and a Redis that lost
 * its data as a new `epoch`) and reports `up`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Redis } from "npm:ioredis@6.1.0";
import { ConnectionClosedError, ConnectionError } from "../core/errors.ts";
import type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  HistoryOptions,
  TopicData,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./backplane.ts";
import {
  decodeEntry,
  decodePayload,
  newEpoch,
  PUBLISH_SCRIPT,
  type RawEntry,
  READ_SCRIPT,
  safeUrl,
  type TopicKeys,
  topicKeys,
  type WireMessage,
} from "./_redis_protocol.ts";

/** How the Redis backplane reconnects after losing its connection. */
export interface RedisReconnectOptions {
  /**
   * The delay before the first attempt, in milliseconds; it doubles after each failed attempt.
   *
   * @default {100}
   */
  initialDelay?: number;
  /**
   * The longest delay between two attempts, in milliseconds. Attempts go on until `close()`.
   *
   * @default {5000}
   */
  maxDelay?: number;
}

/** Options of {@linkcode redisBackplane}. */
export interface RedisBackplaneOptions {
  /**
   * The Redis server: `redis://[user:password@]host[:port][/db]` (or `rediss:` for TLS). The
   * password is sent to Redis only; it never appears in errors or events.
   *
   * @default {"redis://127.0.0.1:6379"}
   */
  url?: string;
  /**
   * The namespace of every key and channel the backplane uses (`<prefix>:{<topic>}:…`): give
   * each application sharing a Redis its own.
   *
   * @default {"wirestream"}
   */
  prefix?: string;
  /** How much of each topic's history Redis keeps, for recovery and reconnection. */
  history?: HistoryOptions;
  /**
   * This process's name among the publishers: messages whose origin is this node are delivered
   * with their `ref`. Must be unique per backplane instance; no line breaks.
   *
   * @default {a random UUID}
   */
  nodeId?: string;
  /**
   * How long connecting may take, in milliseconds.
   *
   * @default {5000}
   */
  connectTimeout?: number;
  /** The reconnection backoff. */
  reconnect?: RedisReconnectOptions;
}

/** The per-topic state of a subscription. */
interface TopicState {
  readonly topic: string;
  readonly keys: TopicKeys;
  /** The epoch of the last delivered message ("" until the head is known). */
  epoch: string;
  /** The offset of the last delivered message (or the head at subscription). */
  last: number;
  /** False while subscribing or catching up: channel messages wait in `pending`. */
  ready: boolean;
  pending: Uint8Array[];
  /** The subscription in progress, for concurrent `subscribe` calls. */
  subscribing?: Promise<TopicPosition>;
}

/** The read script's reply with Buffer strings. */
type ReadReply = [Uint8Array, number, number, RawEntry[]];

/** The two scripts, as ioredis defines them on the command connection. */
interface ScriptCommands {
  wirestreamPublish(...args: (string | number | Uint8Array)[]): Promise<[number, string]>;
  wirestreamReadBuffer(...args: (string | number)[]): Promise<ReadReply>;
}

type Client = Redis;

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative finite number, got ${value}`);
  }
  return value;
};

const checkTopic = (topic: unknown): void => {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  }
};

/**
 * Closes a client and resolves once its socket is gone.
 *
 * `disconnect()` arms a timer that only the socket's next `close` event clears: it must not be
 * called on a socket that already closed (Redis went away), or the timer outlives the backplane.
 */
async function shutdown(client: Client): Promise<void> {
  if (client.status === "end") return;
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  const socket = (client as unknown as { stream?: { destroyed?: boolean } }).stream;
  const open = () => socket !== undefined && !socket.destroyed;
  if (client.status === "wait") {
    client.disconnect();
  } else if (client.status === "ready" && open()) {
    try {
      await client.quit();
    } catch {
      if (open()) client.disconnect();
    }
  } else if (open()) {
    client.disconnect();
  }
  await ended;
}

class RedisBackplane implements Backplane {
  readonly name = "redis";
  readonly #url: string;
  readonly #safeUrl: string;
  readonly #prefix: string;
  readonly #size: number;
  readonly #ttl: number;
  readonly #nodeId: string;
  readonly #connectTimeout: number;
  readonly #initialDelay: number;
  readonly #maxDelay: number;

  #host: BackplaneHost | undefined;
  #state: "new" | "up" | "down" | "closed" = "new";
  #cmd: (Client & ScriptCommands) | undefined;
  #sub: Client | undefined;
  /** Bumped for each connection pair; a stale pair's events are ignored. */
  #generation = 0;
  /** Set when the pair being connected broke before the attempt finished. */
  #broken: unknown = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempts = 0;
  #reconnecting: Promise<void> | undefined;
  readonly #closing = new Set<Promise<void>>();
  readonly #topics = new Map<string, TopicState>();
  readonly #byChannel = new Map<string, TopicState>();

  constructor(options: RedisBackplaneOptions) {
    const url = options.url ?? "redis://127.0.0.1:6379";
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError("url must be a redis:// or rediss:// URL");
    }
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      throw new TypeError(`url must be a redis:// or rediss:// URL, got ${parsed.protocol}`);
    }
    this.#url = url;
    this.#safeUrl = safeUrl(parsed);
    const prefix = options.prefix ?? "wirestream";
    if (typeof prefix !== "string" || prefix === "") {
      throw new TypeError("prefix must be a non-empty string");
    }
    this.#prefix = prefix;
    const size = nonNegative("history.size", options.history?.size, 0);
    if (!Number.isInteger(size)) throw new RangeError(`history.size must be an integer`);
    this.#size = size;
    this.#ttl = Math.ceil(nonNegative("history.ttl", options.history?.ttl, 0));
    const nodeId = options.nodeId ?? crypto.randomUUID();
    if (typeof nodeId !== "string" || nodeId === "" || /[\r\n]/.test(nodeId)) {
      throw new TypeError("nodeId must be a non-empty string without line breaks");
    }
    this.#nodeId = nodeId;
    this.#connectTimeout = nonNegative("connectTimeout", options.connectTimeout, 5000);
    this.#initialDelay = nonNegative(
      "reconnect.initialDelay",
      options.reconnect?.initialDelay,
      100,
    );
    this.#maxDelay = nonNegative("reconnect.maxDelay", options.reconnect?.maxDelay, 5000);
  }

  async start(host: BackplaneHost): Promise<void> {
    if (this.#state !== "new") throw new TypeError("the backplane was already started");
    this.#host = host;
    try {
      await this.#connect();
    } catch (error) {
      await this.#teardown();
      this.#state = "closed";
      throw new ConnectionError(
        "CONNECTION_REFUSED",
        `redis backplane: cannot connect to ${this.#safeUrl}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    this.#state = "up";
  }

  async publish(topic: string, data: TopicData, ref: number): Promise<TopicPosition> {
    checkTopic(topic);
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError("data must be a string or a Uint8Array");
    }
    if (typeof ref !== "number" || !Number.isFinite(ref)) {
      throw new TypeError(`ref must be a finite number, got ${ref}`);
    }
    const cmd = this.#ready("publish");
    const keys = topicKeys(this.#prefix, topic);
    // ioredis sends a Buffer as is, but any other Uint8Array as its String(): "1,2,3".
    const bytes = typeof data === "string"
      ? Buffer.from(data, "utf8")
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const [offset, epoch] = await cmd.wirestreamPublish(
        keys.counter,
        keys.epoch,
        keys.history,
        newEpoch(),
        keys.channel,
        this.#nodeId,
        String(ref),
        typeof data === "string" ? "t" : "b",
        bytes,
        this.#size,
        this.#ttl,
      );
      return { offset: Number(offset), epoch: String(epoch) };
    } catch (error) {
      throw this.#fault("publish", error);
    }
  }

  async subscribe(topic: string): Promise<TopicPosition> {
    checkTopic(topic);
    if (this.#state === "closed") this.#ready("subscribe");
    const existing = this.#topics.get(topic);
    if (existing) {
      return existing.subscribing ??
        Promise.resolve({ offset: existing.last, epoch: existing.epoch });
    }
    this.#ready("subscribe");
    const keys = topicKeys(this.#prefix, topic);
    const state: TopicState = { topic, keys, epoch: "", last: 0, ready: false, pending: [] };
    this.#topics.set(topic, state);
    this.#byChannel.set(keys.channel, state);
    state.subscribing = this.#subscribe(state).finally(() => state.subscribing = undefined);
    return await state.subscribing;
  }

  async #subscribe(state: TopicState): Promise<TopicPosition> {
    try {
      await this.#sub!.subscribe(state.keys.channel);
      const [epoch, head] = await this.#read(this.#cmd!, state.keys, 0, 0);
      if (this.#topics.get(state.topic) !== state) {
        throw new ConnectionClosedError("ABORTED", "redis backplane: unsubscribed meanwhile");
      }
      // A reconnection may have caught this topic up meanwhile.
      if (!state.ready) {
        state.epoch = epoch;
        state.last = head;
        this.#flush(state);
      }
      return { offset: state.last, epoch: state.epoch };
    } catch (error) {
      if (this.#topics.get(state.topic) === state) this.#forget(state);
      if (error instanceof ConnectionClosedError) throw error;
      throw this.#fault("subscribe", error);
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    checkTopic(topic);
    const state = this.#topics.get(topic);
    if (!state) return;
    this.#forget(state);
    if (this.#state !== "up") return; // the next connection will not subscribe to it
    try {
      await this.#sub!.unsubscribe(state.keys.channel);
    } catch (error) {
      if (this.#state === "up") throw this.#fault("unsubscribe", error);
    }
  }

  async recover(topic: string, since: TopicPosition, limit: number): Promise<TopicRecovery> {
    checkTopic(topic);
    if (
      typeof since?.epoch !== "string" || !Number.isSafeInteger(since.offset) || since.offset < 0
    ) {
      throw new TypeError("since must be { offset: non-negative integer, epoch: string }");
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    }
    const cmd = this.#ready("recover");
    const keys = topicKeys(this.#prefix, topic);
    const count = this.#size === 0 ? 0 : Math.min(limit, this.#size) + 1;
    let reply: [string, number, number, WireMessage[]];
    try {
      reply = await this.#read(cmd, keys, since.offset + 1, count);
    } catch (error) {
      throw this.#fault("recover", error);
    }
    const [epoch, offset, , entries] = reply;
    const head = { offset, epoch };
    if (this.#size === 0) return { ok: false, reason: "no-history", head };
    if (since.epoch !== epoch) return { ok: false, reason: "epoch-changed", head };
    if (since.offset > offset) return { ok: false, reason: "offset-ahead", head };
    if (since.offset === offset) return { ok: true, messages: [], head };
    if (offset - since.offset > limit || entries[0]?.offset !== since.offset + 1) {
      return { ok: false, reason: "offset-too-old", head };
    }
    const messages = entries.map((m) => this.#message(topic, m));
    return { ok: true, messages, head };
  }

  async close(): Promise<void> {
    if (this.#state === "closed") {
      await Promise.all(this.#closing);
      return;
    }
    this.#state = "closed";
    this.#topics.clear();
    this.#byChannel.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#teardown();
    await this.#reconnecting;
    await Promise.all(this.#closing);
  }

  // ---- connections ----

  /** The command connection when up; otherwise a {@linkcode ConnectionError}. */
  #ready(what: string): Client & ScriptCommands {
    if (this.#state === "closed") {
      throw new ConnectionClosedError("SESSION_CLOSED", `redis backplane: ${what} after close()`);
    }
    if (this.#state !== "up" || !this.#cmd) {
      throw new ConnectionError(
        "CONNECTION_FAILED",
        `redis backplane: cannot ${what}: not connected to ${this.#safeUrl}`,
      );
    }
    return this.#cmd;
  }

  /** Wraps a client error: a connection fault becomes a {@linkcode ConnectionError}. */
  #fault(what: string, error: unknown): unknown {
    if (this.#state === "closed") {
      return new ConnectionClosedError("SESSION_CLOSED", `redis backplane: closed during ${what}`, {
        cause: error,
      });
    }
    if (error instanceof Error && error.name === "ReplyError" && this.#state === "up") return error;
    return new ConnectionError(
      "CONNECTION_RESET",
      `redis backplane: ${what} failed, connection to ${this.#safeUrl} lost: ${messageOf(error)}`,
      { cause: error },
    );
  }

  /** Opens a new command + subscriber pair; rejects if either fails. */
  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#broken = undefined;
    const make = (role: string): Client => {
      const client = new Redis(this.#url, {
        lazyConnect: true,
        retryStrategy: () => null,
        enableOfflineQueue: false,
        autoResubscribe: false,
        maxRetriesPerRequest: 0,
        connectTimeout: this.#connectTimeout,
        connectionName: `${this.#prefix}:${role}:${this.#nodeId}`,
      });
      let lastError: unknown = new Error("connection closed");
      client.on("error", (error: unknown) => lastError = error);
      client.on("end", () => this.#lost(generation, lastError));
      return client;
    };
    const cmd = make("cmd") as Client & ScriptCommands;
    cmd.defineCommand("wirestreamPublish", { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
    cmd.defineCommand("wirestreamRead", { numberOfKeys: 3, lua: READ_SCRIPT });
    const sub = make("sub");
    sub.on("messageBuffer", (channel: Uint8Array, payload: Uint8Array) => {
      if (generation === this.#generation) this.#onMessage(channel, payload);
    });
    this.#cmd = cmd;
    this.#sub = sub;
    await Promise.all([cmd.connect(), sub.connect()]);
  }

  /** Closes the current pair (whatever its state) and remembers the promise for close(). */
  #teardown(): Promise<void> {
    const clients = [this.#cmd, this.#sub].filter((c): c is Client => c !== undefined);
    this.#cmd = undefined;
    this.#sub = undefined;
    const done = Promise.all(clients.map(shutdown)).then(() => {});
    this.#closing.add(done);
    done.finally(() => this.#closing.delete(done));
    return done;
  }

  /** A connection of `generation` ended. */
  #lost(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#state === "closed") return;
    if (this.#state !== "up") {
      this.#broken ??= error;
      return;
    }
    this.#state = "down";
    for (const state of this.#topics.values()) {
      state.ready = false;
      state.pending = [];
    }
    this.#emit({ type: "down", error: this.#fault("connection", error) });
    void this.#teardown();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#state === "closed") return;
    const base = Math.min(this.#maxDelay, this.#initialDelay * 2 ** Math.min(this.#attempts, 30));
    const delay = base * (0.8 + 0.2 * Math.random());
    this.#attempts++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#reconnecting = this.#reconnect().finally(() => this.#reconnecting = undefined);
    }, delay);
  }

  async #reconnect(): Promise<void> {
    try {
      await this.#connect();
      const states = [...this.#topics.values()];
      for (const state of states) {
        state.ready = false;
        state.pending = [];
      }
      if (states.length > 0 && this.#state !== "closed") {
        await this.#sub!.subscribe(...states.map((s) => s.keys.channel));
      }
      for (const state of states) {
        if (this.#state === "closed") return;
        if (this.#topics.get(state.topic) !== state) continue;
        await this.#catchUp(state);
      }
      if (this.#broken !== undefined) throw this.#broken;
      if (this.#state === "closed") return;
      this.#state = "up";
      this.#attempts = 0;
      this.#emit({ type: "up" });
    } catch {
      if (this.#state === "closed") return;
      await this.#teardown();
      this.#schedule();
    }
  }

  /** After a reconnection: delivers what `state` missed from the history, reports the rest. */
  async #catchUp(state: TopicState): Promise<void> {
    const [epoch, head, now, entries] = await this.#read(
      this.#cmd!,
      state.keys,
      state.last + 1,
      this.#size,
    );
    if (this.#topics.get(state.topic) !== state || this.#state === "closed") return;
    if (state.epoch === "") {
      // Its subscribe() had not read the head yet; it will fail, nothing was promised.
      state.epoch = epoch;
      state.last = head;
    } else {
      if (epoch !== state.epoch) {
        state.epoch = epoch;
        state.last = 0;
        this.#emit({ type: "epoch", topic: state.topic, epoch, offset: 0 });
      }
      if (head > state.last) {
        const fresh = entries.filter((m) =>
          m.offset > state.last && (this.#ttl === 0 || (m.time ?? 0) >= now - this.#ttl)
        );
        const first = fresh[0]?.offset ?? head + 1;
        if (first > state.last + 1) {
          this.#emit({ type: "gap", topic: state.topic, from: state.last + 1, to: first - 1 });
          state.last = first - 1;
        }
        for (const m of fresh) this.#accept(state, m);
      }
    }
    this.#flush(state);
  }

  /** Runs the read script: `[epoch, head, redis time, entries from `from`]`. */
  async #read(
    cmd: Client & ScriptCommands,
    keys: TopicKeys,
    from: number,
    count: number,
  ): Promise<[string, number, number, WireMessage[]]> {
    const [epochBytes, head, now, raw] = await cmd.wirestreamReadBuffer(
      keys.counter,
      keys.epoch,
      keys.history,
      newEpoch(),
      from,
      count,
    );
    const epoch = new TextDecoder().decode(epochBytes);
    return [epoch, Number(head), Number(now), raw.map((e) => decodeEntry(e, epoch))];
  }

  // ---- deliveries ----

  #onMessage(channelBytes: Uint8Array, payload: Uint8Array): void {
    const state = this.#byChannel.get(new TextDecoder().decode(channelBytes));
    if (!state) return;
    if (!state.ready) {
      state.pending.push(payload);
      return;
    }
    const message = decodePayload(payload);
    if (message) this.#accept(state, message);
  }

  /** Marks `state` ready and delivers the channel messages that arrived meanwhile. */
  #flush(state: TopicState): void {
    state.ready = true;
    const pending = state.pending;
    state.pending = [];
    for (const payload of pending) {
      const message = decodePayload(payload);
      if (message) this.#accept(state, message);
    }
  }

  /** Delivers `m` if it is the next message of `state` (reporting a new epoch or a gap first). */
  #accept(state: TopicState, m: WireMessage): void {
    if (m.epoch !== state.epoch) {
      state.epoch = m.epoch;
      state.last = 0;
      this.#emit({ type: "epoch", topic: state.topic, epoch: m.epoch, offset: 0 });
    }
    if (m.offset <= state.last) return;
    if (m.offset > state.last + 1) {
      this.#emit({ type: "gap", topic: state.topic, from: state.last + 1, to: m.offset - 1 });
    }
    state.last = m.offset;
    this.#host?.deliver(this.#message(state.topic, m));
  }

  #message(topic: string, m: WireMessage): TopicMessage {
    const base = { topic, offset: m.offset, epoch: m.epoch, data: m.data };
    return m.origin === this.#nodeId ? { ...base, ref: m.ref } : base;
  }

  #forget(state: TopicState): void {
    this.#topics.delete(state.topic);
    this.#byChannel.delete(state.keys.channel);
  }

  #emit(event: BackplaneEvent): void {
    this.#host?.event(event);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A {@linkcode Backplane} over Redis: topics shared by every process that uses the same Redis
 * server and `prefix`, with per-topic offsets, epochs and a bounded history for recovery.
 *
 * Nothing is connected until the server calls `start()`; `start()` rejects with a
 * `ConnectionError` (`CONNECTION_REFUSED`) when Redis cannot be reached. After that, a lost
 * connection is reported as a `down` event and retried until `close()`.
 *
 * @example Topics across processes
 * ```ts ignore
 * import { redisBackplane } from "@wirestream/ws/redis";
 *
 * const backplane = redisBackplane({
 *   url: "redis://127.0.0.1:6379/0",
 *   prefix: "chat",
 *   history: { size: 1000, ttl: 10 * 60_000 },
 * });
 * await backplane.start({
 *   deliver: (m) => console.log(m.topic, m.offset, m.data),
 *   event: (e) => console.log("backplane", e.type),
 * });
 * await backplane.subscribe("room:1");
 * await backplane.publish("room:1", "hello", 1);
 * await backplane.close();
 * ```
 *
 * @param options The server URL, key prefix, history and reconnection settings.
 * @returns A backplane to hand to the server (or to drive directly).
 * @throws {TypeError} For a URL that is not `redis:`/`rediss:`, an empty prefix or a bad node id.
 * @throws {RangeError} For a negative history size or ttl, or a bad delay.
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): Backplane {
  return new RedisBackplane(options);
}
