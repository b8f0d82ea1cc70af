/**
 * `perMessageDeflate()`: the permessage-deflate extension (RFC 7692) for clients and servers,
 * and the helpers raw sessions use to inflate (and deflate) frames themselves.
 *
 * @module
 */

import type {
  ExtensionAgreement,
  ExtensionContext,
  OutgoingHints,
  WebSocketExtensionFactory,
} from "../core/extension.ts";
import type { ExtensionOffer } from "../core/extension_header.ts";
import type { Frame } from "../core/frame.ts";
import { RSV1 } from "../core/frame.ts";
import {
  acceptDeflateResponse,
  deflateClientOffer,
  selectDeflateOffer,
} from "../core/deflate_negotiation.ts";
import {
  checkDeflateNegotiationOptions,
  deflateDirections,
  type DeflateNegotiationOptions,
  type DeflateParameters,
  PERMESSAGE_DEFLATE,
} from "../core/deflate_params.ts";
import { PerMessageDeflate } from "../core/permessage_deflate.ts";
import { checkInt, ZlibCompressor, ZlibDecompressor } from "../transport/deflate.ts";
import { checkFunction } from "./options.ts";

/** Options of {@linkcode perMessageDeflate}: the RFC 7692 parameters and zlib's knobs. */
export interface PerMessageDeflateOptions extends DeflateNegotiationOptions {
  /**
   * zlib compression level: 0 (none) to 9 (smallest), -1 for zlib's default (6).
   * @default {-1}
   */
  level?: number;
  /**
   * zlib memLevel, 1-9: memory for the match finder and the pending output. With Deno's zlib
   * the hash table has a fixed size, so lowering it saves little memory (see the table below).
   * @default {8}
   */
  memLevel?: number;
  /**
   * Messages whose first frame carries fewer bytes are sent uncompressed (Ktor's
   * `compressIfBiggerThan`).
   * @default {0}
   */
  threshold?: number;
  /**
   * Called with the first frame of each outgoing message; `false` sends the message
   * uncompressed. Both this and `threshold` must allow compression.
   * @default {undefined}
   */
  compressIf?: (frame: Frame) => boolean;
  /**
   * The largest decompressed message, in bytes. Inflation stops there (and at the session's own
   * message limit, whichever is smaller) and the session closes with 1009, so a small
   * "decompression bomb" cannot allocate its whole output.
   * @default {67108864}
   */
  maxInflatedSize?: number;
}

/** The default of {@linkcode PerMessageDeflateOptions.maxInflatedSize}: 64 MiB. */
export const DEFAULT_MAX_INFLATED_SIZE: number = 64 * 1024 * 1024;

/**
 * The permessage-deflate extension factory (RFC 7692), for clients and servers. Install it in a
 * client's or a server's `extensions`; every connection gets its own compressor pair.
 *
 * A client offers `permessage-deflate` with the configured parameters (by default
 * `permessage-deflate; client_max_window_bits`, as browsers do) and checks the answer; a server
 * answers the first acceptable offer (see `selectDeflateOffer`). Every parameter of RFC 7692
 * §7.1 is negotiated, window bits 8-15 included.
 *
 * Compression is zlib raw deflate with `Z_SYNC_FLUSH`, synchronous, context kept across
 * messages unless negotiated off; RSV1 only on the first frame of a message; `compress: false`
 * on a send skips compression for that message.
 *
 * Memory per idle connection endpoint (Deno 2.9.6, x86-64: resident memory growth over 1,000
 * connections whose two ends each sent one 1 KiB message, divided by 2,000 endpoints; level 6):
 *
 * | window bits | memLevel | context takeover | no context takeover |
 * | ----------- | -------- | ---------------- | ------------------- |
 * | 15          | 8        | 235 KiB          | 5 KiB               |
 * | 12          | 8        | 179 KiB          | 4 KiB               |
 * | 10          | 8        | 166 KiB          | 5 KiB               |
 * | 8           | 8        | 164 KiB          | 5 KiB               |
 * | 15          | 5        | 234 KiB          | 5 KiB               |
 * | 10          | 5        | 163 KiB          | 4 KiB               |
 *
 * Nearly all of it is the compressor: Deno's zlib keeps a hash table of fixed size, so memLevel
 * saves little; a decompressor with context takeover costs 17-23 KiB. Without context takeover
 * no zlib state outlives a message (whole-message frames share one zlib stream per setting
 * across all connections), and what remains is JavaScript objects. So a server that mostly
 * receives can set `serverNoContextTakeover: true` and keep only the decompressor. See
 * docs/permessage-deflate.md and `bench/deflate_memory.ts`.
 *
 * @example A client that compresses (needs a server)
 * ```ts ignore
 * import { createClient, perMessageDeflate } from "@wirestream/ws";
 *
 * const client = createClient({ extensions: [perMessageDeflate({ threshold: 256 })] });
 * ```
 *
 * @example Negotiation by hand: a server answering Chromium's offer
 * ```ts
 * import {
 *   formatExtensionHeader,
 *   negotiateServerExtensions,
 *   parseExtensionHeader,
 *   perMessageDeflate,
 * } from "@wirestream/ws/raw";
 *
 * const deflate = perMessageDeflate({ serverMaxWindowBits: 12, clientMaxWindowBits: 12 });
 * const [agreement] = negotiateServerExtensions(
 *   [deflate],
 *   parseExtensionHeader("permessage-deflate; client_max_window_bits"),
 * );
 * console.log(formatExtensionHeader([agreement!.response]));
 * // "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
 * agreement!.extension.dispose();
 * ```
 *
 * @param options The RFC 7692 parameters, zlib settings and limits.
 * @returns The factory.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When an option is out of range.
 */
