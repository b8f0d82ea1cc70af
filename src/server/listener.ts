/**
 * The standalone listener: `Deno.listen` / `Deno.listenTls`, its own HTTP/1.1 request parsing,
 * the handshake checks and limits (head size, handshake timeout, connection count), the fallback
 * handler for plain requests, and graceful shutdown.
 *
 * @module
 */

import { buildRejectResponse, computeAccept } from "../core/handshake.ts";
import { HandshakeError, WebSocketError } from "../core/errors.ts";
import { writeAll } from "../transport/frame_writer.ts";
import { type ParsedRequestHead, serializeResponseHead } from "../core/http1.ts";
import type { UpgradeCall } from "../session/raw_session.ts";
import { HttpConnection } from "./http_connection.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { Route, Router } from "./router.ts";
import { startSocketSession } from "./session_runner.ts";
import { SessionTracker } from "./session_tracker.ts";
import {
  decideUpgrade,
  hasToken,
  type IncomingRequest,
  report,
  untilAborted,
  type UpgradePlan,
} from "./upgrade.ts";

/** @internal What a listener needs of its server. */
export interface ServerCore {
  readonly options: ResolvedServerOptions;
  readonly router: Router;
  /** Routes already reported as unusable through `fetch`. */
  readonly reported: Set<Route>;
  /** Counts a connection in; `false` when `maxConnections` are already served. */
  acquire(): boolean;
  /** Counts a connection out. */
  release(): void;
}

/** A running listener, returned by `server.listen`. */
export interface ServerListener extends AsyncDisposable {
  /** The bound address (with the real port when `port` was 0). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the listener is shut down and every connection and handler is done. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, closes every session with 1001 "Server is going down", waits up to
   * `closeTimeout` for the close handshakes, aborts the rest, and waits for the handlers.
   *
   * @returns The same promise as `finished`.
   */
  shutdown(): Promise<void>;
}

/** How long a refused connection is kept to read what the client sent, so it is not reset. */
const LINGER = 1000;
/** The most refused connections kept lingering at once; past it they are closed at once. */
const MAX_LINGERING = 256;

/** The most unread request body skipped to keep a connection alive. */
const DISCARD_LIMIT = 64 * 1024;

/** A connection before its upgrade. */
interface Pending {
  readonly conn: Deno.Conn;
  /** `head` while waiting for a request head (closed at once on shutdown), `busy` after. */
  state: "head" | "busy";
  /** Aborted when the handshake is abandoned. */
  controller: AbortController | null;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * @internal The request URL: `scheme://Host` plus the origin-form target; the absolute form is
 * taken as is. `null` for targets a WebSocket server does not serve (`*`, authority form) or a
 * `Host` that does not make a URL.
 */
export function requestUrl(
  head: ParsedRequestHead,
  secure: boolean,
  local: Deno.NetAddr,
): URL | null {
  const target = head.target;
  const scheme = secure ? "https" : "http";
  try {
    if (target.startsWith("/")) {
      const host = head.headers.get("host") ??
        (local.hostname.includes(":")
          ? `[${local.hostname}]:${local.port}`
          : `${local.hostname}:${local.port}`);
      if (host === "" || /[\/?#@\s\\]/.test(host)) return null;
      const url = new URL(`${scheme}://${host}${target}`);
      return url;
    }
    if (/^(https?|wss?):\/\//i.test(target)) return new URL(target);
  } catch {
    return null;
  }
  return null;
}

/** @internal A listener over `Deno.listen` or `Deno.listenTls`. */
export class Listener implements ServerListener {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #core: ServerCore;
  readonly #listener: Deno.Listener;
  readonly #secure: boolean;
  readonly #pending = new Set<Pending>();
  readonly #lingering = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #tracker = new SessionTracker();
  readonly #done = Promise.withResolvers<void>();
  readonly #accepting: Promise<void>;
  #closing = false;
  #shutdown: Promise<void> | null = null;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * Starts accepting.
   *
   * @param core The server.
   * @param listener The bound listener.
   * @param secure Whether it speaks TLS.
   * @param signal Shuts the listener down when aborted.
   */
  constructor(core: ServerCore, listener: Deno.Listener, secure: boolean, signal?: AbortSignal) {
    this.#core = core;
    this.#listener = listener;
    this.#secure = secure;
    this.addr = listener.addr as Deno.NetAddr;
    this.finished = this.#done.promise;
    this.#accepting = this.#acceptLoop();
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.shutdown();
      };
      if (signal.aborted) this.shutdown();
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Sessions open on this listener. */
  get sessions(): number {
    return this.#tracker.size;
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #doShutdown(): Promise<void> {
    this.#closing = true;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener("abort", this.#onAbort);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    for (const entry of this.#pending) {
      if (entry.state === "head") this.#abandon(entry, "The server is shutting down");
    }
    for (const conn of this.#lingering) closeQuietly(conn);
    const timeout = this.#core.options.closeTimeout;
    const sessions = this.#tracker.closeAll(timeout);
    // Fallback requests and handshakes in progress get the same allowance.
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (this.#pending.size > 0) {
      timer = setTimeout(() => {
        for (const entry of this.#pending) this.#abandon(entry, "The server is shutting down");
      }, timeout);
    }
    try {
      while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    } finally {
      clearTimeout(timer);
    }
    await sessions;
    this.#done.resolve();
  }

  #abandon(entry: Pending, why: string): void {
    entry.controller?.abort(new WebSocketError("ABORTED", why));
    closeQuietly(entry.conn);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closing || err instanceof Deno.errors.BadResource) break;
        report(this.#core.options, err, { phase: "accept" });
        // Out of file descriptors and the like: breathe before trying again.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (this.#closing) {
        closeQuietly(conn);
        break;
      }
      const task = this.#serve(conn).catch((err) => {
        report(this.#core.options, err, { phase: "connection", remoteAddr: conn.remoteAddr });
      });
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const core = this.#core;
    if (!core.acquire()) {
      await this.#refuse(
        conn,
        buildRejectResponse(503, "Too many connections", { "Retry-After": "1" }),
      );
      return;
    }
    if (conn.remoteAddr.transport === "tcp" && !this.#secure) {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Not fatal.
      }
    }
    const entry: Pending = { conn, state: "head", controller: null };
    this.#pending.add(entry);
    let handedOver = false;
    try {
      handedOver = await this.#handshake(entry);
    } finally {
      this.#pending.delete(entry);
      if (!handedOver) {
        closeQuietly(conn);
        core.release();
      }
    }
  }

