/**
 * One connection as the frame inspector sees it: both directions parsed (the handshake heads,
 * then frames), each frame with the time since the previous one, and the totals the final
 * summary gives: frames and bytes each way, ping round trips, the close frames. Sans-I/O: the
 * tap feeds it bytes and times.
 *
 * @module
 */

import { type WireEvent, type WireFrame, WireParser } from "./wire_parser.ts";

/** `out`: written by this end; `in`: read from the peer. */
export type Direction = "in" | "out";

/** One thing seen on the wire. */
export interface WireEntry {
  /** Which way it went. */
  readonly direction: Direction;
  /** When it was complete (ms, on the recorder's clock). */
  readonly at: number;
  /** Milliseconds since the previous frame either way (for the first frame: since the 101). */
  readonly sincePrevious: number;
  /** A head or a frame. */
  readonly event: WireEvent;
  /** For data frames: the message type they belong to (continuations included), if known. */
  readonly message?: "text" | "binary";
  /** Whether the message is compressed (RSV1 on its first frame, permessage-deflate agreed). */
  readonly compressed?: boolean;
  /** For a pong answering one of our pings: the round trip in ms. */
  readonly rtt?: number;
}

/** A close frame seen: its code (1005 when it had none) and reason. */
export interface SeenClose {
  /** The code; 1005 for an empty payload. */
  readonly code: number;
  /** The reason text. */
  readonly reason: string;
  /** Which way it went. */
  readonly direction: Direction;
}

/** Totals of one direction. */
export interface DirectionTotals {
  /** Frames. */
  frames: number;
  /** Bytes of frames (headers and payloads). */
  frameBytes: number;
  /** All bytes: the handshake head, frames, and anything not parsed as frames. */
  bytes: number;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes a close frame's payload for display: 1005 when empty, and a reason that may be cut.
 *
 * @example
 * ```ts
 * import { readClosePayload } from "./wire_recorder.ts";
 *
 * console.log(readClosePayload(new Uint8Array([0x03, 0xe8, 0x68, 0x69]))); // { code: 1000, reason: "hi" }
 * ```
 *
 * @param payload The (unmasked) payload.
 * @returns The code and reason.
 */
export function readClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length < 2) return { code: payload.length === 0 ? 1005 : -1, reason: "" };
  return { code: (payload[0]! << 8) | payload[1]!, reason: utf8.decode(payload.subarray(2)) };
}

/** Options of {@linkcode WireRecorder}. */
export interface WireRecorderOptions {
  /**
   * Called with every head and frame as it completes.
   * @default {undefined}
   */
  onEntry?: (entry: WireEntry) => void;
  /**
   * Payload bytes kept per data frame, for previews.
   * @default {256}
   */
  keep?: number;
}

/**
 * Records one connection. Feed it the bytes each way with their time; it parses the handshake,
 * switches both directions to frames once the response is a 101, and keeps the totals.
 *
 * @example
 * ```ts
 * import { WireRecorder } from "./wire_recorder.ts";
 *
 * const recorder = new WireRecorder("client");
 * const enc = new TextEncoder();
 * recorder.feed("out", enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
 * recorder.feed("in", enc.encode("HTTP/1.1 101 Switching Protocols\r\n\r\n"), 1);
 * recorder.feed("in", new Uint8Array([0x81, 0x02, 0x68, 0x69]), 5);
 * console.log(recorder.totals.in.frames, recorder.status); // 1 101
 * ```
 */
