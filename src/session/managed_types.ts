/**
 * The managed session's public shape: its options, what it is built from, and the
 * {@linkcode DefaultWebSocketSession} interface that every managed session implements (the
 * client's and the listener's `ManagedWebSocketSession`, and the `Deno.serve` session).
 *
 * @module
 */

import type { MessageSink } from "./_message_sink.ts";
import type { CloseReason } from "../core/close.ts";
import type { OutgoingHints, WebSocketExtension } from "../core/extension.ts";
import type { Frame } from "../core/frame.ts";
import type { SessionState } from "../core/protocol.ts";
import type { Validator, WebSocketContentConverter } from "./converter.ts";
import type { Sendable, SessionInit, UpgradeCall } from "./raw_session.ts";

/** Bounds of the incoming message queue. */
export interface IncomingQueueOptions {
  /**
   * The most messages queued ahead of the consumer; `Infinity` for no count bound.
   * @default {16}
   */
  messages?: number;
  /**
   * The most payload bytes queued ahead of the consumer (a single larger message is still
   * delivered); `Infinity` for no byte bound.
   * @default {1048576}
   */
  bytes?: number;
}

/** Bound of the outgoing queue. */
export interface OutgoingQueueOptions {
  /**
   * The bytes of frames queued and not yet taken by the socket above which `send()` waits
   * before queueing more; `Infinity` for no bound.
   * @default {1048576}
   */
  bytes?: number;
}

/** Options of a managed session. */
export interface ManagedSessionOptions {
  /**
   * Milliseconds between pings sent by the session; 0 turns the pinger off.
   * @default {0}
   */
  pingInterval?: number;
  /**
   * Milliseconds to wait for the pong matching a ping; when it does not come, the session
   * closes with 1011 "Ping timeout". 0 waits for ever (pings are still sent).
   * @default {2 × pingInterval}
   */
  timeout?: number;
  /**
   * The largest incoming message (the sum of its fragments), checked from each frame header
   * before its payload is buffered; a larger one fails the session with 1009.
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * The converter of `sendSerialized` and `receiveDeserialized`.
   * @default {undefined}
   */
  converter?: WebSocketContentConverter;
  /**
   * Bounds of the queue between the socket and `incoming`.
   * @default {{ messages: 16, bytes: 1048576 }}
   */
  incomingQueue?: IncomingQueueOptions;
  /**
   * Bound of the queue between `send()` and the socket.
   * @default {{ bytes: 1048576 }}
   */
  outgoingQueue?: OutgoingQueueOptions;
}

/** What a managed session is built from: an upgraded socket and the negotiated extensions. */
export interface ManagedSessionInit extends Omit<SessionInit, "extensions"> {
  /**
   * The negotiated extensions, in the order of the server's `Sec-WebSocket-Extensions` header.
   * @default {[]}
   */
  extensions?: readonly WebSocketExtension[];
  /** @ignore Where messages go instead of `incoming` (a route in event form). */
  sink?: MessageSink<never>;
}

/** Options of {@linkcode DefaultWebSocketSession.ping}. */
export interface PingOptions {
  /**
   * Milliseconds to wait for the pong; 0 waits until the session ends.
   * @default {the session's timeout}
   */
  timeout?: number;
}

/**
 * A check run on a deserialized value: a type guard (`false` rejects the value) or an assertion
 * function (throwing rejects it).
 */
export type { Validator } from "./converter.ts";

export type { SessionState } from "../core/protocol.ts";

