/**
 * The extensions API (RFC 6455 §9): factories that negotiate, extensions that process data
 * frames. Ktor's model: a factory declares the RSV bits it uses and makes a fresh extension
 * per connection; the client offers and then accepts or refuses the server's answer; the
 * server picks from the offers and answers.
 *
 * A session runs the negotiated extensions over every data frame (fragments in order, control
 * frames never): outgoing frames through the extensions in negotiated order, incoming frames in
 * the reverse order (the last extension to touch a frame on the way out is the first on the way
 * in). {@linkcode runOutgoingExtensions} and {@linkcode runIncomingExtensions} do exactly that,
 * without a promise when every extension answers synchronously.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import type { ExtensionOffer } from "./extension_header.ts";
import { isToken } from "./http1_syntax.ts";

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

/** Options of {@linkcode negotiateClientExtensions} and {@linkcode negotiateServerExtensions}. */
export interface ExtensionNegotiationOptions extends ExtensionContext {}

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

const BIT_NAMES: [number, string][] = [[0x40, "RSV1"], [0x20, "RSV2"], [0x10, "RSV3"]];

/**
 * Checks a list of factories at configuration time: each must be an object with a token name,
 * the four methods, and RSV bits only among 0x70; no two may claim the same RSV bit or name.
 * (Ktor's version of this check never records the bits it saw, so it never finds a conflict;
 * this one does.)
 *
 * @example Two extensions that both want RSV1 are refused
 * ```ts
 * import {
 *   checkExtensionFactories,
 *   perMessageDeflate,
 *   type WebSocketExtensionFactory,
 * } from "@wirestream/ws/raw";
 *
 * const other: WebSocketExtensionFactory = {
 *   name: "x-other",
 *   rsv: 0x40,
 *   clientOffers: () => [],
 *   clientAccept: () => {
 *     throw new Error("not offered");
 *   },
 *   serverAccept: () => null,
 * };
 * checkExtensionFactories([perMessageDeflate()]); // fine
 * try {
 *   checkExtensionFactories([perMessageDeflate(), other]);
 * } catch (err) {
 *   console.log((err as Error).message);
 *   // Extensions conflict: x-other claims RSV1, which permessage-deflate already uses
 * }
 * ```
 *
 * @param factories The installed factories.
 * @throws {TypeError} On a conflict or a malformed factory.
 */
export function checkExtensionFactories(factories: readonly WebSocketExtensionFactory[]): void {
  if (!Array.isArray(factories)) throw new TypeError("extensions must be an array");
  let used = 0;
  const owners = new Map<number, string>();
  const names = new Set<string>();
  for (const factory of factories) {
    if (factory === null || typeof factory !== "object" || typeof factory.name !== "string") {
      throw new TypeError("An extension factory must be an object with a name");
    }
    if (!isToken(factory.name)) {
      throw new TypeError(`Invalid extension name: ${JSON.stringify(factory.name)}`);
    }
    for (const method of ["clientOffers", "clientAccept", "serverAccept"] as const) {
      if (typeof factory[method] !== "function") {
        throw new TypeError(`Extension ${factory.name} has no ${method}() method`);
      }
    }
    if (!Number.isInteger(factory.rsv) || (factory.rsv & ~0x70) !== 0) {
      throw new TypeError(
        `Extension ${factory.name} claims bits outside RSV1-RSV3 (rsv must be a combination of 0x40, 0x20 and 0x10)`,
      );
    }
    if (names.has(factory.name.toLowerCase())) {
      throw new TypeError(`Extension ${factory.name} is installed twice`);
    }
    for (const [bit, bitName] of BIT_NAMES) {
      if ((factory.rsv & bit) !== 0 && (used & bit) !== 0) {
        throw new TypeError(
          `Extensions conflict: ${factory.name} claims ${bitName}, which ${
            owners.get(bit)
          } already uses`,
        );
      }
      if ((factory.rsv & bit) !== 0) owners.set(bit, factory.name);
    }
    names.add(factory.name.toLowerCase());
    used |= factory.rsv;
  }
}

/**
 * Client side: the offers of every factory, in install order.
 *
 * @example
 * ```ts
 * import { clientExtensionOffers, formatExtensionHeader, perMessageDeflate } from "@wirestream/ws/raw";
 *
 * const offers = clientExtensionOffers([perMessageDeflate()]);
 * console.log(formatExtensionHeader(offers)); // "permessage-deflate; client_max_window_bits"
 * ```
 *
 * @param factories The installed factories.
 * @returns The offers for the request header.
 * @throws {TypeError} When a factory offers an extension under another name.
 */
