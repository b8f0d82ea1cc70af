/**
 * The plain-HTTP side of a listener, for requests that are not upgraded: refusals, written and
 * then closed with a linger so the client reads them, and requests served by the fallback
 * handler (request checks, `Content-Length` bodies, the response, keep-alive).
 *
 * @module
 */

import { buildRejectResponse } from "../core/handshake_response.ts";
import { hasToken } from "../core/http1_syntax.ts";
import { writeAll } from "../transport/frame_writer.ts";
import type { HttpConnection } from "./http_connection.ts";
import { writeResponse } from "./http_response.ts";
import type { ResolvedServerOptions } from "./options.ts";
import { type IncomingRequest, report, untilAborted } from "./upgrade.ts";

/** How long a refused connection is kept to read what the client sent, so it is not reset. */
const LINGER = 1000;
/** The most refused connections kept lingering at once; past it they are closed at once. */
const MAX_LINGERING = 256;

/** The most unread request body skipped to keep a connection alive. */
const DISCARD_LIMIT = 64 * 1024;

/**
 * @internal Closes a connection, unless it is closed already.
 *
 * @param conn The connection.
 */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** @internal A listener's connection serving plain requests. */
export interface FallbackConnection {
  /** The connection, read up to the request's body. */
  readonly http: HttpConnection;
  /** Aborts the request being served when the listener abandons the connection. */
  controller: AbortController | null;
}

/** @internal The plain-HTTP side of one listener. */
export class HttpFallback {
  readonly #options: ResolvedServerOptions;
  /** Refused connections reading what the client still sends. */
  readonly #lingering = new Set<Deno.Conn>();
  #closing = false;

  /**
   * @param options The server options.
   */
  constructor(options: ResolvedServerOptions) {
    this.#options = options;
  }

  /** Begins the shutdown: refusals close at once, and responses end their connection. */
  beginShutdown(): void {
    this.#closing = true;
  }

  /** Closes the refused connections still lingering. */
  closeLingering(): void {
    for (const conn of this.#lingering) closeQuietly(conn);
  }

  /**
   * Serves one plain request with the fallback handler: checks the request (version, `Host`,
   * body framing), hands it over with its body, writes the response, and skips a small body the
   * handler left unread.
   *
   * @param entry The connection; its `controller` aborts the request.
   * @param incoming The request, its head read.
   * @returns Whether the connection may serve another request.
   */
  async serve(entry: FallbackConnection, incoming: IncomingRequest): Promise<boolean> {
    const options = this.#options;
    const http = entry.http;
    const head = incoming.head;
    const url = incoming.url;
    const conn = http.conn;
    const handler = options.fallback!;
    const http11 = head.versionMajor === 1 && head.versionMinor >= 1;
    const headers = head.headers;
    if (head.versionMajor !== 1) {
      await this.refuse(
        conn,
        buildRejectResponse(505, `HTTP version ${head.version} not supported`),
      );
      return false;
    }
    if (http11 && !headers.has("host")) {
      await this.refuse(conn, buildRejectResponse(400, "Missing Host header"));
      return false;
    }
    if (headers.has("transfer-encoding")) {
      await this.refuse(conn, buildRejectResponse(501, "Transfer-Encoding is not supported"));
      return false;
    }
    const lengthValue = headers.get("content-length");
    let length = 0;
    if (lengthValue !== null) {
      if (!/^\d{1,15}$/.test(lengthValue.trim())) {
        await this.refuse(conn, buildRejectResponse(400, "Invalid Content-Length"));
        return false;
      }
      length = Number(lengthValue.trim());
    }
    const method = head.method;
    const bodyless = method === "GET" || method === "HEAD";
    if (bodyless && length > 0) {
      await this.refuse(conn, buildRejectResponse(400, `A ${method} request cannot have a body`));
      return false;
    }
    const controller = new AbortController();
    entry.controller = controller;
    let request: Request;
    try {
      request = new Request(url, {
        method,
        headers,
        body: bodyless ? null : http.body(length),
        signal: controller.signal,
      });
    } catch {
      await this.refuse(conn, buildRejectResponse(400, "Invalid request"));
      return false;
    }
    const completed = Promise.withResolvers<void>();
    completed.promise.catch(() => {});
    const context = {
      phase: "fallback" as const,
      request: { url, method, headers },
      remoteAddr: conn.remoteAddr,
    };
    let response: Response;
    try {
      const result = await untilAborted(
        handler(request, {
          remoteAddr: conn.remoteAddr as Deno.NetAddr,
          completed: completed.promise,
        }),
        controller.signal,
      );
      if (!(result instanceof Response)) {
        throw new TypeError("The fallback handler must return a Response");
      }
      response = result;
    } catch (err) {
      if (controller.signal.aborted) {
        completed.reject(new Deno.errors.Interrupted("The connection was closed"));
        return false;
      }
      report(options, err, context);
      response = new Response("Internal Server Error", { status: 500 });
    }
    const keepAlive = http11 && !hasToken(headers.get("connection"), "close") && !this.#closing;
    let again: boolean;
    try {
      again = await writeResponse(conn, response, { method, http11, keepAlive });
    } catch (err) {
      completed.reject(
        new Deno.errors.Interrupted("The response could not be sent", { cause: err }),
      );
      controller.abort(err);
      return false;
    }
    completed.resolve();
    // A body the handler left unread is skipped when small; else the connection ends.
    if (again && !(await http.discardBody(DISCARD_LIMIT).catch(() => false))) return false;
    return again;
  }

  /**
   * Writes a refusal, ends our side, and reads (and drops) what the client still sends for a
   * short while, so that closing does not reset the connection before the client reads it.
   *
   * @param conn The connection.
   * @param bytes The response.
   */
  async refuse(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
    try {
      await writeAll(conn, bytes);
    } catch {
      closeQuietly(conn);
      return;
    }
    await this.linger(conn);
  }

  /**
   * Ends our side of a connection whose answer is written, and reads (and drops) what the
   * client still sends for a short while before closing it (at once while shutting down, or
   * when too many connections linger already).
   *
   * @param conn The connection.
   */
  async linger(conn: Deno.Conn): Promise<void> {
    if (this.#closing || this.#lingering.size >= MAX_LINGERING) {
      closeQuietly(conn);
      return;
    }
    this.#lingering.add(conn);
    const timer = setTimeout(() => closeQuietly(conn), LINGER);
    try {
      await conn.closeWrite();
      const scratch = new Uint8Array(1024);
      let total = 0;
      while (total < 65536) {
        const n = await conn.read(scratch);
        if (n === null) break;
        total += n;
      }
    } catch {
      // Closed by the timer, reset, or not TCP.
    } finally {
      clearTimeout(timer);
      this.#lingering.delete(conn);
      closeQuietly(conn);
    }
  }
}
