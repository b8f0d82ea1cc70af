/**
 * Writing a `Response` on an HTTP/1.1 connection: the head, the hop-by-hop fields the writer
 * owns, and the body framed by `Content-Length`, chunked (HTTP/1.1) or by closing the
 * connection (HTTP/1.0), with the keep-alive decision that follows.
 *
 * @module
 */

import { hasToken } from "../core/http1_syntax.ts";
import { serializeResponseHead, statusText } from "../core/http1_serialize.ts";
import { writeAll } from "../transport/frame_writer.ts";

/** Headers the response writer sets itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** @internal How {@linkcode writeResponse} writes a response. */
export interface WriteResponseOptions {
  /** The request method (`HEAD` gets no body). */
  method: string;
  /** Whether the request was HTTP/1.1 (or later): chunked bodies and keep-alive. */
  http11: boolean;
  /** Whether to keep the connection open for another request, when the response allows it. */
  keepAlive: boolean;
  /**
   * Whether to read a body without `Content-Length` whole first, to send it with one.
   * @default {false}
   */
  buffer?: boolean;
}

/**
 * @internal Writes a response. The body is framed with the response's own `Content-Length`,
 * else chunked (HTTP/1.1) or by closing the connection (HTTP/1.0).
 *
 * @param conn The connection.
 * @param response The response.
 * @param options The request method and version, and whether to keep the connection open.
 * @returns Whether the connection may serve another request.
 */
export async function writeResponse(
  conn: Deno.Conn,
  response: Response,
  options: WriteResponseOptions,
): Promise<boolean> {
  if (options.buffer && response.body !== null && !response.headers.has("content-length")) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    const headers = new Headers(response.headers);
    headers.set("content-length", String(bytes.length));
    response = new Response(bytes.length > 0 ? bytes : null, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
  const status = response.status;
  let keepAlive = options.keepAlive && options.http11;
  if (hasToken(response.headers.get("connection"), "close")) keepAlive = false;
  const noBody = options.method === "HEAD" || status < 200 || status === 204 || status === 304;
  const declared = response.headers.get("content-length");
  const length = declared !== null && /^\d+$/.test(declared.trim())
    ? Number(declared.trim())
    : null;
  const fields: [string, string][] = [];
  for (const [name, value] of response.headers) {
    if (!HOP_BY_HOP.has(name)) fields.push([name, value]);
  }
  const body = noBody ? null : response.body;
  let chunked = false;
  if (noBody) {
    if (length !== null && status !== 204 && status !== 304) {
      fields.push(["content-length", String(length)]);
    }
  } else if (body === null) {
    fields.push(["content-length", "0"]);
  } else if (length !== null) {
    fields.push(["content-length", String(length)]);
  } else if (options.http11) {
    fields.push(["transfer-encoding", "chunked"]);
    chunked = true;
  } else {
    keepAlive = false;
  }
  fields.push(["connection", keepAlive ? "keep-alive" : "close"]);
  const head = serializeResponseHead(status, response.statusText || statusText(status), fields);
  if (body === null) {
    await response.body?.cancel().catch(() => {});
    await writeAll(conn, head);
    return keepAlive;
  }
  const reader = body.getReader();
  let sent = 0;
  try {
    await writeAll(conn, head);
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError("A response body must be a stream of Uint8Array chunks");
      }
      if (value.length === 0) continue;
      sent += value.length;
      if (length !== null && sent > length) {
        throw new RangeError(`The response body is longer than its Content-Length ${length}`);
      }
      if (chunked) {
        const size = encoder.encode(value.length.toString(16) + "\r\n");
        const out = new Uint8Array(size.length + value.length + 2);
        out.set(size);
        out.set(value, size.length);
        out.set(CRLF, size.length + value.length);
        await writeAll(conn, out);
      } else {
        await writeAll(conn, value);
      }
    }
    if (chunked) await writeAll(conn, LAST_CHUNK);
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  if (length !== null && sent !== length) return false;
  return keepAlive;
}
