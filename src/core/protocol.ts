/**
 * The sans-I/O WebSocket protocol (RFC 6455 §5–§7) for both roles: bytes in, frames or whole
 * messages out, with what the endpoint now owes (a pong, a close echo) and the state of the
 * close handshake. Every session is a shell around one {@linkcode Protocol}: the shell reads and
 * writes the socket and runs the timers; the rules live here, once.
 *
 * The contract, for a shell:
 *
 * 1. Feed bytes: `protocol.decoder.push(chunk)` (or read straight into the decoder's window
 *    through a `FrameReader`), then call {@linkcode Protocol.next} until it returns `null`.
 *    It returns every frame in raw mode, whole messages (and control frames) when assembling.
 *    It throws a {@linkcode ProtocolError} when the peer broke the protocol; the frames before
 *    the bad bytes were returned first.
 * 2. Write what is owed: {@linkcode Protocol.takePong} after a ping, and
 *    {@linkcode Protocol.pongWritten} once the socket took that pong. Every ping is answered
 *    while fewer than {@linkcode MAX_PONGS_IN_FLIGHT} pongs wait for the socket; past that,
 *    the pings that arrive owe one pong, for the latest (RFC 6455 §5.5.3 allows it), so a ping
 *    flood from a peer that does not read costs a few KiB, not a pong per ping.
 *    When the peer closed first, {@linkcode Protocol.answerClose} gives the echo (which a
 *    managed session may delay until the application has read what came before the close).
 * 3. Before writing a frame of the application, pass it to {@linkcode Protocol.send}: it
 *    refuses what may no longer be sent and notes a close frame.
 * 4. On a protocol error, {@linkcode Protocol.fail} returns the close frame to send (once).
 *    On end of stream, {@linkcode Protocol.receiveEof}; when the close timer fires,
 *    {@linkcode Protocol.closeTimedOut}. {@linkcode Protocol.closeReason} then says how the
 *    session ended, and {@linkcode Protocol.closesTcp} who ends the TCP connection.
 *
 * @module
 */

import { CloseReason, truncateUtf8 } from "./close.ts";
import { ConnectionClosedError, ProtocolError } from "./errors.ts";
import type { WebSocketExtension } from "./extension.ts";
import { runIncomingExtensions } from "./extension_chain.ts";
import { Frame, makeFrame, readReason } from "./frame.ts";
import { FrameDecoder, type FrameDecoderOptions } from "./frame_decoder.ts";
import { Utf8Validator } from "./utf8.ts";

/** Options of {@linkcode Protocol}. */
export interface ProtocolOptions extends FrameDecoderOptions {
  /**
   * Whether to reassemble fragments into whole messages (managed sessions); raw sessions get
   * every frame as it arrives.
   * @default {false}
   */
  assemble?: boolean;
  /**
   * Whether pings are answered: {@linkcode Protocol.takePong} then returns the pong owed.
   * Raw sessions answer nothing by themselves.
   * @default {false}
   */
  autoPong?: boolean;
  /**
   * Negotiated extensions, run on incoming data frames (in reverse order) when assembling.
   * @default {[]}
   */
  extensions?: readonly WebSocketExtension[];
}

/**
 * Where a session is: `"open"`, `"closing"` (a close frame was sent or received, not both) or
 * `"closed"` (the close handshake completed, or the session ended otherwise).
 */
export type SessionState = "open" | "closing" | "closed";

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATES: readonly SessionState[] = ["open", "closing", "closed"];

const EMPTY = new Uint8Array(0);
/** 1006: the connection ended without a close frame (never sent on the wire). */
const ABNORMAL = new CloseReason(1006, "");
/** 1005: a close frame without a status code (never sent on the wire). */
const NO_STATUS = new CloseReason(1005, "");
const NO_EXTENSIONS: readonly WebSocketExtension[] = Object.freeze([]);

/**
 * The most pongs taken and not yet taken by the socket (at most 131 bytes each): enough for a
 * burst of pings (Autobahn sends ten at once) to get a pong each, small enough that a flood
 * holds at most about 8 KiB of pongs.
 */
export const MAX_PONGS_IN_FLIGHT = 64;

