/**
 * The managed session (Ktor's `DefaultWebSocketSession`): complete messages in, pongs and the
 * close handshake handled, an optional pinger, bounded queues, extensions, serialization.
 *
 * @module
 */

import { CloseReason, truncateUtf8 } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";
import { disposeExtensions, extensionRsv, runOutgoingExtensions } from "../core/extension_chain.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import { Frame } from "../core/frame.ts";
import { Protocol, type SessionState } from "../core/protocol.ts";
import { readFrame } from "../transport/read_loop.ts";
import { Link } from "./_link.ts";
import { IncomingStream } from "./_incoming_stream.ts";
import { Keepalive } from "./_keepalive.ts";
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
import { blobBytes, NOT_SENDABLE, viewBytes } from "./session_types.ts";
import { incomingStrategy } from "./_queues.ts";
import { OutgoingQueue, rejected } from "./_outgoing.ts";
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

const NOOP = (): void => {};
const NORMAL = new CloseReason(1000, "");
/** How the session ends when the connection breaks without a close handshake. */
const BROKEN = new CloseReason(1006, "Connection was closed without close frame");

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The extensions of a session that negotiated none (shared). */
const NO_EXTENSIONS: readonly WebSocketExtension[] = Object.freeze([]);

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
  /** Complete text and binary messages from the peer. */
  readonly incoming: ReadableStream<Frame>;
  /** The HTTP upgrade exchange. */
  readonly call: UpgradeCall;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** The negotiated extensions, in the order of the server's response. */
  readonly extensions: readonly WebSocketExtension[];
  /** The converter, if one is configured. */
  readonly converter: WebSocketContentConverter | undefined;

  readonly #link: Link;
  /** The protocol rules: state, pongs owed, close handshake, reassembly, extensions. */
  readonly #protocol: Protocol;
  readonly #closeTimeout: number;
  readonly #outBudget: number;
  readonly #inHighWaterMark: number;
  /** Whether the session's end was handled (closeReason, incoming, signal, timers). */
  #finished = false;
  // Made on first use (an idle session holds neither): see `closeReason` and `signal`.
  #closeReasonDeferred: PromiseWithResolvers<CloseReason> | null = null;
  #abort: AbortController | null = null;
  #abortReason: unknown = undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | null = null;
  /** The peer's close frame, when received before ours; its answer may be deferred. */
  #peerClose: {
    timer: ReturnType<typeof setTimeout> | undefined;
    soon: ReturnType<typeof setTimeout> | undefined;
    answered?: boolean;
  } | null = null;
  /** Whether the current socket read delivered a message to `incoming`. */
  #deliveredThisRead = false;

  // Incoming.
  #inController!: ReadableStreamDefaultController<Frame>;
  #cancelled = false;
  #pendingError: unknown = null;
  #demand: (() => void) | null = null;
  readonly #loopDone: Promise<void>;

  // Outgoing.
  /** `outgoing`, made on first use. */
  #outgoing: WritableStream<Frame> | null = null;
  #outController: WritableStreamDefaultController | null = null;
  #outTail: Promise<void> | null = null;
  /** The bounded queue between `send()` and the writer (made at the first send). */
  #out: OutgoingQueue | null = null;

  // Pinger and pings.
  #pingInterval: number;
  #timeout: number | undefined;
  /** The pinger and waiting pings: made when the pinger starts or at the first `ping()`. */
  #keepalive: Keepalive | null = null;

  #receiving: Promise<unknown> | null = null;
  // Methods as callbacks, made on first use.
  #disposed = false;
  /** Takes the next owed pong once the socket took the last one (made at the first ping). */
  #onPongWrittenCb: (() => void) | null = null;

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
    this.#closeTimeout = init.closeTimeout;
    this.#outBudget = o.outgoingQueue?.bytes ?? SESSION_DEFAULTS.outgoingBytes;
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
    const strategy = incomingStrategy(
      o.incomingQueue?.messages ?? SESSION_DEFAULTS.incomingMessages,
      o.incomingQueue?.bytes ?? SESSION_DEFAULTS.incomingBytes,
    );
    this.#inHighWaterMark = strategy.highWaterMark!;
    // Leaving a `for await` loop early does not cancel the session's incoming messages.
    this.incoming = new IncomingStream<Frame>({
      start: (controller) => {
        this.#inController = controller;
      },
      pull: (controller) => this.#onPull(controller),
      cancel: () => {
        this.#cancelled = true;
        this.#wake();
      },
    }, strategy);
    this.#loopDone = this.#readLoop();
    if (this.#pingInterval > 0) this.#pinger().restart();
  }

  /** Frames to the peer (made on first use). */
  get outgoing(): WritableStream<Frame> {
    if (this.#outgoing === null) {
      this.#outgoing = new WritableStream<Frame>({
        start: (controller) => {
          this.#outController = controller;
          if (this.#finished) controller.error(this.#abortReason);
        },
        write: (frame) => this.#writeOutgoing(frame),
        close: () => this.flush(),
        abort: (reason) => this.close(new CloseReason(1011, truncateUtf8(errorText(reason), 123))),
      });
    }
    return this.#outgoing;
  }

  /**
   * Why the session ended; resolves exactly once (see the table above), never rejects, but for one
   * case: read inside the session's own handler after it left its `incoming` loop early while the
   * session is open, it may reject with `CLOSE_REASON_DEADLOCK` after `closeTimeout` (see
   * `DefaultWebSocketSession.closeReason`).
   */
  get closeReason(): Promise<CloseReason> {
    if (this.#closeReasonDeferred === null) {
      this.#closeReasonDeferred = Promise.withResolvers<CloseReason>();
      // Once finished, the protocol holds the reason (set before the session finishes).
      if (this.#finished) this.#closeReasonDeferred.resolve(this.#protocol.closeReason!);
    }
    return this.#closeReasonDeferred.promise;
  }

  /** Aborted when the session ends, with the failure error or a `SESSION_CLOSED` error. */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#finished) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
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
    if (this.#keepalive !== null) this.#keepalive.interval = value;
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
    if (this.#keepalive !== null) this.#keepalive.timeout = value;
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
    if (this.#finished || this.#protocol.closeSent) return rejected(this.#sendError());
    let frame: Frame;
    if (typeof data === "string") {
      // No extensions: the string goes to the queue as it is (encoded at the writer).
      if (this.extensions.length === 0 && this.#outTail === null) {
        const queued = this.#queue.send(data);
        return this.#out!.parked ? this.#explainParked(queued) : queued;
      }
      frame = Frame.text(data);
    } else if (data instanceof Uint8Array) frame = Frame.binary(data);
    else if (data instanceof Frame) frame = data;
    else if (data instanceof Blob) {
      // Read first, queued now: later sends wait behind it.
      return this.#chain(blobBytes(data).then((bytes) => Frame.binary(bytes)), null, 0, options);
    } else {
      const bytes = viewBytes(data);
      if (bytes === null) return Promise.reject(new TypeError(NOT_SENDABLE));
      frame = Frame.binary(bytes);
    }
    const type = frame.type;
    if (type === "close") {
      return this.#startClose(frame);
    }
    if (type === "text" || type === "binary") {
      if (this.extensions.length > 0) return this.#sendThroughExtensions(frame, options);
      // Behind a Blob still being read.
      if (this.#outTail !== null) return this.#chain(frame, null, 0, options);
    }
    return this.#enqueue(frame);
  }

  /**
   * Resolves when everything sent so far has been taken by the socket. After a clean close it
   * resolves; after a failure it rejects with the failure.
   *
   * @returns A promise for the queued frames.
   */
  async flush(): Promise<void> {
    try {
      if (this.#outTail !== null) await this.#outTail;
      while (this.#out?.parked) await this.#out.idle();
      await this.#link.writer.flush();
    } catch (err) {
      if (this.#finished && this.#protocol.error === null) return;
      throw this.#withCloseReason(this.#protocol.error ?? err);
    }
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
    if (this.#closing !== null) return this.#closing;
    if (reason !== undefined && !(reason instanceof CloseReason)) {
      return Promise.reject(new TypeError("close() takes a CloseReason"));
    }
    const chosen = reason ?? NORMAL;
    let frame: Frame;
    try {
      frame = Frame.close(chosen);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#peerClose !== null) this.#answerPeerClose();
    else if (!this.#finished && !this.#protocol.closeSent) this.#startClose(frame).catch(NOOP);
    this.#closing = this.#link.released;
    return this.#closing;
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
    if (!this.#finished) {
      const err = reason instanceof WebSocketError
        ? reason
        : new WebSocketError("ABORTED", "The session was aborted", { cause: reason });
      this.#protocol.abort(err);
      this.#finish();
    }
    this.#link.release(this.#protocol.error ?? undefined);
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
    if (this.#finished || this.#protocol.closeSent) return rejected(this.#sendError());
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
    return deserializeFrame(converter, await this.#receive(), validate);
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
    return this.#receive();
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
    return deserializeAll(this.converter, () => this.#receive(), validate);
  }

  // ------------------------------------------------------------------------------------------
  // Incoming

  #wake(): void {
    const demand = this.#demand;
    if (demand !== null) {
      this.#demand = null;
      demand();
    }
  }

  #onPull(controller: ReadableStreamDefaultController<Frame>): void {
    const pending = this.#peerClose;
    if (
      pending !== null && !pending.answered && pending.soon === undefined &&
      controller.desiredSize === this.#inHighWaterMark
    ) {
      // The application took the last message queued before the peer's close frame; it is
      // answering it in this turn (its send is queued in a microtask): close after that.
      pending.soon = setTimeout(() => this.#answerPeerClose(), 0);
    }
    if (this.#pendingError !== null && controller.desiredSize === this.#inHighWaterMark) {
      // The queue has drained: now raise the failure.
      const err = this.#pendingError;
      this.#pendingError = null;
      try {
        controller.error(err);
      } catch {
        // Already ended.
      }
      return;
    }
    this.#wake();
  }

  /**
   * Reads the socket while the incoming queue has room (always once the consumer cancelled or
   * a close frame was sent), and handles every frame one read delivers.
   */
  async #readLoop(): Promise<void> {
    const link = this.#link;
    const reader = link.reader;
    const protocol = this.#protocol;
    try {
      while (!this.#finished && !protocol.closeReceived) {
        if (
          !this.#cancelled && !protocol.closeSent && !reader.eof &&
          (this.#inController.desiredSize ?? 0) <= 0
        ) {
          // The queue is full: decoding stops, so TCP backpressure reaches the peer. One more
          // read stays posted while nothing waits undecoded, so that a peer that vanished is
          // noticed (its end of stream or reset ends the session with 1006) even while the
          // application does not read; what that read brings waits in the decoder (one read
          // buffer at most), and a peer that goes on sending is held back by TCP.
          if (protocol.decoder.buffered === 0) {
            reader.commit(await link.conn.read(reader.window()));
          } else {
            await new Promise<void>((resolve) => {
              this.#demand = resolve;
            });
          }
          continue;
        }
        this.#deliveredThisRead = false;
        // The protocol decodes, reassembles, runs the extensions and notes pings and the close.
        let frame = protocol.next() ?? await readFrame(reader, protocol);
        if (frame === null) {
          this.#onEof();
          return;
        }
        // Every frame the read delivered, handled as it is decoded (no array per read): the
        // frames before bad bytes are handled before the protocol throws.
        do {
          const type = frame.type;
          if (type === "text" || type === "binary") this.#deliver(frame);
          else if (type === "ping") this.#writePong();
          else if (type === "pong") {
            const keepalive = this.#keepalive;
            if (keepalive !== null && keepalive.waiting) keepalive.onPong(frame.data);
          } else if (type === "close") {
            this.#writePong();
            this.#onPeerClose();
            break;
          }
          if (this.#finished) break;
          frame = protocol.next();
        } while (frame !== null);
      }
    } catch (err) {
      if (err instanceof ProtocolError && this.#deliveredThisRead && !this.#cancelled) {
        // Messages that came just before the violation are in the application's hands: one
        // macrotask lets it answer them before the connection is failed (Autobahn 3.2, 4.1.3,
        // 5.15 expect the echo of the message sent before the bad frame).
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      this.#onReadError(err);
    }
  }

  /**
   * Writes the pong owed, ahead of queued data (RFC 6455 §5.5.2: "as soon as practical"). The
   * protocol bounds the pongs waiting for the socket (see `Protocol.takePong`): a peer that
   * floods pings and does not read holds a few KiB of pongs here, not one per ping.
   */
  #writePong(): void {
    const pong = this.#protocol.takePong();
    if (pong === null) return;
    this.#onPongWrittenCb ??= () => {
      this.#protocol.pongWritten();
      this.#writePong();
    };
    this.#link.writer.writeUrgent(pong).then(this.#onPongWrittenCb, NOOP);
  }

  /** Hands a complete message to `incoming` (dropped when cancelled, or closing with no room). */
  #deliver(frame: Frame): void {
    if (this.#cancelled || this.#finished) return;
    const controller = this.#inController;
    if (this.#protocol.closeSent && (controller.desiredSize ?? 0) <= 0) return;
    controller.enqueue(frame);
    this.#deliveredThisRead = true;
  }

  /** The peer's close frame was read (the protocol noted it). */
  #onPeerClose(): void {
    if (this.#protocol.ended) {
      // Our close was answered: the handshake is complete.
      this.#finish();
      this.#releaseClean();
      return;
    }
    this.#keepalive?.stop();
    const queued = (this.#inController.desiredSize ?? 0) < this.#inHighWaterMark;
    if (!this.#cancelled && (queued || this.#deliveredThisRead)) {
      // Messages that came with the close frame are queued, or in the application's hands: let
      // it read (and answer) them before our close frame goes out, which RFC 6455 §5.5.1 allows
      // ("MAY delay sending a Close frame until its current message is sent"). Autobahn 7.1.1
      // sends a message and a close back to back and expects the echo. The answer goes out one
      // macrotask after the queue has drained (see #onPull), so that a send the application
      // makes on receipt is queued first, or after closeTimeout at the latest.
      this.#peerClose = {
        timer: setTimeout(() => this.#answerPeerClose(), this.#closeTimeout),
        soon: queued ? undefined : setTimeout(() => this.#answerPeerClose(), 0),
      };
      return;
    }
    this.#peerClose = { timer: undefined, soon: undefined };
    this.#answerPeerClose();
  }

  /** Answers the peer's close frame (deferred by #onPeerClose while messages were queued). */
  #answerPeerClose(): void {
    const pending = this.#peerClose;
    if (pending === null || pending.answered) return;
    pending.answered = true;
    clearTimeout(pending.timer);
    clearTimeout(pending.soon);
    if (this.#finished) return;
    // The echo of the peer's status code and message (RFC 6455 §5.5.1); an empty close is
    // echoed empty. The session then ends with the peer's reason.
    const frame = this.#protocol.answerClose();
    if (frame === null) return;
    this.#out?.rejectAll(
      this.#withCloseReason(
        new ConnectionClosedError("SESSION_CLOSED", "The peer closed the session"),
      ),
    );
    // After the frames already sent (some may still be in the extensions' chain).
    const sent = this.#outTail !== null
      ? this.#chain(frame, null, this.extensions.length, undefined)
      : this.#link.writer.write(frame);
    sent.catch(NOOP);
    this.#finish();
    this.#releaseClean();
  }

  #onEof(): void {
    if (this.#finished) return;
    const err = this.#protocol.receiveEof();
    this.#finish();
    this.#link.release(err ?? undefined);
  }

  #onReadError(err: unknown): void {
    if (this.#finished) return;
    const protocol = this.#protocol;
    if (protocol.closeSent) {
      // Our close frame is out: whatever broke the read, the session ends with our reason.
      protocol.abort(err);
      this.#finish();
      this.#link.release();
      return;
    }
    if (err instanceof ProtocolError) {
      this.#fail(err);
      return;
    }
    const wrapped = err instanceof WebSocketError
      ? err
      : new ConnectionError("CONNECTION_RESET", "The connection broke while reading", {
        cause: err,
      });
    protocol.abort(wrapped, BROKEN);
    this.#finish();
    this.#link.release(wrapped);
  }

  #receive(): Promise<Frame> {
    const next = (this.#receiving ?? Promise.resolve()).then(async () => {
      const reader = this.incoming.getReader();
      try {
        const { done, value } = await reader.read();
        if (done) {
          throw new ConnectionClosedError(
            "SESSION_CLOSED",
            "Cannot receive: the session is closed",
            { closeReason: this.#protocol.closeReason },
          );
        }
        return value;
      } finally {
        reader.releaseLock();
      }
    });
    this.#receiving = next.catch(NOOP);
    return next;
  }

  // ------------------------------------------------------------------------------------------
  // Outgoing

  #sendError(): unknown {
    const protocol = this.#protocol;
    return this.#withCloseReason(
      protocol.error ??
        new ConnectionClosedError(
          "SESSION_CLOSED",
          protocol.closeSent
            ? "Cannot send: a close frame was already sent"
            : "Cannot send: the session is closed",
          { closeReason: protocol.closeReason },
        ),
    );
  }

  /** The last error {@linkcode #withCloseReason} made, and the one it was made from. */
  #explained: { from: unknown; to: unknown } | null = null;

  /**
   * A connection error from a send, made to say why the session closed once that is known: the
   * close reason goes into the message (`Failed to write to the socket: the peer closed the
   * session with 1009 "Message is too big"`) and is the `cause`. Protocol errors, which say it
   * themselves, errors of a 1006 end (no close frame: nothing to add) and other errors pass
   * through unchanged.
   */
  #withCloseReason(err: unknown): unknown {
    const reason = this.#protocol.closeReason ?? this.#protocol.receivedReason;
    // 1006 is no news: the connection broke, as the error already says.
    if (reason === null || reason.code === 1006 || err instanceof ProtocolError) return err;
    if (!(err instanceof ConnectionError || err instanceof ConnectionClosedError)) return err;
    if (err.cause === reason) return err;
    if (this.#explained?.from === err) return this.#explained.to;
    const who = this.#protocol.receivedReason === reason
      ? "the peer closed the session"
      : "the session closed";
    const why = `${reason.code}${reason.message ? ` ${JSON.stringify(reason.message)}` : ""}`;
    const message = `${err.message}: ${who} with ${why}`;
    const to = err instanceof ConnectionError
      ? new ConnectionError(err.code, message, { cause: reason })
      : new ConnectionClosedError(err.code, message, { cause: reason, closeReason: reason });
    this.#explained = { from: err, to };
    return to;
  }

  #writeOutgoing(frame: Frame): Promise<void> | undefined {
    if (!(frame instanceof Frame)) throw new TypeError("outgoing accepts Frame objects only");
    const p = this.send(frame);
    // Within the outgoing bound the stream moves on at once; beyond it, the write waits.
    if (this.#finished || this.#protocol.closeSent || this.#out?.parked) return p;
    if (this.#outTail !== null) return p;
    return undefined;
  }

  /** Runs a data frame through the extensions in order, keeping async results in order. */
  #sendThroughExtensions(frame: Frame, hints: OutgoingHints | undefined): Promise<void> {
    if (this.#outTail === null) {
      let out: Frame | Promise<Frame>;
      try {
        out = runOutgoingExtensions(this.extensions, frame, hints);
      } catch (err) {
        return this.#outgoingExtensionFailed(err);
      }
      return out instanceof Promise ? this.#chain(frame, out, 0, hints) : this.#enqueue(out);
    }
    return this.#chain(frame, null, 0, hints);
  }

  /**
   * Queues a frame behind the frames whose extension processing is still pending: `started`
   * is the pending result of the extensions (when processing went async at once), or `null` to
   * run them (`from` 0) or skip them (`from` = their count, for a close frame) once the
   * earlier frames are queued.
   */
  #chain(
    frame: Frame | Promise<Frame>,
    started: Promise<Frame> | null,
    from: number,
    hints: OutgoingHints | undefined,
  ): Promise<void> {
    const previous = this.#outTail;
    const exts = this.extensions;
    // A `Blob` that could not be read fails its send only, not the session.
    let unreadable: { error: unknown } | null = null;
    const processed = (async () => {
      if (previous !== null) await previous;
      if (started !== null) return await started;
      let input: Frame;
      try {
        input = await frame;
      } catch (error) {
        unreadable = { error };
        return null;
      }
      return from < exts.length ? await runOutgoingExtensions(exts, input, hints) : input;
    })();
    let result: Promise<void> = Promise.resolve();
    const tail: Promise<void> = processed.then(
      (out) => {
        result = out === null ? Promise.reject(unreadable?.error) : this.#enqueue(out);
      },
      (err) => {
        result = this.#outgoingExtensionFailed(err);
      },
    );
    this.#outTail = tail;
    tail.then(() => {
      if (this.#outTail === tail) this.#outTail = null;
    });
    const done = tail.then(() => result);
    done.catch(NOOP);
    return done;
  }

  #outgoingExtensionFailed(err: unknown): Promise<void> {
    const wrapped = err instanceof WebSocketError ? err : new ProtocolError(
      "EXTENSION_ERROR",
      1011,
      `Extension failed on an outgoing message: ${errorText(err)}`,
      { cause: err },
    );
    this.#fail(wrapped, new CloseReason(1011, truncateUtf8(wrapped.message, 123)));
    return rejected(wrapped);
  }

  /** Hands a processed frame to the writer, in order, waiting while over the outgoing bound. */
  #enqueue(frame: Frame): Promise<void> {
    if (this.#finished) return rejected(this.#sendError());
    const queued = this.#queue.send(frame);
    return this.#out!.parked ? this.#explainParked(queued) : queued;
  }

  /** The promise of the parked sends {@linkcode #explainParked} saw last, and its own. */
  #parkedFrom: Promise<void> | null = null;
  #parkedTo: Promise<void> | null = null;

  /**
   * The promise of a parked send, whose failure (the writer's, when the socket breaks) says why
   * the session closed once that is known. Parked sends share a promise until the next drain:
   * so do their explained ones.
   */
  #explainParked(queued: Promise<void>): Promise<void> {
    if (this.#parkedFrom === queued) return this.#parkedTo!;
    const explained = queued.catch((err) => {
      throw this.#withCloseReason(err);
    });
    explained.catch(NOOP);
    this.#parkedFrom = queued;
    this.#parkedTo = explained;
    return explained;
  }

  /** The outgoing queue (made at the first send: an idle session holds none). */
  get #queue(): OutgoingQueue {
    if (this.#out === null) {
      this.#out = new OutgoingQueue(this.#link.writer, {
        write: (frame) => this.#write(frame),
        ended: () => this.#finished,
        sendError: () => this.#sendError(),
      }, this.#outBudget);
    }
    return this.#out;
  }

  /** Hands `frame` to the writer; returns `null` or the error that refused it. */
  #write(frame: Frame): unknown {
    const writer = this.#link.writer;
    // The writer calls it once per failed batch: it notices a broken socket. Set at the first
    // send, so that an idle session holds no closure.
    writer.onError ??= (err) => this.#onWriteError(err);
    const refused = writer.enqueue(frame);
    // Broken before this send (say, by a pong written before the first send): notice it now.
    if (writer.error !== null) this.#onWriteError(writer.error);
    return refused === null ? null : this.#withCloseReason(refused);
  }

  #onWriteError(err: unknown): void {
    // A refused frame (say, a fragment of the wrong type) leaves the writer working.
    if (this.#finished || this.#link.writer.error === null) return;
    const wrapped = err instanceof WebSocketError
      ? err
      : new ConnectionError("CONNECTION_RESET", "The connection broke while writing", {
        cause: err,
      });
    // After our close frame the session ends with our reason; otherwise with 1006.
    this.#protocol.abort(wrapped, BROKEN);
    this.#finish();
    this.#link.release(this.#protocol.error ?? undefined);
  }

  /** Sends our close frame (after everything already sent) and starts the close timer. */
  #startClose(frame: Frame): Promise<void> {
    try {
      this.#protocol.send(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#keepalive?.stop();
    const sent = this.#outTail !== null
      ? this.#chain(frame, null, this.extensions.length, undefined)
      : this.#enqueue(frame);
    sent.catch(NOOP);
    if (this.#protocol.ended) {
      // The application answered the peer's close frame itself: the handshake is complete.
      this.#finish();
      this.#releaseClean();
      return sent;
    }
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      // No answer in time: end with our reason and let go of the socket.
      this.#protocol.closeTimedOut();
      this.#finish();
      this.#link.release();
    }, this.#closeTimeout);
    // Keep reading: the peer's close frame must not wait behind unread messages.
    this.#wake();
    return sent;
  }

  // ------------------------------------------------------------------------------------------
  // Ending

  /**
   * Fails the session: sends a close frame with `reason` (unless one was sent), ends it with
   * `err`, and releases the socket once the frame is written (at most `closeTimeout` later).
   */
  #fail(err: unknown, reason?: CloseReason): void {
    if (this.#finished) return;
    let written: Promise<void> | null = null;
    const frame = this.#protocol.fail(err, reason);
    if (frame !== null) {
      this.#out?.rejectAll(err);
      written = this.#link.writer.write(frame);
    }
    this.#finish();
    const link = this.#link;
    if (written === null) {
      link.release(err);
      return;
    }
    const timer = setTimeout(() => link.release(err), this.#closeTimeout);
    written.catch(NOOP).finally(() => {
      clearTimeout(timer);
      link.release(err);
    });
  }

  /** After the close handshake: a server closes TCP, a client waits for the server to. */
  #releaseClean(): void {
    const link = this.#link;
    const timeout = this.#closeTimeout;
    // Link.finish flushes first; a peer that stopped reading must not hold us for ever.
    const timer = setTimeout(() => link.release(), timeout);
    link.finish(timeout).finally(() => clearTimeout(timer));
  }

  /** Ends the session once: closeReason, incoming, outgoing, signal, pings, extensions. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const reason = this.#protocol.closeReason!;
    const err = this.#protocol.error;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    if (this.#peerClose !== null) {
      clearTimeout(this.#peerClose.timer);
      clearTimeout(this.#peerClose.soon);
    }
    this.#keepalive?.end(
      err ??
        new ConnectionClosedError("SESSION_CLOSED", "The session closed before the pong", {
          closeReason: reason,
        }),
    );
    const closedError = new ConnectionClosedError(
      "SESSION_CLOSED",
      "The session is closed",
      { closeReason: reason },
    );
    this.#out?.rejectAll(this.#withCloseReason(err ?? closedError));
    const controller = this.#inController;
    try {
      if (err === null) {
        controller.close();
      } else if (this.#cancelled || controller.desiredSize === this.#inHighWaterMark) {
        controller.error(err);
      } else {
        // Messages are still queued: raise the error once they have been read.
        this.#pendingError = err;
      }
    } catch {
      // The stream already ended (cancelled).
    }
    this.#abortReason = err ?? closedError;
    try {
      this.#outController?.error(this.#abortReason);
    } catch {
      // Already errored.
    }
    this.#closeReasonDeferred?.resolve(reason);
    this.#abort?.abort(this.#abortReason);
    this.#wake();
    Promise.allSettled([this.#loopDone, this.#outTail, this.#link.released]).then(() =>
      this.#disposeExtensions()
    );
  }

  #disposeExtensions(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      disposeExtensions(this.extensions);
    } catch {
      // Every extension was disposed; one that failed to clean up has nothing left to tell.
    }
  }

  // ------------------------------------------------------------------------------------------
  // Pinger

  /** The keepalive, made when the pinger starts or the application first pings. */
  #pinger(): Keepalive {
    return this.#keepalive ??= new Keepalive(
      {
        canPing: () => this.#protocol.state === "open",
        sendUrgent: (frame) => this.#link.writer.writeUrgent(frame),
        pongTimedOut: (timeout) =>
          this.#fail(
            new TimeoutError("PING_TIMEOUT", `Ping timeout: no pong within ${timeout} ms`),
            new CloseReason(1011, "Ping timeout"),
          ),
      },
      this.#pingInterval,
      this.#timeout,
    );
  }
}
