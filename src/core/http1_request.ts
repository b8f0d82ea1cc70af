/**
 * Parsing an HTTP/1.x request head (RFC 9112 §3): the request line and the fields, strictly, from
 * the bytes received so far. The server parses lazily: {@linkcode RequestHead} makes its
 * `Headers` only when asked, and {@linkcode requestField} looks fields up without them.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import {
  buildHeaders,
  fieldOfText,
  FIELDS,
  HEAD_LENGTH,
  type HeadParseOptions,
  isFieldNamed,
  latin1,
  LINE_END,
  METHOD_END,
  scanHead,
  TARGET_END,
} from "./http1_scan.ts";

/** A parsed HTTP/1.x request head. */
export interface ParsedRequestHead {
  /** The method, case-sensitive as sent (`GET`). */
  method: string;
  /** The request target as sent (`/chat?room=1`); visible ASCII only. */
  target: string;
  /** The protocol version as sent, e.g. `HTTP/1.1`. */
  version: string;
  /** The major version digit (1 for `HTTP/1.1`). */
  versionMajor: number;
  /** The minor version digit (1 for `HTTP/1.1`). */
  versionMinor: number;
  /** The header fields; repeated fields are combined as `Headers` does. */
  headers: Headers;
  /** The length of the head in bytes, final CRLF CRLF included; later bytes are not the head's. */
  headLength: number;
}

/**
 * @internal A parsed request head whose `headers` are made on first use: the server looks its
 * fields up with {@linkcode RequestHead.field}, which gives what `headers.get` would, so a
 * handshake that nobody asks the `Headers` of never builds them. It keeps the head as one
 * string and the offsets of its fields.
 */
export class RequestHead implements ParsedRequestHead {
  method: string;
  target: string;
  version: string;
  versionMajor: number;
  versionMinor: number;
  headLength: number;
  /** The head, latin1-decoded. */
  readonly #text: string;
  /** What `scanHead` found. */
  readonly #marks: readonly number[];
  /** Bit `n % 32` is set when a field name is `n` long: most absent names are ruled out at once. */
  readonly #nameLengths: number;
  #headers: Headers | null = null;

  /**
   * @param text The head, latin1-decoded.
   * @param marks What `scanHead` found.
   * @throws {HandshakeError} When there is more than one `Host` field.
   */
  constructor(text: string, marks: number[]) {
    const methodEnd = marks[METHOD_END]!;
    const targetEnd = marks[TARGET_END]!;
    const lineEnd = marks[LINE_END]!;
    this.method = methodEnd === 3 && text.startsWith("GET") ? "GET" : text.slice(0, methodEnd);
    this.target = text.slice(methodEnd + 1, targetEnd);
    this.version = lineEnd - targetEnd === 9 && text.startsWith("HTTP/1.1", targetEnd + 1)
      ? "HTTP/1.1"
      : text.slice(targetEnd + 1, lineEnd);
    this.versionMajor = text.charCodeAt(targetEnd + 6) - 0x30;
    this.versionMinor = text.charCodeAt(targetEnd + 8) - 0x30;
    this.headLength = marks[HEAD_LENGTH]!;
    let hosts = 0;
    let nameLengths = 0;
    for (let i = FIELDS; i < marks.length; i += 2) {
      nameLengths |= 1 << ((marks[i + 1]! - marks[i]!) & 31);
      if (isFieldNamed(text, marks, i, "host") && ++hosts > 1) {
        throw new HandshakeError(
          "HANDSHAKE_INVALID",
          "Malformed request: more than one Host header",
        );
      }
    }
    this.#text = text;
    this.#marks = marks;
    this.#nameLengths = nameLengths;
  }

  /** The header fields, as `parseRequestHead` gives them (made on first use). */
  get headers(): Headers {
    return this.#headers ??= buildHeaders(this.#text, this.#marks);
  }

  set headers(headers: Headers) {
    this.#headers = headers;
  }

  /**
   * What `headers.get(name)` gives: the values of the fields named `name`, joined with `", "`,
   * or `null` when there is none. Once the `Headers` exist, they answer.
   *
   * @param name A lower-case field name.
   * @returns The value, or `null`.
   */
  field(name: string): string | null {
    if (this.#headers !== null) return this.#headers.get(name);
    return this.sentField(name);
  }

  /**
   * Like {@linkcode RequestHead.field}, but as received, whatever was done to the `Headers`
   * since.
   *
   * @param name A lower-case field name.
   * @returns The value, or `null`.
   */
  sentField(name: string): string | null {
    if ((this.#nameLengths & (1 << (name.length & 31))) === 0) return null;
    return fieldOfText(this.#text, this.#marks, name);
  }
}

/**
 * @internal `head.headers.get(name)`, without making the `Headers` of a lazily parsed head.
 *
 * @param head A parsed request head.
 * @param name A lower-case field name.
 * @returns The value, or `null`.
 */
export function requestField(head: ParsedRequestHead, name: string): string | null {
  return head instanceof RequestHead ? head.field(name) : head.headers.get(name);
}

/**
 * @internal Parses a request head like {@linkcode parseRequestHead}, but its `headers` are
 * made on first use (see {@linkcode RequestHead}).
 *
 * @param buf The bytes received so far, starting with the request line.
 * @param options The head size limit.
 * @returns The head, or `null` while it is incomplete.
 */
export function parseRequestHeadLazily(
  buf: Uint8Array,
  options?: HeadParseOptions,
): RequestHead | null {
  const marks = scanHead(buf, options, true);
  if (marks === null) return null;
  return new RequestHead(latin1(buf, 0, marks[HEAD_LENGTH]!), marks);
}

/**
 * Parses an HTTP/1.x request head from the bytes received so far.
 *
 * A server should answer `HANDSHAKE_HEAD_TOO_LARGE` with 431 and `HANDSHAKE_INVALID` with 400.
 * The version is reported as sent (`HTTP/0.9` to `HTTP/9.9` parse), so the caller decides what to
 * do with versions below 1.1. More than one `Host` field is `HANDSHAKE_INVALID` (RFC 9112 §3.2).
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "@wirestream/ws/raw";
 *
 * const head = parseRequestHead(
 *   new TextEncoder().encode("GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n"),
 * );
 * console.log(head?.method, head?.target, head?.versionMinor); // GET /chat 1
 * ```
 *
 * @param buf The bytes received so far, starting with the request line.
 * @param options The head size limit.
 * @returns The head, or `null` while it is incomplete.
 * @throws {HandshakeError} `HANDSHAKE_INVALID` for a malformed head, `HANDSHAKE_HEAD_TOO_LARGE`
 * when `maxHeadSize` bytes have arrived without the end of the head.
 * @throws {TypeError} When `buf` is not a `Uint8Array`.
 * @throws {RangeError} When `maxHeadSize` is not a positive integer.
 */
export function parseRequestHead(
  buf: Uint8Array,
  options?: HeadParseOptions,
): ParsedRequestHead | null {
  const head = parseRequestHeadLazily(buf, options);
  if (head === null) return null;
  return {
    method: head.method,
    target: head.target,
    version: head.version,
    versionMajor: head.versionMajor,
    versionMinor: head.versionMinor,
    headers: head.headers,
    headLength: head.headLength,
  };
}
