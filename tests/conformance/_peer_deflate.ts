/**
 * The conformance peer's permessage-deflate (RFC 7692), independent of the library's: offers and
 * answers parsed by hand, compression with `node:zlib` streams and `Z_SYNC_FLUSH`.
 *
 * Quirk handled here: zlib cannot make raw DEFLATE with an 8-bit window (it silently uses 9), so
 * when the peer may only use 8 bits it compresses with Huffman coding only (no back-references
 * at all), which every window size can inflate. The peer always inflates with a 15-bit window,
 * which accepts data made with any smaller one.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { concat } from "./_wire.ts";
import type { DeflateAccept } from "./_dsl.ts";

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** One `permessage-deflate` element of an extensions header: parameter name → value or true. */
export type DeflateParams = Map<string, string | true>;

/** Parses the `permessage-deflate` elements of a `Sec-WebSocket-Extensions` value. */
export function parseDeflateOffers(header: string | null): DeflateParams[] {
  if (!header) return [];
  const out: DeflateParams[] = [];
  for (const element of header.split(",")) {
    const [name, ...params] = element.split(";").map((s) => s.trim());
    if (name?.toLowerCase() !== "permessage-deflate") continue;
    const map: DeflateParams = new Map();
    for (const p of params) {
      if (p === "") continue;
      const eq = p.indexOf("=");
      if (eq < 0) map.set(p.toLowerCase(), true);
      else {map.set(
          p.slice(0, eq).trim().toLowerCase(),
          p.slice(eq + 1).trim().replace(/^"|"$/g, ""),
        );}
    }
    out.push(map);
  }
  return out;
}

/** What one side of a connection does: its compressor's window and context reset. */
export interface DeflateSide {
  /** The window the peer compresses with (8-15). */
  windowBits: number;
  /** The peer resets its compressor after every message. */
  noContextTakeover: boolean;
}

/**
 * The crafted server's answer to the first offer it can accept, per `accept`, or `null`.
 * Returns the response header value and what the peer (as server) must do when compressing.
 */
export function serverAnswer(
  offers: DeflateParams[],
  accept: DeflateAccept,
): { header: string; side: DeflateSide } | null {
  const offer = offers[0];
  if (!offer) return null;
  const parts = ["permessage-deflate"];
  let windowBits = 15;
  let noContext = false;
  if (offer.has("server_no_context_takeover")) {
    parts.push("server_no_context_takeover");
    noContext = true;
  }
  const smwb = offer.get("server_max_window_bits");
  if (typeof smwb === "string") {
    windowBits = Number(smwb);
    parts.push(`server_max_window_bits=${windowBits}`);
  }
  if (accept.requestNoContextTakeover) parts.push("client_no_context_takeover");
  if (accept.requestMaxWindowBits > 0 && offer.has("client_max_window_bits")) {
    parts.push(`client_max_window_bits=${accept.requestMaxWindowBits}`);
  }
  return { header: parts.join("; "), side: { windowBits, noContextTakeover: noContext } };
}

/**
 * What the crafted client must do after the server's answer to its offer, or an error text
 * when the answer is not one RFC 7692 allows for that offer.
 */
export function clientSide(
  offer: DeflateParams,
  response: DeflateParams,
): DeflateSide | string {
  let windowBits = 15;
  const cmwb = response.get("client_max_window_bits");
  if (cmwb !== undefined) {
    if (!offer.has("client_max_window_bits")) {
      return "client_max_window_bits answered but not offered";
    }
    if (cmwb === true) return "client_max_window_bits answered without a value";
    windowBits = Number(cmwb);
  }
  const smwb = response.get("server_max_window_bits");
  const offered = offer.get("server_max_window_bits");
  if (typeof offered === "string" && (typeof smwb !== "string" || Number(smwb) > Number(offered))) {
    return `server_max_window_bits=${offered} offered, answered ${smwb}`;
  }
  if (offer.has("server_no_context_takeover") && !response.has("server_no_context_takeover")) {
    return "server_no_context_takeover offered but not answered";
  }
  return {
    windowBits,
    noContextTakeover: response.has("client_no_context_takeover") ||
      offer.has("client_no_context_takeover"),
  };
}

/** A node:zlib raw stream driven one message at a time with a sync flush. */
class Zstream {
  readonly #z: zlib.DeflateRaw | zlib.InflateRaw;
  #chunks: Uint8Array[] = [];
  #error: Error | null = null;

  constructor(z: zlib.DeflateRaw | zlib.InflateRaw) {
    this.#z = z;
    z.on("data", (chunk: Uint8Array) => this.#chunks.push(chunk));
    z.on("error", (err: Error) => this.#error = err);
  }

  async run(input: Uint8Array): Promise<Uint8Array> {
    this.#z.write(input);
    await new Promise<void>((resolve) => this.#z.flush(zlib.constants.Z_SYNC_FLUSH, resolve));
    if (this.#error) throw this.#error;
    const out = concat(this.#chunks);
    this.#chunks = [];
    return out;
  }

  reset(): void {
    this.#z.reset();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#z.close(() => resolve()));
  }
}

/** The peer's compression state on one connection. */
export class PeerDeflate {
  readonly #deflater: Zstream;
  readonly #inflater: Zstream;
  readonly #side: DeflateSide;

  /**
   * @param side How the peer compresses (window, context reset).
   */
  constructor(side: DeflateSide) {
    this.#side = side;
    this.#deflater = new Zstream(zlib.createDeflateRaw({
      windowBits: Math.max(9, side.windowBits),
      strategy: side.windowBits < 9 ? zlib.constants.Z_HUFFMAN_ONLY : undefined,
    }));
    this.#inflater = new Zstream(zlib.createInflateRaw({ windowBits: 15 }));
  }

  /** Compresses one message (RFC 7692 §7.2.1: the trailing 00 00 ff ff removed). */
  async compress(message: Uint8Array): Promise<Uint8Array> {
    let out = await this.#deflater.run(message);
    if (this.#side.noContextTakeover) this.#deflater.reset();
    if (out.length >= 4 && out.subarray(out.length - 4).every((b, i) => b === TAIL[i])) {
      out = out.subarray(0, out.length - 4);
    }
    // An empty message compresses to nothing after the tail is cut; send one empty block.
    return out.length === 0 ? new Uint8Array([0x00]) : out;
  }

  /** Inflates one message's payload (all its frames joined). */
  decompress(payload: Uint8Array): Promise<Uint8Array> {
    return this.#inflater.run(concat([payload, TAIL]));
  }

  /** Releases both streams. */
  async close(): Promise<void> {
    await Promise.all([this.#deflater.close(), this.#inflater.close()]);
  }
}
