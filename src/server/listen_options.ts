/**
 * The options of `server.listen`: TCP (with TLS when given a certificate and key), or a unix
 * socket.
 *
 * @module
 */

/** Options of `WebSocketServer.listen`. */
export interface ListenOptions {
  /**
   * The TCP port; 0 picks a free one (read it from the returned `addr`).
   * @default {8000}
   */
  port?: number;
  /**
   * The address to bind.
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * A PEM certificate chain: with `key`, the listener speaks TLS (`wss:`).
   * @default {undefined}
   */
  cert?: string;
  /**
   * The PEM private key of `cert`.
   * @default {undefined}
   */
  key?: string;
  /**
   * Shuts the listener down when aborted (as `shutdown()`).
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Options of `WebSocketServer.listen` on a unix socket. */
export interface UnixListenOptions {
  /**
   * The unix socket's path. It must not exist yet; shutting the listener down removes it.
   */
  path: string;
  /**
   * Shuts the listener down when aborted (as `shutdown()`).
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Checks the options of `listen` and opens the socket: a unix socket for `path`, else TCP, with
 * TLS when given `cert` and `key`.
 *
 * @param options The options.
 * @returns The listener, and whether it speaks TLS.
 * @throws {TypeError} When only one of `cert` and `key` is given, or `path` with a port, an
 *   address or TLS.
 * @throws {RangeError} When the port is out of range.
 */
export function openListener(
  options: ListenOptions | UnixListenOptions | undefined,
): { listener: Deno.Listener; secure: boolean } {
  if (options !== undefined && "path" in options && options.path !== undefined) {
    const path = options.path;
    if (typeof path !== "string" || path === "") {
      throw new TypeError("path must be a non-empty string");
    }
    const other = ["port", "hostname", "cert", "key"].filter((k) =>
      (options as unknown as Record<string, unknown>)[k] !== undefined
    );
    if (other.length > 0) {
      throw new TypeError(`A unix socket listener takes no ${other.join(", ")}`);
    }
    return { listener: Deno.listen({ transport: "unix", path }), secure: false };
  }
  const o = options as ListenOptions | undefined;
  const port = o?.port ?? 8000;
  const hostname = o?.hostname ?? "0.0.0.0";
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer 0-65535, got ${port}`);
  }
  const cert = o?.cert;
  const key = o?.key;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("A TLS listener needs both cert and key");
  }
  const secure = cert !== undefined && key !== undefined;
  const listener = secure
    ? Deno.listenTls({ port, hostname, cert, key, alpnProtocols: ["http/1.1"] })
    : Deno.listen({ port, hostname });
  return { listener, secure };
}
