/**
 * Opening sockets: `Deno.connect` (ws), `Deno.connectTls` (wss), unix sockets, and tunnels
 * through a proxy (`Deno.connect` to the proxy, `CONNECT` or SOCKS5, then `Deno.startTls` for
 * wss), with a connect timeout, an abort signal, and typed errors.
 *
 * @module
 */

import { ConnectionError, TimeoutError, WebSocketError } from "../core/errors.ts";
import type { ProxyEndpoint } from "../core/proxy_url.ts";
import { openTunnel } from "./proxy_tunnel.ts";

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
   * The name sent as SNI and checked against the server certificate, when it differs from the
   * URL's host. It never changes where the connection goes: that is the URL's host. (Deno's
   * `Deno.startTls` takes no client certificate, so `serverName` cannot be combined with
   * `cert` and `key` unless it equals the URL's host.)
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
  /**
   * The proxy to tunnel through, or `null`/`undefined` for a direct connection.
   * @default {undefined}
   */
  proxy?: ProxyEndpoint | null;
}

/** Whether `err` is Deno's refusal of a permission the process was not granted. */
function isPermissionError(err: unknown): boolean {
  return err instanceof Deno.errors.PermissionDenied ||
    ("NotCapable" in Deno.errors && err instanceof Deno.errors.NotCapable);
}

/**
 * A `PERMISSION_DENIED` error in one sentence naming the flag: `--allow-net` for a TCP address
 * (the one Deno names, a proxy's when connecting through one), `--allow-read` or `--allow-write`
 * for a unix socket.
 */
function permissionError(err: unknown, message: string, where: string): ConnectionError {
  const named = /Requires (\w+) access to "([^"]*)"/.exec(message);
  const kind = named?.[1] ?? "net";
  const target = named?.[2] || where;
  const text = kind === "net"
    ? `Network access to ${target} is not allowed: run with --allow-net ` +
      `(or --allow-net=${target})`
    : `Access to ${target} is not allowed (${kind} permission): run with --allow-${kind} ` +
      `(or --allow-${kind}=${target})`;
  return new ConnectionError("PERMISSION_DENIED", text, { cause: err });
}

