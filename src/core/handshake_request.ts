/**
 * The client's upgrade request (RFC 6455 §4.1, §4.2.1), without I/O: the client builds it with
 * {@linkcode buildClientRequest}; the server checks the parsed head with
 * {@linkcode validateClientRequest} before answering.
 *
 * Unlike Ktor's server, the server side checks `Sec-WebSocket-Key` and `Sec-WebSocket-Version`.
 *
 * @module
 */

import { type ExtensionOffer, parseExtensionHeader } from "./extension_header.ts";
import { hasToken, trimOws } from "./http1_syntax.ts";
import { type ParsedRequestHead, requestField as fieldOf } from "./http1_request.ts";
import { serializeRequestHead } from "./http1_serialize.ts";
import { isValidKey, WEBSOCKET_VERSION } from "./handshake_key.ts";
import { checkExtensionsArgument, protocolListProblem, userHeaders } from "./_handshake_fields.ts";

/** Options of {@linkcode buildClientRequest}. */
export interface ClientRequestOptions {
  /** The request target: path and query, e.g. `/chat?room=1`. Empty means `/`. */
  target: string;
  /** The `Host` value: `host[:port]`, the port left out when it is the scheme's default. */
  host: string;
  /** The `Sec-WebSocket-Key`, from {@linkcode generateKey}. */
  key: string;
  /**
   * Subprotocols to offer, in order of preference: unique RFC 7230 tokens.
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * The `Sec-WebSocket-Extensions` value to send (see `formatExtensionHeader`); empty sends none.
   * @default {""}
   */
  extensions?: string;
  /**
   * Extra headers. They may replace `Host`, but not `Upgrade`, `Connection`,
   * `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, `Sec-WebSocket-Protocol` (use `protocols`) or
   * `Sec-WebSocket-Extensions` (use `extensions`).
   */
  headers?: HeadersInit;
  /**
   * The request method.
   * @default {"GET"}
   */
  method?: string;
}

/** The result of {@linkcode buildClientRequest}. */
export interface ClientRequest {
  /** The request head, ready to write. */
  head: Uint8Array;
  /** Every header field of the request, as sent. */
  headers: Headers;
}

const CLIENT_FORBIDDEN = [
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
];

/**
 * Builds the client's upgrade request (RFC 6455 §4.1), fields in this order: `Host`, `Upgrade`,
 * `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, then `Sec-WebSocket-Protocol` and
 * `Sec-WebSocket-Extensions` when given, then the extra headers (lower-case names). A `Host` in
 * the extra headers replaces `host` in place.
 *
 * @example
 * ```ts
 * import { buildClientRequest, generateKey } from "@wirestream/ws/raw";
 *
 * const { head, headers } = buildClientRequest({
 *   target: "/chat",
 *   host: "example.com",
 *   key: generateKey(),
 *   protocols: ["v2.chat", "v1.chat"],
 *   headers: { authorization: "Bearer t0ken" },
 * });
 * console.log(headers.get("sec-websocket-protocol")); // "v2.chat, v1.chat"
 * console.log(new TextDecoder().decode(head).split("\r\n")[0]); // "GET /chat HTTP/1.1"
 * ```
 *
 * @param options The target, host, key, subprotocols, extensions and extra headers.
 * @returns The head bytes and the headers sent.
 * @throws {TypeError} When the target does not start with `/` or holds a space, control
 * character, non-ASCII character or `#`; when the host, key, method, a subprotocol or the
 * extensions value is invalid; when subprotocols repeat; or when an extra header is one of the
 * reserved ones.
 */
export function buildClientRequest(options: ClientRequestOptions): ClientRequest {
  const { head, fields } = buildClientRequestHead(options);
  return { head, headers: new Headers(fields) };
}

/**
 * @internal {@linkcode buildClientRequest} without the `Headers`: the head and its fields, in
 * the order sent (a client makes the `Headers` only when the application asks for them).
 *
 * @param options As for `buildClientRequest`.
 * @returns The head bytes and the fields sent.
 * @throws {TypeError} As `buildClientRequest`.
 */