/**
 * A managed WebSocket session, on the client (`webSocket`, `webSocketSession`) and on the
 * server (`webSocket` routes).
 *
 * **Incoming.** `incoming` carries complete text and binary messages only: fragments are
 * reassembled (the message keeps the first fragment's RSV bits), pings are answered at once
 * with a pong carrying the same payload (ahead of queued data), pongs go to the pinger (pongs
 * that match no ping are ignored), and the peer's close frame ends the stream. Breaking out of
 * `for await (const m of session.incoming)` does not cancel it: iterate again later, or call
 * `incoming.cancel()` to discard every further message (control frames are still handled).
 *
 * **Backpressure.** The socket is read ahead while the incoming queue holds fewer than
 * `incomingQueue.messages` messages and `incomingQueue.bytes` bytes; then reading stops until
 * the consumer catches up, so TCP backpressure reaches the peer. While reading is stopped the
 * session does not see pings or a close frame either (they are behind the unread messages on
 * the wire): a consumer that stops for longer than the peer's ping timeout gets disconnected.
 * `send()` resolves once the frame is accepted into the outgoing queue: at once while fewer
 * than `outgoingQueue.bytes` wait for the socket; beyond that, sends wait (in order) until the
 * queue has drained. A producer that awaits its sends is thereby held to the bound; one that
 * does not await keeps its messages in the session (as strings or frames, without copies)
 * until they fit. `flush()` resolves when the socket has taken everything sent so far. Frames
 * queued together go to the socket in one write. A write that fails later fails the session
 * (`closeReason` 1006), and every send or flush still waiting rejects with the cause. Unlike Ktor's
 * `ChannelOverflow.CLOSE`, nothing is dropped and the session is not failed on overflow: to
 * shed a slow peer, watch `bufferedAmount` and `close()` it.
 *
 * **Closing and `closeReason`.** `closeReason` resolves exactly once, when the session ends,
 * and never rejects; it always holds a `CloseReason` (never `null`). The session ends when the
 * peer's close frame is read (after our echo is queued), when our close is answered or
 * `closeTimeout` passes without an answer, when the connection ends or breaks, or when a failure
 * is detected (after our close frame is queued, before the socket is released). With what:
 *
 * | How the session ends | `closeReason` | `incoming` |
 * | --- | --- | --- |
 * | the peer sends a close frame (echoed at once; when messages came with it, once the application has taken them, at most `closeTimeout` later) | the peer's reason; 1005 when it had no status code | ends normally |
 * | `close(reason)`: the peer answers, is silent for `closeTimeout`, or drops the connection | `reason` (default 1000 "") | ends normally |
 * | the connection ends without a close frame | 1006 | fails with `ConnectionClosedError` `CLOSED_ABNORMALLY` |
 * | the connection breaks (reset) | 1006 | fails with `ConnectionError` |
 * | a message over `maxMessageSize` (or a frame over `maxFrameSize`) | 1009 (sent) | fails with `ProtocolError` |
 * | a protocol error / invalid UTF-8 | 1002 / 1007 (sent) | fails with `ProtocolError` |
 * | no pong within `timeout` | 1011 "Ping timeout" (sent) | fails with `TimeoutError` `PING_TIMEOUT` |
 * | an extension fails | its `ProtocolError`'s code, else 1011 (sent) | fails with `ProtocolError` |
 * | writing to the socket fails | 1006 | fails with `ConnectionError` |
 * | `abort()` | 1006 | fails with the abort error |
 *
 * Messages queued before a clean end stay readable; after a failure they also stay readable,
 * then the error is raised. After the session ended, `send` rejects with the failure error, or
 * with `ConnectionClosedError` `SESSION_CLOSED` after a clean close; `signal` is aborted at the
 * same moment `closeReason` resolves; `closed` resolves once the socket is released.
 */
