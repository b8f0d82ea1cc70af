/**
 * permessage-deflate negotiation (RFC 7692 §5.1, §7.1): parsing the parameters of an offer or a
 * response, the client's offer, the client's check of the server's answer, and the server's
 * choice among the client's offers.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import type { ExtensionOffer } from "./extension_header.ts";
import {
  type DeflateNegotiationOptions,
  type DeflateParameters,
  MAX_WINDOW_BITS,
  PERMESSAGE_DEFLATE,
} from "./deflate_params.ts";

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
 * import { parseExtensionHeader } from "@wirestream/ws/raw";
 * import { parseDeflateParams } from "./deflate_negotiation.ts";
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
 * import { formatExtensionHeader } from "@wirestream/ws/raw";
 * import { deflateClientOffer } from "./deflate_negotiation.ts";
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
 * import { parseExtensionHeader } from "@wirestream/ws/raw";
 * import { acceptDeflateResponse } from "./deflate_negotiation.ts";
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
 * import { formatExtensionHeader, parseExtensionHeader } from "@wirestream/ws/raw";
 * import { selectDeflateOffer } from "./deflate_negotiation.ts";
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
