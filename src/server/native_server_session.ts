/**
 * The managed session of the `Deno.serve` adapter: the {@linkcode DefaultWebSocketServerSession}
 * interface on top of the `WebSocket` that `Deno.upgradeWebSocket` returns.
 *
 * @module
 */

import { CloseReason, isValidCloseCode, truncateUtf8 } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  WebSocketError,
} from "../core/errors.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import { Frame, readReason, readText } from "../core/frame.ts";
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
import { NOT_SENDABLE } from "../session/session_types.ts";
import type { DefaultWebSocketServerSession } from "./managed_server_session.ts";
import { dropNativeSocket } from "./native_drop.ts";

/** Deno's own limit on a message (fastwebsockets' default); it cannot be changed. */
const NATIVE_MAX_FRAME = 64 * 1024 * 1024;
/** How often `flush()` and an over-bound `send()` look at `bufferedAmount` again. */
const DRAIN_POLL = 10;

const NOOP = (): void => {};

/** What the session reports after sending a close frame without a status code (RFC 6455 §7.1.5). */
const NO_STATUS = new CloseReason(1005, "");
/** The same words as the listener's managed session, for a connection that ended without a close. */
const ABNORMAL = new CloseReason(1006, "Connection was closed without close frame");

function closedAbnormally(): ConnectionClosedError {
  return new ConnectionClosedError(
    "CLOSED_ABNORMALLY",
    "The connection was closed without a close frame",
    { closeReason: ABNORMAL },
  );
}

/**
 * The error of Deno's `error` event. Deno drops the connection without a close frame on a
 * protocol error; the failures the other session kinds name precisely are named the same here,
 * from Deno's message: the end of the connection, and invalid UTF-8 (1007, RFC 6455 §8.1).
 */
function socketError(message: string | undefined): WebSocketError {
  switch (message) {
    case "Unexpected EOF":
      return closedAbnormally();
    case "Invalid UTF-8":
      return new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
  }
  return new ConnectionError(
    "CONNECTION_RESET",
    message ? `The WebSocket failed: ${message}` : "The WebSocket failed",
  );
}

function unsupported(what: string): TypeError {
  return new TypeError(
    `${what} is not supported by sessions served through server.fetch (Deno.serve): ` +
      "Deno's WebSocket exposes messages, not frames. Use server.listen() for frame-level control",
  );
}

