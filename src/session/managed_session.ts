/**
 * The managed session (Ktor's `DefaultWebSocketSession`): complete messages in, pongs and the
 * close handshake handled, an optional pinger, bounded queues, extensions, serialization.
 *
 * @module
 */

import { blockCloseReason } from "./run_block.ts";
import type { CloseReason } from "../core/close.ts";
import { extensionRsv } from "../core/extension_chain.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import { Frame } from "../core/frame.ts";
import { Protocol, type SessionState } from "../core/protocol.ts";
import { INCOMING_GUARD, type IncomingGuard } from "./_incoming_guard.ts";
import { Link } from "./_link.ts";
import type { Keepalive } from "./_keepalive.ts";
import { ManagedEnding } from "./_managed_ending.ts";
import type { ManagedReader } from "./_managed_reader.ts";
import type { ManagedSender } from "./_managed_sender.ts";
import {
  checkValidator,
  deserializeAll,
  deserializeFrame,
  requireConverter,
  serializeValue,
  type Validator,
  type WebSocketContentConverter,
} from "./converter.ts";
import { checkMs, checkSessionOptions, checkSize, SESSION_DEFAULTS } from "./options.ts";
import type { Sendable, UpgradeCall } from "./raw_session.ts";
import { incomingStrategy } from "./_queues.ts";
import { rejected } from "./_outgoing.ts";
import type {
  DefaultWebSocketSession,
  ManagedSessionInit,
  ManagedSessionOptions,
  PingOptions,
} from "./managed_types.ts";

export type {
  DefaultWebSocketSession,
  IncomingQueueOptions,
  ManagedSessionInit,
  ManagedSessionOptions,
  OutgoingQueueOptions,
  PingOptions,
  SessionState,
  Validator,
} from "./managed_types.ts";

/** The extensions of a session that negotiated none (shared). */
const NO_EXTENSIONS: readonly WebSocketExtension[] = Object.freeze([]);

/**
 * The send path of a managed session, for the server's topics, which queue frames encoded once
 * for many sessions (internal: not exported by the entry modules).
 */
export let senderOf: (session: ManagedWebSocketSession) => ManagedSender;

/**
 * The managed session over an upgraded socket, for both roles: clients mask, servers do not;
 * either side may run the pinger. Built directly on the frame reader and writer (one buffer
 * layer, no intermediate streams).
 *
 * The constructor is public so that a server can wrap an accepted socket (or subclass to add
 * request data); clients get sessions from `webSocket`/`webSocketSession`.
 *
 * @example Run a session over a socket upgraded by hand (needs a server)
 * ```ts ignore
 * import { ManagedWebSocketSession } from "./managed_session.ts";
 *
 * declare const conn: Deno.Conn; // after a successful HTTP upgrade
 * declare const call: import("./raw_session.ts").UpgradeCall;
 * const session = new ManagedWebSocketSession(
 *   { conn, call, role: "server", protocol: "", maxFrameSize: 1 << 20, masking: false, closeTimeout: 5000 },
 *   { pingInterval: 30_000, timeout: 15_000 },
 * );
 * for await (const message of session.incoming) await session.send(message);
 * ```
 */
export class ManagedWebSocketSession implements DefaultWebSocketSession {
  /** The HTTP upgrade exchange. */
  readonly call: UpgradeCall;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** The negotiated extensions, in the order of the server's response. */
  readonly extensions: readonly WebSocketExtension[];
  /** The converter, if one is configured. */
  readonly converter: WebSocketContentConverter | undefined;

  static {
    senderOf = (session) => session.#sender;
  }

  readonly #link: Link;
  /** The protocol rules: state, pongs owed, close handshake, reassembly, extensions. */
  readonly #protocol: Protocol;
  /** The close handshake and the end; the host of the reader and the sender. */
  readonly #ending: ManagedEnding;
  /** The incoming stream and the read loop. */
  readonly #reader: ManagedReader;
  /** The send path: extensions, the bounded queue, `outgoing`. */
  readonly #sender: ManagedSender;
  #pingInterval: number;
  #timeout: number | undefined;

