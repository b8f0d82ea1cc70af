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
 *    {@linkcode Protocol.pongWritten} once the socket took that pong. Past
 *    {@linkcode MAX_PONGS_IN_FLIGHT} pongs waiting for the socket, the pings that arrive owe one
 *    pong, for the latest (RFC 6455 §5.5.3), so a ping flood costs a few KiB, not a pong per ping.
 *    While {@linkcode Protocol.pongBlocked} is true, stop calling `next` (and reading) until the
 *    socket takes a pong: the flood is then held back by TCP, not decoded and discarded.
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

import { CloseReason } from "./close.ts";
import type { WebSocketExtension } from "./extension.ts";
import {
  closedAbnormallyError,
  closeSentError,
  failureReason,
  sessionClosedError,
} from "./failure_close.ts";
import { Frame, readReason } from "./frame.ts";
import { FrameDecoder, type FrameDecoderOptions } from "./frame_decoder.ts";
import { MessageAssembler } from "./message_assembler.ts";
import { PongDebt } from "./pong_debt.ts";

export { closeFrameFor, closeSentError } from "./failure_close.ts";
export { MAX_PONGS_IN_FLIGHT } from "./pong_debt.ts";

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

/** 1006: the connection ended without a close frame (never sent on the wire). */
const ABNORMAL = new CloseReason(1006, "");
/** 1005: a close frame without a status code (never sent on the wire). */
const NO_STATUS = new CloseReason(1005, "");
const NO_EXTENSIONS: readonly WebSocketExtension[] = Object.freeze([]);

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
  /** The pong owed for the latest ping, and the pongs in flight. */
  readonly #pongs = new PongDebt();
  /** Reassembles messages and runs the extensions on them (when assembling). */
  readonly #assemble: boolean;
  /** Made at the first message that needs it (a fragment, or extensions): none when idle. */
  #assembler: MessageAssembler | null = null;

  /**
   * Creates the protocol state of one connection.
   *
   * @param options The role, the limits, and what is automatic.
   */
  constructor(options: ProtocolOptions) {
    this.role = options.role;
    this.decoder = new FrameDecoder(options);
    this.#autoPong = options.autoPong ?? false;
    const extensions = options.extensions;
    this.extensions = extensions === undefined || extensions.length === 0
      ? NO_EXTENSIONS
      : Object.freeze([...extensions]);
    this.#assemble = options.assemble ?? false;
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
    return this.#received !== undefined && this.#sent === undefined && this.#state !== CLOSED;
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

  /** Whether a message is half reassembled (when assembling). */
  get inMessage(): boolean {
    return this.#assembler?.inMessage ?? false;
  }

  /**
   * While an extension works asynchronously on an incoming frame, {@linkcode Protocol.next}
   * returns `null` and this is the promise to await before calling it again.
   */
  get pending(): Promise<void> | null {
    return this.#assembler?.pending ?? null;
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
    const assembler = this.#assembler;
    if (assembler !== null) {
      const ready = assembler.takeReady();
      if (ready !== null) return ready;
      if (assembler.pending !== null) return null;
    }
    if (this.#received !== undefined || this.#state === CLOSED) return null;
    const decoder = this.decoder;
    for (let frame = decoder.next(); frame !== null; frame = decoder.next()) {
      const type = frame.type;
      if (type === "text" || type === "binary") {
        if (!this.#assemble) return frame;
        let messages = this.#assembler;
        if (messages === null) {
          // A whole message needs no assembler.
          if (frame.fin && this.extensions.length === 0) return frame;
          messages = this.#assembler = new MessageAssembler(this.decoder, this.extensions);
        }
        const message = messages.push(frame);
        if (message !== null) return message;
        if (messages.pending !== null) return null;
        continue;
      }
      if (type === "ping") {
        // RFC 6455 §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong
        // frame(s) in response to previous Ping frame(s), the endpoint MAY elect to send a Pong
        // frame for only the most recently processed Ping frame."
        if (this.#autoPong && this.#sent === undefined) this.#pongs.owe(frame.data);
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
    const payload = this.#pongs.take(this.#sent === undefined);
    return payload === null ? null : Frame.pong(payload);
  }

  /** A pong taken with {@linkcode Protocol.takePong} was taken by the socket. */
  pongWritten(): void {
    this.#pongs.written();
  }

  /**
   * Whether a pong is owed that cannot be taken: {@linkcode MAX_PONGS_IN_FLIGHT} pongs wait for
   * the socket. A session should stop decoding then (more pings would only replace the pong
   * owed) until {@linkcode Protocol.pongWritten}: a peer that floods pings and does not read is
   * then held back by TCP.
   */
  get pongBlocked(): boolean {
    return this.#sent === undefined && this.#pongs.blocked;
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
   * @throws {ConnectionClosedError} `SESSION_CLOSED` after our close frame (a failure sends
   *   one too).
   * @throws The error the session ended with, when it ended without our close frame (end of
   *   stream or an abort).
   * @throws {ProtocolError} `INVALID_CLOSE_PAYLOAD` for a malformed close frame.
   */
  send(frame: Frame): void {
    if (this.#sent !== undefined) throw closeSentError(this.#reason ?? undefined);
    if (this.#state === CLOSED) {
      throw this.#error ?? sessionClosedError(this.#reason ?? undefined);
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
    const chosen = failureReason(error, reason);
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
    const err = closedAbnormallyError();
    this.#end(err.closeReason!, err);
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
    this.#assembler?.reset();
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
    this.#pongs.clear();
    this.#assembler?.reset();
  }
}
