/**
 * permessage-deflate (RFC 7692), without the compressor: parameter negotiation for both roles
 * (§7.1), parameter validation, and the per-message frame rules (§6, §7.2: RSV1 on the first
 * frame of a compressed message only, control frames untouched, the decompressed size counted
 * across the fragments of a message).
 *
 * The DEFLATE byte transform itself is behind two small interfaces,
 * {@linkcode DeflateCompressor} and {@linkcode DeflateDecompressor}; the zlib-backed ones live in
 * the transport layer and `perMessageDeflate()` wires everything together.
 *
 * @module
 */

import { ConnectionClosedError, HandshakeError, ProtocolError } from "./errors.ts";
import { type Frame, makeFrame, RSV1 } from "./frame.ts";
import type { ExtensionOffer } from "./extension_header.ts";
import type { OutgoingHints, WebSocketExtension } from "./extension.ts";

/** The extension token. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** The smallest LZ77 window RFC 7692 allows, as a power of two. */
export const MIN_WINDOW_BITS = 8;
/** The largest (and default) LZ77 window, as a power of two. */
export const MAX_WINDOW_BITS = 15;

/**
 * The RFC 7692 §7.1 negotiation settings, as one endpoint configures them.
 *
 * On a client they shape the offer and say what answers are acceptable; on a server they say
 * what to ask of the client and what the server is willing to use.
 */
export interface DeflateNegotiationOptions {
  /**
   * Client: ask the server not to keep its compression context between messages (the server
   * must agree, or the connection fails). Server: never keep it, whatever the client asked.
   * @default {false}
   */
  serverNoContextTakeover?: boolean;
  /**
   * Client: do not keep the compression context between messages, and say so in the offer.
   * Server: require the client not to keep it (answered as `client_no_context_takeover`).
   * @default {false}
   */
  clientNoContextTakeover?: boolean;
  /**
   * The largest LZ77 window (8-15, as a power of two) the server may compress with. Client:
   * offered as `server_max_window_bits`; the server must answer with this value or less.
   * Server: the most it uses, whatever the client allows.
   * @default {15}
   */
  serverMaxWindowBits?: number;
  /**
   * The largest LZ77 window (8-15) the client may compress with.
   *
   * Client: `true` offers `client_max_window_bits` without a value (the server may pick one),
   * a number offers that limit, `false` leaves the parameter out (some servers choke on it).
   * Server: a number limits clients that announce support for the parameter; clients that did
   * not offer it keep a window of 15, since RFC 7692 forbids answering it to them. `true` and
   * `false` set no limit.
   * @default {true}
   */
  clientMaxWindowBits?: number | boolean;
}

/** What both endpoints agreed on: the parameters in force on one connection. */
export interface DeflateParameters {
  /** The server resets its compressor after every message. */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after every message. */
  readonly clientNoContextTakeover: boolean;
  /** The server's LZ77 window, 8-15. */
  readonly serverMaxWindowBits: number;
  /** The client's LZ77 window, 8-15. */
  readonly clientMaxWindowBits: number;
}

/** One direction of a connection as the compression code sees it. */
export interface DeflateDirection {
  /** The LZ77 window, 8-15 (the peer's agreed window when decompressing). */
  readonly windowBits: number;
  /** Whether the context is dropped after every message. */
  readonly noContextTakeover: boolean;
}

/**
 * The parameters of one `permessage-deflate` entry, as parsed from an offer or a response.
 * `clientMaxWindowBits` is `true` for the value-less form (allowed in offers only).
 */
export interface DeflateParamValues {
  /** `server_no_context_takeover` was present. */
  serverNoContextTakeover: boolean;
  /** `client_no_context_takeover` was present. */
  clientNoContextTakeover: boolean;
  /** The `server_max_window_bits` value, if present. */
  serverMaxWindowBits: number | undefined;
  /** The `client_max_window_bits` value, `true` when present without one. */
  clientMaxWindowBits: number | true | undefined;
}

function mismatch(message: string): HandshakeError {
  return new HandshakeError("HANDSHAKE_EXTENSION_MISMATCH", `permessage-deflate: ${message}`);
}

