/**
 * Parsing an HTTP/1.x response head (RFC 9112 §4): the status line and the fields, strictly,
 * from the bytes received so far.
 *
 * @module
 */

import {
  buildHeaders,
  HEAD_LENGTH,
  type HeadParseOptions,
  latin1,
  LINE_END,
  scanHead,
} from "./http1_scan.ts";

/** A parsed HTTP/1.x response head. */
export interface ParsedResponseHead {
  /** The protocol version. Any `HTTP/1.x` with x ≥ 1 is read as `HTTP/1.1` (RFC 9110 §2.5). */
  version: "HTTP/1.1" | "HTTP/1.0";
  /** The three-digit status code (100-999). */
  status: number;
  /** The reason phrase, possibly empty (latin1-decoded). */
  statusText: string;
  /** The header fields; repeated fields are combined as `Headers` does. */
  headers: Headers;
  /** The length of the head in bytes, final CRLF CRLF included; later bytes are not the head's. */
  headLength: number;
}

/**
 * Parses an HTTP/1.x response head from the bytes received so far.
 *
 * Keep `buf.subarray(head.headLength)`: those bytes are the first WebSocket frames.
 *
 * @example
 * ```ts
 * import { parseResponseHead } from "@wirestream/ws/raw";
 *
 * const bytes = new Uint8Array([
 *   ...new TextEncoder().encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
 *   0x81, // the first frame starts right after the head
 *   0x00,
 * ]);
 * const head = parseResponseHead(bytes);
 * console.log(head?.status, head?.headers.get("upgrade")); // 101 websocket
 * console.log(bytes.subarray(head!.headLength)); // Uint8Array(2) [ 129, 0 ]
 * console.log(parseResponseHead(bytes.subarray(0, 20))); // null: not complete yet
 * ```
 *
 * @param buf The bytes received so far, starting with the status line.
 * @param options The head size limit.
 * @returns The head, or `null` while it is incomplete.
 * @throws {HandshakeError} `HANDSHAKE_INVALID` for a malformed head, `HANDSHAKE_HEAD_TOO_LARGE`
 * when `maxHeadSize` bytes have arrived without the end of the head.
 * @throws {TypeError} When `buf` is not a `Uint8Array`.
 * @throws {RangeError} When `maxHeadSize` is not a positive integer.
 */
export function parseResponseHead(
  buf: Uint8Array,
  options?: HeadParseOptions,
): ParsedResponseHead | null {
  const marks = scanHead(buf, options, false);
  if (marks === null) return null;
  const end = marks[LINE_END]!;
  const text = latin1(buf, 0, marks[HEAD_LENGTH]!);
  return {
    version: buf[7] === 0x30 ? "HTTP/1.0" : "HTTP/1.1",
    status: (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30),
    statusText: end > 13 ? text.slice(13, end) : "",
    headers: buildHeaders(text, marks),
    headLength: marks[HEAD_LENGTH]!,
  };
}