/** Maps a Deno connect error to a typed {@linkcode ConnectionError}. */
export function connectionErrorFrom(err: unknown, where: string, secure: boolean): WebSocketError {
  if (err instanceof WebSocketError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isPermissionError(err)) return permissionError(err, message, where);
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

/** The codes a {@linkcode Deadline} phase times out with. */
export type DeadlineCode = "CONNECT_TIMEOUT" | "HANDSHAKE_TIMEOUT" | "CLOSE_TIMEOUT";

/**
 * @internal A deadline over consecutive phases (a dial's connect, then its upgrade): `promise`
 * rejects with the signal's reason as a typed error when `signal` aborts, or with a
 * {@linkcode TimeoutError} when the current phase outlasts its limit. One timer and one abort
 * listener serve every phase: a phase whose end comes after the running timer's leaves it
 * running, and the timer, when it fires early for that phase, waits again for the rest.
 * `cleanup` stops the timer and the listener.
 */
export interface Deadline {
  /** Rejects at the current phase's limit or on abort (never resolves). */
  readonly promise: Promise<never>;
  /**
   * Starts a phase that may last `ms` from now (0 = no limit), failing with `code`.
   *
   * @param ms The phase's limit in milliseconds; 0 means none.
   * @param code The timeout's code.
   * @param what What timed out, for the message.
   */
  phase(ms: number, code: DeadlineCode, what: string): void;
  /** Stops the timer and the abort listener: nothing settles `promise` any more. */
  cleanup(): void;
}

/**
 * @internal A {@linkcode Deadline} with no phase yet (no limit); `signal` aborts at any time.
 *
 * @param signal Cancels the whole operation.
 * @returns The deadline.
 */
export function phasedDeadline(signal?: AbortSignal): Deadline {
  const { promise, reject } = Promise.withResolvers<never>();
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** When the running timer fires, and when the current phase times out (or `Infinity`). */
  let timerAt = 0;
  let due = Infinity;
  let limit = 0;
  let timeoutCode: DeadlineCode = "CONNECT_TIMEOUT";
  let subject = "";
  const fire = () => {
    timer = undefined;
    const left = due - performance.now();
    if (left === Infinity) return;
    if (left >= 1) arm(performance.now(), left);
    else reject(new TimeoutError(timeoutCode, `${subject} timed out after ${limit} ms`));
  };
  const arm = (now: number, ms: number) => {
    timerAt = now + ms;
    timer = setTimeout(fire, ms);
  };
  const onAbort = () => reject(abortError(signal!));
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  return {
    promise,
    phase(ms, code, what) {
      limit = ms;
      timeoutCode = code;
      subject = what;
      if (ms <= 0) {
        // A running timer finds no limit when it fires, and stops.
        due = Infinity;
        return;
      }
      const now = performance.now();
      due = now + ms;
      // The running timer fires first: it waits again for the rest then.
      if (timer !== undefined && timerAt <= due) return;
      if (timer !== undefined) clearTimeout(timer);
      arm(now, ms);
    },
    cleanup() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      due = Infinity;
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Rejects with the signal's reason as a typed error when `signal` aborts, or with a
 * {@linkcode TimeoutError} after `ms` (0 = never). `cleanup` stops the timer and the listener.
 */
export function deadline(
  ms: number,
  code: DeadlineCode,
  what: string,
  signal?: AbortSignal,
): Deadline {
  const guard = phasedDeadline(signal);
  guard.phase(ms, code, what);
  return guard;
}

/** The error an aborted signal stands for. */
export function abortError(signal: AbortSignal): WebSocketError {
  const reason = signal.reason;
  if (reason instanceof WebSocketError) return reason;
  return new WebSocketError("ABORTED", "The operation was aborted", { cause: reason });
}

/**
 * Opens a TCP, TLS or unix socket to `target`, directly or through a proxy.
 *
 * TLS goes through `Deno.connectTls`, except where the TLS name differs from the host connected
 * to (through a proxy, or with `tls.serverName`): then a TCP connection is opened and
 * `Deno.startTls` runs over it with that name, which Deno allows without a client certificate
 * only.
 *
 * @param target Where to connect.
 * @param options TLS, timeout, signal and proxy.
 * @returns The connected socket (for TLS, after the handshake).
 * @throws {TypeError} When a client certificate is given where `Deno.startTls` must be used.
 */
export async function openConnection(
  target: ConnectTarget,
  options?: ConnectOptions,
): Promise<Deno.Conn> {
  const guard = phasedDeadline(options?.signal);
  try {
    return await connectWithin(target, options, guard);
  } finally {
    guard.cleanup();
  }
}

/**
 * @internal {@linkcode openConnection} under a deadline that outlives it (a dial's, whose next
 * phase is the upgrade): starts the deadline's connect phase, and leaves the cleanup to the
 * caller.
 *
 * @param target Where to connect.
 * @param options TLS, timeout and proxy (the signal is the deadline's too).
 * @param guard The deadline: its connect phase starts here.
 * @returns The connected socket.
 */
export async function connectWithin(
  target: ConnectTarget,
  options: ConnectOptions | undefined,
  guard: Deadline,
): Promise<Deno.Conn> {
  const proxy = target.unixPath === undefined ? options?.proxy ?? null : null;
  const tls = options?.tls;
  const hostname = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
  const serverName = tls?.serverName ?? hostname;
  const startTls = target.secure && target.unixPath === undefined &&
    (proxy !== null || serverName !== hostname);
  if (startTls && (tls?.cert !== undefined || tls?.key !== undefined)) {
    throw new TypeError(
      `A client certificate cannot be used ${
        proxy ? "through a proxy" : "with a tls.serverName other than the URL's host"
      }: Deno.startTls takes no cert or key`,
    );
  }
  const direct = target.unixPath ?? `${target.hostname}:${target.port}`;
  let where = proxy === null ? direct : `the proxy ${proxy.display}`;
  const timeout = options?.connectTimeout ?? 0;
  const signal = options?.signal;
  if (signal?.aborted) throw abortError(signal);
  guard.phase(timeout, "CONNECT_TIMEOUT", `Connecting to ${direct}`);
  let conn: Deno.Conn | null = null;
  let gaveUp = false;
  const hold = <C extends Deno.Conn>(c: C): C => {
    conn = c;
    if (gaveUp) {
      c.close();
      throw new Error("gave up");
    }
    return c;
  };
  const attempt = (async () => {
    let c: Deno.Conn;
    if (target.unixPath !== undefined) {
      c = hold(await Deno.connect({ transport: "unix", path: target.unixPath }));
    } else if (target.secure && !startTls) {
      const tlsConn = hold(
        await Deno.connectTls({
          hostname,
          port: target.port,
          caCerts: tls?.caCerts,
          ...(tls?.cert !== undefined && tls?.key !== undefined
            ? { cert: tls.cert, key: tls.key }
            : {}),
          alpnProtocols: ["http/1.1"],
        }),
      );
      await tlsConn.handshake();
      c = tlsConn;
    } else {
      const tcp = hold(
        await Deno.connect({
          hostname: proxy?.hostname ?? hostname,
          port: proxy?.port ?? target.port,
        }),
      );
      tcp.setNoDelay(true);
      if (proxy !== null) {
        await openTunnel(tcp, proxy, { hostname, port: target.port });
        where = `${direct} (through ${proxy.display})`;
      }
      if (startTls) {
        const tlsConn = hold(
          await Deno.startTls(tcp, {
            hostname: serverName,
            caCerts: tls?.caCerts,
            alpnProtocols: ["http/1.1"],
          }),
        );
        await tlsConn.handshake();
        c = tlsConn;
      } else {
        c = tcp;
      }
    }
    hold(c);
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
  }
}
