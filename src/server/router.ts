/**
 * Routes of a WebSocket server: `URLPattern` paths, the kind of session each one opens, its
 * subprotocol and its upgrade hook, and the lookup that picks one for a request.
 *
 * @module
 */

import { isEventHandlers, type WebSocketEvents } from "../session/message_events.ts";
import { checkFunction } from "../session/options.ts";
import { isToken } from "../core/http1_syntax.ts";
import type { UpgradeHook } from "./upgrade_hook.ts";

/** Which session a route opens. */
export type RouteKind = "managed" | "raw";

/** Options shared by both route kinds. */
export interface RouteOptions<D = unknown> {
  /**
   * The subprotocol this route speaks. When set, the client must offer it in
   * `Sec-WebSocket-Protocol` (otherwise the request gets 400, unless another route on the same
   * path matches) and the 101 reply names it. When unset, the reply names no subprotocol, even
   * if the client offered some (Ktor's behaviour); an upgrade hook may still choose one.
   * @default {undefined}
   */
  protocol?: string;
  /**
   * A hook run before the 101 reply, after the server's own hook: it can refuse the upgrade with
   * any `Response`, add headers to the 101 reply, choose a subprotocol and attach data to the
   * session.
   * @default {undefined}
   */
  upgrade?: UpgradeHook<D>;
}

/** Options of a raw route. */
export interface RawRouteOptions<D = unknown> extends RouteOptions<D> {
  /**
   * Whether to negotiate the server's extensions (Ktor's `negotiateExtensions`). A raw session
   * does not run them: it surfaces frames as they are on the wire (RSV bits set), and the
   * handler sees the agreed extensions in `session.extensions`.
   * @default {false}
   */
  negotiateExtensions?: boolean;
}

/** @internal One registered route. */
export interface Route {
  readonly kind: RouteKind;
  /** The path as given (for logs and error contexts). */
  readonly path: string;
  readonly pattern: URLPattern;
  // deno-lint-ignore no-explicit-any
  readonly handler: (session: any) => unknown;
  /** The handlers of a managed route in event form (then `handler` is not called). */
  // deno-lint-ignore no-explicit-any
  readonly events?: WebSocketEvents<any>;
  readonly protocol: string | undefined;
  readonly negotiateExtensions: boolean;
  // deno-lint-ignore no-explicit-any
  readonly upgrade: UpgradeHook<any> | undefined;
}

/** @internal A route that matched a URL, with its parameters. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/**
 * @internal Makes the `URLPattern` of a route path.
 *
 * @param path A pathname pattern (`"/chat/:room"`) or a `URLPattern`.
 * @returns The pattern and the text used in logs.
 */
export function routePattern(path: string | URLPattern): { pattern: URLPattern; text: string } {
  if (path instanceof URLPattern) return { pattern: path, text: path.pathname };
  if (typeof path !== "string") {
    throw new TypeError("A route path must be a string or a URLPattern");
  }
  if (!path.startsWith("/") && !path.startsWith("*")) {
    throw new TypeError(`A route path must start with "/", got ${JSON.stringify(path)}`);
  }
  try {
    return { pattern: new URLPattern({ pathname: path }), text: path };
  } catch (cause) {
    throw new TypeError(`Invalid route path ${JSON.stringify(path)}`, { cause });
  }
}

/**
 * @internal Checks a route's subprotocol option.
 *
 * @param protocol The option.
 * @returns The subprotocol, or `undefined`.
 */
export function routeProtocol(protocol: string | undefined): string | undefined {
  if (protocol === undefined) return undefined;
  if (typeof protocol !== "string" || !isToken(protocol)) {
    throw new TypeError(
      `Invalid route protocol ${JSON.stringify(protocol)}: must be an RFC 7230 token`,
    );
  }
  return protocol;
}

function groupsOf(result: URLPatternResult): Record<string, string> {
  const params: Record<string, string> = {};
  // Named groups of every component; numbered ones (wildcards) of the pathname only, since the
  // other components default to a `*` that would show up as an empty "0".
  const parts = [
    result.protocol,
    result.username,
    result.password,
    result.hostname,
    result.port,
    result.search,
    result.hash,
  ];
  for (const part of parts) {
    for (const [name, value] of Object.entries(part.groups)) {
      if (value !== undefined && !/^\d+$/.test(name)) params[name] = value;
    }
  }
  for (const [name, value] of Object.entries(result.pathname.groups)) {
    if (value !== undefined) params[name] = value;
  }
  return params;
}