export function perMessageDeflate(options?: PerMessageDeflateOptions): PerMessageDeflateFactory {
  return new PerMessageDeflateFactory(options);
}

/**
 * The factory {@linkcode perMessageDeflate} returns. Its settings are checked once, when it is
 * made.
 */
export class PerMessageDeflateFactory implements WebSocketExtensionFactory {
  /** `permessage-deflate`. */
  readonly name: string = PERMESSAGE_DEFLATE;
  /** RSV1 (0x40). */
  readonly rsv: number = RSV1;
  /** The settings, with defaults filled in. */
  readonly options: Readonly<PerMessageDeflateOptions>;

  /**
   * Checks the settings. Prefer {@linkcode perMessageDeflate}.
   *
   * @param options The settings.
   */
  constructor(options?: PerMessageDeflateOptions) {
    const o = options ?? {};
    checkDeflateNegotiationOptions(o);
    const level = o.level ?? -1;
    const memLevel = o.memLevel ?? 8;
    const threshold = o.threshold ?? 0;
    const maxInflatedSize = o.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE;
    checkInt("level", level, -1, 9);
    checkInt("memLevel", memLevel, 1, 9);
    if (typeof threshold !== "number" || !(threshold >= 0)) {
      throw new RangeError(`threshold must be a number >= 0, got ${threshold}`);
    }
    if (typeof maxInflatedSize !== "number" || !(maxInflatedSize >= 0)) {
      throw new RangeError(`maxInflatedSize must be a number >= 0, got ${maxInflatedSize}`);
    }
    checkFunction("compressIf", o.compressIf);
    this.options = Object.freeze({ ...o, level, memLevel, threshold, maxInflatedSize });
  }

  /**
   * Client: the offer.
   *
   * @returns One `permessage-deflate` offer.
   */
  clientOffers(): ExtensionOffer[] {
    return [deflateClientOffer(this.options)];
  }

  /**
   * Client: checks the server's answer and makes the extension.
   *
   * @param response The server's `permessage-deflate` entry.
   * @param context The session's limits.
   * @returns The extension.
   * @throws {HandshakeError} When the answer does not fit the offer.
   */
  clientAccept(response: ExtensionOffer, context?: ExtensionContext): PerMessageDeflate {
    const parameters = acceptDeflateResponse(response, this.options);
    return this.#make("client", response, parameters, context);
  }

  /**
   * Server: answers the first acceptable offer.
   *
   * @param offers The client's `permessage-deflate` offers.
   * @param context The session's limits.
   * @returns The agreement, or `null` when no offer is acceptable.
   */
  serverAccept(
    offers: readonly ExtensionOffer[],
    context?: ExtensionContext,
  ): ExtensionAgreement | null {
    const chosen = selectDeflateOffer(offers, this.options);
    if (chosen === null) return null;
    return {
      response: chosen.response,
      extension: this.#make("server", chosen.response, chosen.parameters, context),
    };
  }

  #make(
    role: "client" | "server",
    response: ExtensionOffer,
    parameters: DeflateParameters,
    context: ExtensionContext | undefined,
  ): PerMessageDeflate {
    const o = this.options;
    const { outgoing, incoming } = deflateDirections(parameters, role);
    return new PerMessageDeflate({
      role,
      response,
      parameters,
      compressor: new ZlibCompressor({
        windowBits: outgoing.windowBits,
        noContextTakeover: outgoing.noContextTakeover,
        level: o.level,
        memLevel: o.memLevel,
      }),
      decompressor: new ZlibDecompressor({
        windowBits: incoming.windowBits,
        noContextTakeover: incoming.noContextTakeover,
      }),
      threshold: o.threshold,
      compressIf: o.compressIf,
      maxInflatedSize: Math.min(o.maxInflatedSize!, context?.maxMessageSize ?? Infinity),
    });
  }
}

