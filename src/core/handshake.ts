/**
 * The WebSocket opening handshake (RFC 6455 §4), without I/O: building and checking the client's
 * upgrade request and the server's 101 response.
 *
 * Client side: {@linkcode generateKey}, {@linkcode buildClientRequest}, then
 * {@linkcode validateServerResponse} on the parsed response head. Server side:
 * {@linkcode validateClientRequest} on the parsed request head, then
 * {@linkcode buildServerResponse} or {@linkcode buildRejectResponse}.
 *
 * Unlike Ktor's CIO client, the client side checks `Sec-WebSocket-Accept`, `Upgrade` and
 * `Connection`, and unlike Ktor's server, the server side checks `Sec-WebSocket-Key` and
 * `Sec-WebSocket-Version`.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { type ExtensionOffer, parseExtensionHeader } from "./extension_header.ts";
import { hasToken, isFieldValue, isToken, trimOws } from "./http1_syntax.ts";
import { type ParsedRequestHead, requestField as fieldOf } from "./http1_request.ts";
import type { ParsedResponseHead } from "./http1_response.ts";
import { serializeRequestHead, serializeResponseHead, statusText } from "./http1_serialize.ts";
import { utf8Encoder } from "./_text.ts";
import { sha1 } from "./sha1.ts";

/** The GUID appended to the key before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The only protocol version spoken, sent in `Sec-WebSocket-Version`. */
export const WEBSOCKET_VERSION = "13";

// base64 of exactly 16 bytes, canonical: 21 free characters, one whose low 4 bits are 0 (A, Q,
// g or w), then "==".
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const IS_BASE64 = new Uint8Array(128);
for (let i = 0; i < 64; i++) IS_BASE64[BASE64_ALPHABET.charCodeAt(i)] = 1;

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode.apply(null, bytes as unknown as number[]));
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: the canonical base64 encoding of exactly 16 bytes.
 *
 * @example
 * ```ts
 * import { isValidKey } from "@wirestream/ws/raw";
 *
 * console.log(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="), isValidKey("abc")); // true false
 * ```
 *
 * @param key The header value.
 * @returns `true` when the key is well-formed.
 */
export function isValidKey(key: string): boolean {
  if (typeof key !== "string" || key.length !== 24) return false;
  for (let i = 0; i < 21; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f || IS_BASE64[c] === 0) return false;
  }
  const last = key.charCodeAt(21);
  return (last === 0x41 || last === 0x51 || last === 0x67 || last === 0x77) &&
    key.charCodeAt(22) === 0x3d && key.charCodeAt(23) === 0x3d;
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 bytes from `crypto.getRandomValues`, base64-encoded.
 *
 * @example
 * ```ts
 * import { generateKey } from "@wirestream/ws/raw";
 *
 * console.log(generateKey().length); // 24
 * ```
 *
 * @returns A 24-character key.
 */
export function generateKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(16)));
}

const GUID_LENGTH = WEBSOCKET_GUID.length;
const GUID_BYTES = utf8Encoder.encode(WEBSOCKET_GUID);
/** The hashed message when it is ASCII: key then GUID (grown for long keys). */
let acceptInput = new Uint8Array(64);
/** The digest of the last accept value. */
const acceptDigest = new Uint8Array(20);
const BASE64_CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) BASE64_CODES[i] = BASE64_ALPHABET.charCodeAt(i);
/** The length of an accept value: base64 of 20 bytes. */
const ACCEPT_LENGTH = 28;
/** The last accept value, as bytes. */
const acceptBytes = new Uint8Array(ACCEPT_LENGTH);

/**
 * Writes the accept value of `key` as 28 ASCII bytes at `offset` of `out`.
 */
