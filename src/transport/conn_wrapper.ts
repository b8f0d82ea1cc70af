/**
 * @internal A hidden option for watching the bytes of a connection: an options object (of
 * `createClient`, the raw client calls, or `createServer`) may carry, under the symbol
 * {@linkcode WRAP_CONN}, a function that is applied to every socket the client opens (after the
 * TCP connect and TLS handshake, before the upgrade request) or the standalone listener accepts
 * (before the request head is read). The sessions then run over what it returns.
 *
 * The command-line tool's frame inspector uses it to see every byte in and out, the handshake
 * included. It is not part of the public API: no entry module exports it, and the public option
 * types do not declare it.
 *
 * @module
 */

/** @internal The key of the hidden option. */
export const WRAP_CONN: unique symbol = Symbol("wirestream.wrapConn");

/** @internal Wraps a socket; must return a connection that reads and writes through it. */
export type ConnWrapper = (conn: Deno.Conn) => Deno.Conn;

/**
 * @internal The wrapper an options object carries, if any.
 *
 * @param options An options object (or anything).
 * @returns The function under {@linkcode WRAP_CONN}, or `undefined`.
 */
export function connWrapperOf(options: unknown): ConnWrapper | undefined {
  if (options === null || typeof options !== "object") return undefined;
  const wrap = (options as { [WRAP_CONN]?: unknown })[WRAP_CONN];
  return typeof wrap === "function" ? wrap as ConnWrapper : undefined;
}
