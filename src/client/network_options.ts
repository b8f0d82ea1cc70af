/**
 * How the clients reach a server: the proxy, redirects, and overrides of a URL's scheme and
 * port. Shared by the raw and the managed client.
 *
 * @module
 */

import type { RedirectSettings } from "./redirects.ts";

/**
 * How a client reaches the server: through which proxy, and whether it follows redirects.
 *
 * **Proxy precedence.** The `proxy` option wins: a URL is used for every connection (the
 * environment, `NO_PROXY` included, is not read), and `false` connects directly. Without it the
 * environment decides: for `wss:` the first non-empty of `WSS_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY`; for `ws:` of `WS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` (each name in lower case
 * first, then upper case), unless `NO_PROXY` lists the host. `NO_PROXY` follows curl: names
 * match themselves and their subdomains (`example.com`, `.example.com`), addresses and CIDR
 * blocks match addresses, `*` matches everything; `host:port` also restricts an entry to a port.
 * Without `--allow-env` (for those variables) the environment is not read. A unix socket
 * (`unixPath`) never goes through a proxy.
 */
export interface ClientNetworkOptions {
  /**
   * The proxy: `http://[user:pass@]host:port` (HTTP `CONNECT`, Basic proxy authentication),
   * `socks5://[user:pass@]host:port` (SOCKS5; the target's name is resolved here) or
   * `socks5h://…` (the proxy resolves it), or `false` for a direct connection. Without it, the
   * environment decides (see {@linkcode ClientNetworkOptions}). `wss:` through a proxy runs TLS
   * inside the tunnel, with the target's name as SNI. Credentials never appear in errors.
   * @default {undefined}
   */
  proxy?: string | URL | false;
  /**
   * Whether a 301, 302, 303, 307 or 308 reply to the upgrade is followed (a relative
   * `Location` too; `ws:` → `wss:` is allowed, `wss:` → `ws:` is refused with a
   * `RedirectError`). Off by default, as in browsers, Deno's `WebSocket` and `ws`: a redirected
   * WebSocket endpoint is usually a misconfiguration, and the `HandshakeError` (status 3xx, its
   * `headers` with the `Location`) says so instead of hiding it. python-websockets follows.
   * @default {false}
   */
  followRedirects?: boolean;
  /**
   * The most redirects followed before a `RedirectError` (`TOO_MANY_REDIRECTS`).
   * @default {10}
   */
  maxRedirects?: number;
  /**
   * Whether `Authorization` and `Cookie` headers are still sent after a redirect to another
   * origin (scheme, host or port). They are dropped by default, so that credentials meant for
   * one server never reach another.
   * @default {false}
   */
  keepCredentialsOnRedirect?: boolean;
}

/** Overrides of the URL of one call (Ktor's `url { protocol = URLProtocol.WSS; port = 443 }`). */
export interface UrlOverrides {
  /**
   * Overrides the URL's scheme: `"wss"` turns `ws://h/x` into `wss://h/x` (a port the URL
   * names stays; without one, the scheme's default applies).
   * @default {undefined}
   */
  scheme?: "ws" | "wss";
  /**
   * Overrides the URL's port.
   * @default {undefined}
   */
  port?: number;
}

/** The most redirects followed by default. */
export const DEFAULT_MAX_REDIRECTS = 10;

/**
 * @internal The redirect settings of checked options.
 *
 * @param o The options.
 * @returns Whether to follow, how far, and whether credentials cross origins.
 */
export function redirectSettings(o: ClientNetworkOptions): RedirectSettings {
  return {
    follow: o.followRedirects ?? false,
    max: o.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    keepCredentials: o.keepCredentialsOnRedirect ?? false,
  };
}