export class WireRecorder {
  /** `client` (we send the request) or `server` (we read it). */
  readonly role: "client" | "server";
  /** Totals each way. */
  readonly totals: Record<Direction, DirectionTotals> = {
    in: { frames: 0, frameBytes: 0, bytes: 0 },
    out: { frames: 0, frameBytes: 0, bytes: 0 },
  };
  /** Round trips of our pings that were answered, in ms, in order. */
  readonly rtts: number[] = [];
  /** Close frames seen, in order. */
  readonly closes: SeenClose[] = [];
  /** The response status, once the response head was read or written. */
  status: number | null = null;
  /** Whether permessage-deflate was agreed. */
  deflate = false;
  /** When the first byte was seen, and the last. */
  first: number | null = null;
  /** When the last byte was seen. */
  last: number | null = null;
  /** Pings we sent and have no pong for: payload (hex) and time. */
  readonly #pings: { key: string; at: number }[] = [];
  readonly #parsers: Record<Direction, WireParser>;
  readonly #onEntry: ((entry: WireEntry) => void) | undefined;
  /** The time of the previous frame (or of the 101). */
  #previous: number | null = null;
  /** The data message in progress each way: its type and whether it is compressed. */
  readonly #message: Record<Direction, { type: "text" | "binary"; compressed: boolean } | null> = {
    in: null,
    out: null,
  };

  /**
   * Creates a recorder.
   *
   * @param role Which end of the connection this is.
   * @param options The entry callback and the preview size.
   */
  constructor(role: "client" | "server", options?: WireRecorderOptions) {
    this.role = role;
    this.#onEntry = options?.onEntry;
    const keep = options?.keep;
    this.#parsers = { in: new WireParser({ keep }), out: new WireParser({ keep }) };
  }

  /** Pings sent and not answered (yet). */
  get unansweredPings(): number {
    return this.#pings.length;
  }

  /**
   * Takes bytes that went one way.
   *
   * @param direction Which way.
   * @param bytes The bytes (read synchronously, not kept).
   * @param at When (ms).
   */
  feed(direction: Direction, bytes: Uint8Array, at: number): void {
    if (bytes.length === 0) return;
    this.first ??= at;
    this.last = at;
    this.totals[direction].bytes += bytes.length;
    for (const event of this.#parsers[direction].push(bytes)) this.#record(direction, event, at);
  }

  #record(direction: Direction, event: WireEvent, at: number): void {
    if (event.kind === "head") {
      this.#onEntry?.({ direction, at, sincePrevious: 0, event });
      if (!isResponse(this.role, direction)) return;
      this.status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(event.head)?.[1] ?? 0);
      if (this.status === 101) {
        this.deflate = /^sec-websocket-extensions:.*permessage-deflate/im.test(event.head);
        this.#previous = at;
        const other: Direction = direction === "in" ? "out" : "in";
        for (const d of [other, direction]) {
          for (const e of this.#parsers[d].upgrade()) this.#record(d, e, at);
        }
      } else {
        this.#parsers.in.stop();
        this.#parsers.out.stop();
      }
      return;
    }
    const frame = event.frame;
    const totals = this.totals[direction];
    totals.frames++;
    totals.frameBytes += frame.headerLength + frame.length;
    const sincePrevious = this.#previous === null ? 0 : at - this.#previous;
    this.#previous = at;
    const entry: {
      -readonly [K in keyof WireEntry]: WireEntry[K];
    } = { direction, at, sincePrevious, event };
    this.#track(direction, frame, entry);
    this.#onEntry?.(entry);
  }

  /** Message types, pings and pongs, close frames. */
  #track(
    direction: Direction,
    frame: WireFrame,
    entry: { message?: "text" | "binary"; compressed?: boolean; rtt?: number; at: number },
  ): void {
    const op = frame.opcode;
    if (op === 1 || op === 2) {
      const current = {
        type: op === 1 ? "text" as const : "binary" as const,
        compressed: this.deflate && (frame.rsv & 4) !== 0,
      };
      this.#message[direction] = frame.fin ? null : current;
      entry.message = current.type;
      entry.compressed = current.compressed;
    } else if (op === 0) {
      const current = this.#message[direction];
      if (current !== null) {
        entry.message = current.type;
        entry.compressed = current.compressed;
      }
      if (frame.fin) this.#message[direction] = null;
    } else if (op === 8) {
      this.closes.push({ ...readClosePayload(frame.payload), direction });
    } else if (op === 9 && direction === "out") {
      this.#pings.push({ key: frame.payload.toHex(), at: entry.at });
    } else if (op === 10 && direction === "in") {
      const key = frame.payload.toHex();
      const i = this.#pings.findIndex((p) => p.key === key);
      if (i !== -1) {
        const rtt = entry.at - this.#pings[i]!.at;
        this.#pings.splice(i, 1);
        this.rtts.push(rtt);
        entry.rtt = rtt;
      }
    }
  }
}

/** Whether heads going `direction` are responses for this role. */
function isResponse(role: "client" | "server", direction: Direction): boolean {
  return role === "client" ? direction === "in" : direction === "out";
}
