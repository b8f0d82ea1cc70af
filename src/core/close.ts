/**
 * Close codes (RFC 6455 §7.4) and close reasons.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { utf8Decoder, utf8Encoder } from "./_text.ts";

/**
 * The close codes of RFC 6455 §7.4.1 and the IANA registry, with Ktor's names.
 *
 * @example
 * ```ts
 * import { CloseCode } from "@wirestream/ws";
 *
 * console.log(CloseCode.NORMAL); // 1000
 * ```
 */
export const CloseCode = {
  /** 1000: the purpose of the connection was fulfilled. */
  NORMAL: 1000,
  /** 1001: an endpoint is going away (server shutdown, page navigation). */
  GOING_AWAY: 1001,
  /** 1002: the peer broke the protocol. */
  PROTOCOL_ERROR: 1002,
  /** 1003: a data type the endpoint cannot accept. */
  CANNOT_ACCEPT: 1003,
  /** 1005: no status code was present (never sent on the wire). */
  NO_STATUS: 1005,
  /** 1006: closed without a close frame (never sent on the wire). */
  CLOSED_ABNORMALLY: 1006,
  /** 1007: message data inconsistent with its type (invalid UTF-8 in text). */
  NOT_CONSISTENT: 1007,
  /** 1008: a message violated the endpoint's policy. */
  VIOLATED_POLICY: 1008,
  /** 1009: a message too big to process. */
  TOO_BIG: 1009,
  /** 1010: the client expected an extension the server did not negotiate. */
  NO_EXTENSION: 1010,
  /** 1011: the server hit an unexpected condition. */
  INTERNAL_ERROR: 1011,
  /** 1012: the service is restarting. */
  SERVICE_RESTART: 1012,
  /** 1013: try again later. */
  TRY_AGAIN_LATER: 1013,
  /** 1014: a gateway or proxy got an invalid response upstream. */
  BAD_GATEWAY: 1014,
  /** 1015: the TLS handshake failed (never sent on the wire). */
  TLS_HANDSHAKE: 1015,
} as const;

/** One of the named {@linkcode CloseCode} values. */
export type CloseCodeName = keyof typeof CloseCode;

/** The largest close reason message, in UTF-8 bytes (125 - 2 bytes of status code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4): 1000-1003, 1007-1014
 * and the application range 3000-4999.
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "@wirestream/ws/raw";
 *
 * console.log(isValidCloseCode(1000), isValidCloseCode(1005), isValidCloseCode(4000));
 * // true false true
 * ```
 *
 * @param code The code to test.
 * @returns `true` when the code may be sent and received.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

const NAMES = new Map<number, CloseCodeName>(
  Object.entries(CloseCode).map(([k, v]) => [v, k as CloseCodeName]),
);

/**
 * A close status code and message. The message is at most 123 bytes when UTF-8 encoded.
 *
 * A `CloseReason` can describe any code 0-65535 (1005 and 1006 are reported for closes without
 * a status or without a frame); only {@linkcode isValidCloseCode} codes can be sent.
 *
 * @example
 * ```ts
 * import { CloseCode, CloseReason } from "@wirestream/ws";
 *
 * const reason = new CloseReason(CloseCode.NORMAL, "bye");
 * console.log(String(reason)); // CloseReason(reason=NORMAL, message=bye)
 * ```
 */
export class CloseReason {
  /** The numeric status code. */
  readonly code: number;
  /** The message, at most 123 UTF-8 bytes. */
  readonly message: string;

  /**
   * Creates a close reason.
   *
   * @param code An integer 0-65535.
   * @param message At most 123 bytes when UTF-8 encoded.
   * @throws {RangeError} When the code is not an integer 0-65535 or the message is too long.
   */
  constructor(code: number, message = "") {
    if (!Number.isInteger(code) || code < 0 || code > 65535) {
      throw new RangeError(`Close code must be an integer 0-65535, got ${code}`);
    }
    if (typeof message !== "string") {
      throw new TypeError("Close reason message must be a string");
    }
    const size = utf8Encoder.encode(message).length;
    if (size > MAX_CLOSE_REASON_BYTES) {
      throw new RangeError(
        `Close reason message is too long: ${size} bytes, but must not exceed ${MAX_CLOSE_REASON_BYTES} bytes when UTF-8-encoded`,
      );
    }
    this.code = code;
    this.message = message;
  }

  /** The {@linkcode CloseCode} name for this code, if it has one. */
  get knownReason(): CloseCodeName | undefined {
    return NAMES.get(this.code);
  }

  /** `CloseReason(reason=NAME or code, message=…)`, as Ktor prints it. */
  toString(): string {
    return `CloseReason(reason=${this.knownReason ?? this.code}, message=${this.message})`;
  }
}

/**
 * Truncates `text` to at most `maxBytes` UTF-8 bytes without splitting a character.
 *
 * @example
 * ```ts
 * import { truncateUtf8 } from "@wirestream/ws/raw";
 *
 * console.log(truncateUtf8("aaaaя", 5)); // "aaaa"
 * ```
 *
 * @param text The text to shorten.
 * @param maxBytes The byte budget.
 * @returns The longest prefix that fits.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = utf8Encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return utf8Decoder.decode(bytes.subarray(0, end));
}

/**
 * Encodes a close frame payload: 2-byte big-endian code followed by the UTF-8 message.
 * `null` gives an empty payload.
 *
 * @example
 * ```ts
 * import { CloseReason, encodeClosePayload } from "@wirestream/ws/raw";
 *
 * console.log(encodeClosePayload(new CloseReason(1000, ""))); // Uint8Array(2) [ 3, 232 ]
 * ```
 *
 * @param reason The reason, or `null` for an empty payload.
 * @returns The payload bytes.
 * @throws {RangeError} When the code cannot be sent on the wire.
 */
export function encodeClosePayload(reason: CloseReason | null): Uint8Array {
  if (reason === null) return new Uint8Array(0);
  if (!isValidCloseCode(reason.code)) {
    throw new RangeError(`Close code ${reason.code} must not be sent in a close frame`);
  }
  const message = utf8Encoder.encode(reason.message);
  const out = new Uint8Array(2 + message.length);
  out[0] = reason.code >> 8;
  out[1] = reason.code & 0xff;
  out.set(message, 2);
  return out;
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses and validates a received close frame payload (RFC 6455 §5.5.1, §7.4).
 *
 * @example
 * ```ts
 * import { parseClosePayload } from "@wirestream/ws/raw";
 *
 * console.log(parseClosePayload(new Uint8Array([0x03, 0xe8, 0x6f, 0x6b]))?.message); // "ok"
 * ```
 *
 * @param payload The close frame's payload.
 * @returns The reason, or `null` for an empty payload.
 * @throws {ProtocolError} On a 1-byte payload, an invalid code (1002) or a non-UTF-8 message (1007).
 */
export function parseClosePayload(payload: Uint8Array): CloseReason | null {
  if (payload.length === 0) return null;
  if (payload.length === 1) {
    throw new ProtocolError("PROTOCOL_ERROR", 1002, "Close frame payload of 1 byte");
  }
  if (payload.length > 125) {
    throw new ProtocolError("PROTOCOL_ERROR", 1002, "Close frame payload over 125 bytes");
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new ProtocolError("PROTOCOL_ERROR", 1002, `Invalid close code ${code}`);
  }
  let message: string;
  try {
    message = fatalDecoder.decode(payload.subarray(2));
  } catch {
    throw new ProtocolError("INVALID_UTF8", 1007, "Close reason is not valid UTF-8");
  }
  return new CloseReason(code, message);
}