/** RFC 7692 §7.1.2: a decimal integer 8-15 with no leading zeros (so one or two digits). */
function parseWindowBits(name: string, value: string): number {
  if (!/^(?:[89]|1[0-5])$/.test(value)) {
    throw mismatch(`${name} must be an integer from 8 to 15, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Parses the parameters of a `permessage-deflate` offer (`"offer"`) or response
 * (`"response"`), per RFC 7692 §7.1: only the four known parameters, each at most once (the
 * header parser already refuses repeats), the no-context-takeover flags without a value, window
 * bits 8-15 without leading zeros, and a value-less `client_max_window_bits` only in an offer.
 *
 * @example
 * ```ts
 * import { parseDeflateParams, parseExtensionHeader } from "@wirestream/ws/raw";
 *
 * const [offer] = parseExtensionHeader("permessage-deflate; client_max_window_bits");
 * console.log(parseDeflateParams(offer!.params, "offer").clientMaxWindowBits); // true
 * ```
 *
 * @param params The entry's parameters.
 * @param source Whether they come from a client's offer or a server's response.
 * @returns The values.
 * @throws {HandshakeError} `HANDSHAKE_EXTENSION_MISMATCH` naming the bad parameter.
 */
export function parseDeflateParams(
  params: ReadonlyMap<string, string | true>,
  source: "offer" | "response",
): DeflateParamValues {
  const out: DeflateParamValues = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  for (const [name, value] of params) {
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== true) throw mismatch(`${name} takes no value`);
        if (name === "server_no_context_takeover") out.serverNoContextTakeover = true;
        else out.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        if (value === true) throw mismatch(`${name} needs a value`);
        out.serverMaxWindowBits = parseWindowBits(name, value);
        break;
      case "client_max_window_bits":
        if (value === true) {
          if (source === "response") throw mismatch(`${name} needs a value in a response`);
          out.clientMaxWindowBits = true;
        } else {
          out.clientMaxWindowBits = parseWindowBits(name, value);
        }
        break;
      default:
        throw mismatch(`unknown parameter ${name}`);
    }
  }
  return out;
}

function checkBits(name: string, value: unknown, allowBoolean: boolean): void {
  if (value === undefined) return;
  if (allowBoolean && typeof value === "boolean") return;
  if (typeof value !== "number") {
    throw new TypeError(
      `${name} must be ${allowBoolean ? "a boolean or " : ""}an integer from 8 to 15`,
    );
  }
  if (!Number.isInteger(value) || value < MIN_WINDOW_BITS || value > MAX_WINDOW_BITS) {
    throw new RangeError(`${name} must be an integer from 8 to 15, got ${value}`);
  }
}

function checkFlag(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean`);
  }
}

/**
 * Checks negotiation settings before they are used.
 *
 * @example
 * ```ts
 * import { checkDeflateNegotiationOptions } from "@wirestream/ws/raw";
 *
 * checkDeflateNegotiationOptions({ serverMaxWindowBits: 10 }); // fine
 * try {
 *   checkDeflateNegotiationOptions({ serverMaxWindowBits: 16 });
 * } catch (err) {
 *   console.log(err instanceof RangeError); // true
 * }
 * ```
 *
 * @param options The settings.
 * @throws {TypeError} When a setting has the wrong type.
 * @throws {RangeError} When window bits are outside 8-15.
 */
export function checkDeflateNegotiationOptions(options: DeflateNegotiationOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("permessage-deflate options must be an object");
  }
  checkFlag("serverNoContextTakeover", options.serverNoContextTakeover);
  checkFlag("clientNoContextTakeover", options.clientNoContextTakeover);
  checkBits("serverMaxWindowBits", options.serverMaxWindowBits, false);
  checkBits("clientMaxWindowBits", options.clientMaxWindowBits, true);
}

function entry(params: DeflateParamValues): ExtensionOffer {
  const map = new Map<string, string | true>();
  if (params.serverNoContextTakeover) map.set("server_no_context_takeover", true);
  if (params.clientNoContextTakeover) map.set("client_no_context_takeover", true);
  if (params.serverMaxWindowBits !== undefined) {
    map.set("server_max_window_bits", String(params.serverMaxWindowBits));
  }
  if (params.clientMaxWindowBits !== undefined) {
    map.set(
      "client_max_window_bits",
      params.clientMaxWindowBits === true ? true : String(params.clientMaxWindowBits),
    );
  }
  return { name: PERMESSAGE_DEFLATE, params: map };
}

/**
 * Client side: the `permessage-deflate` offer for the settings (RFC 7692 §7.1).
 *
 * @example Chromium's offer
 * ```ts
 * import { deflateClientOffer, formatExtensionHeader } from "@wirestream/ws/raw";
 *
 * console.log(formatExtensionHeader([deflateClientOffer({})]));
 * // "permessage-deflate; client_max_window_bits"
 * ```
 *
 * @param options The client's settings.
 * @returns The offer.
 */
