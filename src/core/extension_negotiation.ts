/**
 * Negotiating extensions (RFC 6455 §9.1): checking the installed factories, the client's
 * offers, and turning the offers and answers into the extensions of one connection, on either
 * side.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import type { ExtensionOffer } from "./extension_header.ts";
import type {
  ExtensionAgreement,
  ExtensionContext,
  WebSocketExtension,
  WebSocketExtensionFactory,
} from "./extension.ts";
import { disposeExtensions } from "./extension_chain.ts";
import { isToken } from "./http1_syntax.ts";

/** Options of {@linkcode negotiateClientExtensions} and {@linkcode negotiateServerExtensions}. */
export interface ExtensionNegotiationOptions extends ExtensionContext {}

const BIT_NAMES: [number, string][] = [[0x40, "RSV1"], [0x20, "RSV2"], [0x10, "RSV3"]];

/**
 * Checks a list of factories at configuration time: each must be an object with a token name,
 * the four methods, and RSV bits only among 0x70; no two may claim the same RSV bit or name.
 * (Ktor's version of this check never records the bits it saw, so it never finds a conflict;
 * this one does.)
 *
 * @example Two extensions that both want RSV1 are refused
 * ```ts
 * import { perMessageDeflate, type WebSocketExtensionFactory } from "@wirestream/ws";
 * import { checkExtensionFactories } from "./extension_negotiation.ts";
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
