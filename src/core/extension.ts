/**
 * The extensions API (RFC 6455 §9): factories that negotiate, extensions that process data
 * frames. Ktor's model: a factory declares the RSV bits it uses and makes a fresh extension
 * per connection; the client offers and then accepts or refuses the server's answer; the
 * server picks from the offers and answers.
 *
 * Negotiation is in `extension_negotiation.ts`; running the negotiated extensions over frames
 * is in `extension_chain.ts`.
 *
 * @module
 */

import type { Frame } from "./frame.ts";
import type { ExtensionOffer } from "./extension_header.ts";

/** Hints for an outgoing message (for example, not to compress it). */
export interface OutgoingHints {
  /**
   * `false` asks compressing extensions to send this message uncompressed. Only the hint given
   * with the first frame of a message counts.
   * @default {undefined}
   */
  compress?: boolean;
}

/**
 * One negotiated extension on one connection. It sees every data frame (fragments in order,
 * control frames never) and returns the frame to write or to deliver.
 */
export interface WebSocketExtension {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits it may set (0x40 = RSV1, 0x20 = RSV2, 0x10 = RSV3). */
  readonly rsv: number;
  /** The parameters agreed in the handshake (the response entry). */
  readonly params: ExtensionOffer;
  /**
   * Processes an outgoing data frame.
   *
   * @param frame The frame (a whole message, or one fragment).
   * @param hints Per-message hints.
   * @returns The frame to write.
   */
  processOutgoing(frame: Frame, hints?: OutgoingHints): Frame | Promise<Frame>;
  /**
   * Processes an incoming data frame. A protocol fault is thrown as a `ProtocolError` carrying
   * the close code to send.
   *
   * @param frame The frame as received (a whole message, or one fragment).
   * @returns The frame to deliver.
   */
  processIncoming(frame: Frame): Frame | Promise<Frame>;
  /** Releases what the extension holds (compressors). Called once when the session ends. */
  dispose(): void;
}

/** What a factory knows about the connection it makes an extension for. */
export interface ExtensionContext {
  /**
   * The session's largest incoming message, in bytes, after extensions processed it (a
   * decompressing extension stops there rather than allocate more).
   * @default {Infinity}
   */
  maxMessageSize?: number;
}

/** A server's answer to an offer: what to put in the response header, and the extension. */
export interface ExtensionAgreement {
  /** The response header entry. */
  response: ExtensionOffer;
  /** The extension for this connection. */
  extension: WebSocketExtension;
}

/**
 * Makes and negotiates one kind of extension. Install factories in a client's or server's
 * `extensions` option; each connection gets fresh extensions.
 */
export interface WebSocketExtensionFactory {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits its extensions use; two installed factories must not share one. */
  readonly rsv: number;
  /**
   * Client: the offers to send, most preferred first. Every offer carries the factory's name.
   *
   * @returns The offers.
   */
  clientOffers(): ExtensionOffer[];
  /**
   * Client: the server accepted with `response`. Returns the extension, or throws a
   * {@linkcode HandshakeError} when the parameters are not acceptable (the connection fails).
   *
   * @param response The server's entry for this extension.
   * @param context What the session allows.
   * @returns The extension.
   */
  clientAccept(response: ExtensionOffer, context?: ExtensionContext): WebSocketExtension;
  /**
   * Server: choose the first acceptable offer among the client's offers for this extension.
   * Offers the server cannot honour (unknown or malformed parameters, values it cannot meet)
   * are skipped, not errors.
   *
   * @param offers The client's offers with this name, in order.
   * @param context What the session allows.
   * @returns The agreement, or `null` to decline.
   */
  serverAccept(
    offers: readonly ExtensionOffer[],
    context?: ExtensionContext,
  ): ExtensionAgreement | null;
}
