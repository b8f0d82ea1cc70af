/**
 * The standalone listener: `Deno.listen` / `Deno.listenTls`, the accept loop, the handshake of
 * each connection (request heads, limits on head size, handshake time and connection count, the
 * upgrade decision and the 101), and graceful shutdown. Plain requests and refusals are
 * answered by `http_fallback.ts`.
 *
 * @module
 */

import { HandshakeError, WebSocketError } from "../core/errors.ts";
import { buildRejectResponse, plainServerResponse } from "../core/handshake_response.ts";
import type { RequestHead } from "../core/http1_request.ts";
import { serializeResponseHead } from "../core/http1_serialize.ts";
import { writeAll } from "../transport/frame_writer.ts";
import { type Deadlined, HandshakeDeadlines } from "./handshake_deadlines.ts";
import { HttpConnection } from "./http_connection.ts";
import { closeQuietly, type FallbackConnection, HttpFallback } from "./http_fallback.ts";
import { writeResponse } from "./http_response.ts";
import { type Handshaking, ListenerRequests } from "./listener_request.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { Route, Router } from "./router.ts";
import { startSocketSession } from "./session_runner.ts";
import { SessionTracker } from "./session_tracker.ts";
import { decideUpgrade, report, type UpgradePlan } from "./upgrade.ts";
import { disposeAgreements, replyFields, upgradeCall } from "./upgrade_reply.ts";

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

/**
 * A running listener, returned by `server.listen`: `A` is `Deno.NetAddr` for TCP and TLS,
 * `Deno.UnixAddr` for a unix socket.
 */
