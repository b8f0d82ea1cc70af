/**
 * Sans-I/O HTTP/1.1 message heads (RFC 9112): finding the end of a head, parsing request and
 * response heads strictly at the byte level, and serializing them.
 *
 * The parsers take whatever bytes have arrived so far. They return `null` while the head is
 * incomplete, the parsed head once the blank line has arrived, and throw a
 * {@linkcode HandshakeError} as soon as the bytes cannot be the start of a valid head (so a peer
 * that speaks something else is rejected at once, not after `maxHeadSize` bytes or a timeout).
 * Bytes after the head are never looked at: they belong to the WebSocket frame decoder.
 *
 * What is rejected (`HANDSHAKE_INVALID`): bare LF or CR line endings, NUL and other control
 * characters (except HTAB) anywhere, an empty line before the start line, obs-fold (a header line
 * starting with SP or HTAB), whitespace between a field name and its colon, field names that are
 * not RFC 9110 tokens, versions other than `HTTP/1.x` in responses and `HTTP/d.d` in requests,
 * non-ASCII bytes or whitespace in a request target, and more than one `Host` field in a request.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { utf8Decoder } from "./_text.ts";

/** The default {@linkcode HeadParseOptions.maxHeadSize}: 16 KiB. */
export const DEFAULT_MAX_HEAD_SIZE = 16384;

/** Options of {@linkcode parseRequestHead} and {@linkcode parseResponseHead}. */
export interface HeadParseOptions {
  /**
   * The largest head accepted, in bytes, including the final blank line. When this many bytes
   * have arrived without the end of the head, the parser throws `HANDSHAKE_HEAD_TOO_LARGE`.
   * @default {16384}
   */
  maxHeadSize?: number;
}

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

/** Header fields to serialize: a `Headers` object, or name/value pairs kept in order and case. */
export type HeaderFields = Headers | ReadonlyArray<readonly [string, string]>;

// ---------------------------------------------------------------------------------------------
// Character classes

const TCHAR = 1; // RFC 9110 token character
const FIELD = 2; // field-value / reason-phrase character: HTAB, SP, VCHAR, obs-text
const VCHAR = 4; // visible ASCII, 0x21-0x7E

const CHARS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  let flags = 0;
  if (c === 0x09 || c === 0x20 || (c >= 0x21 && c <= 0x7e) || c >= 0x80) flags |= FIELD;
  if (c >= 0x21 && c <= 0x7e) flags |= VCHAR;
  CHARS[c] = flags;
}
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  CHARS[ch.charCodeAt(0)]! |= TCHAR;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** @internal Whether the char code `c` is an RFC 9110 token character. */
export function isTokenChar(c: number): boolean {
  return c <= 0xff && (CHARS[c]! & TCHAR) !== 0;
}

/** @internal Whether `text` is a non-empty RFC 9110 token. */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CHARS[c]! & TCHAR) === 0) return false;
  }
  return true;
}

/** @internal Whether `text` may be serialized as a field value (HTAB, SP, VCHAR, obs-text). */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CHARS[c]! & FIELD) === 0) return false;
  }
  return true;
}

/** @internal `text` without leading and trailing SP and HTAB (HTTP's OWS). */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === SP || text.charCodeAt(start) === HTAB)) {
    start++;
  }
  while (end > start && (text.charCodeAt(end - 1) === SP || text.charCodeAt(end - 1) === HTAB)) {
    end--;
  }
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  // ASCII (the usual head) decodes the same as UTF-8, which the decoder does much faster.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return utf8Decoder.decode(buf.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i += 4096) {
    // apply, not spread: spreading a typed array goes through its iterator and is much slower.
    out += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return out;
}

function invalid(message: string): HandshakeError {
  return new HandshakeError("HANDSHAKE_INVALID", message);
}

// ---------------------------------------------------------------------------------------------
// Finding the end of a head

/**
 * Finds the end of an HTTP head: the index just after the first `\r\n\r\n` at or after `from`.
 *
 * To scan incrementally, pass `Math.max(0, previousLength - 3)` as `from`.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "@wirestream/ws/raw";
 *
 * const bytes = new TextEncoder().encode("HTTP/1.1 101 OK\r\n\r\nrest");
 * console.log(findHeadEnd(bytes)); // 19
 * console.log(findHeadEnd(bytes.subarray(0, 18))); // -1
 * ```
 *
 * @param buf The bytes received so far.
 * @param from Where the `\r\n\r\n` may start at the earliest.
 * @returns The index after `\r\n\r\n`, or -1 when it is not there.
 * @throws {TypeError} When `buf` is not a `Uint8Array`.
 * @throws {RangeError} When `from` is not a non-negative integer.
 */