export function clientExtensionOffers(
  factories: readonly WebSocketExtensionFactory[],
): ExtensionOffer[] {
  const out: ExtensionOffer[] = [];
  for (const factory of factories) {
    for (const offer of factory.clientOffers()) {
      if (offer?.name !== factory.name.toLowerCase()) {
        throw new TypeError(
          `Extension ${factory.name} offered ${
            JSON.stringify(offer?.name)
          }: offers must carry the factory's name`,
        );
      }
      out.push(offer);
    }
  }
  return out;
}

/**
 * Client side: turns the server's accepted entries into extensions, in the order the server
 * listed them (which is the order they process outgoing data, RFC 6455 §9.1).
 *
 * @example The server accepted permessage-deflate with no parameters
 * ```ts
 * import { negotiateClientExtensions, parseExtensionHeader, perMessageDeflate } from "@wirestream/ws/raw";
 *
 * const [ext] = negotiateClientExtensions(
 *   [perMessageDeflate()],
 *   parseExtensionHeader("permessage-deflate"),
 *   { maxMessageSize: 1 << 20 },
 * );
 * console.log(ext?.name); // "permessage-deflate"
 * ext?.dispose();
 * ```
 *
 * @param factories The installed factories.
 * @param accepted The response's `Sec-WebSocket-Extensions` entries.
 * @param options What the session allows (passed to the factories).
 * @returns The extensions for the session.
 * @throws {HandshakeError} `HANDSHAKE_EXTENSION_MISMATCH` when an entry names an extension not
 *   offered or twice, two accepted extensions use the same RSV bit, or a factory refuses the
 *   parameters.
 */
export function negotiateClientExtensions(
  factories: readonly WebSocketExtensionFactory[],
  accepted: readonly ExtensionOffer[],
  options?: ExtensionNegotiationOptions,
): WebSocketExtension[] {
  const out: WebSocketExtension[] = [];
  const seen = new Set<string>();
  const context: ExtensionContext = { maxMessageSize: options?.maxMessageSize };
  let used = 0;
  try {
    for (const entry of accepted) {
      const factory = factories.find((f) => f.name.toLowerCase() === entry.name);
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
      const extension = factory.clientAccept(entry, context);
      out.push(extension);
      if ((extension.rsv & used) !== 0 || (extension.rsv & ~factory.rsv) !== 0) {
        throw new HandshakeError(
          "HANDSHAKE_EXTENSION_MISMATCH",
          `Extension ${entry.name} uses RSV bits its factory did not claim or another extension uses`,
        );
      }
      used |= extension.rsv;
    }
  } catch (err) {
    disposeExtensions(out);
    throw err;
  }
  return out;
}

/**
 * Server side: lets each installed factory (in install order) pick from the client's offers.
 * The response lists the agreed extensions in that order.
 *
 * @example
 * ```ts
 * import {
 *   formatExtensionHeader,
 *   negotiateServerExtensions,
 *   parseExtensionHeader,
 *   perMessageDeflate,
 * } from "@wirestream/ws/raw";
 *
 * const agreements = negotiateServerExtensions(
 *   [perMessageDeflate()],
 *   parseExtensionHeader("permessage-deflate; client_max_window_bits"),
 *   { maxMessageSize: 1 << 20 },
 * );
 * console.log(formatExtensionHeader(agreements.map((a) => a.response))); // "permessage-deflate"
 * for (const a of agreements) a.extension.dispose();
 * ```
 *
 * @param factories The installed factories.
 * @param offers The request's `Sec-WebSocket-Extensions` entries.
 * @param options What the session allows (passed to the factories).
 * @returns The response entries and the extensions, in the same order.
 */
