/**
 * The contracts between the parts of a managed session: what the reader
 * (`_managed_reader.ts`) and the sender (`_managed_sender.ts`) need from the session's ending
 * (`_managed_ending.ts`), which implements both, what `outgoing` calls on the session, and the
 * ending's options.
 *
 * @module
 */

import type { MessageSink } from "./_message_sink.ts";
import type { CloseReason } from "../core/close.ts";
import type { WebSocketExtension } from "../core/extension.ts";
import type { Frame } from "../core/frame.ts";

/** What the reader needs from its session: the session's ending (`_managed_ending.ts`). */
export interface ReaderHost {
  /** Whether the session ended: the loop stops and messages are dropped. */
  readonly finished: boolean;
  /** A pong arrived (settles the ping it answers, if any). */
  onPong(data: Uint8Array): void;
  /** The peer's close frame was read (the protocol noted it); the loop stops. */
  onPeerClose(): void;
  /** The socket reached its end of stream; the loop stops. */
  onEof(): void;
  /** Reading or decoding failed with `err`; the loop stops. */
  onReadError(err: unknown): void;
  /** The application read the last queued message (called on a pull of the empty queue). */
  onDrained(): void;
  /** A write failed with `err` (the session ends with 1006 when the writer broke). */
  onWriteError(err: unknown): void;
}

/** What the sender needs from its session: the session's ending (`_managed_ending.ts`). */
export interface SenderHost {
  /** Whether the session ended: sends are refused. */
  readonly finished: boolean;
  /** Why the session ended (what `outgoing` errors with when made after the end). */
  readonly abortReason: unknown;
  /** Starts the close handshake with our close frame (a close frame given to `send()`). */
  startClose(frame: Frame): Promise<void>;
  /** Fails the session with `err`, closing with `reason` (an outgoing extension failed). */
  fail(err: unknown, reason: CloseReason): void;
  /** The writer reported a failed batch (the socket may be broken). */
  onWriteError(err: unknown): void;
}

/**
 * The session's own methods that `outgoing` calls (through the session, so that a subclass
 * that overrides them sees the stream's writes too).
 */
export interface OutgoingOwner {
  /** Sends a frame. */
  send(frame: Frame): Promise<void>;
  /** Waits for the socket to take everything sent. */
  flush(): Promise<void>;
  /** Starts the close handshake. */
  close(reason: CloseReason): Promise<void>;
}

/** Options of `ManagedEnding`. */
export interface ManagedEndingOptions {
  /** How long to wait for the peer's close frame, and for the socket at the end. */
  closeTimeout: number;
  /** The negotiated extensions (disposed of at the end). */
  extensions: readonly WebSocketExtension[];
  /** The strategy of the incoming queue (see `incomingStrategy`). */
  incoming: QueuingStrategy<Frame>;
  /** The outgoing queue's bound, in bytes. */
  outgoingBytes: number;
  /** Where messages go instead of the incoming stream (a route in event form). */
  sink?: MessageSink<never>;
}
