/**
 * Opening sockets: `Deno.connect` (ws), `Deno.connectTls` (wss) and unix sockets, with a
 * connect timeout, an abort signal, and typed errors.
 *
 * @module
 */

import { ConnectionError, TimeoutError, WebSocketError } from "../core/errors.ts";

/** TLS settings for `wss:` connections. */
export interface TlsOptions {
  /**
   * PEM CA certificates to trust in addition to the system's.
   * @default {undefined}
   */
  caCerts?: string[];
  /**
   * A PEM client certificate chain, for mutual TLS (needs `key`).
   * @default {undefined}
   */
  cert?: string;
  /**
   * The PEM private key of `cert`.
   * @default {undefined}
   */
  key?: string;
  /**
   * The name checked against the server certificate (and sent as SNI), when it differs from
   * the URL's host.
   * @default {undefined}
   */
  serverName?: string;
}

/** Where to connect. */
export interface ConnectTarget {
  /** The host name or address. */
  hostname: string;
  /** The TCP port. */
  port: number;
  /** Whether to speak TLS. */
  secure: boolean;
  /** A unix socket path; when set, hostname and port only name the `Host` header. */
  unixPath?: string;
}

/** Options of {@linkcode openConnection}. */
export interface ConnectOptions {
  /**
   * TLS settings for secure targets.
   * @default {undefined}
   */
  tls?: TlsOptions;
  /**
   * Milliseconds allowed for the TCP connect and the TLS handshake; 0 means no limit.
   * @default {0}
   */
  connectTimeout?: number;
  /**
   * Cancels the connect.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Maps a Deno connect error to a typed {@linkcode ConnectionError}. */
export function connectionErrorFrom(err: unknown, where: string, secure: boolean): WebSocketError {
  if (err instanceof WebSocketError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.ConnectionRefused) {
    return new ConnectionError("CONNECTION_REFUSED", `Connection refused by ${where}`, {
      cause: err,
    });
  }
  if (/lookup address|dns error|Name or service not known|No address associated/i.test(message)) {
    return new ConnectionError("DNS_FAILED", `Could not resolve ${where}: ${message}`, {
      cause: err,
    });
  }
  if (
    secure &&
    (err instanceof Deno.errors.InvalidData || /certificate|tls|handshake|alert/i.test(message))
  ) {
    return new ConnectionError("TLS_FAILED", `TLS handshake with ${where} failed: ${message}`, {
      cause: err,
    });
  }
  if (err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe) {
    return new ConnectionError("CONNECTION_RESET", `Connection to ${where} was reset`, {
      cause: err,
    });
  }
  return new ConnectionError("CONNECTION_FAILED", `Could not connect to ${where}: ${message}`, {
    cause: err,
  });
}

/**
 * Rejects with the signal's reason as a typed error when `signal` aborts, or with a
 * {@linkcode TimeoutError} after `ms` (0 = never). `cleanup` stops the timer and the listener.
 */
export function deadline(
  ms: number,
  code: "CONNECT_TIMEOUT" | "HANDSHAKE_TIMEOUT" | "CLOSE_TIMEOUT",
  what: string,
  signal?: AbortSignal,
): { promise: Promise<never>; cleanup: () => void } {
  const { promise, reject } = Promise.withResolvers<never>();
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (ms > 0) {
    timer = setTimeout(
      () => reject(new TimeoutError(code, `${what} timed out after ${ms} ms`)),
      ms,
    );
  }
  const onAbort = () => reject(abortError(signal!));
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  return {
    promise,
    cleanup: () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** The error an aborted signal stands for. */
export function abortError(signal: AbortSignal): WebSocketError {
  const reason = signal.reason;
  if (reason instanceof WebSocketError) return reason;
  return new WebSocketError("ABORTED", "The operation was aborted", { cause: reason });
}

/**
 * Opens a TCP, TLS or unix socket to `target`.
 *
 * @param target Where to connect.
 * @param options TLS, timeout and signal.
 * @returns The connected socket (for TLS, after the handshake).
 */
export async function openConnection(
  target: ConnectTarget,
  options?: ConnectOptions,
): Promise<Deno.Conn> {
  const where = target.unixPath ?? `${target.hostname}:${target.port}`;
  const timeout = options?.connectTimeout ?? 0;
  const signal = options?.signal;
  if (signal?.aborted) throw abortError(signal);
  const guard = deadline(timeout, "CONNECT_TIMEOUT", `Connecting to ${where}`, signal);
  let conn: Deno.Conn | null = null;
  let gaveUp = false;
  const attempt = (async () => {
    const hostname = target.hostname.startsWith("[")
      ? target.hostname.slice(1, -1)
      : target.hostname;
    let c: Deno.Conn;
    if (target.unixPath !== undefined) {
      c = await Deno.connect({ transport: "unix", path: target.unixPath });
    } else if (target.secure) {
      const tls = options?.tls;
      const tlsConn = await Deno.connectTls({
        hostname: tls?.serverName ?? hostname,
        port: target.port,
        caCerts: tls?.caCerts,
        ...(tls?.cert !== undefined && tls?.key !== undefined
          ? { cert: tls.cert, key: tls.key }
          : {}),
        alpnProtocols: ["http/1.1"],
      });
      conn = tlsConn;
      if (gaveUp) {
        tlsConn.close();
        throw new Error("gave up");
      }
      await tlsConn.handshake();
      c = tlsConn;
    } else {
      c = await Deno.connect({ hostname, port: target.port });
    }
    conn = c;
    if (gaveUp) {
      c.close();
      throw new Error("gave up");
    }
    // A TlsConn reports transport "tcp" too, but has no setNoDelay.
    if (c.remoteAddr.transport === "tcp" && "setNoDelay" in c) {
      (c as Deno.TcpConn).setNoDelay(true);
    }
    return c;
  })();
  try {
    return await Promise.race([attempt, guard.promise]);
  } catch (err) {
    gaveUp = true;
    // Closing a TLS connection whose handshake is in flight cancels the handshake at once, but
    // Deno keeps the socket itself open until the peer answers or closes (it finishes a TLS
    // handshake before shutting down); nothing on the JS side stays pending.
    if (conn !== null) {
      try {
        (conn as Deno.Conn).close();
      } catch { /* already closed */ }
    }
    attempt.catch(() => {});
    throw connectionErrorFrom(err, where, target.secure);
  } finally {
    guard.cleanup();
  }
}
