/**
 * The server's answer to an upgrade request (RFC 6455 §4.1, §4.2.2), without I/O: the server
 * builds the `101 Switching Protocols` head with {@linkcode buildServerResponse} (or refuses with
 * {@linkcode buildRejectResponse}); the client checks the parsed head with
 * {@linkcode validateServerResponse}.
 *
 * Unlike Ktor's CIO client, the client side checks `Sec-WebSocket-Accept`, `Upgrade` and
 * `Connection`.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { type ExtensionOffer, parseExtensionHeader } from "./extension_header.ts";
import { hasToken, isToken, trimOws } from "./http1_syntax.ts";
import { type ParsedResponseHead, responseField } from "./http1_response.ts";
import { serializeResponseHead, statusText } from "./http1_serialize.ts";
import { ACCEPT_LENGTH, computeAccept, isValidKey, writeAccept } from "./handshake_key.ts";
import { checkExtensionsArgument, userHeaders } from "./_handshake_fields.ts";
import { utf8Encoder } from "./_text.ts";

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

/** @internal The headers an application may not set on a 101 reply (the handshake owns them). */
export const SERVER_FORBIDDEN: readonly string[] = [
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
 * import { plainServerResponse } from "./handshake_response.ts";
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

// ---------------------------------------------------------------------------------------------
// Checking a response (client side)

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
  const status = head.status;
  // The fields are looked up without making the head's `Headers` (a lazily parsed head builds
  // them only for an error, or when the application asks).
  const field = (name: string) => responseField(head, name);
  const fail = (
    code:
      | "HANDSHAKE_STATUS"
      | "HANDSHAKE_INVALID"
      | "HANDSHAKE_ACCEPT_MISMATCH"
      | "HANDSHAKE_PROTOCOL_MISMATCH"
      | "HANDSHAKE_EXTENSION_MISMATCH",
    message: string,
    cause?: unknown,
  ): HandshakeError => new HandshakeError(code, message, { status, headers: head.headers, cause });

  if (status !== 101) {
    throw fail(
      "HANDSHAKE_STATUS",
      `Handshake exception, expected status code 101 but was ${status}`,
    );
  }
  if (!hasToken(field("upgrade"), "websocket")) {
    throw fail(
      "HANDSHAKE_INVALID",
      `Handshake exception, expected Upgrade: websocket but was ${
        JSON.stringify(field("upgrade"))
      }`,
    );
  }
  if (!hasToken(field("connection"), "upgrade")) {
    throw fail(
      "HANDSHAKE_INVALID",
      `Handshake exception, expected Connection: Upgrade but was ${
        JSON.stringify(field("connection"))
      }`,
    );
  }
  const expected = computeAccept(expect.key);
  const received = field("sec-websocket-accept");
  if (received !== expected) {
    throw fail(
      "HANDSHAKE_ACCEPT_MISMATCH",
      received === null
        ? `Server should specify header Sec-WebSocket-Accept (expected: ${expected})`
        : `Failed to verify server accept header. Expected: ${expected}, received: ${received}`,
    );
  }
  const offeredProtocols = expect.protocols ?? [];
  const protocol = field("sec-websocket-protocol");
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
  const extensionsValue = field("sec-websocket-extensions");
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
