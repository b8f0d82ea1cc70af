/**
 * The one byte-connection interface every session runs over. `Deno.Conn` (TCP, TLS and unix
 * sockets) implements it as it is, with no wrapper; another runtime's socket (a `node:net`
 * `Socket`, a Bun socket) would implement it with a small adapter, and every session, client
 * and server would then run on it unchanged.
 *
 * @module
 */

/**
 * A duplex byte connection: reads into the caller's buffer (so the frame reader decides where
 * bytes land, and a large payload is read straight into place), writes that may take part of a
 * buffer, an optional half-close, and the addresses.
 *
 * @example `Deno.Conn` is a `Transport`
 * ```ts ignore
 * import type { Transport } from "./transport.ts";
 *
 * const conn: Transport = await Deno.connect({ hostname: "127.0.0.1", port: 9001 });
 * ```
 */
export interface Transport {
  /**
   * Reads into `p`.
   *
   * @param p Where the bytes go.
   * @returns How many bytes were read, or `null` at end of stream.
   */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Writes some of `p` (callers loop over partial writes).
   *
   * @param p The bytes.
   * @returns How many bytes were taken.
   */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection (idempotent for callers: they catch a second close). */
  close(): void;
  /** Ends the write side only (TCP half-close), where the connection has one. */
  closeWrite?(): Promise<void>;
  /** The peer's address. */
  readonly remoteAddr?: Deno.Addr;
  /** Our address. */
  readonly localAddr?: Deno.Addr;
}
