/**
 * The client side of the opening handshake over a socket: connect, send the upgrade request,
 * read and validate the 101 response, keep the bytes that follow it.
 *
 * @module
 */

import { HandshakeError, refusalMessage, WebSocketError } from "../core/errors.ts";
import type { Endpoint } from "../core/url.ts";
import type { ExtensionOffer } from "../core/extension_header.ts";
import { buildClientRequestHead } from "../core/handshake_request.ts";
import { generateKey } from "../core/handshake_key.ts";
import { validateServerResponse } from "../core/handshake_response.ts";
import { type ParsedResponseHead, parseResponseHeadLazily } from "../core/http1_response.ts";
import {
  abortError,
  connectionErrorFrom,
  connectWithin,
  phasedDeadline,
  type TlsOptions,
} from "../transport/connect.ts";
import type { ConnWrapper } from "../transport/conn_wrapper.ts";
import { writeAll } from "../transport/frame_writer.ts";
import { resolveProxy } from "../transport/proxy_settings.ts";

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
  /** A proxy URL, `false` for none, or `undefined` to let the environment decide. */
  proxy?: string | URL | false;
  /** Applied to the socket once connected, before the upgrade request (see `WRAP_CONN`). */
  wrapConn?: ConnWrapper;
}

/** What a successful dial gives. */
export interface DialResult {
  /** The upgraded socket. */
  conn: Deno.Conn;
  /** The request's fields, as sent (see `dialCall`). */
  requestFields: [string, string][];
  /** The 101 response head. */
  response: ParsedResponseHead;
  /** The subprotocol the server chose, or `""`. */
  protocol: string;
  /** The extensions the server accepted (parameters still to be checked by the negotiator). */
  extensions: ExtensionOffer[];
  /** Bytes after the response head: the first frames. */
  leftover: Uint8Array;
}

/** The most of a refusal's body kept for the error. */
const BODY_PREVIEW = 1024;
/** The most bytes read after a refusal's head (chunk framing included). */
const BODY_READ_LIMIT = 16 * 1024;

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
  const request = buildClientRequestHead({
    target: endpoint.target,
    host: endpoint.hostHeader,
    key,
    method: endpoint.method,
    protocols: options?.protocols,
    extensions: options?.extensions,
    headers: options?.headers,
  });
  // One deadline for both phases (connect, then upgrade): one timer and one abort listener.
  const guard = phasedDeadline(options?.signal);
  try {
    const opened = await connectWithin(
      {
        hostname: endpoint.hostname,
        port: endpoint.port,
        secure: endpoint.secure,
        unixPath: options?.unixPath,
      },
      {
        tls: options?.tls,
        connectTimeout: options?.connectTimeout,
        signal: options?.signal,
        proxy: options?.unixPath === undefined ? resolveProxy(endpoint.url, options?.proxy) : null,
      },
      guard,
    );
    const conn = options?.wrapConn?.(opened) ?? opened;
    const where = options?.unixPath ?? `${endpoint.hostname}:${endpoint.port}`;
    guard.phase(
      options?.handshakeTimeout ?? 0,
      "HANDSHAKE_TIMEOUT",
      `The opening handshake with ${where}`,
    );
    return await handshake(conn, request, key, where, endpoint, options, guard.promise);
  } finally {
    guard.cleanup();
  }
}

/** The upgrade over a connected socket, within `deadline` (which also settles on abort). */
async function handshake(
  conn: Deno.Conn,
  request: { head: Uint8Array; fields: [string, string][] },
  key: string,
  where: string,
  endpoint: Endpoint,
  options: DialOptions | undefined,
  deadline: Promise<never>,
): Promise<DialResult> {
  const progress = { refused: false };
  const upgrading = upgrade(conn, request, key, where, endpoint, options, deadline, progress);
  try {
    return await Promise.race([upgrading, deadline]);
  } catch (err) {
    let failure = err;
    if (progress.refused && !options?.signal?.aborted) {
      // The deadline passed while a refusal's body was being read: the refusal is the news, and
      // its reader stops at the deadline with what it has.
      failure = await upgrading.then(() => err, (e) => e);
    }
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    if (options?.signal?.aborted) throw abortError(options.signal);
    throw failure instanceof WebSocketError
      ? failure
      : connectionErrorFrom(failure, where, endpoint.secure);
  }
}

/** The first buffer for the response head (see `upgrade`). */
const FIRST_HEAD_BUFFER = 512;