export function buildClientRequestHead(
  options: ClientRequestOptions,
): { head: Uint8Array; fields: [string, string][] } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { key, protocols = [], extensions = "", method = "GET" } = options;
  const target = options.target === "" ? "/" : options.target;
  if (typeof target !== "string" || !/^\/[\x21-\x22\x24-\x7e]*$/.test(target)) {
    throw new TypeError(
      `Invalid request target ${JSON.stringify(target)}: expected a path and query`,
    );
  }
  if (!isValidKey(key)) {
    throw new TypeError(`Invalid key ${JSON.stringify(key)}: expected base64 of 16 bytes`);
  }
  if (!Array.isArray(protocols)) throw new TypeError("protocols must be an array");
  const problem = protocolListProblem(protocols);
  if (problem !== null) throw new TypeError(problem);
  checkExtensionsArgument(extensions);
  // No extra headers (the common case): no `Headers` to make and check.
  const extra = options.headers === undefined
    ? null
    : userHeaders(options.headers, CLIENT_FORBIDDEN, "a WebSocket client request");
  const host = extra?.get("host") ?? options.host;
  if (typeof host !== "string" || !/^[\x21-\x7e]+$/.test(host)) {
    throw new TypeError(`Invalid host ${JSON.stringify(host)}`);
  }
  const fields: [string, string][] = [
    ["Host", host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", WEBSOCKET_VERSION],
  ];
  if (protocols.length > 0) fields.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (trimOws(extensions) !== "") fields.push(["Sec-WebSocket-Extensions", trimOws(extensions)]);
  if (extra !== null) {
    for (const [name, value] of extra) {
      if (name !== "host") fields.push([name, value]);
    }
  }
  return { head: serializeRequestHead(method, target, fields), fields };
}

// ---------------------------------------------------------------------------------------------
// Checking a request (server side)

/** The comma-separated elements of a header value, OWS-trimmed, empty elements dropped. */
function listElements(value: string | null): string[] {
  if (value === null) return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const element = trimOws(part);
    if (element.length > 0) out.push(element);
  }
  return out;
}

/** Options of {@linkcode validateClientRequest}. */
export interface ClientRequestValidationOptions {
  /**
   * The allowed `Origin` values: strings compared case-insensitively, or patterns tested against
   * the header. When set, a request without `Origin` is refused too (non-browser clients must
   * send an allowed one). `undefined` allows any origin, and none.
   * @default {undefined}
   */
  origins?: readonly (string | RegExp)[];
}

/** A request that may be upgraded. */
export interface AcceptedClientRequest {
  /** The request may be upgraded. */
  ok: true;
  /** The `Sec-WebSocket-Key`, for {@linkcode buildServerResponse}. */
  key: string;
  /** The offered subprotocols in the client's order of preference (may be empty). */
  protocols: string[];
  /** The offered extensions in order (may be empty). */
  extensions: ExtensionOffer[];
  /** The `Origin` header, or `null` when absent. */
  origin: string | null;
}

/** A request that must be refused, with what to answer. */
export interface RejectedClientRequest {
  /** The request must not be upgraded. */
  ok: false;
  /** The status to answer with (400, 403, 405, 426 or 505). */
  status: number;
  /** Why, in words (for logs and the response body). */
  reason: string;
  /** Headers the response must carry (`Allow` for 405, `Upgrade` and friends for 426). */
  headers?: Headers;
}

/** The verdict of {@linkcode validateClientRequest}. */
export type ClientRequestCheck = AcceptedClientRequest | RejectedClientRequest;

function reject(status: number, reason: string, headers?: HeadersInit): RejectedClientRequest {
  return headers === undefined
    ? { ok: false, status, reason }
    : { ok: false, status, reason, headers: new Headers(headers) };
}

const UPGRADE_REQUIRED: [string, string][] = [["Upgrade", "websocket"], ["Connection", "Upgrade"]];

function originAllowed(origin: string, allowed: readonly (string | RegExp)[]): boolean {
  const lower = origin.toLowerCase();
  for (const entry of allowed) {
    if (typeof entry === "string" ? entry.toLowerCase() === lower : origin.search(entry) !== -1) {
      return true;
    }
  }
  return false;
}