function writeAccept(key: string, out: Uint8Array, offset: number): void {
  if (typeof key !== "string") throw new TypeError("The key must be a string");
  const length = key.length + GUID_LENGTH;
  let input: Uint8Array | null = acceptInput.length >= length ? acceptInput : null;
  if (input !== null) {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) {
        input = null;
        break;
      }
      input[i] = c;
    }
  }
  if (input !== null) {
    input.set(GUID_BYTES, key.length);
    input = input.subarray(0, length);
  } else {
    // Not ASCII, or longer than any valid key: UTF-8, as WebCrypto would have hashed it.
    input = utf8Encoder.encode(key + WEBSOCKET_GUID);
    if (length <= 1024 && acceptInput.length < length) acceptInput = new Uint8Array(length);
  }
  const d = sha1(input, acceptDigest);
  let j = offset;
  // 20 bytes: six groups of three, then two bytes and one "=".
  for (let i = 0; i < 18; i += 3) {
    const n = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
    out[j++] = BASE64_CODES[n >>> 18]!;
    out[j++] = BASE64_CODES[(n >>> 12) & 63]!;
    out[j++] = BASE64_CODES[(n >>> 6) & 63]!;
    out[j++] = BASE64_CODES[n & 63]!;
  }
  const n = (d[18]! << 16) | (d[19]! << 8);
  out[j++] = BASE64_CODES[n >>> 18]!;
  out[j++] = BASE64_CODES[(n >>> 12) & 63]!;
  out[j++] = BASE64_CODES[(n >>> 6) & 63]!;
  out[j] = 0x3d;
}

/**
 * The `Sec-WebSocket-Accept` value for a key: base64(SHA-1(key + {@linkcode WEBSOCKET_GUID})).
 *
 * @example
 * ```ts
 * import { computeAccept } from "@wirestream/ws/raw";
 *
 * console.log(computeAccept("dGhlIHNhbXBsZSBub25jZQ==")); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 *
 * @param key The `Sec-WebSocket-Key` (taken as is; it is not validated).
 * @returns The accept value.
 * @throws {TypeError} When `key` is not a string.
 */
export function computeAccept(key: string): string {
  writeAccept(key, acceptBytes, 0);
  return String.fromCharCode.apply(null, acceptBytes as unknown as number[]);
}

const PLAIN_101_START = serializeResponseHead(101, "Switching Protocols", [
  ["Upgrade", "websocket"],
  ["Connection", "Upgrade"],
  ["Sec-WebSocket-Accept", ""],
]).subarray(0, -4);

/**
 * @internal The `101 Switching Protocols` head for `key` with no subprotocol, extension or
 * extra header, built without checks: what `buildServerResponse(key)` gives for a valid key.
 *
 * @example
 * ```ts
 * import { plainServerResponse } from "./handshake.ts";
 *
 * const head = plainServerResponse("dGhlIHNhbXBsZSBub25jZQ==");
 * console.log(new TextDecoder().decode(head).includes("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")); // true
 * ```
 *
 * @param key The `Sec-WebSocket-Key` (taken as is; it is not validated).
 * @param room Where to write the head, when it is long enough (else a new array is made).
 * @returns The head bytes: the start of `room`, or a new array.
 * @throws {TypeError} When `key` is not a string.
 */
export function plainServerResponse(key: string, room?: Uint8Array): Uint8Array {
  const start = PLAIN_101_START.length;
  const end = start + ACCEPT_LENGTH;
  const head = room !== undefined && room.length >= end + 4
    ? room.subarray(0, end + 4)
    : new Uint8Array(end + 4);
  head.set(PLAIN_101_START);
  writeAccept(key, head, start);
  head[end] = 0x0d;
  head[end + 1] = 0x0a;
  head[end + 2] = 0x0d;
  head[end + 3] = 0x0a;
  return head;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

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

/** Checks a subprotocol list: tokens, unique. Returns the problem, or `null`. */
function protocolListProblem(protocols: readonly string[]): string | null {
  if (protocols.length === 0) return null;
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !isToken(protocol)) {
      return `Invalid subprotocol ${JSON.stringify(protocol)}: must be an RFC 7230 token`;
    }
    if (seen.has(protocol)) return `Duplicate subprotocol ${JSON.stringify(protocol)}`;
    seen.add(protocol);
  }
  return null;
}

