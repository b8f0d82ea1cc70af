/**
 * The managed session of the `Deno.serve` adapter: the {@linkcode DefaultWebSocketServerSession}
 * interface on top of the `WebSocket` that `Deno.upgradeWebSocket` returns.
 *
 * @module
 */

import { nativePayload, type NativeSend } from "./_native_payload.ts";
import { blockCloseReason } from "../session/run_block.ts";
import { INCOMING_GUARD, type IncomingGuard } from "../session/_incoming_guard.ts";
import { CloseReason, isValidCloseCode } from "../core/close.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import type { Frame } from "../core/frame.ts";
import {
  checkValidator,
  deserializeAll,
  deserializeFrame,
  requireConverter,
  serializeValue,
  type WebSocketContentConverter,
} from "../session/converter.ts";
import type { SessionState, Validator } from "../session/managed_session.ts";
import type { Sendable, UpgradeCall, UpgradeRequest } from "../session/raw_session.ts";
import { NativeEnding } from "./_native_ending.ts";
import { unsupported } from "./_native_errors.ts";
import { NativeIncoming } from "./_native_incoming.ts";
import type { MessageSink } from "../session/_message_sink.ts";
import type { DefaultWebSocketServerSession } from "./managed_server_session.ts";
import { NativeTopicSink } from "./_topic_sinks.ts";
import type { TopicHub } from "../topics/topic_hub.ts";
import type { SubscribeOptions, SubscribeResult } from "../topics/topic_types.ts";
import { rejected } from "../session/_outgoing.ts";

/** Deno's own limit on a message (fastwebsockets' default); it cannot be changed. */
const NATIVE_MAX_FRAME = 64 * 1024 * 1024;

/** @internal What the adapter knows when it creates a session. */
export interface NativeSessionInit<D> {
  socket: WebSocket;
  call: UpgradeCall;
  protocol: string;
  remoteAddr: Deno.Addr | undefined;
  params: Record<string, string>;
  data: D;
  closeTimeout: number;
  /** Deno's `idleTimeout`, in milliseconds (0 = off). */
  idleTimeout: number;
  maxMessageSize: number;
  converter: WebSocketContentConverter | undefined;
  incomingMessages: number;
  incomingBytes: number;
  /** Where messages go instead of `incoming` (a route in event form). */
  sink?: MessageSink<never>;
  outgoingBytes: number;
  /** The server's topics. */
  topics: TopicHub;
}

/**
 * A managed session backed by Deno's `WebSocket` (`server.fetch` mode). It keeps the
 * {@linkcode DefaultWebSocketServerSession} contract where Deno lets it:
 *
 * - `incoming` carries complete messages; Deno answers pings and echoes the close frame itself.
 * - A close frame sent without a status code goes out with an empty payload, as on the listener,
 *   and `closeReason` reports 1005.
 * - Deno fails a connection on a protocol error (invalid UTF-8, a bad frame) by dropping it, with
 *   no close frame. The session still reports invalid UTF-8 as the other kinds do: 1007, and
 *   `incoming` fails with `ProtocolError` `INVALID_UTF8`. The end of the connection without a
 *   close frame is 1006, and `incoming` fails with `ConnectionClosedError` `CLOSED_ABNORMALLY`.
 * - There is no read backpressure: messages queue up to the incoming bounds; one more closes
 *   the session with 1008 "Incoming queue overflow" (`incoming` then fails with
 *   `QUEUE_OVERFLOW` after the queued messages). A message over `maxMessageSize` closes it
 *   with 1009 (checked once Deno has received it whole; Deno itself drops connections past
 *   64 MiB).
 * - `send` hands the message to Deno; it waits only while `bufferedAmount` is over the
 *   outgoing bound. Fragments, pings and pongs cannot be sent (they reject with a `TypeError`).
 * - `pingInterval`/`timeout` report Deno's `idleTimeout`; setting them, `maxFrameSize`, and
 *   `ping()` throw a `TypeError`.
 * - Deno ends the connection when a message comes in after its close frame, without waiting
 *   for the client's close (the frame itself goes out first).
 * - A client that ignores the close frame has its connection dropped at `closeTimeout`, and
 *   `abort()` drops it at once, through Deno's internal handle
 *   (`Deno[Deno.internal].core.tryClose`), as Deno's public API has no way to. Where that handle
 *   is missing, the session gives up on the socket at `closeTimeout` (`closed` resolves) and
 *   `abort()` asks Deno to close; the connection then stays, and stays counted in
 *   `maxConnections` (`released`), until the client or `Deno.serve` ends it.
 */
