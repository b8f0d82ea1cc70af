/**
 * A frame already encoded, unmasked: what a server shares between the subscribers of a topic, so
 * that a message published to many sessions is encoded once.
 *
 * @module
 */

/**
 * The bytes of one complete, unmasked data frame (FIN set, no RSV bits), ready for any
 * server-role connection whose outgoing frames no extension transforms.
 */
export class EncodedFrame {
  /** The frame's bytes: header and payload. */
  readonly bytes: Uint8Array;
  /** Whether it is a text frame (else binary). */
  readonly text: boolean;

  /**
   * Wraps encoded bytes.
   *
   * @param bytes The frame's bytes.
   * @param text Whether it is a text frame.
   */
  constructor(bytes: Uint8Array, text: boolean) {
    this.bytes = bytes;
    this.text = text;
  }
}