/**
 * The close frame a protocol error is answered with: its close code, and its message cut to
 * the 123 bytes a close payload has room for.
 *
 * @example
 * ```ts
 * import { closeFrameFor, ProtocolError } from "@wirestream/ws/raw";
 *
 * const frame = closeFrameFor(new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8"));
 * console.log(frame.type, frame.data.length); // close 15
 * ```
 *
 * @param err The error.
 * @returns The close frame.
 */
export function closeFrameFor(err: ProtocolError): Frame {
  return Frame.close(closeReasonFor(err));
}

/** The close reason a protocol error is answered with. */
function closeReasonFor(err: ProtocolError): CloseReason {
  return new CloseReason(err.closeCode, truncateUtf8(err.message, 123));
}

/** The error of a send after our close frame. */
export function closeSentError(closeReason?: CloseReason): ConnectionClosedError {
  return new ConnectionClosedError(
    "SESSION_CLOSED",
    "Cannot send: a close frame was already sent",
    closeReason ? { closeReason } : undefined,
  );
}

/**
 * One WebSocket connection's protocol state, for either role, with no I/O and no timers.
 *
 * @example A client reads a ping and a close (RFC 6455 §5.5), and owes a pong and the echo
 * ```ts
 * import { Protocol } from "@wirestream/ws/raw";
 *
 * const protocol = new Protocol({ role: "client", autoPong: true, assemble: true });
 * protocol.decoder.push(new Uint8Array([0x89, 0x01, 0x61, 0x88, 0x02, 0x03, 0xe8]));
 * for (let f = protocol.next(); f !== null; f = protocol.next()) console.log(f.type);
 * // ping
 * // close
 * console.log(protocol.takePong()?.type, protocol.answerClose()?.type); // pong close
 * console.log(protocol.state, protocol.closeReason?.code); // closed 1000
 * ```
 */
export class Protocol {
  /** Which end this is. */
  readonly role: "client" | "server";
  /** The frame decoder: push received bytes into it. */
  readonly decoder: FrameDecoder;
  /** Negotiated extensions (run on incoming messages when assembling). */
  readonly extensions: readonly WebSocketExtension[];
  readonly #assemble: boolean;
  readonly #autoPong: boolean;
  #state: number = OPEN;
  /** Our close frame's reason (`null`: sent empty), once sent. */
  #sent: CloseReason | null | undefined = undefined;
  /** The peer's close frame's reason (`null`: received empty), once received. */
  #received: CloseReason | null | undefined = undefined;
  /** Whether the peer's close frame came before ours was sent. */
  #receivedFirst = false;
  /** How the session ended, once it did. */
  #reason: CloseReason | null = null;
  /** The failure that ended it, if any. */
  #error: unknown = null;
  /** The payload of the latest unanswered ping. */
  #pong: Uint8Array | null = null;
  /** Pongs taken and not yet taken by the socket. */
  #pongsInFlight = 0;
  /** A pending (async) extension result, while {@linkcode Protocol.next} waits for it. */
  #pending: Promise<void> | null = null;
  #ready: Frame | null = null;

  // The message being reassembled.
  #msgType: "text" | "binary" | null = null;
  #msgRsv = 0;
  #msgBuf: Uint8Array = EMPTY;
  #msgLen = 0;
  // Extension processing of the incoming message.
  #extInMessage = false;
  #extCheckUtf8 = false;
  #utf8: Utf8Validator | null = null;

  /**
   * Creates the protocol state of one connection.
   *
   * @param options The role, the limits, and what is automatic.
   */
  constructor(options: ProtocolOptions) {
    this.role = options.role;
    this.decoder = new FrameDecoder(options);
    this.#assemble = options.assemble ?? false;
    this.#autoPong = options.autoPong ?? false;
    const extensions = options.extensions;
    this.extensions = extensions === undefined || extensions.length === 0
      ? NO_EXTENSIONS
      : Object.freeze([...extensions]);
  }