export function negotiateServerExtensions(
  factories: readonly WebSocketExtensionFactory[],
  offers: readonly ExtensionOffer[],
  options?: ExtensionNegotiationOptions,
): ExtensionAgreement[] {
  const out: ExtensionAgreement[] = [];
  const context: ExtensionContext = { maxMessageSize: options?.maxMessageSize };
  try {
    for (const factory of factories) {
      const name = factory.name.toLowerCase();
      const mine = offers.filter((o) => o.name === name);
      if (mine.length === 0) continue;
      const agreement = factory.serverAccept(mine, context);
      if (!agreement) continue;
      out.push(agreement);
      if (agreement.response?.name !== name) {
        throw new TypeError(
          `Extension ${factory.name} answered as ${
            JSON.stringify(agreement.response?.name)
          }: the response must carry the factory's name`,
        );
      }
    }
  } catch (err) {
    disposeExtensions(out.map((a) => a.extension));
    throw err;
  }
  return out;
}

/**
 * The RSV bits a set of negotiated extensions may use: the decoder's `allowedRsv`, and (for a
 * compressing extension) its `compressedRsv`.
 *
 * @example
 * ```ts
 * import { extensionRsv } from "@wirestream/ws/raw";
 *
 * console.log(extensionRsv([])); // 0
 * ```
 *
 * @param extensions The negotiated extensions.
 * @returns The union of their bits.
 */
export function extensionRsv(extensions: readonly WebSocketExtension[]): number {
  let bits = 0;
  for (const ext of extensions) bits |= ext.rsv;
  return bits;
}

/**
 * Runs an outgoing data frame through the extensions in negotiated order. Returns the frame
 * itself when there are none, and a promise only when an extension answered with one.
 *
 * @example
 * ```ts
 * import { Frame, runOutgoingExtensions } from "@wirestream/ws/raw";
 *
 * const frame = Frame.text("hi");
 * console.log(runOutgoingExtensions([], frame) === frame); // true
 * ```
 *
 * @param extensions The negotiated extensions.
 * @param frame A data frame (whole message or fragment).
 * @param hints Per-message hints.
 * @returns The frame to write.
 */
export function runOutgoingExtensions(
  extensions: readonly WebSocketExtension[],
  frame: Frame,
  hints?: OutgoingHints,
): Frame | Promise<Frame> {
  for (let i = 0; i < extensions.length; i++) {
    const next = extensions[i]!.processOutgoing(frame, hints);
    if (next instanceof Promise) return outgoingAsync(extensions, next, i + 1, hints);
    frame = next;
  }
  return frame;
}

async function outgoingAsync(
  extensions: readonly WebSocketExtension[],
  pending: Promise<Frame>,
  from: number,
  hints: OutgoingHints | undefined,
): Promise<Frame> {
  let frame = await pending;
  for (let i = from; i < extensions.length; i++) {
    frame = await extensions[i]!.processOutgoing(frame, hints);
  }
  return frame;
}

/**
 * Runs an incoming data frame through the extensions in reverse negotiated order. Returns the
 * frame itself when there are none, and a promise only when an extension answered with one.
 *
 * @example
 * ```ts
 * import { Frame, runIncomingExtensions } from "@wirestream/ws/raw";
 *
 * const frame = Frame.binary(new Uint8Array([1, 2, 3]));
 * console.log(runIncomingExtensions([], frame) === frame); // true
 * ```
 *
 * @param extensions The negotiated extensions.
 * @param frame A data frame as received (whole message or fragment).
 * @returns The frame to deliver.
 * @throws {ProtocolError} When an extension finds the frame malformed (for example corrupt
 *   compressed data), with the close code to send.
 */
export function runIncomingExtensions(
  extensions: readonly WebSocketExtension[],
  frame: Frame,
): Frame | Promise<Frame> {
  for (let i = extensions.length - 1; i >= 0; i--) {
    const next = extensions[i]!.processIncoming(frame);
    if (next instanceof Promise) return incomingAsync(extensions, next, i - 1);
    frame = next;
  }
  return frame;
}

async function incomingAsync(
  extensions: readonly WebSocketExtension[],
  pending: Promise<Frame>,
  from: number,
): Promise<Frame> {
  let frame = await pending;
  for (let i = from; i >= 0; i--) frame = await extensions[i]!.processIncoming(frame);
  return frame;
}

/**
 * Disposes every extension once, even when one of them throws (the first error is rethrown
 * after all were disposed).
 *
 * @example
 * ```ts
 * import { disposeExtensions } from "@wirestream/ws/raw";
 *
 * disposeExtensions([]);
 * ```
 *
 * @param extensions The extensions to release.
 */
export function disposeExtensions(extensions: readonly WebSocketExtension[]): void {
  let failure: { error: unknown } | null = null;
  for (const ext of extensions) {
    try {
      ext.dispose();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