export class NativeWebSocketServerSession<D = unknown> implements DefaultWebSocketServerSession<D> {
  /** Complete text and binary messages from the client. */
  readonly incoming: ReadableStream<Frame>;
  /** Complete messages to the client. */
  readonly outgoing: WritableStream<Frame>;
  /** The upgrade exchange. */
  readonly call: UpgradeCall;
  /** The subprotocol, or `""`. */
  readonly protocol: string;
  /** Always empty: Deno negotiates no extension. */
  readonly extensions: readonly WebSocketExtension[] = [];
  /** The converter, if one is configured. */
  readonly converter: WebSocketContentConverter | undefined;
  /** The upgrade request. */
  readonly request: UpgradeRequest;
  /** The route parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** The data an upgrade hook attached. */
  readonly data: D;
  /** The client's address. */
  readonly remoteAddr: Deno.Addr | undefined;

  readonly #socket: WebSocket;
  readonly #idleTimeout: number;
  readonly #outgoingBytes: number;
  /** The state, the close handshake and the end; Deno's socket events. */
  readonly #ending: NativeEnding;
  /** `incoming`, the message size limit and `receive()`. */
  readonly #incoming: NativeIncoming;
  readonly #hub: TopicHub;
  /** What the hub sees of this session (made at the first subscribe). */
  #sink: NativeTopicSink | null = null;

  /**
   * Wraps the socket of `Deno.upgradeWebSocket` (before it opens).
   *
   * @param init The socket and what the adapter knows.
   */
  constructor(init: NativeSessionInit<D>) {
    const socket = init.socket;
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    this.call = init.call;
    this.request = init.call.request;
    this.protocol = init.protocol;
    this.remoteAddr = init.remoteAddr;
    this.params = init.params;
    this.data = init.data;
    this.converter = init.converter;
    this.#idleTimeout = init.idleTimeout;
    this.#outgoingBytes = init.outgoingBytes;
    this.#hub = init.topics;
    const ending = this.#ending = new NativeEnding(socket, init.closeTimeout);
    ending.incoming = this.#incoming = new NativeIncoming(ending, init);
    this.incoming = this.#incoming.stream;
    this.outgoing = new WritableStream<Frame>({
      write: (frame) => this.send(frame),
      close: () => this.flush(),
      abort: () => this.close(new CloseReason(1011, "")),
    });
    ending.listen();
  }

  /**
   * Subscribes this session to a topic (see `ManagedWebSocketServerSession.subscribe`).
   *
   * @param topic The topic.
   * @param options Envelopes, and the position to recover from.
   * @returns The topic's head, and what was recovered.
   */
  subscribe(topic: string, options?: SubscribeOptions): Promise<SubscribeResult> {
    if (this.#sink === null) {
      const sink = this.#sink = new NativeTopicSink(this, this.#socket, this.#outgoingBytes);
      this.closed.then(() => {
        sink.stop();
        this.#hub.leave(sink);
      });
    }
    return this.#hub.subscribe(this.#sink, topic, options);
  }

  /**
   * Unsubscribes this session from a topic (no-op when not subscribed).
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void {
    if (this.#sink !== null) this.#hub.unsubscribe(this.#sink, topic);
  }

  /** The topics this session is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.#hub.topicsOf(this.#sink);
  }

  /** @internal Resolves `true` once the socket is open, `false` if it closed first. */
  get opened(): Promise<boolean> {
    return this.#ending.opened;
  }

