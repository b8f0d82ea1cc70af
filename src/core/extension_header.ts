/**
 * The `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1, with RFC 9110 tokens and
 * quoted-strings):
 *
 * ```text
 * extension-list  = 1#extension
 * extension       = extension-token *( ";" extension-param )
 * extension-param = token [ "=" ( token / quoted-string ) ]
 * ```
 *
 * Optional whitespace (SP, HTAB) is allowed around `,`, `;` and `=` (RFC 6455 uses RFC 2616's
 * implied whitespace), and empty list elements are skipped (RFC 9110 §5.6.1). A quoted value must
 * be a token once unquoted (RFC 6455 §9.1).
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { isToken, isTokenChar } from "./http1_syntax.ts";

/**
 * One extension in a `Sec-WebSocket-Extensions` header: an offer from a client, or an accepted
 * extension in a server's response.
 */
export interface ExtensionOffer {
  /** The extension name, lower-cased (`permessage-deflate`). */
  name: string;
  /**
   * The parameters in order, names lower-cased, quoted values unquoted. A parameter without a
   * value is `true`.
   */
  params: Map<string, string | true>;
}

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function isQdtext(c: number): boolean {
  return c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new HandshakeError(
      "HANDSHAKE_INVALID",
      `Malformed Sec-WebSocket-Extensions header at offset ${this.pos}: ${what}`,
    );
  }

  skipOws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) break;
      this.pos++;
    }
  }

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  token(what: string): string {
    const start = this.pos;
    const t = this.text;
    while (this.pos < t.length && isTokenChar(t.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return t.slice(start, this.pos);
  }

  quoted(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = "";
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === DQUOTE) {
        this.pos++;
        return out;
      }
      if (c === BACKSLASH) {
        const next = t.charCodeAt(this.pos + 1);
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (!(next === HTAB || (next >= SP && next <= 0xff && next !== 0x7f))) {
          this.fail("bad quoted-pair");
        }
        out += t[this.pos + 1];
        this.pos += 2;
      } else if (isQdtext(c)) {
        out += t[this.pos];
        this.pos++;
      } else {
        this.fail("bad character in quoted-string");
      }
    }
    return this.fail("unterminated quoted-string");
  }
}

/**
 * Parses a `Sec-WebSocket-Extensions` header value into its extensions, in order.
 *
 * Several header lines arrive joined by `,` (as `Headers` joins them), which is the same list.
 * The same extension name may appear more than once (a client may offer alternatives). An empty
 * or whitespace-only value gives `[]`.
 *
 * A parameter name repeated within one extension makes the whole header invalid. RFC 7692 §7
 * asks a client to fail the connection in that case; a server may decline just that offer, but
 * no conforming client sends one, so wirestream answers it like any other malformed header.
 *
 * @example
 * ```ts
 * import { parseExtensionHeader } from "@wirestream/ws/raw";
 *
 * const [offer] = parseExtensionHeader(
 *   'permessage-deflate; client_max_window_bits; server_max_window_bits="10"',
 * );
 * console.log(offer?.name, offer?.params); // permessage-deflate Map(2) { "client_max_window_bits" => true, "server_max_window_bits" => "10" }
 * ```
 *
 * @param value The header value.
 * @returns The extensions in order.
 * @throws {HandshakeError} `HANDSHAKE_INVALID` on a syntax error, a quoted value that is not a
 * token, or a repeated parameter name.
 * @throws {TypeError} When `value` is not a string.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] {
  if (typeof value !== "string") throw new TypeError("The header value must be a string");
  const cur = new Cursor(value);
  const offers: ExtensionOffer[] = [];
  for (;;) {
    cur.skipOws();
    const c = cur.peek();
    if (c === -1) return offers;
    if (c === 0x2c) {
      cur.pos++; // empty list element
      continue;
    }
    const name = cur.token("an extension name").toLowerCase();
    const params = new Map<string, string | true>();
    cur.skipOws();
    while (cur.peek() === 0x3b) {
      cur.pos++;
      cur.skipOws();
      const paramStart = cur.pos;
      const param = cur.token("a parameter name").toLowerCase();
      cur.skipOws();
      let paramValue: string | true = true;
      if (cur.peek() === 0x3d) {
        cur.pos++;
        cur.skipOws();
        if (cur.peek() === DQUOTE) {
          const valueStart = cur.pos;
          paramValue = cur.quoted();
          if (!isToken(paramValue)) {
            cur.pos = valueStart;
            cur.fail("a quoted parameter value must be a token");
          }
        } else {
          paramValue = cur.token("a parameter value");
        }
        cur.skipOws();
      }
      if (params.has(param)) {
        cur.pos = paramStart;
        cur.fail(`repeated parameter ${param}`);
      }
      params.set(param, paramValue);
    }
    const next = cur.peek();
    if (next !== -1 && next !== 0x2c) cur.fail("expected ',' or ';'");
    offers.push({ name, params });
  }
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` header value: extensions joined by `, `,
 * parameters by `; `, no trailing whitespace. Returns `""` for no extensions (send no header).
 *
 * @example
 * ```ts
 * import { formatExtensionHeader } from "@wirestream/ws/raw";
 *
 * const value = formatExtensionHeader([{
 *   name: "permessage-deflate",
 *   params: new Map<string, string | true>([
 *     ["client_max_window_bits", true],
 *     ["server_max_window_bits", "10"],
 *   ]),
 * }]);
 * console.log(value); // "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
 * ```
 *
 * @param offers The extensions, in order of preference.
 * @returns The header value.
 * @throws {TypeError} When a name or value is not a token (values that are not tokens cannot be
 * sent, even quoted, by RFC 6455 §9.1) or a value is neither a string nor `true`.
 */
export function formatExtensionHeader(offers: readonly ExtensionOffer[]): string {
  if (!Array.isArray(offers)) throw new TypeError("offers must be an array");
  const parts: string[] = [];
  for (const offer of offers) {
    if (typeof offer?.name !== "string" || !isToken(offer.name)) {
      throw new TypeError(`Invalid extension name: ${JSON.stringify(offer?.name)}`);
    }
    if (!(offer.params instanceof Map)) {
      throw new TypeError(`Extension ${offer.name}: params must be a Map`);
    }
    let part = offer.name;
    for (const [param, paramValue] of offer.params) {
      if (typeof param !== "string" || !isToken(param)) {
        throw new TypeError(`Invalid parameter name: ${JSON.stringify(param)}`);
      }
      if (paramValue === true) {
        part += `; ${param}`;
      } else if (typeof paramValue === "string" && isToken(paramValue)) {
        part += `; ${param}=${paramValue}`;
      } else {
        throw new TypeError(
          `Invalid value for parameter ${param}: ${JSON.stringify(paramValue)} (must be a token)`,
        );
      }
    }
    parts.push(part);
  }
  return parts.join(", ");
}
