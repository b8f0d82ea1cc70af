/**
 * The client side of the opening handshake over a socket: connect, send the upgrade request,
 * read and validate the 101 response, keep the bytes that follow it.
 *
 * @module
 */

import { HandshakeError, WebSocketError } from "../core/errors.ts";
import type { Endpoint } from "../core/url.ts";
import type { ExtensionOffer } from "../core/extension_header.ts";
import { buildClientRequest, generateKey, validateServerResponse } from "../core/handshake.ts";
import { type ParsedResponseHead, parseResponseHead } from "../core/http1.ts";
import {
  abortError,
  connectionErrorFrom,
  deadline,
  openConnection,
  type TlsOptions,
} from "./connect.ts";
import { writeAll } from "./frame_writer.ts";

/** Options of {@linkcode dial}. */
export interface DialOptions {
  /** Extra request headers. */
  headers?: HeadersInit;
  /** Subprotocols to offer, most preferred first. */
  protocols?: readonly string[];
  /** The `Sec-WebSocket-Extensions` offer, if any. */
  extensions?: string;
  /** Names of the offered extensions (the response may only name these). */
  extensionNames?: readonly string[];
  /** TLS settings. */
  tls?: TlsOptions;
  /** A unix socket path to connect to instead of host and port. */
  unixPath?: string;
  /** Milliseconds for connect (TCP and TLS); 0 = no limit. */
  connectTimeout?: number;
  /** Milliseconds for the HTTP upgrade once connected; 0 = no limit. */
  handshakeTimeout?: number;
  /** The largest response head accepted. */
  maxHeadSize?: number;
  /** Cancels the whole dial. */
  signal?: AbortSignal;
}

/** What a successful dial gives. */
export interface DialResult {
  /** The upgraded socket. */
  conn: Deno.Conn;
  /** The request headers sent. */
  requestHeaders: Headers;
  /** The 101 response head. */
  response: ParsedResponseHead;
  /** The subprotocol the server chose, or `""`. */
  protocol: string;
  /** The extensions the server accepted (parameters still to be checked by the negotiator). */
  extensions: ExtensionOffer[];
  /** Bytes after the response head: the first frames. */
  leftover: Uint8Array;
}

const BODY_PREVIEW = 1024;

/**
 * Connects to `endpoint` and performs the opening handshake.
 *
 * @param endpoint Where to connect.
 * @param options Headers, protocols, extensions, TLS, timeouts, signal.
 * @returns The upgraded socket and what the handshake settled.
 */
export async function dial(endpoint: Endpoint, options?: DialOptions): Promise<DialResult> {
  const key = generateKey();
  // Build the request first: bad headers or protocols throw before any socket is opened.
  const request = buildClientRequest({
    target: endpoint.target,
    host: endpoint.hostHeader,
    key,
    method: endpoint.method,
    protocols: options?.protocols,
    extensions: options?.extensions,
    headers: options?.headers,
  });
  const conn = await openConnection(
    {
      hostname: endpoint.hostname,
      port: endpoint.port,
      secure: endpoint.secure,
      unixPath: options?.unixPath,
    },
    { tls: options?.tls, connectTimeout: options?.connectTimeout, signal: options?.signal },
  );
  const where = options?.unixPath ?? `${endpoint.hostname}:${endpoint.port}`;
  const guard = deadline(
    options?.handshakeTimeout ?? 0,
    "HANDSHAKE_TIMEOUT",
    `The opening handshake with ${where}`,
    options?.signal,
  );
  try {
    return await Promise.race([
      upgrade(conn, request.head, request.headers, key, where, options),
      guard.promise,
    ]);
  } catch (err) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    if (options?.signal?.aborted) throw abortError(options.signal);
    throw err instanceof WebSocketError ? err : connectionErrorFrom(err, where, endpoint.secure);
  } finally {
    guard.cleanup();
  }
}

async function upgrade(
  conn: Deno.Conn,
  head: Uint8Array,
  requestHeaders: Headers,
  key: string,
  where: string,
  options: DialOptions | undefined,
): Promise<DialResult> {
  await writeAll(conn, head);
  let buf = new Uint8Array(4096);
  let len = 0;
  let response: ParsedResponseHead | null = null;
  while (response === null) {
    if (len === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) {
      throw new HandshakeError(
        "HANDSHAKE_EOF",
        `${where} closed the connection before answering the upgrade request`,
      );
    }
    len += n;
    response = parseResponseHead(buf.subarray(0, len), { maxHeadSize: options?.maxHeadSize });
  }
  let leftover = buf.slice(response.headLength, len);
  if (response.status !== 101) {
    // Read up to 1 KiB of the body for the error, within the handshake deadline.
    const declared = Number(response.headers.get("content-length") ?? BODY_PREVIEW);
    const want = Math.min(BODY_PREVIEW, Number.isFinite(declared) ? declared : BODY_PREVIEW);
    while (leftover.length < want) {
      const chunk = new Uint8Array(want - leftover.length);
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) break;
      const joined = new Uint8Array(leftover.length + n);
      joined.set(leftover);
      joined.set(chunk.subarray(0, n), leftover.length);
      leftover = joined;
    }
    throw new HandshakeError(
      "HANDSHAKE_STATUS",
      `Handshake exception, expected status code 101 but was ${response.status}`,
      { status: response.status, headers: response.headers, body: leftover.slice(0, BODY_PREVIEW) },
    );
  }
  const accepted = await validateServerResponse(response, {
    key,
    protocols: options?.protocols,
    extensions: options?.extensionNames ?? [],
  });
  return {
    conn,
    requestHeaders,
    response,
    protocol: accepted.protocol,
    extensions: accepted.extensions,
    leftover,
  };
}
