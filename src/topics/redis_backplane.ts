/**
 * The Redis backplane: topics across processes and hosts through one Redis server (6.2 or later:
 * the scripts trim with `XTRIM MINID`; the tests run 7.0). Design, client choice and measurements:
 * docs/topics-redis.md.
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
import { ConnectionClosedError, ConnectionError } from "../core/errors.ts";
import type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  PublishedData,
  RecoveryRequest,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./backplane.ts";
import {
  type Client,
  type CommandClient,
  createClient,
  createCommandClient,
  lastErrorOf,
  loadClient,
  type ReadResult,
  readTopic,
  shutdown,
} from "./_redis_client.ts";
import { type TopicSink, TopicState } from "./_redis_topic.ts";
import {
  checkTopic,
  type RedisBackplaneOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./_redis_options.ts";
import { randomEpoch } from "./_history.ts";
import { topicKeys, type WireMessage } from "./_redis_protocol.ts";

export type { RedisBackplaneOptions, RedisReconnectOptions } from "./_redis_options.ts";

const decoder = new TextDecoder();

class RedisBackplane implements Backplane {
  readonly name = "redis";
  readonly #o: ResolvedOptions;

  #host: BackplaneHost | undefined;
  #state: "new" | "up" | "down" | "closed" = "new";
  #cmd: CommandClient | undefined;
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
    this.#o = resolveOptions(options);
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
        `redis backplane: cannot connect to ${this.#o.safeUrl}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    this.#state = "up";
  }

  async publish(topic: string, message: PublishedData): Promise<TopicPosition> {
    checkTopic(topic);
    const { data, ref } = message ?? {};
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError("data must be a string or a Uint8Array");
    }
    if (typeof ref !== "number" || !Number.isFinite(ref)) {
      throw new TypeError(`ref must be a finite number, got ${ref}`);
    }
    const cmd = this.#ready("publish");
    const keys = topicKeys(this.#o.prefix, topic, this.#o.db);
    // ioredis sends a Buffer as is, but any other Uint8Array as its String(): "1,2,3".
    const bytes = typeof data === "string"
      ? Buffer.from(data, "utf8")
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const [offset, epoch] = await cmd.wirestreamPublish(
        keys.counter,
        keys.epoch,
        keys.history,
        randomEpoch(),
        keys.channel,
        this.#o.nodeId,
        String(ref),
        typeof data === "string" ? "t" : "b",
        bytes,
        this.#o.size,
        this.#o.ttl,
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
    const keys = topicKeys(this.#o.prefix, topic, this.#o.db);
    const state = new TopicState(topic, keys);
    this.#topics.set(topic, state);
    this.#byChannel.set(keys.channel, state);
    state.subscribing = this.#subscribe(state).finally(() => state.subscribing = undefined);
    return await state.subscribing;
  }

  async #subscribe(state: TopicState): Promise<TopicPosition> {
    try {
      await this.#sub!.subscribe(state.keys.channel);
      const { epoch, head } = await readTopic(this.#cmd!, state.keys, 0, 0);
      if (this.#topics.get(state.topic) !== state) {
        throw new ConnectionClosedError("ABORTED", "redis backplane: unsubscribed meanwhile");
      }
      // A reconnection may have caught this topic up meanwhile.
      if (!state.ready) {
        state.epoch = epoch;
        state.last = head;
        state.flush(this.#sink);
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

  async recover(topic: string, request: RecoveryRequest): Promise<TopicRecovery> {
    checkTopic(topic);
    const { since, limit } = request ?? {};
    if (
      typeof since?.epoch !== "string" || !Number.isSafeInteger(since.offset) || since.offset < 0
    ) {
      throw new TypeError("since must be { offset: non-negative integer, epoch: string }");
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    }
    const cmd = this.#ready("recover");
    const keys = topicKeys(this.#o.prefix, topic, this.#o.db);
    const count = this.#o.size === 0 ? 0 : Math.min(limit, this.#o.size) + 1;
    let reply: ReadResult;
    try {
      reply = await readTopic(cmd, keys, since.offset + 1, count);
    } catch (error) {
      throw this.#fault("recover", error);
    }
    const { epoch, head: offset } = reply;
    const entries = this.#live(reply);
    const head = { offset, epoch };
    // The checks in the in-process backplane's order, so that both answer alike.
    if (since.epoch !== epoch) return { ok: false, reason: "epoch-changed", head };
    if (since.offset > offset) return { ok: false, reason: "offset-ahead", head };
    if (since.offset === offset) return { ok: true, messages: [], head };
    if (this.#o.size === 0) return { ok: false, reason: "no-history", head };
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
  #ready(what: string): CommandClient {
    if (this.#state === "closed") {
      throw new ConnectionClosedError("SESSION_CLOSED", `redis backplane: ${what} after close()`);
    }
    if (this.#state !== "up" || !this.#cmd) {
      throw new ConnectionError(
        "CONNECTION_FAILED",
        `redis backplane: cannot ${what}: not connected to ${this.#o.safeUrl}`,
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
      `redis backplane: ${what} failed, connection to ${this.#o.safeUrl} lost: ${messageOf(error)}`,
      { cause: error },
    );
  }

  /** Opens a new command + subscriber pair; rejects if either fails. */
  async #connect(): Promise<void> {
    const Redis = await loadClient();
    if (this.#state === "closed") {
      throw new ConnectionClosedError("SESSION_CLOSED", "redis backplane: closed");
    }
    const generation = ++this.#generation;
    this.#broken = undefined;
    const options = (role: string) => ({
      url: this.#o.url,
      connectTimeout: this.#o.connectTimeout,
      name: `${this.#o.prefix}:${role}:${this.#o.nodeId}`,
      onEnd: (error: unknown) => this.#lost(generation, error),
    });
    const cmd = createCommandClient(Redis, options("cmd"));
    const sub = createClient(Redis, options("sub"));
    sub.on("messageBuffer", (channel, payload) => {
      if (generation === this.#generation) this.#onMessage(channel, payload);
    });
    this.#cmd = cmd;
    this.#sub = sub;
    try {
      await Promise.all([cmd.connect(), sub.connect()]);
    } catch (error) {
      throw lastErrorOf(cmd) ?? lastErrorOf(sub) ?? error;
    }
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
      state.hold();
    }
    this.#emit({
      type: "down",
      error: new ConnectionError(
        "CONNECTION_RESET",
        `redis backplane: lost the connection to ${this.#o.safeUrl}: ${messageOf(error)}`,
        { cause: error },
      ),
    });
    void this.#teardown();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#state === "closed") return;
    const base = Math.min(
      this.#o.maxDelay,
      this.#o.initialDelay * 2 ** Math.min(this.#attempts, 30),
    );
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
        state.hold();
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
    const reply = await readTopic(this.#cmd!, state.keys, state.last + 1, this.#o.size);
    if (this.#topics.get(state.topic) !== state || this.#state === "closed") return;
    state.catchUp(reply, this.#live(reply), this.#sink);
  }

  /** The entries of a read younger than the history's ttl (older ones may linger until trimmed). */
  #live(reply: ReadResult): WireMessage[] {
    if (this.#o.ttl === 0) return reply.entries;
    return reply.entries.filter((m) => (m.time ?? 0) >= reply.now - this.#o.ttl);
  }

  // ---- deliveries ----

  #onMessage(channelBytes: Uint8Array, payload: Uint8Array): void {
    this.#byChannel.get(decoder.decode(channelBytes))?.receive(payload, this.#sink);
  }

  readonly #sink: TopicSink = {
    deliver: (topic, m) => {
      try {
        this.#host?.deliver(this.#message(topic, m));
      } catch (error) {
        reportError(error); // the host's fault: it must not break the backplane's sequencing
      }
    },
    event: (event) => this.#emit(event),
  };

  #message(topic: string, m: WireMessage): TopicMessage {
    const base = { topic, offset: m.offset, epoch: m.epoch, data: m.data };
    return m.origin === this.#o.nodeId ? { ...base, ref: m.ref } : base;
  }

  #forget(state: TopicState): void {
    this.#topics.delete(state.topic);
    this.#byChannel.delete(state.keys.channel);
  }

  #emit(event: BackplaneEvent): void {
    try {
      this.#host?.event(event);
    } catch (error) {
      reportError(error);
    }
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
 * await backplane.publish("room:1", { data: "hello", ref: 1 });
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