export function deflateClientOffer(options: DeflateNegotiationOptions): ExtensionOffer {
  const client = options.clientMaxWindowBits ?? true;
  return entry({
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits: options.serverMaxWindowBits,
    clientMaxWindowBits: client === false ? undefined : client,
  });
}

/**
 * Client side: checks the server's `permessage-deflate` answer against the offer made with
 * the same settings, and returns what is in force (RFC 7692 §7.1):
 *
 * - `server_no_context_takeover` must be answered when it was offered; it may be answered
 *   unasked.
 * - `client_no_context_takeover` holds when offered or answered.
 * - `server_max_window_bits` must be answered, with the offered value or less, when offered.
 * - `client_max_window_bits` may only be answered when offered, with the offered value or
 *   less; an offer with a value that gets no answer keeps that value.
 *
 * @example
 * ```ts
 * import { acceptDeflateResponse, parseExtensionHeader } from "@wirestream/ws/raw";
 *
 * const [answer] = parseExtensionHeader("permessage-deflate; client_max_window_bits=10");
 * console.log(acceptDeflateResponse(answer!, {}).clientMaxWindowBits); // 10
 * ```
 *
 * @param response The server's entry.
 * @param options The client's settings (the ones the offer was made with).
 * @returns The agreed parameters.
 * @throws {HandshakeError} `HANDSHAKE_EXTENSION_MISMATCH` when the answer is malformed or
 *   does not fit the offer (the client must fail the connection).
 */