function rejected<T>(err: unknown): Promise<T> {
  const p = Promise.reject(err);
  p.catch(NOOP);
  return p;
}

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
  outgoingBytes: number;
}

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATES: SessionState[] = ["open", "closing", "closed"];

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
  readonly #closeTimeout: number;
  readonly #idleTimeout: number;
  readonly #outgoingBytes: number;
  readonly #highWaterMark: number;
  #maxMessageSize: number;
  #state = OPEN;
  #opened = false;
  readonly #open = Promise.withResolvers<boolean>();
  #localReason: CloseReason | null = null;
  #reason: CloseReason | null = null;
  #endError: unknown = null;
  #socketError: unknown = null;
  readonly #closeReason = Promise.withResolvers<CloseReason>();
  readonly #closed = Promise.withResolvers<void>();
  readonly #released = Promise.withResolvers<void>();
  readonly #abort = new AbortController();
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether Deno's `close()` was asked for (it takes one call). */
  #closeAsked = false;
  /** The deferred `close()` call (see `#closeSocket`). */
  #closeCall: ReturnType<typeof setTimeout> | undefined;
  /** Whether Deno's socket is closed (its `close` event came). */
  #socketClosed = false;
  #inController!: ReadableStreamDefaultController<Frame>;
  #cancelled = false;
  #pendingError: unknown = null;
  #receiving: Promise<unknown> = Promise.resolve();

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
    this.#closeTimeout = init.closeTimeout;
    this.#idleTimeout = init.idleTimeout;
    this.#maxMessageSize = init.maxMessageSize;
    this.#outgoingBytes = init.outgoingBytes;
    const messages = init.incomingMessages;
    const bytes = init.incomingBytes;
    let strategy: QueuingStrategy<Frame>;
    if (bytes === Infinity) strategy = { highWaterMark: messages, size: () => 1 };
    else if (messages === Infinity) {
      strategy = { highWaterMark: bytes, size: (f) => f.data.length || 1 };
    } else {
      const unit = Math.max(1, Math.ceil(bytes / messages));
      strategy = {
        highWaterMark: unit * messages,
        size: (f) => (f.data.length > unit ? f.data.length : unit),
      };
    }
    this.#highWaterMark = strategy.highWaterMark!;
    const incoming = new ReadableStream<Frame>({
      start: (controller) => {
        this.#inController = controller;
      },
      pull: (controller) => {
        if (this.#pendingError !== null && controller.desiredSize === this.#highWaterMark) {
          const err = this.#pendingError;
          this.#pendingError = null;
          try {
            controller.error(err);
          } catch {
            // Already ended.
          }
        }
      },
      cancel: () => {
        this.#cancelled = true;
      },
    }, strategy);
    Object.defineProperty(incoming, Symbol.asyncIterator, {
      value: () => incoming.values({ preventCancel: true }),
      configurable: true,
      writable: true,
    });
    this.incoming = incoming;
    this.outgoing = new WritableStream<Frame>({
      write: (frame) => this.send(frame),
      close: () => this.flush(),
      abort: () => this.close(new CloseReason(1011, "")),
    });
    socket.onopen = () => {
      this.#opened = true;
      this.#open.resolve(true);
    };
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onerror = (event) => {
      this.#socketError = socketError((event as ErrorEvent).message);
      // Before the socket opened, an error means the upgrade failed: no close event follows.
      if (!this.#opened) this.#onClose(1006, "", false);
    };
    socket.onclose = (event) => this.#onClose(event.code, event.reason, event.wasClean);
  }

  /** @internal Resolves `true` once the socket is open, `false` if it closed first. */
  get opened(): Promise<boolean> {
    return this.#open.promise;
  }

  /**
   * Why the session ended; resolves once, never rejects, but for one
   * case: read inside the session's own handler after it left its `incoming` loop early while the
   * session is open, it may reject with `CLOSE_REASON_DEADLOCK` after `closeTimeout` (see
   * `DefaultWebSocketSession.closeReason`).
   */
  get closeReason(): Promise<CloseReason> {
    return this.#closeReason.promise;
  }

  /** Aborted when the session ends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Open, closing or closed. */
  get state(): SessionState {
    return STATES[this.#state]!;
  }

  /**
   * Resolves once the connection is closed: by the client, or dropped `closeTimeout` after our
   * close frame (or at `abort()`). Where Deno offers no way to drop it, resolves then all the
   * same: the session gives up on the socket.
   */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /**
   * @internal Resolves once Deno's socket is gone (its `close` event), which may be later than
   * `closed`: the adapter holds the connection's place in `maxConnections` until then.
   */
  get released(): Promise<void> {
    return this.#released.promise;
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
    return this.#maxMessageSize;
  }
  set maxMessageSize(value: number) {
    if (typeof value !== "number" || !(value > 0)) {
      throw new RangeError(`maxMessageSize must be a positive number of bytes, got ${value}`);
    }
    this.#maxMessageSize = value;
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
    if (this.#state !== OPEN) return rejected(this.#sendError());
    let payload: string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob;
    if (typeof data === "string" || data instanceof Uint8Array) {
      payload = data;
    } else if (data instanceof Frame) {
      if (data.type === "close") {
        let reason: CloseReason | null;
        try {
          reason = readReason(data);
        } catch (err) {
          return Promise.reject(err);
        }
        this.#startClose(reason);
        return Promise.resolve();
      }
      if (data.type === "ping" || data.type === "pong") {
        return Promise.reject(unsupported(`Sending a ${data.type} frame`));
      }
      if (!data.fin) return Promise.reject(unsupported("Sending a fragment"));
      payload = data.type === "text" ? readText(data) : data.data;
    } else if (
      data instanceof ArrayBuffer || ArrayBuffer.isView(data) || data instanceof Blob
    ) {
      // Deno's WebSocket takes these as they are (a Blob in order with the other sends).
      payload = data;
    } else {
      return Promise.reject(new TypeError(NOT_SENDABLE));
    }
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
      return this.#drain(this.#outgoingBytes);
    }
    return Promise.resolve();
  }

  /**
   * Resolves once Deno has sent everything (`bufferedAmount` is 0) or the session ended.
   *
   * @returns A promise that rejects only when the session failed.
   */
  async flush(): Promise<void> {
    await this.#drain(0);
    if (this.#endError !== null) throw this.#endError;
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
    this.#startClose(chosen);
    return this.#closed.promise;
  }

  /**
   * Starts the close handshake, once: Deno sends the close frame (an empty payload for `null`,
   * RFC 6455 §5.5.1) and waits for the client's, for up to `closeTimeout`.
   */
  #startClose(reason: CloseReason | null): void {
    if (this.#state !== OPEN) return;
    const local = reason ?? NO_STATUS;
    this.#state = CLOSING;
    this.#localReason = local;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#finish(local, null);
      this.#giveUp();
    }, this.#closeTimeout);
    this.#closeSocket(reason);
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
    if (this.#state !== CLOSED) {
      const err = reason instanceof WebSocketError
        ? reason
        : new WebSocketError("ABORTED", "The session was aborted", { cause: reason });
      if (this.#localReason !== null) this.#finish(this.#localReason, null);
      else this.#finish(new CloseReason(1006, ""), err);
    }
    if (this.#socketClosed) return;
    if (this.#drop()) {
      this.#closed.resolve();
      return;
    }
    this.#closeSocket(null);
    this.#giveUpLater();
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
    const next = this.#receiving.then(async () => {
      const reader = this.incoming.getReader();
      try {
        const { done, value } = await reader.read();
        if (done) {
          throw new ConnectionClosedError(
            "SESSION_CLOSED",
            "Cannot receive: the session is closed",
            {
              closeReason: this.#reason,
            },
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

  /**
   * The deserialized values of the messages that follow; ends when the session ends cleanly.
   *
   * @param validate A type guard or an assertion function, run on every value.
   * @returns An async iterator of values.
   */
  deserialized<T = unknown>(validate?: Validator<T>): AsyncGenerator<T, void, undefined> {
    return deserializeAll(this.converter, () => this.receive(), validate);
  }

  #sendError(): unknown {
    return this.#endError ??
      new ConnectionClosedError(
        "SESSION_CLOSED",
        this.#state === CLOSING
          ? "Cannot send: a close frame was already sent"
          : "Cannot send: the session is closed",
        { closeReason: this.#reason },
      );
  }

  /**
   * Asks Deno to close; without a reason, Deno's `close()` sends an empty close payload. Deno
   * ends a server connection as soon as a message comes in after `close()`; when `close()` runs
   * in its message dispatch (or the microtasks after it) while more messages are already
   * buffered, that happens before the close frame is written, and the client sees 1006. So the
   * call waits for a task of its own: Deno then writes the frame before it reads on.
   */
  #closeSocket(reason: CloseReason | null): void {
    if (this.#closeAsked || this.#socketClosed) return;
    this.#closeAsked = true;
    const call = (): void => {
      this.#closeCall = setTimeout(() => {
        this.#closeCall = undefined;
        try {
          if (reason === null) this.#socket.close();
          else this.#socket.close(reason.code, reason.message);
        } catch {
          // Already closing or closed.
        }
      }, 0);
    };
    if (this.#opened) call();
    else this.#open.promise.then((open) => open && !this.#socketClosed && call());
  }

  /**
   * Drops the connection at once, without a close frame (see `native_drop.ts`); Deno then fires
   * `close`, which releases it.
   *
   * @returns Whether the connection is gone or going; `false` when Deno offers no way here.
   */
  #drop(): boolean {
    if (this.#socketClosed) return true;
    if (!dropNativeSocket(this.#socket)) return false;
    clearTimeout(this.#closeCall);
    this.#closeCall = undefined;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    return true;
  }

  /**
   * `closeTimeout` passed and the client has not closed the connection: drop it. Where Deno
   * offers no way to, the session gives up on the socket, which stays counted in
   * `maxConnections` (`released`) until the client or `Deno.serve` ends it.
   */
  #giveUp(): void {
    this.#drop();
    this.#closed.resolve();
  }

  async #drain(limit: number): Promise<void> {
    while (this.#state !== CLOSED && this.#socket.bufferedAmount > limit) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, DRAIN_POLL);
        const signal = this.#abort.signal;
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done);
      });
    }
  }

  #onMessage(data: unknown): void {
    if (this.#state === CLOSED || this.#cancelled) return;
    let frame: Frame;
    if (typeof data === "string") frame = Frame.text(data);
    else if (data instanceof ArrayBuffer) frame = Frame.binary(new Uint8Array(data));
    else return;
    if (frame.data.length > this.#maxMessageSize) {
      const err = new ProtocolError(
        "MESSAGE_TOO_BIG",
        1009,
        `Message is too big: ${frame.data.length}. Max size is ${this.#maxMessageSize}`,
      );
      // The error's text, as the listener's sessions send it.
      this.#fail(err, new CloseReason(1009, truncateUtf8(err.message, 123)));
      return;
    }
    if (this.#state === CLOSING) {
      // Closing: keep what fits, drop the rest.
      if ((this.#inController.desiredSize ?? 0) > 0) this.#inController.enqueue(frame);
      return;
    }
    const full = (this.#inController.desiredSize ?? 0) <= 0;
    this.#inController.enqueue(frame);
    if (full) {
      this.#fail(
        new WebSocketError(
          "QUEUE_OVERFLOW",
          "Incoming queue overflow: messages arrived faster than they were read",
        ),
        new CloseReason(1008, "Incoming queue overflow"),
      );
    }
  }

  #fail(err: unknown, reason: CloseReason): void {
    if (this.#state === CLOSED) return;
    this.#localReason = reason;
    this.#closeSocket(reason);
    this.#finish(reason, err);
    this.#giveUpLater();
  }

  /** The session ended before the socket closed: give up on it `closeTimeout` later, unless the
   * client closes it first. */
  #giveUpLater(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#giveUp();
    }, this.#closeTimeout);
  }

  #onClose(code: number, message: string, wasClean: boolean): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    clearTimeout(this.#closeCall);
    this.#closeCall = undefined;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#open.resolve(false);
    if (this.#state !== CLOSED) {
      if (this.#localReason !== null) {
        this.#finish(this.#localReason, null);
      } else if (!wasClean || code === 1006) {
        const err = this.#socketError ?? closedAbnormally();
        this.#finish(
          err instanceof ProtocolError
            ? new CloseReason(err.closeCode, truncateUtf8(err.message, 123))
            : ABNORMAL,
          err,
        );
      } else {
        let reason: CloseReason;
        try {
          reason = new CloseReason(code, message);
        } catch {
          reason = new CloseReason(code, "");
        }
        this.#finish(reason, null);
      }
    }
    this.#closed.resolve();
    this.#released.resolve();
  }

  #finish(reason: CloseReason, err: unknown): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#reason = reason;
    this.#endError = err;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const closedError = new ConnectionClosedError("SESSION_CLOSED", "The session is closed", {
      closeReason: reason,
    });
    const controller = this.#inController;
    try {
      if (err === null) controller.close();
      else if (this.#cancelled || controller.desiredSize === this.#highWaterMark) {
        controller.error(err);
      } else this.#pendingError = err;
    } catch {
      // Already ended.
    }
    this.#closeReason.resolve(reason);
    this.#abort.abort(err ?? closedError);
  }
}
