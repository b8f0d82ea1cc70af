/**
 * One published message, prepared once for every local subscriber: its payload, its envelope
 * text, and both encoded as an unmasked frame, each made at the first subscriber that needs it.
 *
 * @module
 */

import { EncodedFrame } from "../core/encoded_frame.ts";
import { Frame } from "../core/frame.ts";
import { FrameEncoder } from "../core/frame_encoder.ts";
import { encodeTopicEnvelope } from "../core/topic_envelope.ts";
import type { TopicMessage } from "./backplane.ts";

/** Encodes whole unmasked frames (no fragmentation state is ever left behind). */
const ENCODER = new FrameEncoder({ mask: false });

/** A message ready to hand to subscribers. */
export class PreparedMessage {
  /** The message. */
  readonly message: TopicMessage;
  #envelope: string | null = null;
  #frame: Frame | null = null;
  #envelopeFrame: Frame | null = null;
  #encoded: EncodedFrame | null = null;
  #encodedEnvelope: EncodedFrame | null = null;

  /**
   * Wraps a message.
   *
   * @param message The message.
   */
  constructor(message: TopicMessage) {
    this.message = message;
  }

  /**
   * The payload as a subscriber gets it: the bare data, or the envelope text.
   *
   * @param envelope Whether the subscriber asked for envelopes.
   * @returns A string (a text message) or bytes (a binary one).
   */
  payload(envelope: boolean): string | Uint8Array {
    if (!envelope) return this.message.data;
    return this.#envelope ??= encodeTopicEnvelope({ kind: "message", ...this.message });
  }

  /**
   * The payload as a frame.
   *
   * @param envelope Whether the subscriber asked for envelopes.
   * @returns The frame (shared: never modified).
   */
  frame(envelope: boolean): Frame {
    if (envelope) return this.#envelopeFrame ??= Frame.text(this.payload(true) as string);
    if (this.#frame === null) {
      const data = this.message.data;
      this.#frame = typeof data === "string" ? Frame.text(data) : Frame.binary(data);
    }
    return this.#frame;
  }

  /**
   * The frame encoded, unmasked (for server sessions that run no extension).
   *
   * @param envelope Whether the subscriber asked for envelopes.
   * @returns The encoded frame (shared).
   */
  encoded(envelope: boolean): EncodedFrame {
    if (envelope) {
      return this.#encodedEnvelope ??= new EncodedFrame(ENCODER.encode(this.frame(true)), true);
    }
    if (this.#encoded === null) {
      const frame = this.frame(false);
      this.#encoded = new EncodedFrame(ENCODER.encode(frame), frame.type === "text");
    }
    return this.#encoded;
  }
}