/** Pathnames that URLPattern matches only by equality: unreserved characters and slashes. */
const LITERAL_PATH = /^\/[A-Za-z0-9\-._~/]*$/;

/**
 * The pathname a pattern matches, when it matches exactly one pathname and every other URL
 * component is a wildcard; otherwise `undefined`. Such routes skip `URLPattern.exec`, which
 * costs more than the rest of a handshake's routing.
 */
function literalPath(pattern: URLPattern): string | undefined {
  const wildcards = pattern.protocol === "*" && pattern.username === "*" &&
    pattern.password === "*" && pattern.hostname === "*" && pattern.port === "*" &&
    pattern.search === "*" && pattern.hash === "*";
  return wildcards && LITERAL_PATH.test(pattern.pathname) ? pattern.pathname : undefined;
}

/** @internal What {@linkcode Router.match} needs of a request. */
export interface RouteTarget {
  /** The request URL. */
  readonly url: URL;
  /** `url.pathname`, when known without making the URL. */
  readonly pathname?: string;
}

/** @internal The routes of a server, in registration order. */
export class Router {
  readonly #routes: Route[] = [];
  /** Per route, the one pathname it matches, or `undefined` (see {@linkcode literalPath}). */
  readonly #literals: (string | undefined)[] = [];

  /** The routes, in order. */
  get routes(): readonly Route[] {
    return this.#routes;
  }

  /**
   * Adds a route.
   *
   * @param route The route.
   */
  add(route: Route): void {
    this.#routes.push(route);
    this.#literals.push(literalPath(route.pattern));
  }

  /**
   * Every route whose pattern matches the URL, in registration order.
   *
   * @param target The request URL, or a request that makes its URL on first use and may know
   * its pathname without it (enough for routes that match one pathname).
   * @returns The matches (empty when none).
   */
  match(target: URL | RouteTarget): RouteMatch[] {
    const out: RouteMatch[] = [];
    const routes = this.#routes;
    let pathname: string | undefined;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      const literal = this.#literals[i];
      if (literal !== undefined) {
        pathname ??= target instanceof URL
          ? target.pathname
          : target.pathname ?? target.url.pathname;
        if (pathname === literal) out.push({ route, params: {} });
        continue;
      }
      let result: URLPatternResult | null;
      try {
        result = route.pattern.exec(target instanceof URL ? target : target.url);
      } catch {
        result = null;
      }
      if (result !== null) out.push({ route, params: groupsOf(result) });
    }
    return out;
  }
}

/**
 * @internal Checks a route's arguments and makes the route.
 *
 * @param kind Managed or raw.
 * @param path A `URLPattern` pathname or a `URLPattern`.
 * @param handler The handler function, or (managed routes) the event handlers.
 * @param settings The route's options, and whether extensions are negotiated.
 * @returns The route.
 * @throws {TypeError} On a bad path, handler or option.
 */
export function makeRoute(
  kind: RouteKind,
  path: string | URLPattern,
  handler: unknown,
  // deno-lint-ignore no-explicit-any
  settings: { options: RouteOptions<any> | undefined; negotiateExtensions: boolean },
): Route {
  const events = kind === "managed" && isEventHandlers(handler) ? handler : undefined;
  if (events === undefined && typeof handler !== "function") {
    throw new TypeError(
      kind === "managed"
        ? "A route needs a handler function or an object with a message function"
        : "A route needs a handler function",
    );
  }
  const options = settings.options;
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("Route options must be an object");
  }
  checkFunction("upgrade", options?.upgrade);
  const { pattern, text } = routePattern(path);
  return {
    kind,
    path: text,
    pattern,
    handler: events === undefined ? handler as (session: unknown) => unknown : noHandler,
    events,
    protocol: routeProtocol(options?.protocol),
    negotiateExtensions: settings.negotiateExtensions,
    upgrade: options?.upgrade,
  };
}

/** The `handler` of a route in event form: never called. */
function noHandler(): void {}
