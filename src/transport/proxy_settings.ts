/**
 * Which proxy a connection uses: the `proxy` option when given (a URL, or `false` for none),
 * else the environment (`WSS_PROXY`/`WS_PROXY`, `HTTPS_PROXY`/`HTTP_PROXY`, `ALL_PROXY`, in
 * either case, minus `NO_PROXY`; see `core/proxy_env.ts`).
 *
 * The environment is read only where the program may read it without a prompt (`--allow-env`,
 * or those variables allowed): without that permission it is as if no proxy were set.
 *
 * @module
 */

import { proxyFromEnv } from "../core/proxy_env.ts";
import { parseProxyUrl, type ProxyEndpoint } from "../core/proxy_url.ts";

/**
 * Whether every variable may be read (`--allow-env`), asked once: a dozen permission queries
 * per connection cost a connecting client about a fifth of its connections per second. A grant
 * is kept (revoking `env` at run time does not turn proxies off again).
 */
let allEnvGranted: boolean | undefined;
/** Variables found readable one by one (`--allow-env=HTTPS_PROXY,…`). */
const grantedVariables = new Set<string>();

/** Reads an environment variable when the permission is already granted; never prompts. */
function readEnv(name: string): string | undefined {
  try {
    allEnvGranted ??= Deno.permissions.querySync?.({ name: "env" }).state === "granted";
    if (!allEnvGranted && !grantedVariables.has(name)) {
      const state = Deno.permissions.querySync?.({ name: "env", variable: name }).state;
      if (state !== "granted") return undefined;
      grantedVariables.add(name);
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * @internal The proxy for a connection to `url`, or `null` for a direct connection.
 *
 * @param url The `ws:` or `wss:` URL.
 * @param option The `proxy` option: a URL, `false` for none, `undefined` for the environment.
 * @param env Reads a variable (tests pass their own); the process environment by default.
 * @returns The proxy, or `null`.
 * @throws {TypeError} When the option or the variable holds an unusable proxy URL (the message
 *   names the variable, never the credentials).
 */
export function resolveProxy(
  url: URL,
  option: string | URL | false | undefined,
  env: (name: string) => string | undefined = readEnv,
): ProxyEndpoint | null {
  if (option === false) return null;
  if (option !== undefined) return parseProxyUrl(option);
  const chosen = proxyFromEnv(url, env);
  if (chosen === null) return null;
  try {
    return parseProxyUrl(chosen.url);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new TypeError(`${chosen.variable}: ${message}`, { cause: err });
  }
}
