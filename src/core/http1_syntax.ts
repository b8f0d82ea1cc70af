/**
 * The HTTP/1.1 field grammar the handshake needs (RFC 9110): token and field-value characters,
 * optional whitespace, and token lists such as `Connection: keep-alive, Upgrade`.
 *
 * @module
 */
/** @internal {@linkcode CHARS} flag: an RFC 9110 token character. */
export const TCHAR = 1;
/** @internal {@linkcode CHARS} flag: a field-value or reason-phrase character (HTAB, SP, VCHAR, obs-text). */
export const FIELD = 2;
/** @internal {@linkcode CHARS} flag: visible ASCII, 0x21-0x7E. */
export const VCHAR = 4;

/** @internal The character class flags of each byte value. */
export const CHARS: Uint8Array = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  let flags = 0;
  if (c === 0x09 || c === 0x20 || (c >= 0x21 && c <= 0x7e) || c >= 0x80) flags |= FIELD;
  if (c >= 0x21 && c <= 0x7e) flags |= VCHAR;
  CHARS[c] = flags;
}
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  CHARS[ch.charCodeAt(0)]! |= TCHAR;
}

const SP = 0x20;
const HTAB = 0x09;

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