export function findHeadEnd(buf: Uint8Array, from = 0): number {
  if (!(buf instanceof Uint8Array)) throw new TypeError("buf must be a Uint8Array");
  if (!Number.isInteger(from) || from < 0) {
    throw new RangeError(`from must be a non-negative integer, got ${from}`);
  }
  let lf = buf.indexOf(LF, from + 3);
  while (lf !== -1) {
    if (buf[lf - 1] === CR && buf[lf - 2] === LF && buf[lf - 3] === CR) return lf + 1;
    lf = buf.indexOf(LF, lf + 1);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Line checks. Each checks bytes [start, end) of one line (CRLF excluded). With `partial` the
// line may still grow, so only a byte that can never be valid is an error.

const HTTP_1_DOT = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

// status-line = "HTTP/1." DIGIT SP 3DIGIT [ SP reason-phrase ]. The SP before an empty reason
// phrase is optional, as many servers leave it out.
function checkStatusLine(buf: Uint8Array, start: number, end: number, partial: boolean): void {
  const n = end - start;
  for (let i = 0; i < n; i++) {
    const c = buf[start + i]!;
    let ok: boolean;
    if (i < 7) ok = c === HTTP_1_DOT[i];
    else if (i === 7) ok = isDigit(c);
    else if (i === 8) ok = c === SP;
    else if (i === 9) ok = c >= 0x31 && c <= 0x39;
    else if (i < 12) ok = isDigit(c);
    else if (i === 12) ok = c === SP;
    else ok = (CHARS[c]! & FIELD) !== 0;
    if (!ok) {
      throw invalid(
        i < 9 ? "Malformed status line: not an HTTP/1.x response" : "Malformed status line",
      );
    }
  }
  if (!partial && n < 12) throw invalid("Malformed status line");
}

/** Where the request target of the last line `checkRequestLine` checked ends. */
let requestTargetEnd = 0;

// request-line = method SP request-target SP "HTTP/" DIGIT "." DIGIT
// Returns where the method ends, and sets requestTargetEnd.
function checkRequestLine(
  buf: Uint8Array,
  start: number,
  end: number,
  partial: boolean,
): number {
  let i = start;
  while (i < end && (CHARS[buf[i]!]! & TCHAR) !== 0) i++;
  if (i < end && (i === start || buf[i] !== SP)) {
    throw invalid("Malformed request line: bad method");
  }
  const methodEnd = i++;
  const targetStart = i;
  while (i < end && (CHARS[buf[i]!]! & VCHAR) !== 0) i++;
  if (i < end && (i === targetStart || buf[i] !== SP)) {
    throw invalid("Malformed request line: bad request target");
  }
  const targetEnd = i++;
  const versionStart = i;
  for (; i < end; i++) {
    const k = i - versionStart;
    const c = buf[i]!;
    const ok = k < 5 ? c === HTTP_SLASH[k] : k === 6 ? c === 0x2e : k < 8 && isDigit(c);
    if (!ok) throw invalid("Malformed request line: bad HTTP version");
  }
  if (!partial && (versionStart > end || end - versionStart !== 8)) {
    throw invalid("Malformed request line");
  }
  requestTargetEnd = targetEnd;
  return methodEnd;
}

// field-line = field-name ":" OWS field-value OWS. Returns the colon's index (-1 if not yet seen).
function checkFieldLine(buf: Uint8Array, start: number, end: number, partial: boolean): number {
  let i = start;
  while (i < end && (CHARS[buf[i]!]! & TCHAR) !== 0) i++;
  if (i === end) {
    if (partial) return -1;
    throw invalid("Malformed header line: no colon");
  }
  if (buf[i] !== COLON || i === start) {
    const c = buf[start];
    throw invalid(
      c === SP || c === HTAB
        ? "Malformed header line: obsolete line folding"
        : "Malformed header line: bad field name",
    );
  }
  const colon = i;
  for (i++; i < end; i++) {
    if ((CHARS[buf[i]!]! & FIELD) === 0) {
      throw invalid("Malformed header line: control character in field value");
    }
  }
  return colon;
}

// ---------------------------------------------------------------------------------------------
// The head scanner shared by both parsers

// What scanHead finds, as offsets into the bytes: the head's length, the end of the start line
// (which starts at 0), the method's and the target's ends (requests only), then [start, colon]
// of each field line. A field line ends 2 bytes (CRLF) before the next line starts; the blank
// line that ends the head starts at headLength - 2.
const HEAD_LENGTH = 0;
const LINE_END = 1;
const METHOD_END = 2;
const TARGET_END = 3;
const FIELDS = 4;

/** Where the field line whose start is at `marks[i]` ends (its CRLF excluded). */
function fieldEnd(marks: readonly number[], i: number): number {
  return (i + 2 < marks.length ? marks[i + 2]! : marks[HEAD_LENGTH]! - 2) - 2;
}

function scanHead(
  buf: Uint8Array,
  options: HeadParseOptions | undefined,
  request: boolean,
): number[] | null {
  if (!(buf instanceof Uint8Array)) throw new TypeError("buf must be a Uint8Array");
  const maxHeadSize = options?.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE;
  if (!Number.isInteger(maxHeadSize) || maxHeadSize <= 0) {
    throw new RangeError(`maxHeadSize must be a positive integer, got ${maxHeadSize}`);
  }
  const limit = Math.min(buf.length, maxHeadSize);
  // Search only the bytes that may belong to the head, however much has arrived.
  const view = limit < buf.length ? buf.subarray(0, limit) : buf;
  let marks: number[] | null = null;
  let pos = 0;
  for (;;) {
    const lf = view.indexOf(LF, pos);
    if (lf === -1) {
      // An incomplete line: check what is there (a final CR may be followed by LF later).
      let end = limit;
      if (end > pos && buf[end - 1] === CR) end--;
      if (marks === null) {
        if (request) checkRequestLine(buf, pos, end, true);
        else checkStatusLine(buf, pos, end, true);
      } else {
        checkFieldLine(buf, pos, end, true);
      }
      if (buf.length >= maxHeadSize) {
        throw new HandshakeError(
          "HANDSHAKE_HEAD_TOO_LARGE",
          `HTTP head exceeds ${maxHeadSize} bytes`,
        );
      }
      return null;
    }
    if (lf === pos || buf[lf - 1] !== CR) throw invalid("Malformed head: bare LF line ending");
    const end = lf - 1;
    if (marks === null) {
      if (end === pos) throw invalid("Malformed head: empty start line");
      marks = [0, end, 0, 0];
      if (request) {
        marks[METHOD_END] = checkRequestLine(buf, pos, end, false);
        marks[TARGET_END] = requestTargetEnd;
      } else {
        checkStatusLine(buf, pos, end, false);
      }
    } else if (end === pos) {
      marks[HEAD_LENGTH] = lf + 1;
      return marks;
    } else {
      marks.push(pos, checkFieldLine(buf, pos, end, false));
    }
    pos = lf + 1;
  }
}

/** The value of the field line at `marks[i]` of `text`, without OWS. */
function fieldValue(text: string, marks: readonly number[], i: number): string {
  let from = marks[i + 1]! + 1;
  let to = fieldEnd(marks, i);
  let c: number;
  while (from < to && ((c = text.charCodeAt(from)) === SP || c === HTAB)) from++;
  while (to > from && ((c = text.charCodeAt(to - 1)) === SP || c === HTAB)) to--;
  return text.slice(from, to);
}

/** Whether the name of the field line at `marks[i]` of `text` is `lower`, ignoring ASCII case. */
function isFieldNamed(text: string, marks: readonly number[], i: number, lower: string): boolean {
  const start = marks[i]!;
  const n = lower.length;
  if (marks[i + 1]! - start !== n) return false;
  for (let k = 0; k < n; k++) {
    let c = text.charCodeAt(start + k);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** What `Headers.get(name)` gives for the fields of a scanned head (`name` lower-case). */
function fieldOfText(text: string, marks: readonly number[], name: string): string | null {
  let out: string | null = null;
  for (let i = FIELDS; i < marks.length; i += 2) {
    if (isFieldNamed(text, marks, i, name)) {
      const value = fieldValue(text, marks, i);
      out = out === null ? value : `${out}, ${value}`;
    }
  }
  return out;
}

function buildHeaders(text: string, marks: readonly number[]): Headers {
  const headers = new Headers();
  for (let i = FIELDS; i < marks.length; i += 2) {
    const name = text.slice(marks[i]!, marks[i + 1]!);
    try {
      headers.append(name, fieldValue(text, marks, i));
    } catch (cause) {
      throw new HandshakeError("HANDSHAKE_INVALID", `Malformed header field ${name}`, { cause });
    }
  }
  return headers;
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
        throw invalid("Malformed request: more than one Host header");
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

// ---------------------------------------------------------------------------------------------
// Serializing

function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function serializeFields(headers: HeaderFields): string {
  if (!(headers instanceof Headers) && !Array.isArray(headers)) {
    throw new TypeError("headers must be a Headers object or an array of [name, value] pairs");
  }
  let out = "";
  for (const entry of headers as Iterable<readonly [string, string]>) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new TypeError("Each header must be a [name, value] pair");
    }
    const [name, value] = entry;
    if (typeof name !== "string" || !isToken(name)) {
      throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
    }
    if (typeof value !== "string" || !isFieldValue(value)) {
      throw new TypeError(`Invalid value for header ${name}: ${JSON.stringify(value)}`);
    }
    out += `${name}: ${trimOws(value)}\r\n`;
  }
  return out;
}

/**
 * Serializes an HTTP/1.1 request head (request line, fields, blank line) as latin1 bytes.
 *
 * Pairs are written in order with their case kept; a `Headers` object gives lower-case names,
 * with repeated fields combined. Leading and trailing SP/HTAB of values are dropped.
 *
 * @example
 * ```ts
 * import { serializeRequestHead } from "@wirestream/ws/raw";
 *
 * const head = serializeRequestHead("GET", "/chat", [["Host", "example.com"]]);
 * console.log(new TextDecoder().decode(head)); // "GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n"
 * ```
 *
 * @param method The method, an RFC 9110 token.
 * @param target The request target, visible ASCII only.
 * @param headers The header fields.
 * @returns The head bytes.
 * @throws {TypeError} When the method, target, a name or a value cannot be sent: names must be
 * tokens, values must hold no CR, LF, NUL or other control character except HTAB, and nothing
 * may be outside latin1.
 */
export function serializeRequestHead(
  method: string,
  target: string,
  headers: HeaderFields,
): Uint8Array {
  if (typeof method !== "string" || !isToken(method)) {
    throw new TypeError(`Invalid method: ${JSON.stringify(method)}`);
  }
  if (typeof target !== "string" || target.length === 0) {
    throw new TypeError("The request target must be a non-empty string");
  }
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c > 0xff || (CHARS[c]! & VCHAR) === 0) {
      throw new TypeError(`Invalid request target: ${JSON.stringify(target)}`);
    }
  }
  return encodeLatin1(`${method} ${target} HTTP/1.1\r\n${serializeFields(headers)}\r\n`);
}

/**
 * Serializes an HTTP/1.1 response head (status line, fields, blank line) as latin1 bytes.
 *
 * @example
 * ```ts
 * import { serializeResponseHead } from "@wirestream/ws/raw";
 *
 * const head = serializeResponseHead(404, "Not Found", [["Content-Length", "0"]]);
 * console.log(new TextDecoder().decode(head)); // "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
 * ```
 *
 * @param status The status code, an integer 100-999.
 * @param statusText The reason phrase (may be empty).
 * @param headers The header fields, as for {@linkcode serializeRequestHead}.
 * @returns The head bytes.
 * @throws {RangeError} When the status is not an integer 100-999.
 * @throws {TypeError} When the reason phrase, a name or a value cannot be sent.
 */
export function serializeResponseHead(
  status: number,
  statusText: string,
  headers: HeaderFields,
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Status must be an integer 100-999, got ${status}`);
  }
  if (typeof statusText !== "string" || !isFieldValue(statusText)) {
    throw new TypeError(`Invalid status text: ${JSON.stringify(statusText)}`);
  }
  return encodeLatin1(`HTTP/1.1 ${status} ${statusText}\r\n${serializeFields(headers)}\r\n`);
}

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/**
 * The standard reason phrase of an HTTP status, or `""` for one it does not know.
 *
 * @param status The status code.
 * @returns The reason phrase.
 */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}

/** Whether `c` is white space to `String.prototype.trim`. */
function isTrimmed(c: number): boolean {
  return c <= 0x20
    ? c === 0x20 || (c >= 0x09 && c <= 0x0d)
    : c === 0xa0 || (c > 0xff && /\s/.test(String.fromCharCode(c)));
}

/**
 * @internal Whether a comma-separated header value (`Connection`, `Upgrade`) holds `token`
 * (lower-case): an element that is `token` once `trim`med and lower-cased, without allocating.
 *
 * @param value The header value, or `null` when absent.
 * @param token The token, in lower case.
 * @returns Whether it is there.
 */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  const n = value.length;
  for (let start = 0; start <= n;) {
    let end = value.indexOf(",", start);
    if (end === -1) end = n;
    let from = start;
    let to = end;
    while (from < to && isTrimmed(value.charCodeAt(from))) from++;
    while (to > from && isTrimmed(value.charCodeAt(to - 1))) to--;
    if (to - from === token.length && isElement(value, from, token)) return true;
    start = end + 1;
  }
  return false;
}

/** Whether `value` at `from` is `token` once lower-cased (as long as `token`). */
function isElement(value: string, from: number, token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    let c = value.charCodeAt(from + i);
    if (c > 0x7f) return value.slice(from, from + token.length).toLowerCase() === token;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== token.charCodeAt(i)) return false;
  }
  return true;
}