/** Something that holds negotiated extensions: a session, or the list itself. */
type ExtensionHolder = { readonly extensions: readonly unknown[] } | readonly unknown[];

function findDeflate(source: ExtensionHolder): PerMessageDeflate | undefined {
  const list = Array.isArray(source) ? source : (source as { extensions: unknown[] }).extensions;
  if (!Array.isArray(list)) throw new TypeError("Expected a session or a list of extensions");
  for (const ext of list) if (ext instanceof PerMessageDeflate) return ext;
  return undefined;
}

/**
 * Inflates a frame a raw session received on a connection where permessage-deflate was
 * negotiated (a raw route with `negotiateExtensions`, whose frames arrive as sent: compressed
 * messages with RSV1 on their first frame). Call it for every data frame, in order (fragments
 * of a compressed message carry no RSV1 of their own, so the extension follows the message);
 * frames of uncompressed messages and control frames come back unchanged, and so does every
 * frame when permessage-deflate was not negotiated.
 *
 * The text of an inflated text message has not been checked as UTF-8 yet (the raw session could
 * not check compressed bytes): check it yourself (`isValidUtf8`) if it matters.
 *
 * @example In a raw route (needs a server)
 * ```ts ignore
 * import { inflateFrame } from "@wirestream/ws/raw";
 *
 * server.webSocketRaw("/raw", async (session) => {
 *   for await (const received of session.incoming) {
 *     const frame = inflateFrame(received, session);
 *     console.log(frame.type, frame.fin, frame.data.length);
 *   }
 * }, { negotiateExtensions: true });
 * ```
 *
 * @example Without a network: RFC 7692 §7.2.3.1
 * ```ts
 * import { Frame, inflateFrame, negotiateClientExtensions, parseExtensionHeader, perMessageDeflate, readText } from "@wirestream/ws/raw";
 *
 * const extensions = negotiateClientExtensions(
 *   [perMessageDeflate()],
 *   parseExtensionHeader("permessage-deflate"),
 * );
 * const compressed = Frame.text(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), {
 *   rsv1: true,
 * });
 * console.log(readText(inflateFrame(compressed, extensions))); // "Hello"
 * for (const ext of extensions) ext.dispose();
 * ```
 *
 * @param frame A received frame.
 * @param source The raw session (or its `extensions`).
 * @returns The frame with its payload inflated and RSV1 cleared.
 * @throws {ProtocolError} 1009 when the message inflates past the limit, 1007 (text) or 1002
 *   (binary) on corrupt data, 1002 for RSV1 on a continuation frame; close the session with
 *   `err.closeCode`.
 */
export function inflateFrame(
  frame: Frame,
  source: { readonly extensions: readonly unknown[] } | readonly unknown[],
): Frame {
  const ext = findDeflate(source);
  if (ext === undefined || frame.isControl) return frame;
  return ext.processIncoming(frame);
}

/**
 * Compresses a data frame for a raw session where permessage-deflate was negotiated: the first
 * frame of a compressed message gets RSV1, every fragment is compressed in order. Call it for
 * every outgoing data frame, in order. Control frames come back unchanged, and so does every
 * frame when permessage-deflate was not negotiated or `hints.compress` is `false` for the
 * message.
 *
 * @example
 * ```ts
 * import { deflateFrame, Frame, negotiateClientExtensions, parseExtensionHeader, perMessageDeflate } from "@wirestream/ws/raw";
 *
 * const extensions = negotiateClientExtensions(
 *   [perMessageDeflate()],
 *   parseExtensionHeader("permessage-deflate"),
 * );
 * const frame = deflateFrame(Frame.text("Hello"), extensions);
 * console.log(frame.rsv1, frame.data); // true Uint8Array(7) [242, 72, 205, 201, 201, 7, 0]
 * for (const ext of extensions) ext.dispose();
 * ```
 *
 * @param frame A frame to send.
 * @param source The raw session (or its `extensions`).
 * @param hints `compress: false` to send this message uncompressed.
 * @returns The frame to write.
 */
export function deflateFrame(
  frame: Frame,
  source: { readonly extensions: readonly unknown[] } | readonly unknown[],
  hints?: OutgoingHints,
): Frame {
  const ext = findDeflate(source);
  if (ext === undefined || frame.isControl) return frame;
  return ext.processOutgoing(frame, hints);
}

/**
 * Whether a value is the permessage-deflate extension of a connection.
 *
 * @example
 * ```ts
 * import { isPerMessageDeflate } from "@wirestream/ws/raw";
 *
 * console.log(isPerMessageDeflate({})); // false
 * ```
 *
 * @param value A negotiated extension.
 * @returns Whether it is permessage-deflate.
 */
export function isPerMessageDeflate(
  value: unknown,
): value is PerMessageDeflate {
  return value instanceof PerMessageDeflate;
}
