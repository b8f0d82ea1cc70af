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
