/**
 * Choosing a proxy from environment variables, for a `ws:` or `wss:` URL.
 *
 * For `wss:` the first non-empty of `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`,
 * `all_proxy`, `ALL_PROXY`; for `ws:` the first of `ws_proxy`, `WS_PROXY`, `http_proxy`,
 * `HTTP_PROXY`, `all_proxy`, `ALL_PROXY`. The lowercase name wins over the uppercase one, as in
 * curl and Python. Then `no_proxy` (or `NO_PROXY`) may send the connection direct (see
 * `no_proxy.ts`).
 *
 * `HTTP_PROXY` in upper case is ignored when `REQUEST_METHOD` is set: under CGI, a request's
 * `Proxy:` header arrives as `HTTP_PROXY` ("httpoxy"), as Python and Go guard against.
 *
 * @module
 */

import { matchesNoProxy } from "./no_proxy.ts";

/** @internal A proxy chosen from the environment. */
export interface EnvProxy {
  /** The variable's value: the proxy URL (it may hold credentials: never print it). */
  readonly url: string;
  /** The variable it came from, for messages. */
  readonly variable: string;
}

/** @internal The variables read, in order, per URL scheme. */
export const PROXY_VARIABLES: Readonly<Record<"ws:" | "wss:", readonly string[]>> = {
  "wss:": ["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
  "ws:": ["ws_proxy", "WS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
};

/** @internal The bypass list's variables, in order. */
export const NO_PROXY_VARIABLES: readonly string[] = ["no_proxy", "NO_PROXY"];

/**
 * @internal The proxy the environment names for `url`, or `null` for a direct connection.
 *
 * @param url A `ws:` or `wss:` URL.
 * @param env Reads one variable (`undefined` when unset or unreadable).
 * @returns The proxy and its variable, or `null`.
 */
export function proxyFromEnv(
  url: URL,
  env: (name: string) => string | undefined,
): EnvProxy | null {
  const names = PROXY_VARIABLES[url.protocol === "wss:" ? "wss:" : "ws:"];
  const cgi = (env("REQUEST_METHOD") ?? "") !== "";
  let chosen: EnvProxy | null = null;
  for (const variable of names) {
    if (variable === "HTTP_PROXY" && cgi) continue;
    const value = env(variable)?.trim();
    if (value) {
      chosen = { url: value, variable };
      break;
    }
  }
  if (chosen === null) return null;
  const secure = url.protocol === "wss:";
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  for (const variable of NO_PROXY_VARIABLES) {
    const list = env(variable)?.trim();
    if (list) return matchesNoProxy(url.hostname, port, list) ? null : chosen;
  }
  return chosen;
}
