/**
 * The extensions API (RFC 6455 §9): factories that negotiate, extensions that process data
 * frames. Ktor's model: a factory declares the RSV bits it uses and makes a fresh extension
 * per connection; the client offers and then accepts or refuses the server's answer; the
 * server picks from the offers and answers.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import type { ExtensionOffer } from "./extension_header.ts";

/** Hints for an outgoing message (for example, not to compress it). */
export interface OutgoingHints {
  /**
   * `false` asks compressing extensions to send this message uncompressed.
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
  /** The parameters agreed in the handshake. */
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
   * Processes an incoming data frame.
   *
   * @param frame The frame as received (a whole message, or one fragment).
   * @returns The frame to deliver.
   */
  processIncoming(frame: Frame): Frame | Promise<Frame>;
  /** Releases what the extension holds (compressors). Called once when the session ends. */
  dispose(): void;
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
   * Client: the offers to send, most preferred first.
   *
   * @returns The offers.
   */
  clientOffers(): ExtensionOffer[];
  /**
   * Client: the server accepted with `response`. Returns the extension, or throws a
   * {@linkcode HandshakeError} when the parameters are not acceptable (the connection fails).
   *
   * @param response The server's entry for this extension.
   * @returns The extension.
   */
  clientAccept(response: ExtensionOffer): WebSocketExtension;
  /**
   * Server: choose the first acceptable offer among the client's offers for this extension.
   *
   * @param offers The client's offers with this name, in order.
   * @returns The agreement, or `null` to decline.
   */
  serverAccept(offers: readonly ExtensionOffer[]): ExtensionAgreement | null;
}

const BIT_NAMES: [number, string][] = [[0x40, "RSV1"], [0x20, "RSV2"], [0x10, "RSV3"]];

/**
 * Checks a list of factories: each must have a name, RSV bits only among 0x70, and no two may
 * claim the same RSV bit or name.
 *
 * @example
 * ```ts
 * import { checkExtensionFactories } from "@wirestream/ws/raw";
 *
 * checkExtensionFactories([]); // fine
 * ```
 *
 * @param factories The installed factories.
 * @throws {TypeError} On a conflict or a malformed factory.
 */
export function checkExtensionFactories(factories: readonly WebSocketExtensionFactory[]): void {
  let used = 0;
  const names = new Set<string>();
  for (const factory of factories) {
    if (factory === null || typeof factory !== "object" || typeof factory.name !== "string") {
      throw new TypeError("An extension factory must be an object with a name");
    }
    if ((factory.rsv & ~0x70) !== 0) {
      throw new TypeError(`Extension ${factory.name} claims bits outside RSV1-RSV3`);
    }
    for (const [bit, bitName] of BIT_NAMES) {
      if ((factory.rsv & bit) !== 0 && (used & bit) !== 0) {
        throw new TypeError(
          `Extensions conflict: ${factory.name} claims ${bitName}, which another installed extension already uses`,
        );
      }
    }
    if (names.has(factory.name)) {
      throw new TypeError(`Extension ${factory.name} is installed twice`);
    }
    names.add(factory.name);
    used |= factory.rsv;
  }
}

/**
 * Client side: the offers of every factory, in install order.
 *
 * @param factories The installed factories.
 * @returns The offers for the request header.
 */
export function clientExtensionOffers(
  factories: readonly WebSocketExtensionFactory[],
): ExtensionOffer[] {
  return factories.flatMap((f) => f.clientOffers());
}

/**
 * Client side: turns the server's accepted entries into extensions, in the order the server
 * listed them (which is the order they process data, RFC 6455 §9.1).
 *
 * @param factories The installed factories.
 * @param accepted The response's `Sec-WebSocket-Extensions` entries.
 * @returns The extensions for the session.
 * @throws {HandshakeError} When an entry names an extension not offered or twice, or a factory
 *   refuses the parameters.
 */
export function negotiateClientExtensions(
  factories: readonly WebSocketExtensionFactory[],
  accepted: readonly ExtensionOffer[],
): WebSocketExtension[] {
  const out: WebSocketExtension[] = [];
  const seen = new Set<string>();
  try {
    for (const entry of accepted) {
      const factory = factories.find((f) => f.name === entry.name);
      if (!factory) {
        throw new HandshakeError(
          "HANDSHAKE_EXTENSION_MISMATCH",
          `The server accepted extension ${entry.name}, which was not offered`,
        );
      }
      if (seen.has(entry.name)) {
        throw new HandshakeError(
          "HANDSHAKE_EXTENSION_MISMATCH",
          `The server accepted extension ${entry.name} twice`,
        );
      }
      seen.add(entry.name);
      out.push(factory.clientAccept(entry));
    }
  } catch (err) {
    for (const ext of out) ext.dispose();
    throw err;
  }
  return out;
}

/**
 * Server side: lets each installed factory (in install order) pick from the client's offers.
 *
 * @param factories The installed factories.
 * @param offers The request's `Sec-WebSocket-Extensions` entries.
 * @returns The response entries and the extensions, in the same order.
 */
export function negotiateServerExtensions(
  factories: readonly WebSocketExtensionFactory[],
  offers: readonly ExtensionOffer[],
): ExtensionAgreement[] {
  const out: ExtensionAgreement[] = [];
  for (const factory of factories) {
    const mine = offers.filter((o) => o.name === factory.name);
    if (mine.length === 0) continue;
    const agreement = factory.serverAccept(mine);
    if (agreement) out.push(agreement);
  }
  return out;
}

/**
 * The RSV bits a set of negotiated extensions may use.
 *
 * @param extensions The negotiated extensions.
 * @returns The union of their bits.
 */
export function extensionRsv(extensions: readonly WebSocketExtension[]): number {
  let bits = 0;
  for (const ext of extensions) bits |= ext.rsv;
  return bits;
}
