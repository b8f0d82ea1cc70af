/**
 * The requests of a listener's connections: the `UpgradeRequest` sessions and `onError` see,
 * and the request `decideUpgrade` decides on, with the URL (`scheme://Host` plus the target) and
 * the `Headers` made on first use, and the `Host` values known to make a URL remembered per
 * listener.
 *
 * @module
 */

import type { RequestHead } from "../core/http1_request.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import type { IncomingRequest } from "./upgrade.ts";

/** @internal A listener's connection before its upgrade, as its requests see it. */
export interface Handshaking {
  readonly conn: Deno.Conn;
  /** Aborted when the handshake is abandoned (made on first use). */
  controller: AbortController | null;
}

/** Path characters the URL parser keeps as they are (for http and https URLs). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
/** A `.` or `..` segment, which the URL parser removes. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * @internal The pathname the URL of an origin-form `target` has, when it is the target's path
 * as sent (no dot segments, nothing the URL parser escapes); else `undefined`.
 *
 * @param target The request target, starting with `/`.
 * @returns The pathname, or `undefined` when only the URL parser can tell.
 */
export function plainPathname(target: string): string | undefined {
  let end = target.length;
  for (let i = 1; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f || c === 0x23) end = i; // "?" or "#"
  }
  const path = end === target.length ? target : target.slice(0, end);
  if (!PLAIN_PATH.test(path) || DOT_SEGMENT.test(path)) return undefined;
  return path;
}

/** @internal How a listener makes request URLs. */
export interface UrlBase {
  /** `http://` or `https://`. */
  readonly scheme: string;
  /** The listener's `host:port`, for a request without `Host`. */
  readonly localHost: string;
}

/**
 * @internal The upgrade request of a listener's connection, as sessions and `onError` see it:
 * the URL and the `Headers` are made on first use.
 */
export class ListenerRequest implements UpgradeRequest {
  readonly #head: RequestHead;
  readonly #base: UrlBase;
  #url: URL | null;

  /**
   * @param head The request head, with an origin-form target unless `url` is given.
   * @param base The listener's scheme and address.
   * @param url The URL, when already made.
   */
  constructor(head: RequestHead, base: UrlBase, url: URL | null) {
    this.#head = head;
    this.#base = base;
    this.#url = url;
  }

  /** The HTTP method (GET). */
  get method(): string {
    return this.#head.method;
  }

  /** The WebSocket URL: `scheme://Host` (as received) plus the target. */
  get url(): URL {
    if (this.#url === null) {
      const head = this.#head;
      const base = this.#base;
      this.#url = new URL(base.scheme + (head.sentField("host") ?? base.localHost) + head.target);
    }
    return this.#url;
  }

  /** The request headers. */
  get headers(): Headers {
    return this.#head.headers;
  }

  /**
   * The plain object the request stands for, for `JSON.stringify`.
   *
   * @returns The URL, method and headers.
   */
  toJSON(): { url: URL; method: string; headers: Headers } {
    return { url: this.url, method: this.method, headers: this.headers };
  }

  /** Shows the request as the plain object it stands for. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    return inspect(this.toJSON(), options);
  }
}

/** A request on a listener's connection, for `decideUpgrade`. */
class ListenerIncoming implements IncomingRequest {
  readonly head: RequestHead;
  readonly upgradeRequest: ListenerRequest;
  readonly pathname: string | undefined;
  readonly remoteAddr: Deno.NetAddr | undefined;
  readonly mode = "listen" as const;
  readonly #entry: Handshaking;
  #request: Request | null = null;

  constructor(entry: Handshaking, head: RequestHead, request: ListenerRequest, pathname?: string) {
    this.head = head;
    this.upgradeRequest = request;
    this.pathname = pathname;
    // A unix socket's peer has no address to show (as through `Deno.serve({ path })`).
    const peer = entry.conn.remoteAddr;
    this.remoteAddr = peer.transport === "tcp" ? peer as Deno.NetAddr : undefined;
    this.#entry = entry;
  }

  get url(): URL {
    return this.upgradeRequest.url;
  }

  get signal(): AbortSignal {
    const entry = this.#entry;
    entry.controller ??= new AbortController();
    return entry.controller.signal;
  }

  request(): Request {
    if (this.#request === null) {
      const entry = this.#entry;
      entry.controller ??= new AbortController();
      this.#request = new Request(this.url, {
        method: this.head.method,
        headers: this.head.headers,
        signal: entry.controller.signal,
      });
    }
    return this.#request;
  }
}

/** How many `Host` values known to make a URL each listener remembers. */
const KNOWN_HOSTS = 64;

/** @internal Makes the requests of one listener's connections. */
export class ListenerRequests {
  readonly #base: UrlBase;
  /** `Host` values known to make a URL (bounded), so they are not parsed per connection. */
  readonly #knownHosts = new Set<string>();

  /**
   * @param addr The listener's bound address (a unix socket's requests without `Host` get
   *   `localhost`).
   * @param secure Whether the listener speaks TLS.
   */
  constructor(addr: Deno.Addr, secure: boolean) {
    let localHost = "localhost";
    if (addr.transport === "tcp") {
      localHost = addr.hostname.includes(":")
        ? `[${addr.hostname}]:${addr.port}`
        : `${addr.hostname}:${addr.port}`;
    }
    this.#base = { scheme: secure ? "https://" : "http://", localHost };
  }

  /**
   * The request of a head read on a connection: its URL is `scheme://Host` plus the
   * origin-form target (the absolute form is taken as is), made on first use when the target's
   * pathname is plain and the `Host` is known to make a URL. `null` for targets a WebSocket
   * server does not serve (`*`, authority form) or a `Host` that does not make a URL.
   *
   * @param entry The connection.
   * @param head The request head.
   * @returns The request, or `null`.
   */
  incoming(entry: Handshaking, head: RequestHead): IncomingRequest | null {
    const target = head.target;
    const base = this.#base;
    try {
      if (target.startsWith("/")) {
        const host = head.sentField("host") ?? base.localHost;
        const pathname = plainPathname(target);
        if (pathname !== undefined && this.#knownHosts.has(host)) {
          return new ListenerIncoming(entry, head, new ListenerRequest(head, base, null), pathname);
        }
        if (host === "" || /[\/?#@\s\\]/.test(host)) return null;
        // After a valid authority the target (visible ASCII) always parses: a Host that made
        // one URL makes them all.
        const url = new URL(base.scheme + host + target);
        if (this.#knownHosts.size >= KNOWN_HOSTS) this.#knownHosts.clear();
        this.#knownHosts.add(host);
        return new ListenerIncoming(entry, head, new ListenerRequest(head, base, url), pathname);
      }
      if (/^(https?|wss?):\/\//i.test(target)) {
        const url = new URL(target);
        return new ListenerIncoming(entry, head, new ListenerRequest(head, base, url));
      }
    } catch {
      return null;
    }
    return null;
  }
}