export function acceptDeflateResponse(
  response: ExtensionOffer,
  options: DeflateNegotiationOptions,
): DeflateParameters {
  if (response.name !== PERMESSAGE_DEFLATE) {
    throw mismatch(`expected a ${PERMESSAGE_DEFLATE} answer, got ${response.name}`);
  }
  const got = parseDeflateParams(response.params, "response");
  if (options.serverNoContextTakeover === true && !got.serverNoContextTakeover) {
    throw mismatch("the server ignored server_no_context_takeover");
  }
  let serverBits = got.serverMaxWindowBits ?? MAX_WINDOW_BITS;
  if (options.serverMaxWindowBits !== undefined) {
    if (got.serverMaxWindowBits === undefined) {
      throw mismatch("the server ignored server_max_window_bits");
    }
    if (got.serverMaxWindowBits > options.serverMaxWindowBits) {
      throw mismatch(
        `server_max_window_bits=${got.serverMaxWindowBits} is more than the ${options.serverMaxWindowBits} offered`,
      );
    }
    serverBits = got.serverMaxWindowBits;
  }
  const offered = options.clientMaxWindowBits ?? true;
  let clientBits = MAX_WINDOW_BITS;
  if (got.clientMaxWindowBits !== undefined) {
    // parseDeflateParams refuses the value-less form in a response.
    const answered = got.clientMaxWindowBits as number;
    if (offered === false) throw mismatch("client_max_window_bits was answered but not offered");
    if (typeof offered === "number" && answered > offered) {
      throw mismatch(`client_max_window_bits=${answered} is more than the ${offered} offered`);
    }
    clientBits = answered;
  } else if (typeof offered === "number") {
    clientBits = offered;
  }
  return {
    serverNoContextTakeover: got.serverNoContextTakeover,
    clientNoContextTakeover: got.clientNoContextTakeover ||
      options.clientNoContextTakeover === true,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}

/** A server's choice among `permessage-deflate` offers. */
export interface DeflateSelection {
  /** The response entry. */
  response: ExtensionOffer;
  /** What is in force. */
  parameters: DeflateParameters;
  /** The index of the answered offer among the offers given. */
  index: number;
}

/**
 * Server side: answers the first acceptable `permessage-deflate` offer (RFC 7692 §5.1, §7.1).
 * Offers with unknown, repeated-value or malformed parameters are declined and the next one is
 * tried. The answer:
 *
 * - has `server_no_context_takeover` when the client asked for it or the server is set to it;
 * - has `client_no_context_takeover` when the client announced it or the server requires it;
 * - has `server_max_window_bits` when the client limited it or the server is set below 15, with
 *   the smaller of the two;
 * - has `client_max_window_bits` only when the client offered it: the client's value, lowered
 *   to the server's limit (a value-less offer gets the server's limit, or no answer).
 *
 * Window bits 8 are honoured: zlib cannot compress with an 8-bit raw window, but its 9-bit
 * window never reaches back more than 250 bytes, so the compressor uses 9.
 *
 * @example
 * ```ts
 * import { formatExtensionHeader, parseExtensionHeader, selectDeflateOffer } from "@wirestream/ws/raw";
 *
 * const offers = parseExtensionHeader(
 *   "permessage-deflate; server_max_window_bits=99, permessage-deflate; client_max_window_bits",
 * );
 * const chosen = selectDeflateOffer(offers, { clientMaxWindowBits: 12 });
 * console.log(chosen?.index, formatExtensionHeader([chosen!.response]));
 * // 1 "permessage-deflate; client_max_window_bits=12"
 * ```
 *
 * @param offers The client's `permessage-deflate` offers, in order.
 * @param options The server's settings.
 * @returns The answer, or `null` when no offer is acceptable.
 */
export function selectDeflateOffer(
  offers: readonly ExtensionOffer[],
  options: DeflateNegotiationOptions,
): DeflateSelection | null {
  for (let index = 0; index < offers.length; index++) {
    const offer = offers[index]!;
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    let got: DeflateParamValues;
    try {
      got = parseDeflateParams(offer.params, "offer");
    } catch {
      continue; // RFC 7692 §7: decline an offer with bad parameters, try the next one
    }
    const serverNoContextTakeover = got.serverNoContextTakeover ||
      options.serverNoContextTakeover === true;
    const clientNoContextTakeover = got.clientNoContextTakeover ||
      options.clientNoContextTakeover === true;
    const serverLimit = options.serverMaxWindowBits;
    let serverBits: number | undefined = got.serverMaxWindowBits;
    if (serverLimit !== undefined && serverLimit < (serverBits ?? MAX_WINDOW_BITS)) {
      serverBits = serverLimit;
    }
    const clientLimit = typeof options.clientMaxWindowBits === "number"
      ? options.clientMaxWindowBits
      : undefined;
    let clientBits: number | undefined;
    if (got.clientMaxWindowBits === true) {
      clientBits = clientLimit;
    } else if (got.clientMaxWindowBits !== undefined) {
      clientBits = clientLimit !== undefined && clientLimit < got.clientMaxWindowBits
        ? clientLimit
        : got.clientMaxWindowBits;
    }
    return {
      index,
      response: entry({
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits: serverBits,
        clientMaxWindowBits: clientBits,
      }),
      parameters: {
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits: serverBits ?? MAX_WINDOW_BITS,
        clientMaxWindowBits: clientBits ?? MAX_WINDOW_BITS,
      },
    };
  }
  return null;
}

/**
 * The two directions of a connection for one endpoint: what it compresses with, and what its
 * peer compresses with (so what it decompresses).
 *
 * @example
 * ```ts
 * import { deflateDirections } from "@wirestream/ws/raw";
 *
 * const { outgoing, incoming } = deflateDirections({
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 10,
 *   clientMaxWindowBits: 15,
 * }, "server");
 * console.log(outgoing, incoming);
 * // { windowBits: 10, noContextTakeover: true } { windowBits: 15, noContextTakeover: false }
 * ```
 *
 * @param parameters The agreed parameters.
 * @param role Which end this is.
 * @returns The outgoing (own) and incoming (peer's) settings.
 */
export function deflateDirections(
  parameters: DeflateParameters,
  role: "client" | "server",
): { outgoing: DeflateDirection; incoming: DeflateDirection } {
  const server: DeflateDirection = {
    windowBits: parameters.serverMaxWindowBits,
    noContextTakeover: parameters.serverNoContextTakeover,
  };
  const client: DeflateDirection = {
    windowBits: parameters.clientMaxWindowBits,
    noContextTakeover: parameters.clientNoContextTakeover,
  };
  return role === "server"
    ? { outgoing: server, incoming: client }
    : { outgoing: client, incoming: server };
}

/**
 * A DEFLATE compressor for one direction of one connection (RFC 7692 §7.2.1). It keeps or drops
 * its LZ77 context between messages as negotiated.
 */
export interface DeflateCompressor {
  /**
   * Compresses one frame's payload and flushes to a byte boundary (`Z_SYNC_FLUSH`). On the last
   * frame of a message the trailing `00 00 ff ff` is removed (an empty message gives `00`).
   *
   * @param data The payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @returns The compressed bytes (owned by the caller).
   */
  compress(data: Uint8Array, first: boolean, last: boolean): Uint8Array;
  /** Releases the compressor. */
  dispose(): void;
}

/**
 * A DEFLATE decompressor for one direction of one connection (RFC 7692 §7.2.2).
 */
export interface DeflateDecompressor {
  /**
   * Decompresses one frame's payload; after the last frame of a message, inflates
   * `00 00 ff ff` too. Stops as soon as more than `limit` bytes would come out, without
   * producing them.
   *
   * @param data The compressed payload.
   * @param first Whether this is the first frame of the message.
   * @param last Whether this is the last frame of the message.
   * @param limit How many bytes may come out of this frame.
   * @returns The bytes (owned by the caller), or `null` when the limit was passed.
   * @throws {Error} When the data is not valid DEFLATE (the decompressor is then unusable).
   */
  decompress(data: Uint8Array, first: boolean, last: boolean, limit: number): Uint8Array | null;
  /** Releases the decompressor. */
  dispose(): void;
}

/** Per-connection behaviour of {@linkcode PerMessageDeflate} beyond the negotiated parameters. */
export interface PerMessageDeflateRuntime {
  /**
   * Messages whose first frame carries fewer bytes are sent uncompressed.
   * @default {0}
   */
  threshold?: number;
  /**
   * Called with the first frame of each outgoing message; `false` sends the message
   * uncompressed. Combined with `threshold` (both must allow compression).
   * @default {undefined}
   */
  compressIf?: (frame: Frame) => boolean;
  /**
   * The largest decompressed message, in bytes; a larger one fails with close code 1009.
   * @default {Infinity}
   */
  maxInflatedSize?: number;
}

const IDLE = 0;
const COMPRESSED = 1;
const PLAIN = 2;
const FAILED = 3;

/**
 * The `permessage-deflate` extension on one connection (a {@linkcode WebSocketExtension}):
 *
 * - Outgoing: the first frame of a message decides (hint `compress: false`, `threshold`,
 *   `compressIf`); a compressed message has RSV1 on its first frame only and every fragment
 *   compressed in order. A frame that already has RSV1 is taken as compressed by the caller and
 *   passes through untouched, with the rest of its message.
 * - Incoming: a message whose first frame has RSV1 is decompressed fragment by fragment (RSV1
 *   cleared); other messages pass through. The decompressed size is counted across the message
 *   and limited (1009); corrupt data fails with 1007 for text and 1002 for binary; RSV1 on a
 *   continuation frame fails with 1002.
 * - Control frames are never touched.
 *
 * The frames of one connection must come in order, one message at a time in each direction
 * (RFC 6455 forbids interleaving data messages); the compressor and decompressor answer
 * synchronously, so no other work can slip between two frames of a message.
 */
export class PerMessageDeflate implements WebSocketExtension {
  /** `permessage-deflate`. */
  readonly name: string = PERMESSAGE_DEFLATE;
  /** RSV1. */
  readonly rsv: number = RSV1;
  /** The response entry agreed in the handshake. */
  readonly params: ExtensionOffer;
  /** The agreed parameters. */
  readonly parameters: DeflateParameters;
  /** Which end this is. */
  readonly role: "client" | "server";
  readonly #compressor: DeflateCompressor;
  readonly #decompressor: DeflateDecompressor;
  readonly #threshold: number;
  readonly #compressIf: ((frame: Frame) => boolean) | undefined;
  readonly #maxInflatedSize: number;
  #out = IDLE;
  #in = IDLE;
  #inflated = 0;
  #error: ProtocolError | null = null;
  #disposed = false;

  /**
   * Creates the extension for one connection. `perMessageDeflate()` does this during the
   * handshake; call it directly only to plug in another compressor.
   *
   * @param init The role, the agreed entry and parameters, the compressor pair and the runtime
   *   settings.
   */
  constructor(
    init: {
      role: "client" | "server";
      response: ExtensionOffer;
      parameters: DeflateParameters;
      compressor: DeflateCompressor;
      decompressor: DeflateDecompressor;
    } & PerMessageDeflateRuntime,
  ) {
    this.role = init.role;
    this.params = init.response;
    this.parameters = init.parameters;
    this.#compressor = init.compressor;
    this.#decompressor = init.decompressor;
    this.#threshold = init.threshold ?? 0;
    this.#compressIf = init.compressIf;
    this.#maxInflatedSize = init.maxInflatedSize ?? Infinity;
  }

  /** The largest decompressed message accepted. */
  get maxInflatedSize(): number {
    return this.#maxInflatedSize;
  }

  #checkOpen(): void {
    if (this.#disposed) {
      throw new ConnectionClosedError("SESSION_CLOSED", "permessage-deflate was disposed");
    }
  }

  /**
   * Compresses an outgoing data frame when its message is to be compressed.
   *
   * @param frame A data frame (whole message or fragment).
   * @param hints `compress: false` sends the message uncompressed.
   * @returns The frame to write.
   * @throws {TypeError} When RSV1 is set on a frame that does not start a message.
   */
  processOutgoing(frame: Frame, hints?: OutgoingHints): Frame {
    this.#checkOpen();
    if (frame.isControl) return frame;
    if (this.#out === IDLE) {
      if (frame.rsv1) {
        if (!frame.fin) this.#out = PLAIN;
        return frame;
      }
      const compress = hints?.compress !== false && frame.data.length >= this.#threshold &&
        (this.#compressIf === undefined || this.#compressIf(frame));
      if (!compress) {
        if (!frame.fin) this.#out = PLAIN;
        return frame;
      }
      const data = this.#compressor.compress(frame.data, true, frame.fin);
      if (!frame.fin) this.#out = COMPRESSED;
      return makeFrame(frame.type, data, frame.fin, frame.rsvBits | RSV1);
    }
    if (frame.rsv1) {
      throw new TypeError("RSV1 may only be set on the first frame of a message");
    }
    if (frame.fin) {
      const state = this.#out;
      this.#out = IDLE;
      if (state === PLAIN) return frame;
      return makeFrame(
        frame.type,
        this.#compressor.compress(frame.data, false, true),
        true,
        frame.rsvBits,
      );
    }
    if (this.#out === PLAIN) return frame;
    return makeFrame(
      frame.type,
      this.#compressor.compress(frame.data, false, false),
      false,
      frame.rsvBits,
    );
  }

  /**
   * Decompresses an incoming data frame of a compressed message.
   *
   * @param frame A data frame as received.
   * @returns The frame to deliver (RSV1 cleared).
   * @throws {ProtocolError} 1009 over the size limit, 1007/1002 on corrupt data, 1002 on RSV1
   *   in a continuation frame.
   */
  processIncoming(frame: Frame): Frame {
    this.#checkOpen();
    if (this.#error) throw this.#error;
    if (frame.isControl) {
      if (frame.rsv1) throw this.#fail("PROTOCOL_ERROR", 1002, "RSV1 set on a control frame");
      return frame;
    }
    let first = false;
    if (this.#in === IDLE) {
      if (!frame.rsv1) {
        if (!frame.fin) this.#in = PLAIN;
        return frame;
      }
      first = true;
      this.#in = COMPRESSED;
      this.#inflated = 0;
    } else if (frame.rsv1) {
      throw this.#fail("PROTOCOL_ERROR", 1002, "RSV1 set on a continuation frame");
    } else if (this.#in === PLAIN) {
      if (frame.fin) this.#in = IDLE;
      return frame;
    }
    const limit = this.#maxInflatedSize - this.#inflated;
    let data: Uint8Array | null;
    try {
      data = this.#decompressor.decompress(frame.data, first, frame.fin, limit);
    } catch (cause) {
      const code = frame.type === "text" ? 1007 : 1002;
      throw this.#fail(
        "EXTENSION_ERROR",
        code,
        `Invalid compressed data: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
    if (data === null) {
      throw this.#fail(
        "MESSAGE_TOO_BIG",
        1009,
        `Decompressed message exceeds ${this.#maxInflatedSize} bytes`,
      );
    }
    this.#inflated += data.length;
    if (frame.fin) this.#in = IDLE;
    return makeFrame(frame.type, data, frame.fin, frame.rsvBits & ~RSV1);
  }

  #fail(
    code: "PROTOCOL_ERROR" | "EXTENSION_ERROR" | "MESSAGE_TOO_BIG",
    closeCode: number,
    message: string,
    cause?: unknown,
  ): ProtocolError {
    this.#in = FAILED;
    this.#error = new ProtocolError(code, closeCode, message, { cause });
    return this.#error;
  }

  /** Releases the compressor and decompressor. Later calls fail with `SESSION_CLOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      this.#compressor.dispose();
    } finally {
      this.#decompressor.dispose();
    }
  }
}
