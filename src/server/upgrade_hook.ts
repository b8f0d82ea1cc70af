/**
 * Upgrade hooks: what a hook run before the 101 is given, what it may return, and the check of
 * what it returned to accept an upgrade.
 *
 * @module
 */

import { SERVER_FORBIDDEN } from "../core/handshake_response.ts";

/** What an upgrade hook learns about the request, besides the `Request` itself. */
export interface UpgradeContext<D = unknown> {
  /** The route's path pattern, as registered. */
  readonly route: string;
  /** Which session the route opens. */
  readonly kind: "managed" | "raw";
  /** The parameters the route pattern captured (`/chat/:room` → `{ room }`). */
  readonly params: Readonly<Record<string, string>>;
  /** The client's address, when known. */
  readonly remoteAddr: Deno.NetAddr | undefined;
  /** The subprotocols the client offered, in its order of preference. */
  readonly protocols: readonly string[];
  /** The subprotocol chosen so far (the route's, or an earlier hook's), or `""`. */
  readonly protocol: string;
  /** The `Origin` header, or `null`. */
  readonly origin: string | null;
  /** The data attached by an earlier hook (the server's hook, for a route's hook). */
  readonly data: D | undefined;
  /**
   * Aborted when the handshake is abandoned: `handshakeTimeout` passed, the client went away,
   * or the server is shutting down.
   */
  readonly signal: AbortSignal;
}

/** What an upgrade hook returns to let the upgrade go ahead. */
export interface UpgradeAcceptance<D = unknown> {
  /**
   * Headers added to the 101 reply (`Set-Cookie`, for example). They cannot replace the
   * handshake's own: `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`
   * (use `protocol`), `Sec-WebSocket-Extensions`, `Content-Length`, `Transfer-Encoding`.
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * Data attached to the session (`session.data`): the authenticated user, for example.
   * @default {undefined}
   */
  data?: D;
  /**
   * The subprotocol to answer with: one the client offered. Overrides the route's.
   * @default {undefined}
   */
  protocol?: string;
}

/**
 * A hook run before the 101 reply. Return (or throw) a `Response` to refuse the upgrade with it
 * (a 401 with `WWW-Authenticate`, a redirect, …); return an {@linkcode UpgradeAcceptance} or
 * nothing to accept. Any other exception refuses the upgrade with 500 and is reported to
 * `onError`.
 *
 * @example Require a bearer token
 * ```ts ignore
 * import { createServer } from "@wirestream/ws/server";
 *
 * const server = createServer({
 *   upgrade(request) {
 *     const token = request.headers.get("authorization");
 *     if (token !== "Bearer s3cret") {
 *       return new Response("Unauthorized", {
 *         status: 401,
 *         headers: { "WWW-Authenticate": 'Bearer realm="chat"' },
 *       });
 *     }
 *     return { data: { user: "alice" }, headers: { "Set-Cookie": "seen=1" } };
 *   },
 * });
 * ```
 */
export type UpgradeHook<D = unknown> = (
  request: Request,
  context: UpgradeContext<D>,
) =>
  | UpgradeAcceptance<D>
  | Response
  | void
  | undefined
  | Promise<UpgradeAcceptance<D> | Response | void | undefined>;

/** The headers the hooks cannot set on the 101 reply. */
const RESERVED_101 = SERVER_FORBIDDEN;

/**
 * @internal Checks what a hook returned to accept an upgrade.
 *
 * @param value The hook's result, neither a `Response` nor nothing.
 * @param offered The subprotocols the client offered.
 * @returns The 101 headers, the data and the subprotocol the hook chose.
 * @throws {TypeError} For anything but an {@linkcode UpgradeAcceptance}, a reserved 101 header,
 * or a subprotocol the client did not offer.
 */
export function checkAcceptance(
  value: unknown,
  offered: readonly string[],
): { headers?: Headers; data?: unknown; protocol?: string; hasData: boolean } {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      "An upgrade hook must return a Response, an object with headers/data/protocol, or nothing",
    );
  }
  const acceptance = value as UpgradeAcceptance;
  const out: { headers?: Headers; data?: unknown; protocol?: string; hasData: boolean } = {
    hasData: "data" in acceptance,
  };
  if (acceptance.headers !== undefined) {
    const headers = new Headers(acceptance.headers);
    for (const name of RESERVED_101) {
      if (headers.has(name)) {
        throw new TypeError(`An upgrade hook cannot set the ${name} header of the 101 reply`);
      }
    }
    out.headers = headers;
  }
  if (out.hasData) out.data = acceptance.data;
  if (acceptance.protocol !== undefined) {
    if (typeof acceptance.protocol !== "string" || !offered.includes(acceptance.protocol)) {
      throw new TypeError(
        `An upgrade hook chose subprotocol ${
          JSON.stringify(acceptance.protocol)
        }, which the client did not offer`,
      );
    }
    out.protocol = acceptance.protocol;
  }
  return out;
}
