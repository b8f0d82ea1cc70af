/**
 * Finding and scanning an HTTP/1.1 message head (RFC 9112) at the byte level: the head size
 * limit, the end of a head, and the strict line checks that request and response parsing share.
 *
 * The scanner takes whatever bytes have arrived so far. It returns `null` while the head is
 * incomplete, the offsets of its lines once the blank line has arrived, and throws a
 * {@linkcode HandshakeError} as soon as the bytes cannot be the start of a valid head (so a peer
 * that speaks something else is rejected at once, not after `maxHeadSize` bytes or a timeout).
 * Bytes after the head are never looked at: they belong to the WebSocket frame decoder.
 *
 * What is rejected (`HANDSHAKE_INVALID`): bare LF or CR line endings, NUL and other control
 * characters (except HTAB) anywhere, an empty line before the start line, obs-fold (a header line
 * starting with SP or HTAB), whitespace between a field name and its colon, field names that are
 * not RFC 9110 tokens, versions other than `HTTP/1.x` in responses and `HTTP/d.d` in requests,
 * and non-ASCII bytes or whitespace in a request target.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { CHARS as CHAR_CLASSES, FIELD as F, TCHAR as T, VCHAR as V } from "./http1_syntax.ts";
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

// Local copies: the line checks read these for every byte, and a module-local constant is
// cheaper to read than an imported binding (about 15% of a request head's parse).
const CHARS = CHAR_CLASSES;
const TCHAR = T;
const FIELD = F;
const VCHAR = V;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** @internal The bytes `[start, end)` of `buf` as a latin1 string. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
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
 * @internal Finds the end of an HTTP head: the index just after the first `\r\n\r\n` at or
 * after `from`. The parsers find it themselves while checking each line; use
 * `parseRequestHead` or `parseResponseHead`.
 *
 * To scan incrementally, pass `Math.max(0, previousLength - 3)` as `from`.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "./http1_scan.ts";
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

// What scanHead finds ("marks"), as offsets into the bytes: the head's length, the end of the
// start line (which starts at 0), the method's and the target's ends (requests only), then
// [start, colon] of each field line. A field line ends 2 bytes (CRLF) before the next line
// starts; the blank line that ends the head starts at headLength - 2.
/** @internal The head's length, in the marks of {@linkcode scanHead}. */
export const HEAD_LENGTH = 0;
/** @internal Where the start line ends, in the marks of {@linkcode scanHead}. */
export const LINE_END = 1;
/** @internal Where the method ends (requests), in the marks of {@linkcode scanHead}. */
export const METHOD_END = 2;
/** @internal Where the target ends (requests), in the marks of {@linkcode scanHead}. */
export const TARGET_END = 3;
/** @internal Where the field lines start, in the marks of {@linkcode scanHead}. */
export const FIELDS = 4;

/** Where the field line whose start is at `marks[i]` ends (its CRLF excluded). */
function fieldEnd(marks: readonly number[], i: number): number {
  return (i + 2 < marks.length ? marks[i + 2]! : marks[HEAD_LENGTH]! - 2) - 2;
}

/**
 * @internal Scans a request head (`request`) or a response head in the bytes received so far,
 * checking every line as it goes.
 *
 * @param buf The bytes received so far, starting with the start line.
 * @param options The head size limit.
 * @param request Whether the head is a request's (else a response's).
 * @returns The marks, or `null` while the head is incomplete.
 * @throws {HandshakeError} `HANDSHAKE_INVALID` for a malformed head, `HANDSHAKE_HEAD_TOO_LARGE`
 * when `maxHeadSize` bytes have arrived without the end of the head.
 * @throws {TypeError} When `buf` is not a `Uint8Array`.
 * @throws {RangeError} When `maxHeadSize` is not a positive integer.
 */
export function scanHead(
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

/**
 * @internal Whether the name of the field line at `marks[i]` of `text` is `lower`, ignoring
 * ASCII case.
 */
export function isFieldNamed(
  text: string,
  marks: readonly number[],
  i: number,
  lower: string,
): boolean {
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

/** @internal What `Headers.get(name)` gives for the fields of a scanned head (`name` lower-case). */
export function fieldOfText(text: string, marks: readonly number[], name: string): string | null {
  let out: string | null = null;
  for (let i = FIELDS; i < marks.length; i += 2) {
    if (isFieldNamed(text, marks, i, name)) {
      const value = fieldValue(text, marks, i);
      out = out === null ? value : `${out}, ${value}`;
    }
  }
  return out;
}

/** @internal The `Headers` of a scanned head. */
export function buildHeaders(text: string, marks: readonly number[]): Headers {
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