  /** Serves requests on a connection until it is upgraded (`true`) or closed (`false`). */
  async #handshake(entry: Pending): Promise<boolean> {
    const { options } = this.#core;
    const conn = entry.conn;
    const http = new HttpConnection(conn, options.maxHeaderSize);
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (options.handshakeTimeout > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          this.#abandon(
            entry,
            `The handshake did not complete within ${options.handshakeTimeout} ms`,
          );
        }, options.handshakeTimeout);
      }
    };
    arm();
    try {
      while (true) {
        entry.state = "head";
        let head: ParsedRequestHead | null;
        try {
          head = await http.readHead();
        } catch (err) {
          if (timedOut || this.#closing || !(err instanceof HandshakeError)) return false;
          if (err.code === "HANDSHAKE_HEAD_TOO_LARGE") {
            await this.#refuse(conn, buildRejectResponse(431, err.message));
          } else if (err.code === "HANDSHAKE_INVALID") {
            await this.#refuse(conn, buildRejectResponse(400, err.message));
          }
          return false;
        }
        if (head === null) return false;
        entry.state = "busy";
        if (this.#closing) {
          await this.#refuse(conn, buildRejectResponse(503, "The server is shutting down"));
          return false;
        }
        const url = requestUrl(head, this.#secure, this.addr);
        if (url === null) {
          await this.#refuse(conn, buildRejectResponse(400, "Invalid request target or Host"));
          return false;
        }
        const incoming = this.#incoming(entry, head, url);
        const outcome = await decideUpgrade(
          this.#core.router,
          options,
          incoming,
          this.#core.reported,
        );
        if (timedOut) {
          if (outcome.kind === "accept") {
            for (const a of outcome.plan.agreements) a.extension.dispose();
          }
          return false;
        }
        switch (outcome.kind) {
          case "reject":
            await this.#refuse(
              conn,
              buildRejectResponse(outcome.status, outcome.body, outcome.headers),
            );
            return false;
          case "response":
            await http.writeResponse(outcome.response, {
              method: head.method,
              http11: head.versionMinor >= 1,
              keepAlive: false,
              buffer: true,
            }).catch(() => {});
            await this.#linger(conn);
            return false;
          case "fallback": {
            clearTimeout(timer);
            const again = await this.#fallback(entry, http, head, url);
            if (!again || this.#closing) return false;
            arm();
            continue;
          }
          case "accept": {
            if (this.#closing) {
              for (const a of outcome.plan.agreements) a.extension.dispose();
              await this.#refuse(conn, buildRejectResponse(503, "The server is shutting down"));
              return false;
            }
            const ok = await this.#accept(http, outcome.plan);
            clearTimeout(timer);
            return ok;
          }
        }
      }
    } catch (err) {
      if (!timedOut && !this.#closing) {
        report(options, err, { phase: "connection", remoteAddr: conn.remoteAddr });
      }
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #incoming(entry: Pending, head: ParsedRequestHead, url: URL): IncomingRequest {
    let request: Request | null = null;
    return {
      head,
      url,
      remoteAddr: entry.conn.remoteAddr as Deno.NetAddr,
      get signal(): AbortSignal {
        entry.controller ??= new AbortController();
        return entry.controller.signal;
      },
      request: () => {
        if (request === null) {
          entry.controller ??= new AbortController();
          request = new Request(url, {
            method: head.method,
            headers: head.headers,
            signal: entry.controller.signal,
          });
        }
        return request;
      },
      mode: "listen",
    };
  }

  /** Writes the 101 and starts the session. */
  async #accept(http: HttpConnection, plan: UpgradePlan): Promise<boolean> {
    const { options } = this.#core;
    const conn = http.conn;
    const dispose = () => {
      for (const a of plan.agreements) a.extension.dispose();
    };
    const fields: [string, string][] = [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Accept", await computeAccept(plan.key)],
    ];
    if (plan.protocol !== "") fields.push(["Sec-WebSocket-Protocol", plan.protocol]);
    if (plan.extensionHeader !== "") {
      fields.push(["Sec-WebSocket-Extensions", plan.extensionHeader]);
    }
    for (const field of plan.headers) fields.push(field);
    let head: Uint8Array;
    try {
      head = serializeResponseHead(101, "Switching Protocols", fields);
    } catch (err) {
      dispose();
      report(options, err, {
        phase: "upgrade",
        route: plan.route.path,
        request: plan.request,
        remoteAddr: conn.remoteAddr,
      });
      await this.#refuse(conn, buildRejectResponse(500, "Internal Server Error"));
      return false;
    }
    try {
      await http.write(head);
    } catch {
      dispose();
      return false;
    }
    let headers: Headers | null = null;
    const call: UpgradeCall = {
      request: plan.request,
      response: {
        status: 101,
        statusText: "Switching Protocols",
        get headers(): Headers {
          return headers ??= new Headers(fields);
        },
      },
    };
    const leftover = http.takeLeftover();
    const started = startSocketSession(options, plan, conn, call, leftover);
    const core = this.#core;
    started.tracked.closed.then(() => core.release());
    this.#tracker.add(started.tracked, started.task);
    return true;
  }

  /** Serves one plain request with the fallback handler; `true` to read another. */
  async #fallback(
    entry: Pending,
    http: HttpConnection,
    head: ParsedRequestHead,
    url: URL,
  ): Promise<boolean> {
    const { options } = this.#core;
    const conn = http.conn;
    const handler = options.fallback!;
    const http11 = head.versionMajor === 1 && head.versionMinor >= 1;
    const headers = head.headers;
    if (head.versionMajor !== 1) {
      await this.#refuse(
        conn,
        buildRejectResponse(505, `HTTP version ${head.version} not supported`),
      );
      return false;
    }
    if (http11 && !headers.has("host")) {
      await this.#refuse(conn, buildRejectResponse(400, "Missing Host header"));
      return false;
    }
    if (headers.has("transfer-encoding")) {
      await this.#refuse(conn, buildRejectResponse(501, "Transfer-Encoding is not supported"));
      return false;
    }
    const lengthValue = headers.get("content-length");
    let length = 0;
    if (lengthValue !== null) {
      if (!/^\d{1,15}$/.test(lengthValue.trim())) {
        await this.#refuse(conn, buildRejectResponse(400, "Invalid Content-Length"));
        return false;
      }
      length = Number(lengthValue.trim());
    }
    const method = head.method;
    const bodyless = method === "GET" || method === "HEAD";
    if (bodyless && length > 0) {
      await this.#refuse(conn, buildRejectResponse(400, `A ${method} request cannot have a body`));
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
      await this.#refuse(conn, buildRejectResponse(400, "Invalid request"));
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
      again = await http.writeResponse(response, { method, http11, keepAlive });
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
   */
  async #refuse(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
    try {
      await writeAll(conn, bytes);
    } catch {
      closeQuietly(conn);
      return;
    }
    await this.#linger(conn);
  }

  async #linger(conn: Deno.Conn): Promise<void> {
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