export interface DefaultWebSocketSession extends AsyncDisposable {
  /** Complete text and binary messages from the peer (async iterable). */
  readonly incoming: ReadableStream<Frame>;
  /** Frames to the peer; a write resolves once the frame is queued within the outgoing bound. */
  readonly outgoing: WritableStream<Frame>;
  /** The HTTP exchange that opened the session. */
  readonly call: UpgradeCall;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** The negotiated extensions, in processing order. */
  readonly extensions: readonly WebSocketExtension[];
  /** The converter of `sendSerialized`/`receiveDeserialized`, if one is configured. */
  readonly converter: WebSocketContentConverter | undefined;
  /**
   * Why the session ended; resolves once, and never rejects but in the one case below.
   *
   * Awaited inside the session's own block or route handler while the session is open, it waits
   * for the peer to close (or the connection to end): the block closes the session only when
   * the handler returns. One case may never end and is bounded instead: after the handler left a
   * `for await` loop over `incoming` early (a throw, `break` or `return`; typically an error
   * caught around the loop, as in Ktor's `catch (e) { closeReason.await() }`), with no reader on
   * `incoming` and the session still `"open"`, `closeReason` gives the peer `closeTimeout` to
   * close; if the session is still open and unread then, it rejects with a `WebSocketError`
   * with code `CLOSE_REASON_DEADLOCK`, so the handler ends with that error and the session is
   * closed (1011) and the error reported (the server's `onError`; a client's block rejects with
   * it). To wait for the peer longer after leaving the loop, close first
   * (`await session.close(reason)`, then `await session.closeReason`), or rethrow.
   */
  readonly closeReason: Promise<CloseReason>;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  /** Open, closing or closed. */
  readonly state: SessionState;
  /** Resolves once the socket is released. */
  readonly closed: Promise<void>;
  /** Bytes queued for the socket and not yet taken by it. */
  readonly bufferedAmount: number;
  /** Milliseconds between pings; 0 = off. Setting it restarts the pinger. */
  pingInterval: number;
  /** Milliseconds to wait for a pong. Setting it restarts the pinger. */
  timeout: number;
  /** The largest incoming frame payload. */
  maxFrameSize: number;
  /** The largest incoming message. */
  maxMessageSize: number;
  /**
   * Sends a message: a string as one text frame, bytes as one binary frame, or a frame
   * (fragments, pings and pongs too; a close frame starts the close handshake). Bytes are a
   * `Uint8Array`, an `ArrayBuffer`, another typed array or a `DataView` (the bytes it views, no
   * copy), or a `Blob` (read first; later sends wait behind it). Once the session has a close
   * reason, a failed send says it in its message and carries it as the error's `cause`.
   *
   * @param data What to send.
   * @param options Hints for extensions (`compress: false`).
   * @returns Resolves once the frame is accepted into the outgoing queue (at once below its
   *   bound).
   */
  send(data: Sendable, options?: OutgoingHints): Promise<void>;
  /**
   * Resolves when everything sent so far has been taken by the socket.
   *
   * @returns A promise that rejects only when the session failed.
   */
  flush(): Promise<void>;
  /**
   * Sends a close frame, waits up to `closeTimeout` for the peer's, then releases the socket.
   *
   * @param reason The close code and message.
   * @returns Resolves once the socket is released.
   */
  close(reason?: CloseReason): Promise<void>;
  /**
   * Sends a ping and waits for the matching pong.
   *
   * @param data At most 125 bytes of payload; a unique payload when absent.
   * @param options The pong timeout.
   * @returns The round-trip time in milliseconds.
   */
  ping(data?: Uint8Array, options?: PingOptions): Promise<number>;
  /**
   * Serializes `value` with the converter and sends it.
   *
   * @param value The value.
   * @param options Hints for extensions.
   * @returns Resolves once the frame is accepted into the outgoing queue.
   */
  sendSerialized(value: unknown, options?: OutgoingHints): Promise<void>;
  /**
   * Reads the next message and deserializes it with the converter, then runs `validate`.
   *
   * @param validate A type guard or an assertion function.
   * @returns The value.
   */
  receiveDeserialized<T = unknown>(validate?: Validator<T>): Promise<T>;
  /**
   * The next message (Ktor's `incoming.receive()`); `incoming` stays usable afterwards.
   *
   * @returns The message.
   */
  receive(): Promise<Frame>;
  /**
   * The deserialized values of the messages that follow, as `receiveDeserialized` gives them;
   * the iteration ends when the session ends cleanly (any close handshake, whatever its code),
   * and throws the failure when it fails.
   *
   * @param validate A type guard or an assertion function, run on every value.
   * @returns An async iterator of values.
   */
  deserialized<T = unknown>(validate?: Validator<T>): AsyncGenerator<T, void, undefined>;
  /**
   * Closes the socket at once, without a close handshake.
   *
   * @param reason Why; `incoming` fails with it.
   */
  abort(reason?: unknown): void;
}
