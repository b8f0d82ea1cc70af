/**
 * Resolving what a caller passes (a URL string, a `URL`, or `{ host, port, path }`) into a
 * WebSocket endpoint, with Ktor's rules minus its traps.
 *
 * @module
 */

/** A request given by parts, as Ktor's `webSocket(method, host, port, path)`. */
export interface EndpointParts {
  /**
   * The host name or address (IPv6 with or without brackets).
   * @default {"localhost"}
   */
  host?: string;
  /**
   * The port; the scheme's default (80 or 443) when absent.
   * @default {undefined}
   */
  port?: number;
  /**
   * The path, with or without a query string.
   * @default {"/"}
   */
  path?: string;
  /**
   * The HTTP method of the upgrade request.
   * @default {"GET"}
   */
  method?: string;
}

/** A resolved endpoint. */
export interface Endpoint {
  /** The WebSocket URL (`ws:` or `wss:`). */
  url: URL;
  /** Whether TLS is used. */
  secure: boolean;
  /** The host name without IPv6 brackets. */
  hostname: string;
  /** The port (explicit or the scheme's default). */
  port: number;
  /** The `Host` header value (the port only when it is not the default). */
  hostHeader: string;
  /** The request target: path and query, `/` when empty. */
  target: string;
  /** The HTTP method. */
  method: string;
}

/** Options of {@linkcode resolveEndpoint}. */
export interface ResolveOptions {
  /**
   * For request parts: whether to use TLS (`wss:`) and its default port.
   * @default {false}
   */
  secure?: boolean;
  /**
   * Query parameters appended to the URL.
   * @default {undefined}
   */
  params?: Record<string, string> | URLSearchParams;
  /**
   * Overrides the scheme, of a URL string too (Ktor's `url { protocol = URLProtocol.WSS }`):
   * `"wss"` turns `ws://h/x` into `wss://h/x`. A port the URL names stays; without one, the new
   * scheme's default applies.
   * @default {undefined}
   */
  scheme?: "ws" | "wss";
  /**
   * Overrides the port, of a URL string too (Ktor's `url { port = 443 }`).
   * @default {undefined}
   */
  port?: number;
}

const SCHEMES: Record<string, boolean> = {
  "ws:": false,
  "wss:": true,
  "http:": false,
  "https:": true,
};

/** Parses a URL; a port out of range is a `RangeError`, anything else unparsable a `TypeError`. */
function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i
      .exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535) checkPort(Number(port));
    throw new TypeError(`Invalid WebSocket URL: ${text}`);
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Port must be an integer 1-65535, got ${port}`);
  }
}

/**
 * Resolves a URL or request parts into an endpoint.
 *
 * - A URL's own scheme wins (`ws:`/`http:` plain, `wss:`/`https:` TLS), as in Ktor; any other
 *   scheme is a `TypeError`.
 * - Parts use `secure` (from `ws` vs `wss`) and its default port: never port 80 for TLS.
 * - `params` are appended to the query.
 * - `scheme` and `port` override those of a URL string too, as Ktor's
 *   `url { protocol = URLProtocol.WSS; port = 443 }` does.
 *
 * @example
 * ```ts
 * import { resolveEndpoint } from "@wirestream/ws/raw";
 *
 * const a = resolveEndpoint("wss://example.com/chat?room=1");
 * console.log(a.port, a.target, a.hostHeader); // 443 /chat?room=1 example.com
 * const b = resolveEndpoint({ host: "::1", port: 8080, path: "/x" }, { secure: false });
 * console.log(b.url.href); // ws://[::1]:8080/x
 * const c = resolveEndpoint("ws://example.com:8080/x", { scheme: "wss", port: 443 });
 * console.log(c.url.href, c.secure); // wss://example.com/x true
 * ```
 *
 * @param input A URL (string or `URL`) or request parts.
 * @param options `secure` for parts (default false), query `params` to add, and a `scheme` and
 *   `port` that override the input's.
 * @returns The endpoint.
 * @throws {TypeError} On an unparsable URL or host, a scheme other than ws/wss/http/https, a
 *   fragment (even an empty one), credentials in the URL.
 * @throws {RangeError} On a port out of range (0, or above 65535), in the input or `port`.
 */
export function resolveEndpoint(
  input: string | URL | EndpointParts,
  options?: ResolveOptions,
): Endpoint {
  let url: URL;
  let method = "GET";
  if (typeof input === "string" || input instanceof URL) {
    url = parseUrl(String(input));
    const secure = SCHEMES[url.protocol];
    if (secure === undefined) {
      throw new TypeError(
        `Unsupported URL scheme "${url.protocol}" in ${url.href}: use ws:, wss:, http: or https:`,
      );
    }
    url.protocol = secure ? "wss:" : "ws:";
    if (url.port !== "") checkPort(Number(url.port));
  } else if (input !== null && typeof input === "object") {
    const secure = options?.secure ?? false;
    let host = input.host ?? "localhost";
    if (typeof host !== "string" || host === "" || /[\s/?#@\\]/.test(host)) {
      throw new TypeError(`Invalid WebSocket host: ${JSON.stringify(host)}`);
    }
    if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
    if (input.port !== undefined) checkPort(input.port);
    const path = input.path ?? "/";
    if (typeof path !== "string") throw new TypeError("The path must be a string");
    // Concatenated, not resolved against a base: a path such as "//other.host/x" must stay a
    // path and never name another host.
    url = parseUrl(
      `${secure ? "wss" : "ws"}://${host}${input.port !== undefined ? `:${input.port}` : ""}${
        path.startsWith("/") ? path : `/${path}`
      }`,
    );
    method = input.method ?? "GET";
  } else {
    throw new TypeError("Expected a URL string, a URL or { host, port, path }");
  }
  // `hash` is "" for an empty fragment too; a `#` left in the serialized URL is the fragment
  // delimiter (a `#` in the path or query would be percent-encoded).
  if (url.href.includes("#")) {
    throw new TypeError(`A WebSocket URL must not have a fragment: ${url.href}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("Credentials in a WebSocket URL are not supported: use headers");
  }
  const scheme = options?.scheme;
  if (scheme !== undefined) {
    if (scheme !== "ws" && scheme !== "wss") {
      throw new TypeError(`scheme must be "ws" or "wss", got ${JSON.stringify(scheme)}`);
    }
    // The URL setter keeps an explicit port, and drops it when it is the new default.
    url.protocol = `${scheme}:`;
  }
  if (options?.port !== undefined) {
    checkPort(options.port);
    url.port = String(options.port);
  }
  const params = options?.params;
  if (params) {
    const entries = params instanceof URLSearchParams ? params : Object.entries(params);
    for (const [k, v] of entries) url.searchParams.append(k, v);
  }
  const secure = url.protocol === "wss:";
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return {
    url,
    secure,
    hostname,
    port,
    hostHeader: url.host,
    target: `${url.pathname || "/"}${url.search}`,
    method,
  };
}