/**
 * Checks a client's upgrade request (RFC 6455 §4.2.1). The checks run in this order; the first
 * failure decides the answer:
 *
 * 1. method not `GET` → 405 with `Allow: GET`;
 * 2. HTTP version below 1.1 → 400; major version above 1 → 505;
 * 3. no `Host` → 400 (RFC 9112 §3.2);
 * 4. a body (`Transfer-Encoding`, or `Content-Length` other than 0) → 400, since the bytes after
 *    the head must be WebSocket frames;
 * 5. no `Upgrade` header at all (a plain HTTP request) → 426 with `Upgrade: websocket`;
 *    an `Upgrade` without the token `websocket` → 400;
 * 6. `Connection` without the token `upgrade` → 400;
 * 7. `Sec-WebSocket-Version` missing or not `13` → 426 with `Sec-WebSocket-Version: 13` (before
 *    the key, since older drafts send other keys);
 * 8. `Sec-WebSocket-Key` missing or not base64 of 16 bytes → 400;
 * 9. malformed `Sec-WebSocket-Protocol` (not tokens, or repeated) → 400;
 * 10. malformed `Sec-WebSocket-Extensions` → 400;
 * 11. `Origin` not allowed by `origins` → 403.
 *
 * Token lists (`Upgrade`, `Connection`) are compared case-insensitively. Choosing a subprotocol
 * and negotiating extensions is up to the caller.
 *
 * @example
 * ```ts
 * import { parseRequestHead, validateClientRequest } from "@wirestream/ws/raw";
 *
 * const head = parseRequestHead(new TextEncoder().encode(
 *   "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
 *     "Origin: https://example.com\r\n\r\n",
 * ))!;
 * const check = validateClientRequest(head, { origins: ["https://example.com"] });
 * console.log(check.ok ? check.key : check.status); // "dGhlIHNhbXBsZSBub25jZQ=="
 * ```
 *
 * @param head The parsed request head.
 * @param options The allowed origins.
 * @returns The request's key, subprotocols, extensions and origin, or the status to refuse with.
 */
export function validateClientRequest(
  head: ParsedRequestHead,
  options?: ClientRequestValidationOptions,
): ClientRequestCheck {
  if (head.method !== "GET") {
    return reject(405, `Method ${head.method} not allowed for a WebSocket upgrade`, {
      Allow: "GET",
    });
  }
  if (head.versionMajor < 1 || (head.versionMajor === 1 && head.versionMinor < 1)) {
    return reject(400, `A WebSocket upgrade needs HTTP/1.1 or later, got ${head.version}`);
  }
  if (head.versionMajor > 1) {
    return reject(505, `HTTP version ${head.version} not supported`);
  }
  if (fieldOf(head, "host") === null) return reject(400, "Missing Host header");
  const contentLength = fieldOf(head, "content-length");
  if (
    fieldOf(head, "transfer-encoding") !== null || (contentLength !== null && contentLength !== "0")
  ) {
    return reject(400, "A WebSocket upgrade request must not have a body");
  }
  const upgrade = fieldOf(head, "upgrade");
  if (upgrade === null) {
    return reject(426, "Expected a WebSocket upgrade request", UPGRADE_REQUIRED);
  }
  if (!hasToken(upgrade, "websocket")) {
    return reject(400, `Expected Upgrade: websocket, got ${JSON.stringify(upgrade)}`);
  }
  if (!hasToken(fieldOf(head, "connection"), "upgrade")) {
    return reject(
      400,
      `Expected Connection: Upgrade, got ${JSON.stringify(fieldOf(head, "connection"))}`,
    );
  }
  const version = fieldOf(head, "sec-websocket-version");
  if (version !== WEBSOCKET_VERSION) {
    return reject(
      426,
      version === null
        ? "Missing Sec-WebSocket-Version header"
        : `Unsupported Sec-WebSocket-Version ${JSON.stringify(version)}`,
      [...UPGRADE_REQUIRED, ["Sec-WebSocket-Version", WEBSOCKET_VERSION]],
    );
  }
  const key = fieldOf(head, "sec-websocket-key");
  if (key === null) return reject(400, "Missing Sec-WebSocket-Key header");
  if (!isValidKey(key)) {
    return reject(400, `Invalid Sec-WebSocket-Key ${JSON.stringify(key)}`);
  }
  const protocolValue = fieldOf(head, "sec-websocket-protocol");
  const protocols = listElements(protocolValue);
  const problem = protocolValue !== null && protocols.length === 0
    ? "Empty Sec-WebSocket-Protocol header"
    : protocolListProblem(protocols);
  if (problem !== null) return reject(400, problem);
  let extensions: ExtensionOffer[] = [];
  const extensionsValue = fieldOf(head, "sec-websocket-extensions");
  if (extensionsValue !== null) {
    try {
      extensions = parseExtensionHeader(extensionsValue);
    } catch (error) {
      return reject(400, error instanceof Error ? error.message : String(error));
    }
  }
  const origin = fieldOf(head, "origin");
  const allowed = options?.origins;
  if (allowed !== undefined && (origin === null || !originAllowed(origin, allowed))) {
    return reject(
      403,
      origin === null ? "Missing Origin header" : `Origin ${JSON.stringify(origin)} not allowed`,
    );
  }
  return { ok: true, key, protocols, extensions, origin };
}