async function upgrade(
  conn: Deno.Conn,
  request: { head: Uint8Array; fields: [string, string][] },
  key: string,
  where: string,
  endpoint: Endpoint,
  options: DialOptions | undefined,
  deadline: Promise<never>,
  progress: { refused: boolean },
): Promise<DialResult> {
  await writeAll(conn, request.head);
  // A 101 takes about 130-250 bytes: a small first buffer (it grows), so that a burst of dials
  // does not allocate (and zero) 4 KiB each.
  let buf = new Uint8Array(FIRST_HEAD_BUFFER);
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
    response = parseResponseHeadLazily(buf.subarray(0, len), {
      maxHeadSize: options?.maxHeadSize,
    });
  }
  const leftover = buf.slice(response.headLength, len);
  if (response.status !== 101) {
    progress.refused = true;
    const body = await readBodyPreview(conn, response, leftover, deadline);
    throw new HandshakeError(
      "HANDSHAKE_STATUS",
      refusalMessage(endpoint.url, response.status, response.statusText, body),
      { status: response.status, headers: response.headers, body },
    );
  }
  const accepted = validateServerResponse(response, {
    key,
    protocols: options?.protocols,
    extensions: options?.extensionNames ?? [],
  });
  return {
    conn,
    requestFields: request.fields,
    response,
    protocol: accepted.protocol,
    extensions: accepted.extensions,
    leftover,
  };
}

/**
 * Reads the start of a refusal's body for the error: nothing for 1xx, 204 and 304; up to 1 KiB
 * of a `Content-Length` body, of a decoded chunked body, or of a body that ends with the
 * connection. Stops early (with what it has) when `deadline` settles, so a server that keeps the
 * connection open costs at most the handshake timeout and still gives a `HANDSHAKE_STATUS` error.
 */
async function readBodyPreview(
  conn: Deno.Conn,
  response: ParsedResponseHead,
  leftover: Uint8Array,
  deadline: Promise<never>,
): Promise<Uint8Array> {
  const status = response.status;
  if (status < 200 || status === 204 || status === 304) return new Uint8Array(0);
  const chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(
    response.headers.get("transfer-encoding") ?? "",
  );
  let want = BODY_PREVIEW;
  const declared = response.headers.get("content-length");
  if (!chunked && declared !== null && /^\d+$/.test(declared)) {
    want = Math.min(Number(declared), BODY_PREVIEW);
  }
  const stop = deadline.then(() => null, () => null);
  let raw = leftover;
  while (true) {
    const body = chunked ? dechunk(raw) : { data: raw, done: raw.length >= want };
    if (body.done || raw.length >= BODY_READ_LIMIT) {
      return body.data.slice(0, chunked ? BODY_PREVIEW : want);
    }
    const chunk = new Uint8Array(4096);
    const n = await Promise.race([conn.read(chunk).catch(() => null), stop]);
    if (n === null) return body.data.slice(0, chunked ? BODY_PREVIEW : want);
    const joined = new Uint8Array(raw.length + n);
    joined.set(raw);
    joined.set(chunk.subarray(0, n), raw.length);
    raw = joined;
  }
}

/**
 * Decodes the start of a chunked body (RFC 9112 §7.1): the data so far (at most 1 KiB), and
 * whether nothing more is needed (the last chunk, 1 KiB gathered, or malformed framing).
 */
function dechunk(raw: Uint8Array): { data: Uint8Array; done: boolean } {
  const data = new Uint8Array(BODY_PREVIEW);
  let len = 0;
  let pos = 0;
  while (true) {
    let eol = -1;
    for (let i = pos; i + 1 < raw.length; i++) {
      if (raw[i] === 0x0d && raw[i + 1] === 0x0a) {
        eol = i;
        break;
      }
    }
    if (eol === -1) return { data: data.subarray(0, len), done: false };
    const line = String.fromCharCode(...raw.subarray(pos, Math.min(eol, pos + 256)));
    const sizeText = line.split(";")[0]!.trim();
    if (!/^[0-9a-f]{1,8}$/i.test(sizeText)) return { data: data.subarray(0, len), done: true };
    const size = parseInt(sizeText, 16);
    if (size === 0) return { data: data.subarray(0, len), done: true };
    const start = eol + 2;
    const avail = Math.min(size, raw.length - start);
    const take = Math.min(avail, BODY_PREVIEW - len);
    data.set(raw.subarray(start, start + take), len);
    len += take;
    if (len === BODY_PREVIEW) return { data, done: true };
    if (raw.length < start + size + 2) return { data: data.subarray(0, len), done: false };
    pos = start + size + 2;
  }
}
