/**
 * Redirects of the opening handshake: which statuses redirect, where a `Location` leads (relative
 * values resolved against the URL requested; `http:`/`https:` read as `ws:`/`wss:`), and what is
 * refused: a downgrade from `wss:` to `ws:`, a loop, a `Location` that is no WebSocket URL.
 *
 * @module
 */

import { RedirectError } from "./errors.ts";
import { redactUrl } from "./proxy_url.ts";

/** @internal The statuses followed: 301, 302, 303, 307 and 308. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

const SCHEME_MAP: Record<string, string> = {
  "ws:": "ws:",
  "wss:": "wss:",
  "http:": "ws:",
  "https:": "wss:",
};

/** @internal What a redirect response said, for the errors. */
export interface RedirectResponse {
  /** The status. */
  readonly status: number;
  /** The headers. */
  readonly headers: Headers;
}

/**
 * @internal The URL a redirect leads to.
 *
 * @param current The URL requested.
 * @param location The `Location` value (absolute or relative).
 * @param chain The URLs requested so far (`href`s), for loop detection and the error.
 * @param response The redirect's status and headers, for the error.
 * @returns The next `ws:` or `wss:` URL (without a fragment).
 * @throws {RedirectError} `REDIRECT_INVALID` for a `Location` that is no WebSocket URL or holds
 *   credentials, `REDIRECT_DOWNGRADE` from `wss:` to `ws:`, `REDIRECT_LOOP` back to a URL in
 *   `chain`.
 */
export function redirectTarget(
  current: URL,
  location: string,
  chain: readonly string[],
  response: RedirectResponse,
): URL {
  const fail = (code: "REDIRECT_INVALID" | "REDIRECT_DOWNGRADE" | "REDIRECT_LOOP", why: string) =>
    new RedirectError(code, `Redirect ${response.status} from ${current.href}: ${why}`, {
      status: response.status,
      headers: response.headers,
      chain,
      location,
    });
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw fail("REDIRECT_INVALID", `the Location ${JSON.stringify(location)} is not a URL`);
  }
  const scheme = SCHEME_MAP[next.protocol];
  if (scheme === undefined) {
    throw fail("REDIRECT_INVALID", `the Location's scheme ${next.protocol} is not ws: or wss:`);
  }
  if (next.username !== "" || next.password !== "") {
    // Kept out of the error: the Location is shown without them.
    location = redactUrl(next);
    throw fail("REDIRECT_INVALID", "the Location holds credentials");
  }
  // Setting the protocol keeps the port, and drops it when it is the new scheme's default.
  next.protocol = scheme;
  next.hash = "";
  if (current.protocol === "wss:" && next.protocol === "ws:") {
    throw fail("REDIRECT_DOWNGRADE", `refusing to follow it to ${next.href} (TLS would be lost)`);
  }
  if (chain.includes(next.href)) {
    throw fail("REDIRECT_LOOP", `${next.href} was already requested`);
  }
  return next;
}

/**
 * @internal Whether two WebSocket URLs have the same origin: scheme, host and port.
 *
 * @param a A URL.
 * @param b Another.
 * @returns `true` when scheme, host and port are equal.
 */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}
