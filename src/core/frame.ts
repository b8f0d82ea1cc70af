/**
 * Typed WebSocket frames (RFC 6455 §5).
 *
 * @module
 */

import { type CloseReason, encodeClosePayload, parseClosePayload } from "./close.ts";
import { utf8Encoder } from "./_text.ts";

/** The kinds of frame. Continuation frames are typed as the message they continue. */
export type FrameType = "text" | "binary" | "close" | "ping" | "pong";

/**
 * Wire opcodes (RFC 6455 §5.2).
 *
 * @example
 * ```ts
 * import { Opcode } from "@wirestream/ws/raw";
 *
 * console.log(Opcode.PING); // 9
 * ```
 */
export const Opcode = {
  /** 0x0: continues a fragmented text or binary message. */
  CONTINUATION: 0x0,
  /** 0x1: text (UTF-8). */
  TEXT: 0x1,
  /** 0x2: binary. */
  BINARY: 0x2,
  /** 0x8: close. */
  CLOSE: 0x8,
  /** 0x9: ping. */
  PING: 0x9,
  /** 0xA: pong. */
  PONG: 0xa,
} as const;

/** The largest control frame payload (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Bit flags for the RSV bits as they sit in the first header byte. */
export const RSV1 = 0x40;
/** RSV2 flag. */
export const RSV2 = 0x20;
/** RSV3 flag. */
export const RSV3 = 0x10;

/** Options of the frame factories. */
export interface FrameOptions {
  /**
   * Whether this is the final fragment of a message.
   * @default {true}
   */
  fin?: boolean;
  /**
   * RSV1 (used by permessage-deflate).
   * @default {false}
   */
  rsv1?: boolean;
  /**
   * RSV2.
   * @default {false}
   */
  rsv2?: boolean;
  /**
   * RSV3.
   * @default {false}
   */
  rsv3?: boolean;
}

const OPCODES: Record<FrameType, number> = {
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
};

const EMPTY = new Uint8Array(0);

/**
 * One WebSocket frame. Fragments of a message keep the message's type (`text` or `binary`); the
 * `fin` flag marks the last one.
 *
 * Frames are immutable by convention: encoders never write into `data`.
 *
 * @example Build frames with the factories
 * ```ts
 * import { Frame } from "@wirestream/ws";
 *
 * const hello = Frame.text("hello");
 * const part = Frame.binary(new Uint8Array([1, 2, 3]), { fin: false });
 * console.log(hello.type, hello.fin, part.fin); // text true false
 * ```
 */
export class Frame {
  /** The frame's type. */
  readonly type: FrameType;
  /** Whether this is the final fragment. */
  readonly fin: boolean;
  /** RSV1 bit. */
  readonly rsv1: boolean;
  /** RSV2 bit. */
  readonly rsv2: boolean;
  /** RSV3 bit. */
  readonly rsv3: boolean;
  /** The (unmasked) payload. */
  readonly data: Uint8Array;

  /**
   * Creates a frame. Prefer the factories ({@linkcode Frame.text} and friends).
   *
   * @param type The frame type.
   * @param data The payload.
   * @param options `fin` and the RSV bits.
   * @throws {RangeError} When a control frame is larger than 125 bytes or not final.
   * @throws {TypeError} When the type or data is of the wrong kind.
   */
  constructor(type: FrameType, data: Uint8Array, options?: FrameOptions) {
    if (OPCODES[type] === undefined) throw new TypeError(`Unknown frame type: ${type}`);
    if (!(data instanceof Uint8Array)) throw new TypeError("Frame data must be a Uint8Array");
    this.type = type;
    this.data = data;
    this.fin = options?.fin ?? true;
    this.rsv1 = options?.rsv1 ?? false;
    this.rsv2 = options?.rsv2 ?? false;
    this.rsv3 = options?.rsv3 ?? false;
    if (OPCODES[type] >= 8) {
      if (data.length > MAX_CONTROL_PAYLOAD) {
        throw new RangeError(
          `Control frames must not exceed ${MAX_CONTROL_PAYLOAD} bytes per RFC 6455, but ${type} frame has ${data.length} bytes`,
        );
      }
      if (!this.fin) throw new RangeError(`Control frames must not be fragmented (${type})`);
    }
  }

  /** The wire opcode of the frame's type (never 0: continuations are decided by the encoder). */
  get opcode(): number {
    return OPCODES[this.type];
  }

  /** Whether this is a control frame (close, ping, pong). */
  get isControl(): boolean {
    return OPCODES[this.type] >= 8;
  }

