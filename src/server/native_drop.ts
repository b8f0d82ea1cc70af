/**
 * Dropping the connection under a `WebSocket` of `Deno.upgradeWebSocket`, for a client that
 * ignores the close frame.
 *
 * Deno's public API cannot do it (checked on Deno 2.9.6): once `close()` was called, Deno waits
 * for the client's close frame for as long as the client keeps the connection open. A second
 * `close()` does nothing, `idleTimeout` pings only sockets that are still open, the request's
 * `signal` is Deno's to abort (it already is, once the 101 is sent), and aborting `Deno.serve`'s
 * signal ends every connection of the server, not one. Deno itself ends a connection by closing
 * the socket's resource (after the close handshake, on a ping timeout); this module does the same
 * through Deno's internal handle: `Deno[Deno.internal].core.tryClose` on the socket's `[[rid]]`.
 * Where either is missing (another Deno version, another runtime), {@linkcode dropNativeSocket}
 * returns `false` and the connection stays until the client or `Deno.serve` ends it.
 *
 * @module
 */

/** What this module needs of Deno's internal `core`. */
interface DenoCore {
  tryClose(rid: number): void;
}

/** Deno's internal `core`, looked up once; `null` when it is not there. */
let core: DenoCore | null | undefined;

function denoCore(): DenoCore | null {
  if (core !== undefined) return core;
  core = null;
  try {
    const deno = Deno as unknown as Record<PropertyKey, unknown>;
    const key = deno.internal;
    if (typeof key !== "symbol" && typeof key !== "string") return core;
    const found = (deno[key] as { core?: { tryClose?: unknown } } | undefined)?.core;
    if (typeof found?.tryClose === "function") core = found as DenoCore;
  } catch {
    // No internal handle here.
  }
  return core;
}

/** The resource id of Deno's socket, once it is open. */
function resourceOf(socket: WebSocket): number | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== "[[rid]]") continue;
    const rid = (socket as unknown as Record<symbol, unknown>)[key];
    return typeof rid === "number" ? rid : undefined;
  }
  return undefined;
}

/**
 * @internal Ends the connection under `socket` at once, without a close frame, as Deno does when
 * its close handshake is over. Deno then fires the socket's `close` event.
 *
 * @param socket A server-side socket of `Deno.upgradeWebSocket`, open or closing.
 * @returns Whether the connection was dropped; `false` when Deno offers no way here.
 */
export function dropNativeSocket(socket: WebSocket): boolean {
  if (socket.readyState === WebSocket.CLOSED) return true;
  const deno = denoCore();
  if (deno === null) return false;
  const rid = resourceOf(socket);
  if (rid === undefined) return false;
  try {
    deno.tryClose(rid);
    return true;
  } catch {
    return false;
  }
}
