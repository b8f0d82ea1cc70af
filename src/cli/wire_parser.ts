/**
 * Reading one direction of a WebSocket connection as it is on the wire, for the frame
 * inspector: first an HTTP head (the upgrade request or its response), then frames.
 *
 * Unlike the library's frame decoder, this parser judges nothing: a reserved opcode, a set RSV
 * bit, a masked server frame or a 200-byte ping are shown as they are (the session next to it
 * decides what is an error). It keeps only the start of each payload (all of a control frame's),
 * so a 1 GiB frame costs no more memory than a small one. Sans-I/O: bytes in, events out.
 *
 * @module
 */

/** One frame as it was on the wire. */
export interface WireFrame {
  /** The FIN bit. */
  readonly fin: boolean;
  /** RSV1, RSV2, RSV3 as a 3-bit number (RSV1 is 4). */
  readonly rsv: number;
  /** The opcode, 0-15. */
  readonly opcode: number;
  /** The 4-byte masking key, or `null` when the frame is not masked. */
  readonly mask: Uint8Array | null;
  /** The payload length from the header. */
  readonly length: number;
  /** The header's length in bytes (2 to 14). */
  readonly headerLength: number;
  /** The start of the payload, unmasked (a control frame's payload up to 125 bytes whole). */
  readonly payload: Uint8Array;
}

/** What the parser found. */
export type WireEvent =
  | { readonly kind: "head"; readonly head: string; readonly size: number }
  | { readonly kind: "frame"; readonly frame: WireFrame };

/** Options of {@linkcode WireParser}. */
export interface WireParserOptions {
  /**
   * Payload bytes kept per data frame (control frames keep at least 125).
   * @default {256}
   */
  keep?: number;
  /**
   * The largest HTTP head read; past it the direction is no longer parsed.
   * @default {65536}
   */
  maxHead?: number;
}

/** Where a parser is: reading a head, holding bytes after it, reading frames, or ignoring. */
export type WireParserState = "head" | "held" | "frames" | "opaque";

const CRLFCRLF = [13, 10, 13, 10];
const latin1 = new TextDecoder("latin1");

/**
 * Parses one direction of a connection: an HTTP head, then (after {@linkcode WireParser.upgrade})
 * frames.
 *
 * @example
 * ```ts
 * import { WireParser } from "./wire_parser.ts";
 *
 * const parser = new WireParser();
 * parser.push(new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
 * parser.upgrade();
 * const [event] = parser.push(new Uint8Array([0x81, 0x02, 0x68, 0x69]));
 * if (event?.kind === "frame") console.log(event.frame.opcode, event.frame.payload); // 1, "hi"
 * ```
 */
export class WireParser {
  #state: WireParserState = "head";
  readonly #keep: number;
  readonly #maxHead: number;
  /** Head bytes, or bytes held after the head. */
  #buffer: Uint8Array = new Uint8Array(0);
  /** Frame header bytes gathered so far. */
  readonly #header = new Uint8Array(14);
  #headerFill = 0;
  /** The frame whose payload is being read, if any. */
  #frame: { base: Omit<WireFrame, "payload">; kept: Uint8Array; seen: number } | null = null;

  /**
   * Creates a parser in the `head` state.
   *
   * @param options How much payload to keep, the largest head.
   */
  constructor(options?: WireParserOptions) {
    this.#keep = options?.keep ?? 256;
    this.#maxHead = options?.maxHead ?? 65536;
  }

  /** Where the parser is. */
  get state(): WireParserState {
    return this.#state;
  }

  /**
   * Takes bytes of this direction, in order.
   *
   * @param bytes The bytes (not kept: what is needed is copied).
   * @returns What they completed: a head, frames.
   */
  push(bytes: Uint8Array): WireEvent[] {
    const events: WireEvent[] = [];
    if (this.#state === "opaque" || bytes.length === 0) return events;
    if (this.#state === "frames") {
      this.#frames(bytes, events);
      return events;
    }
    this.#buffer = concat(this.#buffer, bytes);
    if (this.#state === "head") {
      const end = indexOf(this.#buffer, CRLFCRLF);
      if (end === -1) {
        if (this.#buffer.length > this.#maxHead) this.stop();
        return events;
      }
      const size = end + 4;
      events.push({ kind: "head", head: latin1.decode(this.#buffer.subarray(0, end)), size });
      this.#buffer = this.#buffer.slice(size);
      this.#state = "held";
    }
    if (this.#buffer.length > this.#maxHead) this.stop();
    return events;
  }

  /**
   * The upgrade succeeded: what follows the head (held bytes first) is frames.
   *
   * @returns The frames the held bytes completed.
   */
  upgrade(): WireEvent[] {
    const events: WireEvent[] = [];
    if (this.#state === "opaque" || this.#state === "frames") return events;
    this.#state = "frames";
    const held = this.#buffer;
    this.#buffer = new Uint8Array(0);
    this.#frames(held, events);
    return events;
  }

  /** Stops parsing (the upgrade was refused, or the bytes make no sense). */
  stop(): void {
    this.#state = "opaque";
    this.#buffer = new Uint8Array(0);
    this.#frame = null;
  }

  #frames(bytes: Uint8Array, events: WireEvent[]): void {
    let pos = 0;
    while (pos < bytes.length || (this.#frame !== null && this.#frame.base.length === 0)) {
      if (this.#frame === null) {
        const need = this.#headerNeed();
        const take = Math.min(need - this.#headerFill, bytes.length - pos);
        this.#header.set(bytes.subarray(pos, pos + take), this.#headerFill);
        this.#headerFill += take;
        pos += take;
        if (this.#headerFill < this.#headerNeed()) continue;
        this.#startFrame();
        continue;
      }
      const frame = this.#frame;
      const take = Math.min(frame.base.length - frame.seen, bytes.length - pos);
      const mask = frame.base.mask;
      const keepUpTo = Math.min(frame.kept.length - frame.seen, take);
      for (let i = 0; i < keepUpTo; i++) {
        const at = frame.seen + i;
        frame.kept[at] = mask === null ? bytes[pos + i]! : bytes[pos + i]! ^ mask[at & 3]!;
      }
      frame.seen += take;
      pos += take;
      if (frame.seen === frame.base.length) {
        events.push({ kind: "frame", frame: { ...frame.base, payload: frame.kept } });
        this.#frame = null;
      }
    }
  }

  /** How many header bytes the frame needs, as far as the bytes so far tell. */
  #headerNeed(): number {
    if (this.#headerFill < 2) return 2;
    const len7 = this.#header[1]! & 0x7f;
    const masked = (this.#header[1]! & 0x80) !== 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  #startFrame(): void {
    const h = this.#header;
    const len7 = h[1]! & 0x7f;
    let length = len7;
    let at = 2;
    if (len7 === 126) {
      length = (h[2]! << 8) | h[3]!;
      at = 4;
    } else if (len7 === 127) {
      length = 0;
      for (let i = 2; i < 10; i++) length = length * 256 + h[i]!;
      at = 10;
    }
    const masked = (h[1]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const keep = opcode >= 8 ? Math.max(this.#keep, 125) : this.#keep;
    this.#frame = {
      base: {
        fin: (h[0]! & 0x80) !== 0,
        rsv: (h[0]! >> 4) & 7,
        opcode,
        mask: masked ? h.slice(at, at + 4) : null,
        length,
        headerLength: at + (masked ? 4 : 0),
      },
      kept: new Uint8Array(Math.min(length, keep)),
      seen: 0,
    };
    this.#headerFill = 0;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