  /**
   * Wraps an upgraded socket. Use `webSocket`/`webSocketSession` (client) or a server route
   * rather than calling this directly.
   *
   * @param init The socket, role, upgrade exchange, limits and negotiated extensions.
   * @param options Pinger, message size limit, converter and queue bounds.
   * @throws {RangeError} When an option is out of range.
   * @throws {TypeError} When the converter is not a converter.
   */
  constructor(init: ManagedSessionInit, options?: ManagedSessionOptions) {
    const o = options ?? {};
    checkSessionOptions(o);
    this.call = init.call;
    this.protocol = init.protocol;
    const extensions = init.extensions;
    this.extensions = extensions === undefined || extensions.length === 0
      ? NO_EXTENSIONS
      : Object.freeze([...extensions]);
    this.converter = o.converter;
    this.#pingInterval = o.pingInterval ?? 0;
    this.#timeout = o.timeout;
    const rsv = init.allowedRsv ?? extensionRsv(this.extensions);
    this.#protocol = new Protocol({
      role: init.role,
      maxFrameSize: init.maxFrameSize,
      maxMessageSize: o.maxMessageSize ?? SESSION_DEFAULTS.maxMessageSize,
      allowedRsv: rsv,
      compressedRsv: rsv,
      assemble: true,
      autoPong: true,
      extensions: this.extensions,
    });
    this.#link = new Link(init.conn, this.#protocol, {
      leftover: init.leftover,
      masking: init.masking,
    });
    const ending = this.#ending = new ManagedEnding(this.#protocol, this.#link, {
      closeTimeout: init.closeTimeout,
      extensions: this.extensions,
      incoming: incomingStrategy(
        o.incomingQueue?.messages ?? SESSION_DEFAULTS.incomingMessages,
        o.incomingQueue?.bytes ?? SESSION_DEFAULTS.incomingBytes,
      ),
      outgoingBytes: o.outgoingQueue?.bytes ?? SESSION_DEFAULTS.outgoingBytes,
      sink: init.sink,
    });
    this.#reader = ending.reader;
    this.#sender = ending.sender;
    this.#reader.start();
    if (this.#pingInterval > 0) this.#pinger().restart();
  }

  /** Complete text and binary messages from the peer (made on first use). */
  get incoming(): ReadableStream<Frame> {
    return this.#reader.incoming.stream;
  }

  /** @ignore */
  get [INCOMING_GUARD](): IncomingGuard {
    return this.#reader.incoming;
  }

  /** Frames to the peer (made on first use). */
  get outgoing(): WritableStream<Frame> {
    return this.#sender.outgoing(this);
  }

  /**
   * Why the session ended; resolves exactly once (see the table above), never rejects, but for one
   * case: read inside the session's own handler after it left its `incoming` loop early while the
   * session is open, it may reject with `CLOSE_REASON_DEADLOCK` after `closeTimeout` (see
   * `DefaultWebSocketSession.closeReason`).
   */
  get closeReason(): Promise<CloseReason> {
    return blockCloseReason(this.#ending.closeReason, this.#reader.incoming, this);
  }

  /** Aborted when the session ends, with the failure error or a `SESSION_CLOSED` error. */
  get signal(): AbortSignal {
    return this.#ending.signal;
  }

  /** `"open"`, `"closing"` (a close frame was sent or received) or `"closed"`. */
  get state(): SessionState {
    return this.#protocol.state;
  }

  /** Resolves once the socket is released. */
  get closed(): Promise<void> {
    return this.#link.released;
  }

  /** Bytes queued for the socket and not yet taken by it. */
  get bufferedAmount(): number {
    return this.#link.writer.bufferedAmount;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.Addr | undefined {
    return this.#link.conn.remoteAddr;
  }

  /** Whether outgoing frames are masked (clients: true, servers: false). */
  get masking(): boolean {
    return this.#link.writer.encoder.mask;
  }
  set masking(value: boolean) {
    this.#link.writer.encoder.mask = value;
  }

  /** The largest incoming frame payload; a larger one fails the session with 1009. */
  get maxFrameSize(): number {
    return this.#protocol.decoder.maxFrameSize;
  }
  set maxFrameSize(value: number) {
    checkSize("maxFrameSize", value);
    this.#protocol.decoder.maxFrameSize = value;
  }

  /** The largest incoming message; a larger one fails the session with 1009. */
  get maxMessageSize(): number {
    return this.#protocol.decoder.maxMessageSize;
  }
  set maxMessageSize(value: number) {
    checkSize("maxMessageSize", value);
    this.#protocol.decoder.maxMessageSize = value;
  }

  /** Milliseconds between pings; 0 = off. Setting it restarts the pinger. */
  get pingInterval(): number {
    return this.#pingInterval;
  }
  set pingInterval(value: number) {
    checkMs("pingInterval", value);
    this.#pingInterval = value;
    const keepalive = this.#ending.keepalive;
    if (keepalive !== null) keepalive.interval = value;
    else if (value > 0) this.#pinger().restart();
  }

  /**
   * Milliseconds to wait for the pong matching a ping (2 × `pingInterval` unless set; 0 waits
   * for ever). Setting it restarts the pinger.
   */
  get timeout(): number {
    return this.#timeout ?? 2 * this.#pingInterval;
  }
  set timeout(value: number) {
    checkMs("timeout", value);
    this.#timeout = value;
    const keepalive = this.#ending.keepalive;
    if (keepalive !== null) keepalive.timeout = value;
  }

  /**
   * Sends a message: a string as one text frame, bytes as one binary frame, a frame as it is
   * (fragments, ping, pong; a close frame starts the close handshake like `close()`). Data
   * frames pass through the extensions. Resolves once the frame is accepted into the outgoing
   * queue: at once while fewer than `outgoingQueue.bytes` wait for the socket, else when the
   * queue has drained. `flush()` waits for the socket itself.
   *
   * A send that fails and is not awaited does not raise an unhandled rejection: the failure
   * also shows in `closeReason` and `incoming`. Do not modify a `Uint8Array` (or a frame's
   * data) after sending it until `flush()` resolved: a server writes payloads of 65 KiB or
   * more without a copy.
   *
   * @example
   * ```ts ignore
   * await session.send("hello");
   * await session.send(new Uint8Array([1, 2, 3]));
   * await session.send("sent uncompressed", { compress: false });
   * ```
   *
   * @param data What to send.
   * @param options Per-message hints for extensions.
   * @returns Resolves once the frame is accepted into the outgoing queue.
   * @throws {ConnectionClosedError} (rejects) `SESSION_CLOSED` once a close frame was sent.
   * @throws {TypeError} (rejects) When `data` is not a string, bytes (`Uint8Array`,
   *   `ArrayBuffer`, another typed array, `DataView`, `Blob`) or a `Frame`.
   */
  send(data: Sendable, options?: OutgoingHints): Promise<void> {
    return this.#sender.send(data, options);
  }

  /**
   * Resolves when everything sent so far has been taken by the socket. After a clean close it
   * resolves; after a failure it rejects with the failure.
   *
   * @returns A promise for the queued frames.
   */
  flush(): Promise<void> {
    return this.#sender.flush();
  }

  /**
   * Starts the close handshake: sends a close frame after the frames already sent, waits up to
   * `closeTimeout` for the peer's close frame (messages that arrive meanwhile are still
   * delivered to `incoming` while its queue has room, and dropped otherwise), then releases the
   * socket. `closeReason` resolves with `reason`. Calling it again, or after the session ended,
   * waits for the same end.
   *
   * Connection failures are not reported here (read `closeReason`); it rejects only for a bad
   * argument.
   *
   * @example
   * ```ts ignore
   * await session.close(new CloseReason(CloseCode.GOING_AWAY, "bye"));
   * console.log(await session.closeReason); // CloseReason(reason=GOING_AWAY, message=bye)
   * ```
   *
   * @param reason The close code and message.
   * @returns Resolves once the socket is released.
   * @throws {TypeError} (rejects) When `reason` is not a `CloseReason`.
   * @throws {RangeError} (rejects) When its code cannot be sent (1005, 1006, 1015, …).
   */
  close(reason?: CloseReason): Promise<void> {
    return this.#ending.close(reason);
  }

  /** @internal The block form's exit (see `runBlock`). */
  closeAndRelease(reason?: CloseReason): Promise<void> {
    return this.close(reason);
  }

  /**
   * Closes the socket at once, without a close handshake. Unless a close was already started,
   * `closeReason` resolves with 1006 and `incoming` fails with the abort error.
   *
   * @param reason Why; a `WebSocketError` is used as it is, anything else becomes the cause of
   *   an `ABORTED` error.
   */
  abort(reason?: unknown): void {
    this.#ending.abort(reason);
  }

  /** Closes the session when an `await using` block ends (see {@linkcode close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Sends a ping and waits for the pong carrying the same payload. A ping that times out
   * rejects with `TimeoutError` `PING_TIMEOUT` and leaves the session open (unlike the pinger).
   *
   * @example
   * ```ts ignore
   * const rtt = await session.ping(undefined, { timeout: 2000 });
   * console.log(`round trip: ${rtt.toFixed(1)} ms`);
   * ```
   *
   * @param data At most 125 bytes; a unique 12-byte payload when absent.
   * @param options The pong timeout.
   * @returns The round-trip time in milliseconds.
   */
  ping(data?: Uint8Array, options?: PingOptions): Promise<number> {
    if (this.#ending.finished || this.#protocol.closeSent) {
      return rejected(this.#sender.sendError());
    }
    let frame: Frame;
    try {
      checkMs("timeout", options?.timeout);
      frame = Frame.ping(data === undefined ? this.#pinger().nextPayload() : data.slice());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#pinger().ping(frame, options?.timeout ?? this.timeout);
  }

  /**
   * Serializes `value` with the converter (a text frame for string formats, binary for byte
   * formats) and sends it.
   *
   * @example
   * ```ts ignore
   * await session.sendSerialized({ type: "join", room: "lobby" });
   * ```
   *
   * @param value The value.
   * @param options Per-message hints for extensions.
   * @returns Resolves once the frame is accepted into the outgoing queue.
   * @throws {SerializationError} (rejects) `CONVERTER_NOT_FOUND` without a converter,
   *   `SERIALIZATION_FAILED` when the converter fails.
   */
  async sendSerialized(value: unknown, options?: OutgoingHints): Promise<void> {
    const frame = await serializeValue(requireConverter(this.converter), value);
    return this.send(frame, options);
  }

  /**
   * Reads the next message from `incoming`, deserializes it with the converter, and runs
   * `validate`: a type guard (returning `false` rejects) or an assertion function (throwing
   * rejects). `T` is not checked at run time without a validator.
   *
   * @example
   * ```ts ignore
   * interface Chat { from: string; text: string }
   * const isChat = (v: unknown): v is Chat =>
   *   typeof v === "object" && v !== null && "from" in v && "text" in v;
   * const message = await session.receiveDeserialized(isChat);
   * console.log(message.from, message.text);
   * ```
   *
   * @param validate A type guard or an assertion function.
   * @returns The value.
   * @throws {SerializationError} (rejects) `CONVERTER_NOT_FOUND` without a converter;
   *   `DESERIALIZATION_FAILED` (with `frame`) when the converter does not apply to the message,
   *   fails, or the validator rejects the value.
   * @throws {ConnectionClosedError} (rejects) `SESSION_CLOSED` when the session ended cleanly
   *   and no message is left; the failure error when it failed.
   * @throws {TypeError} (rejects) When `incoming` is locked by a reader.
   */
  async receiveDeserialized<T = unknown>(validate?: Validator<T>): Promise<T> {
    const converter = requireConverter(this.converter);
    checkValidator(validate);
    return deserializeFrame(converter, await this.#reader.incoming.receive(), validate);
  }

  /**
   * The next message (Ktor's `incoming.receive()`). Unlike a reader taken from `incoming`, it
   * leaves `incoming` unlocked: `for await` over it, or `receive()` again, works afterwards.
   *
   * @example
   * ```ts ignore
   * await session.send("question");
   * const answer = readText(await session.receive());
   * ```
   *
   * @returns The message.
   * @throws {ConnectionClosedError} (rejects) `SESSION_CLOSED` when the session ended cleanly
   *   and no message is left; the failure error when it failed.
   */
  receive(): Promise<Frame> {
    return this.#reader.incoming.receive();
  }

  /**
   * The deserialized values of the messages that follow (see `receiveDeserialized`). The
   * iteration ends when the session ends cleanly, whatever the close code, and throws the
   * failure when it fails: unlike a loop over `receiveDeserialized()`, a normal close is no
   * error.
   *
   * @example
   * ```ts ignore
   * for await (const event of session.deserialized(isEvent)) console.log(event.type);
   * console.log("closed:", await session.closeReason);
   * ```
   *
   * @param validate A type guard or an assertion function, run on every value.
   * @returns An async iterator of values.
   * @throws {SerializationError} `CONVERTER_NOT_FOUND` without a converter, and as
   *   `receiveDeserialized` for a message that does not deserialize.
   */
  deserialized<T = unknown>(validate?: Validator<T>): AsyncGenerator<T, void, undefined> {
    return deserializeAll(this.converter, () => this.#reader.incoming.receive(), validate);
  }

  /** The keepalive, made when the pinger starts or the application first pings. */
  #pinger(): Keepalive {
    return this.#ending.pinger(this.#pingInterval, this.#timeout);
  }
}