export interface ServerListener<A extends Deno.Addr = Deno.NetAddr> extends AsyncDisposable {
  /** The bound address (with the real port when `port` was 0; the socket's path for unix). */
  readonly addr: A;
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

/** A connection before its upgrade. */
interface Pending extends Handshaking, FallbackConnection, Deadlined {
  /** `head` while waiting for a request head (closed at once on shutdown), `busy` after. */
  state: "head" | "busy";
}

/** @internal A listener over `Deno.listen` (TCP or unix) or `Deno.listenTls`. */
export class Listener implements ServerListener<Deno.NetAddr | Deno.UnixAddr> {
  readonly addr: Deno.NetAddr | Deno.UnixAddr;
  readonly finished: Promise<void>;
  readonly #core: ServerCore;
  readonly #fallback: HttpFallback;
  readonly #listener: Deno.Listener;
  readonly #secure: boolean;
  readonly #pending = new Set<Pending>();
  /** Connections being served (`#serve` not finished). */
  #active = 0;
  /** Resolved when `#active` drops to 0, while shutdown waits for it. */
  #drained: PromiseWithResolvers<void> | null = null;
  /** The handshake timeouts, with one timer. */
  readonly #deadlines: HandshakeDeadlines<Pending>;
  readonly #requests: ListenerRequests;
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
    this.#fallback = new HttpFallback(core.options);
    this.#listener = listener;
    this.#secure = secure;
    this.addr = listener.addr as Deno.NetAddr | Deno.UnixAddr;
    this.#requests = new ListenerRequests(this.addr, secure);
    this.#deadlines = new HandshakeDeadlines(core.options.handshakeTimeout, this.#onTimeout);
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
    this.#fallback.beginShutdown();
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
    this.#fallback.closeLingering();
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
      while (this.#active > 0) {
        this.#drained = Promise.withResolvers<void>();
        await this.#drained.promise;
      }
    } finally {
      this.#drained = null;
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
      this.#active++;
      this.#serve(conn);
    }
  }

  /** Serves a connection until it is upgraded or closed; never rejects. */
  async #serve(accepted: Deno.Conn): Promise<void> {
    const core = this.#core;
    const conn = core.options.wrapConn?.(accepted) ?? accepted;
    try {
      if (!core.acquire()) {
        await this.#fallback.refuse(
          conn,
          buildRejectResponse(503, "Too many connections", { "Retry-After": "1" }),
        );
        return;
      }
      if (accepted.remoteAddr.transport === "tcp" && !this.#secure) {
        try {
          (accepted as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Not fatal.
        }
      }
      const entry: Pending = {
        conn,
        http: new HttpConnection(conn, core.options.maxHeaderSize),
        state: "head",
        controller: null,
        deadline: 0,
        timedOut: false,
      };
      this.#pending.add(entry);
      let handedOver = false;
      try {
        handedOver = await this.#handshake(entry);
      } finally {
        this.#pending.delete(entry);
        this.#deadlines.disarm(entry);
        if (!handedOver) {
          closeQuietly(conn);
          core.release();
        }
      }
    } catch (err) {
      report(core.options, err, { phase: "connection", remoteAddr: conn.remoteAddr });
    } finally {
      if (--this.#active === 0) this.#drained?.resolve();
    }
  }

  /** Counts a session's connection out of the server once the session is closed. */
  readonly #release = (): void => {
    this.#core.release();
  };

  /** Abandons a handshake whose deadline has come. */
  readonly #onTimeout = (entry: Pending): void => {
    const timeout = this.#core.options.handshakeTimeout;
    this.#abandon(entry, `The handshake did not complete within ${timeout} ms`);
  };

  /** Serves requests on a connection until it is upgraded (`true`) or closed (`false`). */
  async #handshake(entry: Pending): Promise<boolean> {
    const { options } = this.#core;
    const conn = entry.conn;
    const http = entry.http;
    this.#deadlines.arm(entry);
    try {
      while (true) {
        entry.state = "head";
        let head: RequestHead | null | undefined;
        try {
          // The head is read here rather than by an async method: no promise per head.
          head = http.bufferedHead();
          while (head === undefined) {
            http.received(await conn.read(http.readRoom()));
            head = http.bufferedHead();
          }
        } catch (err) {
          if (entry.timedOut || this.#closing || !(err instanceof HandshakeError)) return false;
          if (err.code === "HANDSHAKE_HEAD_TOO_LARGE") {
            await this.#fallback.refuse(conn, buildRejectResponse(431, err.message));
          } else if (err.code === "HANDSHAKE_INVALID") {
            await this.#fallback.refuse(conn, buildRejectResponse(400, err.message));
          }
          return false;
        }
        if (head === null) return false;
        entry.state = "busy";
        if (this.#closing) {
          await this.#fallback.refuse(
            conn,
            buildRejectResponse(503, "The server is shutting down"),
          );
          return false;
        }
        const incoming = this.#requests.incoming(entry, head);
        if (incoming === null) {
          await this.#fallback.refuse(
            conn,
            buildRejectResponse(400, "Invalid request target or Host"),
          );
          return false;
        }
        let outcome = decideUpgrade(this.#core.router, options, incoming, this.#core.reported);
        if (outcome instanceof Promise) outcome = await outcome;
        if (entry.timedOut) {
          if (outcome.kind === "accept") disposeAgreements(outcome.plan);
          return false;
        }
        switch (outcome.kind) {
          case "reject":
            await this.#fallback.refuse(
              conn,
              buildRejectResponse(outcome.status, outcome.body, outcome.headers),
            );
            return false;
          case "response":
            await writeResponse(conn, outcome.response, {
              method: head.method,
              http11: head.versionMinor >= 1,
              keepAlive: false,
              buffer: true,
            }).catch(() => {});
            await this.#fallback.linger(conn);
            return false;
          case "fallback": {
            this.#deadlines.disarm(entry);
            const again = await this.#fallback.serve(entry, incoming);
            if (!again || this.#closing) return false;
            this.#deadlines.arm(entry);
            continue;
          }
          case "accept": {
            const plan = outcome.plan;
            if (this.#closing) {
              disposeAgreements(plan);
              await this.#fallback.refuse(
                conn,
                buildRejectResponse(503, "The server is shutting down"),
              );
              return false;
            }
            const fields = replyFields(plan);
            let reply: Uint8Array;
            try {
              // A plain reply is written from the head buffer, which is given back (for another
              // connection) only after the write.
              reply = fields === null
                ? plainServerResponse(plan.key, http.spareRoom())
                : serializeResponseHead(101, "Switching Protocols", fields);
            } catch (err) {
              disposeAgreements(plan);
              report(options, err, {
                phase: "upgrade",
                route: plan.route.path,
                request: plan.request,
                remoteAddr: conn.remoteAddr,
              });
              await this.#fallback.refuse(conn, buildRejectResponse(500, "Internal Server Error"));
              return false;
            }
            try {
              // writeAll, without its own promise when the socket takes it all at once.
              const n = await conn.write(reply);
              if (n < reply.length) await writeAll(conn, reply.subarray(n));
            } catch {
              disposeAgreements(plan);
              return false;
            }
            this.#startSession(http, plan, fields);
            this.#deadlines.disarm(entry);
            return true;
          }
        }
      }
    } catch (err) {
      if (!entry.timedOut && !this.#closing) {
        report(options, err, { phase: "connection", remoteAddr: conn.remoteAddr });
      }
      return false;
    }
  }

  /** Starts the session of an upgrade whose 101 is written. */
  #startSession(http: HttpConnection, plan: UpgradePlan, fields: [string, string][] | null): void {
    const call = upgradeCall(plan, fields);
    const leftover = http.takeLeftover();
    const started = startSocketSession(this.#core.options, plan, http.conn, call, leftover);
    this.#tracker.add(started.tracked, started.task, this.#release);
  }
}
