/**
 * permessage-deflate's settings and agreed parameters (RFC 7692 §7.1): the extension token, the
 * window bounds, the negotiation settings an endpoint configures (and their check), the
 * parameters in force on a connection, and what they mean for each direction.
 *
 * @module
 */

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
 * import { checkDeflateNegotiationOptions } from "./deflate_params.ts";
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

/**
 * The two directions of a connection for one endpoint: what it compresses with, and what its
 * peer compresses with (so what it decompresses).
 *
 * @example
 * ```ts
 * import { deflateDirections } from "./deflate_params.ts";
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
