/**
 * Serializing HTTP/1.1 message heads (RFC 9112): the request line or status line, the fields and
 * the blank line, as latin1 bytes; and the standard reason phrases.
 *
 * @module
 */

import { CHARS, isFieldValue, isToken, trimOws, VCHAR } from "./http1_syntax.ts";

/** Header fields to serialize: a `Headers` object, or name/value pairs kept in order and case. */
export type HeaderFields = Headers | ReadonlyArray<readonly [string, string]>;

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
 * import { serializeRequestHead } from "./http1_serialize.ts";
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
 * import { serializeResponseHead } from "./http1_serialize.ts";
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