  /**
   * Why the session ended; resolves once, never rejects, but for one
   * case: read inside the session's own handler after it left its `incoming` loop early while the
   * session is open, it may reject with `CLOSE_REASON_DEADLOCK` after `closeTimeout` (see
   * `DefaultWebSocketSession.closeReason`).
   */
  get closeReason(): Promise<CloseReason> {
    return blockCloseReason(this.#ending.closeReason, this.#incoming, this);
  }

  /** @ignore */
  get [INCOMING_GUARD](): IncomingGuard {
    return this.#incoming;
  }

  /** Aborted when the session ends. */
  get signal(): AbortSignal {
    return this.#ending.signal;
  }

  /** Open, closing or closed. */
  get state(): SessionState {
    return this.#ending.state;
  }

  /**
   * Resolves once the connection is closed: by the client, or dropped `closeTimeout` after our
   * close frame (or at `abort()`). Where Deno offers no way to drop it, resolves then all the
   * same: the session gives up on the socket.
   */
  get closed(): Promise<void> {
    return this.#ending.closed;
  }

  /**
   * @internal Resolves once Deno's socket is gone (its `close` event), which may be later than
   * `closed`: the adapter holds the connection's place in `maxConnections` until then.
   */
  get released(): Promise<void> {
    return this.#ending.released;
  }

  /** Bytes Deno has not sent yet. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** Deno's `idleTimeout` in milliseconds (the ping period); 0 = off. Cannot be set. */
  get pingInterval(): number {
    return this.#idleTimeout;
  }
  set pingInterval(_value: number) {
    throw unsupported("Changing pingInterval");
  }

  /** Deno's `idleTimeout` in milliseconds. Cannot be set. */
  get timeout(): number {
    return this.#idleTimeout;
  }
  set timeout(_value: number) {
    throw unsupported("Changing timeout");
  }

  /** Deno's fixed limit, 64 MiB. Cannot be set. */
  get maxFrameSize(): number {
    return NATIVE_MAX_FRAME;
  }
  set maxFrameSize(_value: number) {
    throw unsupported("Changing maxFrameSize");
  }

  /** The largest message; a larger one closes the session with 1009 once received. */
  get maxMessageSize(): number {
    return this.#incoming.maxMessageSize;
  }
  set maxMessageSize(value: number) {
    if (typeof value !== "number" || !(value > 0)) {
      throw new RangeError(`maxMessageSize must be a positive number of bytes, got ${value}`);
    }
    this.#incoming.maxMessageSize = value;
  }

  /**
   * Sends a complete message: a string, bytes, or a final text/binary frame. A close frame starts
   * the close handshake like `close()`, with its payload as it is (an empty one stays empty and
   * `closeReason` reports 1005). Resolves once Deno has it, after waiting while `bufferedAmount`
   * is over the outgoing bound.
   *
   * @param data What to send.
   * @param _options Ignored: no extension runs here.
   * @returns A promise for the hand-over.
   */
  send(data: Sendable, _options?: OutgoingHints): Promise<void> {
    if (!this.#ending.isOpen) return rejected(this.#ending.sendError());
    let send: NativeSend;
    try {
      send = nativePayload(data);
    } catch (err) {
      return Promise.reject(err);
    }
    if ("close" in send) {
      this.#ending.startClose(send.close);
      return Promise.resolve();
    }
    const payload = send.payload;
    try {
      this.#socket.send(payload);
    } catch (cause) {
      return rejected(
        new ConnectionClosedError("SESSION_CLOSED", "Cannot send: the WebSocket is closed", {
          cause,
        }),
      );
    }
    if (this.#socket.bufferedAmount > this.#outgoingBytes) {
      return this.#ending.drain(this.#outgoingBytes);
    }
    return Promise.resolve();
  }

  /**
   * Resolves once Deno has sent everything (`bufferedAmount` is 0) or the session ended.
   *
   * @returns A promise that rejects only when the session failed.
   */
  async flush(): Promise<void> {
    await this.#ending.drain(0);
    if (this.#ending.endError !== null) throw this.#ending.endError;
  }

  /**
   * Closes the session: Deno sends the close frame after the messages already handed over and
   * waits for the client's. Resolves once the socket is closed, or `closeTimeout` later.
   *
   * @param reason The close code and message.
   * @returns Resolves once the session ended.
   */
  close(reason?: CloseReason): Promise<void> {
    if (reason !== undefined && !(reason instanceof CloseReason)) {
      return Promise.reject(new TypeError("close() takes a CloseReason"));
    }
    const chosen = reason ?? new CloseReason(1000, "");
    if (!isValidCloseCode(chosen.code)) {
      return Promise.reject(
        new RangeError(`Close code ${chosen.code} cannot be sent in a close frame`),
      );
    }
    this.#ending.startClose(chosen);
    return this.#ending.closed;
  }

  /** @internal Same as `close`. */
  closeAndRelease(reason?: CloseReason): Promise<void> {
    return this.close(reason);
  }

  /**
   * Ends the session at once (1006) and drops the connection. Where Deno offers no way to drop
   * it, Deno is asked to close the socket instead.
   *
   * @param reason Why; `incoming` fails with it.
   */
  abort(reason?: unknown): void {
    this.#ending.abort(reason);
  }

  /** Closes the session when an `await using` block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Not supported: Deno's `WebSocket` cannot send pings.
   *
   * @returns A promise that rejects with a `TypeError`.
   */
  ping(): Promise<number> {
    return Promise.reject(unsupported("ping()"));
  }

  /**
   * Serializes `value` with the converter and sends it.
   *
   * @param value The value.
   * @returns Resolves once Deno has the message.
   */
  async sendSerialized(value: unknown): Promise<void> {
    return this.send(await serializeValue(requireConverter(this.converter), value));
  }

  /**
   * Reads the next message and deserializes it with the converter, then runs `validate`.
   *
   * @param validate A type guard or an assertion function.
   * @returns The value.
   */
  async receiveDeserialized<T = unknown>(validate?: Validator<T>): Promise<T> {
    const converter = requireConverter(this.converter);
    checkValidator(validate);
    return deserializeFrame(converter, await this.receive(), validate);
  }

  /**
   * The next message; `incoming` stays usable afterwards.
   *
   * @returns The message.
   */
  receive(): Promise<Frame> {
    return this.#incoming.receive();
  }

  /**
   * The deserialized values of the messages that follow; ends when the session ends cleanly.
   *
   * @param validate A type guard or an assertion function, run on every value.
   * @returns An async iterator of values.
   */
  deserialized<T = unknown>(validate?: Validator<T>): AsyncGenerator<T, void, undefined> {
    return deserializeAll(this.converter, () => this.receive(), validate);
  }
}
