/**
 * Proxy URLs: `http://user:pass@host:port` (HTTP `CONNECT`), `socks5://` (the client resolves
 * the target's name) and `socks5h://` (the proxy does), parsed once into what a tunnel needs,
 * and shown everywhere without their credentials.
 *
 * @module
 */

/** @internal A parsed proxy URL. */
export interface ProxyEndpoint {
  /** `http` for an HTTP `CONNECT` proxy, `socks5` for a SOCKS5 one. */
  readonly kind: "http" | "socks5";
  /** For SOCKS5: whether the proxy resolves the target's host name (`socks5h:`). */
  readonly resolveAtProxy: boolean;
  /** The proxy's host name or address, without IPv6 brackets. */
  readonly hostname: string;
  /** The proxy's port (80 for `http:`, 1080 for SOCKS when the URL has none). */
  readonly port: number;
  /** The user name, percent-decoded (`""` without credentials). */
  readonly username: string;
  /** The password, percent-decoded (`""` without one). */
  readonly password: string;
  /** The URL without credentials: the only form that goes into messages. */
  readonly display: string;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "socks5:": 1080, "socks5h:": 1080 };

/**
 * @internal Removes the user name and password from a URL, for messages and logs.
 *
 * @param url A URL (string or `URL`).
 * @returns The URL without credentials (`"<invalid URL>"` when it cannot be parsed).
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return "<invalid URL>";
  }
  parsed.username = "";
  parsed.password = "";
  // `new URL("socks5://h:1").href` keeps no trailing slash; `http:` gets one: drop it when the
  // path is empty, so that the text looks like what was configured.
  const href = parsed.href;
  return parsed.pathname === "/" && !String(url).endsWith("/") ? href.slice(0, -1) : href;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(`The proxy URL's ${what} is not valid percent-encoding`);
  }
}

/**
 * @internal Parses a proxy URL. A value without a scheme (`proxy.example:3128`, as environment variables
 * often hold) is read as `http://`.
 *
 * @param text The proxy URL.
 * @returns The parsed proxy.
 * @throws {TypeError} On an unparsable URL, or a scheme other than `http:`, `socks5:` and
 *   `socks5h:` (`https:` proxies are not supported: Deno cannot start TLS to the target inside
 *   a TLS connection to the proxy). The message never includes the credentials.
 * @throws {RangeError} On a port out of range.
 */
export function parseProxyUrl(text: string | URL): ProxyEndpoint {
  let source = String(text).trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) source = `http://${source}`;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new TypeError(`Invalid proxy URL: ${redactUrl(source)}`);
  }
  const display = redactUrl(source);
  const port = DEFAULT_PORTS[url.protocol];
  if (port === undefined) {
    const hint = url.protocol === "https:"
      ? " (a TLS connection to the proxy is not supported: use http:// or socks5://)"
      : "";
    throw new TypeError(
      `Unsupported proxy scheme "${url.protocol}" in ${display}: use http:, socks5: or socks5h:` +
        hint,
    );
  }
  if (url.hostname === "") throw new TypeError(`The proxy URL has no host: ${display}`);
  const explicit = url.port === "" ? port : Number(url.port);
  if (!Number.isInteger(explicit) || explicit < 1 || explicit > 65535) {
    throw new RangeError(`The proxy port must be 1-65535 in ${display}`);
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return {
    kind: url.protocol === "http:" ? "http" : "socks5",
    resolveAtProxy: url.protocol === "socks5h:",
    hostname,
    port: explicit,
    username: decode(url.username, "user name"),
    password: decode(url.password, "password"),
    display,
  };
}