/** `new Headers(init)`, refusing the names in `forbidden`. */
function userHeaders(
  init: HeadersInit | undefined,
  forbidden: readonly string[],
  where: string,
): Headers {
  const headers = new Headers(init);
  for (const name of forbidden) {
    if (headers.has(name)) {
      throw new TypeError(`The ${name} header cannot be set in ${where}`);
    }
  }
  return headers;
}

function checkHeaderValue(name: string, value: string): void {
  if (typeof value !== "string" || !isFieldValue(value)) {
    throw new TypeError(`Invalid ${name}: ${JSON.stringify(value)}`);
  }
}

function checkExtensionsArgument(extensions: string): void {
  checkHeaderValue("extensions", extensions);
  try {
    parseExtensionHeader(extensions);
  } catch (cause) {
    throw new TypeError(`Invalid extensions header value: ${JSON.stringify(extensions)}`, {
      cause,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Client side

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
  const extra = userHeaders(options.headers, CLIENT_FORBIDDEN, "a WebSocket client request");
  const host = extra.get("host") ?? options.host;
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
  for (const [name, value] of extra) {
    if (name !== "host") fields.push([name, value]);
  }
  const head = serializeRequestHead(method, target, fields);
  return { head, headers: new Headers(fields) };
}

/** What the client offered, for {@linkcode validateServerResponse}. */
export interface ServerResponseExpectation {
  /** The `Sec-WebSocket-Key` that was sent. */
  key: string;
  /**
   * The subprotocols that were offered.
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * The names of the extensions that were offered.
   * @default {[]}
   */
  extensions?: readonly string[];
}

/** The result of a successful {@linkcode validateServerResponse}. */
export interface AcceptedServerResponse {
  /** The subprotocol the server chose, or `""` for none (as `WebSocket.protocol`). */
  protocol: string;
  /**
   * The extensions the server accepted, in order, with their parameters unchecked: extension
   * negotiation decides whether the parameters are acceptable.
   */
  extensions: ExtensionOffer[];
}

/**
 * Checks the server's response to the upgrade request (RFC 6455 §4.1, client steps 1-6), in this
 * order: status 101 (`HANDSHAKE_STATUS`); `Upgrade` holds the token `websocket` and `Connection`
 * the token `upgrade`, both case-insensitively in comma lists (`HANDSHAKE_INVALID`);
 * `Sec-WebSocket-Accept` matches the key (`HANDSHAKE_ACCEPT_MISMATCH`); `Sec-WebSocket-Protocol`
 * is absent or exactly one of the offered subprotocols (`HANDSHAKE_PROTOCOL_MISMATCH`);
 * `Sec-WebSocket-Extensions` parses (`HANDSHAKE_INVALID`) and names only offered extensions
 * (`HANDSHAKE_EXTENSION_MISMATCH`). Every error carries the response's status and headers.
 *
 * @example
 * ```ts
 * import { computeAccept, parseResponseHead, validateServerResponse } from "@wirestream/ws/raw";
 *
 * const key = "dGhlIHNhbXBsZSBub25jZQ==";
 * const head = parseResponseHead(new TextEncoder().encode(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     `Sec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
 * ))!;
 * const { protocol } = validateServerResponse(head, { key, protocols: ["chat"] });
 * console.log(protocol); // "chat"
 * ```
 *
 * @param head The parsed response head.
 * @param expect The key sent and what was offered.
 * @returns The chosen subprotocol and the accepted extensions.
 * @throws {HandshakeError} When the response does not accept the upgrade as offered.
 */
export function validateServerResponse(
  head: ParsedResponseHead,
  expect: ServerResponseExpectation,
): AcceptedServerResponse {
  const { status, headers } = head;
  const fail = (
    code:
      | "HANDSHAKE_STATUS"
      | "HANDSHAKE_INVALID"
      | "HANDSHAKE_ACCEPT_MISMATCH"
      | "HANDSHAKE_PROTOCOL_MISMATCH"
      | "HANDSHAKE_EXTENSION_MISMATCH",
    message: string,
    cause?: unknown,
  ): HandshakeError => new HandshakeError(code, message, { status, headers, cause });

  if (status !== 101) {
    throw fail(
      "HANDSHAKE_STATUS",
      `Handshake exception, expected status code 101 but was ${status}`,
    );
  }
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    throw fail(
      "HANDSHAKE_INVALID",
      `Handshake exception, expected Upgrade: websocket but was ${
        JSON.stringify(headers.get("upgrade"))
      }`,
    );
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    throw fail(
      "HANDSHAKE_INVALID",
      `Handshake exception, expected Connection: Upgrade but was ${
        JSON.stringify(headers.get("connection"))
      }`,
    );
  }
  const expected = computeAccept(expect.key);
  const received = headers.get("sec-websocket-accept");
  if (received !== expected) {
    throw fail(
      "HANDSHAKE_ACCEPT_MISMATCH",
      received === null
        ? `Server should specify header Sec-WebSocket-Accept (expected: ${expected})`
        : `Failed to verify server accept header. Expected: ${expected}, received: ${received}`,
    );
  }
  const offeredProtocols = expect.protocols ?? [];
  const protocol = headers.get("sec-websocket-protocol");
  if (protocol !== null && !offeredProtocols.includes(protocol)) {
    throw fail(
      "HANDSHAKE_PROTOCOL_MISMATCH",
      offeredProtocols.length === 0
        ? `Server chose subprotocol ${JSON.stringify(protocol)} but none was offered`
        : `Server chose subprotocol ${JSON.stringify(protocol)}, which is not one of ${
          offeredProtocols.join(", ")
        }`,
    );
  }
  const extensionsValue = headers.get("sec-websocket-extensions");
  let extensions: ExtensionOffer[] = [];
  if (extensionsValue !== null) {
    try {
      extensions = parseExtensionHeader(extensionsValue);
    } catch (cause) {
      throw fail(
        "HANDSHAKE_INVALID",
        cause instanceof Error ? cause.message : "Malformed Sec-WebSocket-Extensions header",
        cause,
      );
    }
    const offered = new Set((expect.extensions ?? []).map((name) => name.toLowerCase()));
    for (const extension of extensions) {
      if (!offered.has(extension.name)) {
        throw fail(
          "HANDSHAKE_EXTENSION_MISMATCH",
          `Server accepted extension ${extension.name}, which was not offered`,
        );
      }
    }
  }
  return { protocol: protocol ?? "", extensions };
}

// ---------------------------------------------------------------------------------------------
// Server side

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

/** Options of {@linkcode buildServerResponse}. */
export interface ServerResponseOptions {
  /**
   * The chosen subprotocol, one the client offered; none when absent or empty.
   * @default {""}
   */
  protocol?: string;
  /**
   * The `Sec-WebSocket-Extensions` value of the accepted extensions; none when absent or empty.
   * @default {""}
   */
  extensions?: string;
  /**
   * Extra headers. They cannot set `Upgrade`, `Connection`, `Sec-WebSocket-Accept`,
   * `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`, `Content-Length` or
   * `Transfer-Encoding`.
   */
  headers?: HeadersInit;
}

const SERVER_FORBIDDEN = [
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
];

/**
 * Builds the server's `101 Switching Protocols` head (RFC 6455 §4.2.2): `Upgrade: websocket`,
 * `Connection: Upgrade`, `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
 * `Sec-WebSocket-Extensions` when given, then the extra headers.
 *
 * @example
 * ```ts
 * import { buildServerResponse } from "@wirestream/ws/raw";
 *
 * const head = buildServerResponse("dGhlIHNhbXBsZSBub25jZQ==", { protocol: "chat" });
 * console.log(new TextDecoder().decode(head));
 * // HTTP/1.1 101 Switching Protocols
 * // Upgrade: websocket
 * // Connection: Upgrade
 * // Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
 * // Sec-WebSocket-Protocol: chat
 * ```
 *
 * @param key The client's `Sec-WebSocket-Key`.
 * @param options The subprotocol, extensions and extra headers.
 * @returns The head bytes.
 * @throws {TypeError} When the key is not base64 of 16 bytes, the subprotocol is not a token,
 * the extensions value does not parse, or an extra header is one of the reserved ones.
 */
export function buildServerResponse(key: string, options?: ServerResponseOptions): Uint8Array {
  if (!isValidKey(key)) {
    throw new TypeError(`Invalid key ${JSON.stringify(key)}: expected base64 of 16 bytes`);
  }
  const protocol = options?.protocol ?? "";
  if (protocol !== "" && (typeof protocol !== "string" || !isToken(protocol))) {
    throw new TypeError(`Invalid subprotocol ${JSON.stringify(protocol)}`);
  }
  const extensions = options?.extensions ?? "";
  checkExtensionsArgument(extensions);
  const extra = userHeaders(options?.headers, SERVER_FORBIDDEN, "a 101 response");
  const fields: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", computeAccept(key)],
  ];
  if (protocol !== "") fields.push(["Sec-WebSocket-Protocol", protocol]);
  if (trimOws(extensions) !== "") fields.push(["Sec-WebSocket-Extensions", trimOws(extensions)]);
  for (const entry of extra) fields.push(entry);
  return serializeResponseHead(101, "Switching Protocols", fields);
}

/**
 * Builds a complete, small HTTP/1.1 response that refuses an upgrade: status line, `Content-Type`
 * (`text/plain; charset=utf-8` unless given, when there is a body), `Content-Length`,
 * `Connection: close` (merged with a given `Connection`, e.g. `Upgrade, close` for 426), the
 * extra headers, and the body. Close the connection after writing it.
 *
 * @example
 * ```ts
 * import { buildRejectResponse } from "@wirestream/ws/raw";
 *
 * const bytes = buildRejectResponse(403, "Origin not allowed");
 * console.log(new TextDecoder().decode(bytes).split("\r\n")[0]); // "HTTP/1.1 403 Forbidden"
 * ```
 *
 * @param status The status, an integer 200-599 other than 204 and 304 (which have no body).
 * @param body The body: text (UTF-8 encoded) or bytes.
 * @param headers Extra headers; not `Content-Length` or `Transfer-Encoding`.
 * @returns The response bytes, head and body.
 * @throws {RangeError} When the status is out of range.
 * @throws {TypeError} When a header is invalid or reserved.
 */
export function buildRejectResponse(
  status: number,
  body: string | Uint8Array = "",
  headers?: HeadersInit,
): Uint8Array {
  if (
    !Number.isInteger(status) || status < 200 || status > 599 || status === 204 || status === 304
  ) {
    throw new RangeError(`Status must be an integer 200-599 other than 204 and 304, got ${status}`);
  }
  let bytes: Uint8Array;
  if (typeof body === "string") bytes = utf8Encoder.encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else throw new TypeError("body must be a string or a Uint8Array");
  const extra = userHeaders(headers, ["content-length", "transfer-encoding"], "a response");
  const fields: [string, string][] = [];
  if (bytes.length > 0 && !extra.has("content-type")) {
    fields.push(["Content-Type", "text/plain; charset=utf-8"]);
  }
  fields.push(["Content-Length", String(bytes.length)]);
  const connection = extra.get("connection");
  fields.push([
    "Connection",
    connection === null
      ? "close"
      : hasToken(connection, "close")
      ? connection
      : `${connection}, close`,
  ]);
  for (const entry of extra) {
    if (entry[0] !== "connection") fields.push(entry);
  }
  const head = serializeResponseHead(status, statusText(status), fields);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}
