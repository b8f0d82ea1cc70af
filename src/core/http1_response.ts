/**
 * Parsing an HTTP/1.x response head (RFC 9112 §4): the status line and the fields, strictly,
 * from the bytes received so far.
 *
 * @module
 */

import {
  buildHeaders,
  fieldOfText,
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

/**
 * @internal A parsed response head whose `headers` are made on first use: the client checks the
 * upgrade's fields with {@linkcode ResponseHead.field}, which gives what `headers.get` would, so
 * a session whose application never asks for the response's `Headers` holds only the head's text
 * and the offsets of its fields.
 */
export class ResponseHead implements ParsedResponseHead {
  version: "HTTP/1.1" | "HTTP/1.0";
  status: number;
  statusText: string;
  headLength: number;
  /** The head, latin1-decoded. */
  readonly #text: string;
  /** What `scanHead` found. */
  readonly #marks: readonly number[];
  #headers: Headers | null = null;

  /**
   * @param buf The bytes of the head (and maybe more).
   * @param marks What `scanHead` found.
   */
  constructor(buf: Uint8Array, marks: number[]) {
    const end = marks[LINE_END]!;
    const text = latin1(buf, 0, marks[HEAD_LENGTH]!);
    this.version = buf[7] === 0x30 ? "HTTP/1.0" : "HTTP/1.1";
    this.status = (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30);
    this.statusText = end > 13 ? text.slice(13, end) : "";
    this.headLength = marks[HEAD_LENGTH]!;
    this.#text = text;
    this.#marks = marks;
  }

  /** The header fields, as `parseResponseHead` gives them (made on first use). */
  get headers(): Headers {
    return this.#headers ??= buildHeaders(this.#text, this.#marks);
  }

  set headers(headers: Headers) {
    this.#headers = headers;
  }

  /**
   * What `headers.get(name)` gives, without making the `Headers` (once they exist, they answer).
   *
   * @param name A lower-case field name.
   * @returns The value, or `null`.
   */
  field(name: string): string | null {
    if (this.#headers !== null) return this.#headers.get(name);
    return fieldOfText(this.#text, this.#marks, name);
  }
}

/**
 * @internal Parses a response head like {@linkcode parseResponseHead}, but its `headers` are
 * made on first use (see {@linkcode ResponseHead}).
 *
 * @param buf The bytes received so far, starting with the status line.
 * @param options The head size limit.
 * @returns The head, or `null` while it is incomplete.
 */
export function parseResponseHeadLazily(
  buf: Uint8Array,
  options?: HeadParseOptions,
): ResponseHead | null {
  const marks = scanHead(buf, options, false);
  if (marks === null) return null;
  return new ResponseHead(buf, marks);
}

/**
 * @internal `head.headers.get(name)`, without making the `Headers` of a lazily parsed head.
 *
 * @param head A parsed response head.
 * @param name A lower-case field name.
 * @returns The value, or `null`.
 */
export function responseField(head: ParsedResponseHead, name: string): string | null {
  return head instanceof ResponseHead ? head.field(name) : head.headers.get(name);
}