  /** The RSV bits as they sit in the first header byte. */
  get rsvBits(): number {
    return (this.rsv1 ? RSV1 : 0) | (this.rsv2 ? RSV2 : 0) | (this.rsv3 ? RSV3 : 0);
  }

  /**
   * A text frame. A string is UTF-8 encoded; bytes are taken as they are.
   *
   * @param text The text or its UTF-8 bytes.
   * @param options `fin` and the RSV bits.
   * @returns The frame.
   */
  static text(text: string | Uint8Array, options?: FrameOptions): Frame {
    return new Frame("text", typeof text === "string" ? utf8Encoder.encode(text) : text, options);
  }

  /**
   * A binary frame.
   *
   * @param data The payload.
   * @param options `fin` and the RSV bits.
   * @returns The frame.
   */
  static binary(data: Uint8Array, options?: FrameOptions): Frame {
    return new Frame("binary", data, options);
  }

  /**
   * A close frame. With no reason the payload is empty.
   *
   * @param reason The close code and message.
   * @returns The frame.
   * @throws {RangeError} When the code may not be sent (1005, 1006, 1015, …).
   */
  static close(reason?: CloseReason | null): Frame {
    return new Frame("close", encodeClosePayload(reason ?? null));
  }

  /**
   * A ping frame.
   *
   * @param data At most 125 bytes of payload.
   * @returns The frame.
   */
  static ping(data: Uint8Array = EMPTY): Frame {
    return new Frame("ping", data);
  }

  /**
   * A pong frame.
   *
   * @param data At most 125 bytes of payload.
   * @returns The frame.
   */
  static pong(data: Uint8Array = EMPTY): Frame {
    return new Frame("pong", data);
  }

  /**
   * A deep copy of the frame (the data is copied; fin and RSV bits kept).
   *
   * @returns The copy.
   */
  clone(): Frame {
    return new Frame(this.type, this.data.slice(), this);
  }

  /** `Frame TEXT (fin=true, buffer len = 5)`, as Ktor prints it. */
  toString(): string {
    return `Frame ${this.type.toUpperCase()} (fin=${this.fin}, buffer len = ${this.data.length})`;
  }
}

/**
 * The options of every fin/RSV combination, made once: the decoder builds its frames with the
 * constructor (every frame then has the same shape, which keeps the code reading frames fast)
 * without an options object per frame. Indexed by `fin * 8 + (rsvBits >> 4)`.
 */
const FRAME_OPTIONS: readonly FrameOptions[] = Array.from({ length: 16 }, (_, i) =>
  Object.freeze({
    fin: i >= 8,
    rsv1: (i & 4) !== 0,
    rsv2: (i & 2) !== 0,
    rsv3: (i & 1) !== 0,
  }));

/** @internal Frame construction for the decoder, after it has validated everything. */
export function makeFrame(
  type: FrameType,
  data: Uint8Array,
  fin: boolean,
  rsvBits: number,
): Frame {
  return new Frame(type, data, FRAME_OPTIONS[(fin ? 8 : 0) + ((rsvBits >> 4) & 7)]);
}

/**
 * The text of a complete (final) text frame.
 *
 * @example
 * ```ts
 * import { Frame, readText } from "@wirestream/ws";
 *
 * console.log(readText(Frame.text("hi"))); // "hi"
 * ```
 *
 * @param frame A text frame with `fin` set.
 * @returns The decoded text (invalid sequences become U+FFFD; received frames are validated).
 * @throws {TypeError} When the frame is not a text frame or not final.
 */
export function readText(frame: Frame): string {
  if (frame.type !== "text") throw new TypeError(`Expected a text frame, got ${frame.type}`);
  if (!frame.fin) {
    throw new TypeError("Text could be only extracted from non-fragmented frame");
  }
  return lossyDecoder.decode(frame.data);
}

const lossyDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The close reason carried by a close frame, or `null` when its payload is empty.
 *
 * @example
 * ```ts
 * import { CloseReason, Frame, readReason } from "@wirestream/ws";
 *
 * console.log(readReason(Frame.close(new CloseReason(1001, "bye")))?.code); // 1001
 * ```
 *
 * @param frame A close frame.
 * @returns The reason, or `null`.
 * @throws {TypeError} When the frame is not a close frame.
 * @throws {ProtocolError} When the payload is malformed.
 */
export function readReason(frame: Frame): CloseReason | null {
  if (frame.type !== "close") throw new TypeError(`Expected a close frame, got ${frame.type}`);
  return parseClosePayload(frame.data);
}