  /** `"open"`, `"closing"` (a close frame was sent or received, not both) or `"closed"`. */
  get state(): SessionState {
    return STATES[this.#state]!;
  }

  /** Whether the session ended (the state is `"closed"`). */
  get ended(): boolean {
    return this.#state === CLOSED;
  }

  /** Whether our close frame was sent (handed to the writer). */
  get closeSent(): boolean {
    return this.#sent !== undefined;
  }

  /** Whether the peer's close frame was received. */
  get closeReceived(): boolean {
    return this.#received !== undefined;
  }

  /** The peer's close reason (`null` for an empty close frame, or none received yet). */
  get receivedReason(): CloseReason | null {
    return this.#received ?? null;
  }

  /** Whether the peer closed first and its close frame is not answered yet. */
  get closeOwed(): boolean {
    return this.#received !== undefined && this.#sent === undefined;
  }

  /** How the session ended (see the table in the module docs); `null` while it goes on. */
  get closeReason(): CloseReason | null {
    return this.#reason;
  }

  /** The failure that ended the session, or `null` (a clean end, or not ended). */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Whether this end closes the TCP connection once the handshake is done: the server does at
   * once; a client waits for the server to (RFC 6455 §7.1.1), at most its close timeout.
   */
  get closesTcp(): boolean {
    return this.role === "server";
  }

  /** Whether a message is half reassembled. */
  get inMessage(): boolean {
    return this.#msgType !== null;
  }

  /**
   * While an extension works asynchronously on an incoming frame, {@linkcode Protocol.next}
   * returns `null` and this is the promise to await before calling it again.
   */
  get pending(): Promise<void> | null {
    return this.#pending;
  }

  /**
   * The next frame: in raw mode every frame as decoded; when assembling, whole messages and
   * control frames. Notes a ping (the pong owed) and the peer's close frame (the close state).
   * After the peer's close frame, nothing more is decoded.
   *
   * @returns The frame, or `null` when the buffered bytes hold no complete frame (or an
   *   extension is working: see {@linkcode Protocol.pending}).
   * @throws {ProtocolError} When the peer broke the protocol (then call
   *   {@linkcode Protocol.fail} to get the close frame).
   */
  next(): Frame | null {
    if (this.#ready !== null) {
      const ready = this.#ready;
      this.#ready = null;
      return ready;
    }
    if (this.#pending !== null || this.#received !== undefined || this.#state === CLOSED) {
      return null;
    }
    const decoder = this.decoder;
    for (let frame = decoder.next(); frame !== null; frame = decoder.next()) {
      const type = frame.type;
      if (type === "text" || type === "binary") {
        if (!this.#assemble) return frame;
        if (this.extensions.length > 0) {
          const out = this.#incomingThroughExtensions(frame);
          if (out !== null) return out;
          if (this.#pending !== null) return null;
          continue;
        }
        if (frame.fin && this.#msgType === null) return frame;
        const message = this.#append(frame);
        if (message !== null) return message;
        continue;
      }
      if (type === "ping") {
        // RFC 6455 §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong
        // frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send a Pong
        // frame for only the most recently processed Ping frame."
        if (this.#autoPong && this.#sent === undefined) this.#pong = frame.data;
        return frame;
      }
      if (type === "close") this.#onClose(frame);
      return frame;
    }
    return null;
  }

  /**
   * The pong owed for the latest ping, once. `null` when none is owed, after our close frame,
   * or while {@linkcode MAX_PONGS_IN_FLIGHT} pongs wait for the socket (call
   * {@linkcode Protocol.pongWritten} as the socket takes each, then take again).
   *
   * @returns The pong frame.
   */
  takePong(): Frame | null {
    const payload = this.#pong;
    if (payload === null || this.#pongsInFlight >= MAX_PONGS_IN_FLIGHT) return null;
    this.#pong = null;
    if (this.#sent !== undefined) return null;
    this.#pongsInFlight++;
    return Frame.pong(payload);
  }

  /** A pong taken with {@linkcode Protocol.takePong} was taken by the socket. */
  pongWritten(): void {
    if (this.#pongsInFlight > 0) this.#pongsInFlight--;
  }

  /**
   * Answers the peer's close frame (RFC 6455 §5.5.1): the echo of its status code and message
   * (an empty close is echoed empty). The session is then closed, with the peer's reason.
   *
   * @returns The close frame to send, or `null` when none is owed.
   */
  answerClose(): Frame | null {
    if (!this.closeOwed || this.#state === CLOSED) return null;
    const received = this.#received!;
    this.#sent = received;
    this.#end(received ?? NO_STATUS, null);
    return Frame.close(received);
  }

  /**
   * Checks that `frame` may be sent now, and notes a close frame: from then on nothing more may
   * be sent, and the session ends when the peer answers (or at once, when the peer closed
   * first). Pings and pongs may still be sent while closing, until our close frame.
   *
   * @param frame The frame the application sends.
   * @throws {ConnectionClosedError} `SESSION_CLOSED` after our close frame.
   * @throws The failure the session ended with, after a failure.
   * @throws {ProtocolError} `INVALID_CLOSE_PAYLOAD` for a malformed close frame.
   */
  send(frame: Frame): void {
    if (this.#sent !== undefined) throw closeSentError(this.#reason ?? undefined);
    if (this.#state === CLOSED) {
      throw this.#error ??
        new ConnectionClosedError("SESSION_CLOSED", "Cannot send: the session is closed", {
          closeReason: this.#reason ?? undefined,
        });
    }
    if (frame.type !== "close") return;
    const reason = readReason(frame);
    this.#sent = reason;
    if (this.#received !== undefined) {
      // The peer closed first: this is our answer, the handshake is complete.
      this.#end(this.#received ?? NO_STATUS, null);
    } else {
      this.#state = CLOSING;
    }
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): the session ends with `reason` (a protocol
   * error's close code) and `error`.
   *
   * @param error What went wrong: a {@linkcode ProtocolError} chooses the close code itself.
   * @param reason The close reason to send, for other failures (1011 when absent).
   * @returns The close frame to send, or `null` when ours was sent already.
   */
  fail(error: unknown, reason?: CloseReason): Frame | null {
    if (this.#state === CLOSED) return null;
    const chosen = reason ??
      (error instanceof ProtocolError ? closeReasonFor(error) : new CloseReason(1011, ""));
    if (this.#sent !== undefined) {
      this.#end(this.#sent ?? NO_STATUS, error);
      return null;
    }
    this.#sent = chosen;
    this.#end(chosen, error);
    return Frame.close(chosen);
  }

  /**
   * The peer ended the TCP connection. After a close handshake (or our close frame: the peer
   * may end the connection instead of answering) the session ends cleanly; otherwise with 1006
   * and a `CLOSED_ABNORMALLY` error, which is returned.
   *
   * @returns The error the session ended with, or `null`.
   */
  receiveEof(): unknown {
    if (this.#state === CLOSED) return this.#error;
    if (this.#sent !== undefined) {
      this.#end(
        this.#received !== undefined && this.#receivedFirst
          ? (this.#received ?? NO_STATUS)
          : (this.#sent ?? NO_STATUS),
        null,
      );
      return null;
    }
    if (this.#received !== undefined) {
      this.#end(this.#received ?? NO_STATUS, null);
      return null;
    }
    const reason = new CloseReason(1006, "Connection was closed without close frame");
    const err = new ConnectionClosedError(
      "CLOSED_ABNORMALLY",
      "The connection was closed without a close frame",
      { closeReason: reason },
    );
    this.#end(reason, err);
    return err;
  }

  /**
   * The connection broke, or was dropped, without a close handshake: after our close frame the
   * session ends cleanly with our reason (the peer may end the connection instead of
   * answering), otherwise with `reason` and `error`.
   *
   * @param error Why.
   * @param reason A 1006 close reason with a message (1006 with none when absent).
   */
  abort(error: unknown, reason?: CloseReason): void {
    if (this.#state === CLOSED) return;
    if (this.#sent !== undefined) this.#end(this.#sent ?? NO_STATUS, null);
    else this.#end(reason ?? ABNORMAL, error);
  }

  /**
   * The shell's close timer fired: the peer did not answer our close frame in time. The
   * session ends with our reason.
   */
  closeTimedOut(): void {
    if (this.#state === CLOSED) return;
    this.#end(this.#sent ?? NO_STATUS, null);
  }

  /** The peer's close frame (validated by the decoder, RFC 6455 §7.4). */
  #onClose(frame: Frame): void {
    const reason = readReason(frame);
    this.#received = reason;
    this.#msgType = null;
    this.#msgBuf = EMPTY;
    if (this.#sent !== undefined) {
      // Our close was answered: the handshake is complete.
      this.#end(this.#sent ?? NO_STATUS, null);
    } else {
      this.#receivedFirst = true;
      this.#state = CLOSING;
    }
  }

  #end(reason: CloseReason, error: unknown): void {
    this.#state = CLOSED;
    this.#reason = reason;
    this.#error = error;
    this.#pong = null;
    this.#msgType = null;
    this.#msgBuf = EMPTY;
  }

  /** Appends a fragment; returns the message at the final fragment. */
  #append(frame: Frame): Frame | null {
    const data = frame.data;
    if (this.#msgType === null) {
      this.#msgType = frame.type as "text" | "binary";
      this.#msgRsv = frame.rsvBits;
      this.#msgLen = 0;
      this.#msgBuf = frame.fin ? EMPTY : this.#newBuffer(data.length, 0);
    }
    const need = this.#msgLen + data.length;
    const max = this.decoder.maxMessageSize;
    // Checked by the decoder already, unless an extension (decompression) grew the message.
    if (need > max) throw tooBig(need, max);
    if (need > this.#msgBuf.length) {
      const grown = this.#newBuffer(need, this.#msgBuf.length);
      grown.set(this.#msgBuf.subarray(0, this.#msgLen));
      this.#msgBuf = grown;
    }
    this.#msgBuf.set(data, this.#msgLen);
    this.#msgLen = need;
    if (!frame.fin) return null;
    const buf = this.#msgBuf;
    const len = this.#msgLen;
    // Trim a buffer that is more than a quarter empty; otherwise hand out a view of it.
    const out = len === buf.length
      ? buf
      : buf.length - len > len >> 2
      ? buf.slice(0, len)
      : buf.subarray(0, len);
    const type = this.#msgType;
    const rsv = this.#msgRsv;
    this.#msgType = null;
    this.#msgBuf = EMPTY;
    this.#msgLen = 0;
    return makeFrame(type, out, true, rsv);
  }

  /** A buffer for at least `need` bytes: doubling, at least 4 KiB, at most maxMessageSize. */
  #newBuffer(need: number, current: number): Uint8Array {
    const max = this.decoder.maxMessageSize;
    const cap = Math.max(need, Math.min(Math.max(current * 2, need * 2, 4096), max));
    return new Uint8Array(cap);
  }

  /**
   * Runs a received data frame (one fragment) through the extensions in reverse order of the
   * server's list (RFC 6455 §9.1: the last one applied by the sender is undone first), checks
   * the text of a transformed message as UTF-8, then reassembles.
   */
  #incomingThroughExtensions(frame: Frame): Frame | null {
    if (!this.#extInMessage) {
      // First fragment: the decoder skipped the UTF-8 check of a text message with an
      // extension's RSV bit; check the extensions' output instead.
      this.#extCheckUtf8 = frame.type === "text" &&
        (frame.rsvBits & this.decoder.compressedRsv) !== 0;
      if (this.#extCheckUtf8) (this.#utf8 ??= new Utf8Validator()).reset();
    }
    this.#extInMessage = !frame.fin;
    let out: Frame | Promise<Frame>;
    try {
      out = runIncomingExtensions(this.extensions, frame);
    } catch (err) {
      throw incomingExtensionError(err);
    }
    if (out instanceof Promise) {
      this.#pending = this.#incomingAsync(frame, out);
      return null;
    }
    return this.#afterExtensions(frame, out);
  }

  /** Finishes an extension chain that went asynchronous; its result waits in `#ready`. */
  async #incomingAsync(frame: Frame, pending: Promise<Frame>): Promise<void> {
    let out: Frame;
    try {
      out = await pending;
    } catch (err) {
      throw incomingExtensionError(err);
    } finally {
      this.#pending = null;
    }
    if (this.#state !== CLOSED) this.#ready = this.#afterExtensions(frame, out);
  }

  #afterExtensions(received: Frame, out: Frame): Frame | null {
    const max = this.decoder.maxMessageSize;
    if (out.data.length > max) throw tooBig(out.data.length, max);
    if (this.#extCheckUtf8) {
      const utf8 = this.#utf8!;
      if (!utf8.update(out.data) || (received.fin && !utf8.finish())) {
        throw new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
      }
    }
    if (out.fin && this.#msgType === null) return out;
    return this.#append(out);
  }
}

function tooBig(size: number, max: number): ProtocolError {
  return new ProtocolError(
    "MESSAGE_TOO_BIG",
    1009,
    `Message is too big: ${size}. Max size is ${max}`,
  );
}

/** Maps an incoming extension failure to the protocol error that fails the session. */
function incomingExtensionError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(
    "EXTENSION_ERROR",
    1011,
    `Extension failed on an incoming message: ${err instanceof Error ? err.message : err}`,
    { cause: err },
  );
}
