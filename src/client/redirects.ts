/**
 * Following redirects of the opening handshake, for both clients: each hop is a full dial (its
 * own proxy choice, timeouts and TLS); `Authorization` and `Cookie` do not go to another origin
 * unless the caller keeps them.
 *
 * @module
 */

import { HandshakeError, RedirectError } from "../core/errors.ts";
import { REDIRECT_STATUSES, redirectTarget, sameOrigin } from "../core/redirect.ts";
import { type Endpoint, resolveEndpoint } from "../core/url.ts";
import { dial, type DialOptions, type DialResult } from "./dial.ts";

/** How redirects are followed. */
export interface RedirectSettings {
  /** Whether 301, 302, 303, 307 and 308 are followed. */
  follow: boolean;
  /** The most redirects followed. */
  max: number;
  /** Whether `Authorization` and `Cookie` still go to another origin. */
  keepCredentials: boolean;
}

/** What a dial that may have followed redirects gives. */
export interface FollowedDial extends DialResult {
  /** The endpoint that answered 101: the last one requested. */
  endpoint: Endpoint;
}

/** The headers that carry credentials, dropped on a redirect to another origin. */
const CREDENTIAL_HEADERS = ["authorization", "cookie"];

/**
 * @internal Dials `endpoint`, following redirects as `settings` say.
 *
 * @param endpoint The first endpoint.
 * @param options The dial options (the same for each hop, but the headers may lose credentials).
 * @param settings Whether and how far to follow.
 * @returns The dial of the last hop, and its endpoint.
 * @throws {RedirectError} On a downgrade, a loop, too many hops or an unusable `Location`.
 */
export async function dialFollowing(
  endpoint: Endpoint,
  options: DialOptions,
  settings: RedirectSettings,
): Promise<FollowedDial> {
  let current = endpoint;
  let headers = options.headers;
  // Made at the first redirect: a dial answered with 101 copies neither options nor result.
  let chain: string[] | null = null;
  while (true) {
    try {
      const result = await dial(
        current,
        headers === options.headers ? options : { ...options, headers },
      ) as FollowedDial;
      result.endpoint = current;
      return result;
    } catch (err) {
      if (
        !settings.follow || !(err instanceof HandshakeError) || err.code !== "HANDSHAKE_STATUS" ||
        !REDIRECT_STATUSES.has(err.status ?? 0)
      ) throw err;
      const location = err.headers?.get("location");
      if (location === null || location === undefined) throw err;
      const response = { status: err.status!, headers: err.headers! };
      chain ??= [endpoint.url.href];
      if (chain.length > settings.max) {
        throw new RedirectError(
          "TOO_MANY_REDIRECTS",
          `More than ${settings.max} redirects, from ${endpoint.url.href}`,
          { ...response, chain: [...chain], location, cause: err },
        );
      }
      const next = redirectTarget(current.url, location, chain, response);
      const crossOrigin = !sameOrigin(current.url, next);
      if (crossOrigin && options.unixPath !== undefined) {
        throw new RedirectError(
          "REDIRECT_INVALID",
          `Redirect ${response.status} to another origin (${next.href}) while connecting ` +
            `through the unix socket ${options.unixPath}`,
          { ...response, chain: [...chain], location, cause: err },
        );
      }
      if (crossOrigin && !settings.keepCredentials && headers !== undefined) {
        const stripped = new Headers(headers);
        for (const name of CREDENTIAL_HEADERS) stripped.delete(name);
        headers = stripped;
      }
      const method = response.status === 303 ? "GET" : current.method;
      current = { ...resolveEndpoint(next), method };
      chain.push(next.href);
    }
  }
}
