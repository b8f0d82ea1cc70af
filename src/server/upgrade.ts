/**
 * The upgrade decision shared by the standalone listener and the `Deno.serve` adapter: route
 * lookup, handshake validation, subprotocol choice, origin check, upgrade hooks and extension
 * negotiation, ending in a refusal, a hand-over to the fallback handler, or a plan for the 101.
 * What a hook is given and may return is in `upgrade_hook.ts`.
 *
 * @module
 */

import type { ExtensionAgreement } from "../core/extension.ts";
import { negotiateServerExtensions } from "../core/extension_negotiation.ts";
import { formatExtensionHeader } from "../core/extension_header.ts";
import { HandshakeError } from "../core/errors.ts";
import { type AcceptedClientRequest, validateClientRequest } from "../core/handshake_request.ts";
import { hasToken } from "../core/http1_syntax.ts";
import { type ParsedRequestHead, requestField } from "../core/http1_request.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import type { ResolvedServerOptions, ServerErrorContext } from "./options.ts";
import type { Route, RouteMatch, Router } from "./router.ts";
import { checkAcceptance } from "./upgrade_hook.ts";

export type { UpgradeHook } from "./upgrade_hook.ts";

/** @internal A request to decide on, from either front end. */
export interface IncomingRequest {
  /** The head, for the handshake checks (the adapter builds one from the `Request`). */
  readonly head: ParsedRequestHead;
  /** The request URL (the listener makes it on first use). */
  readonly url: URL;
  /** `url.pathname`, when known without making the URL. */
  readonly pathname?: string;
  /**
   * The request sessions and `onError` see; `{ url, method, headers }` of the above when absent.
   */
  readonly upgradeRequest?: UpgradeRequest;
  readonly remoteAddr: Deno.NetAddr | undefined;
  readonly signal: AbortSignal;
  /** The request for hooks (built once, on first use). */
  request(): Request;
  /** Which front end: the adapter cannot serve raw routes nor run extensions. */
  readonly mode: "listen" | "fetch";
}

/** @internal Everything needed to write the 101 and start the session. */
export interface UpgradePlan {
  readonly route: Route;
  readonly params: Record<string, string>;
  readonly key: string;
  readonly protocol: string;
  readonly agreements: ExtensionAgreement[];
  /** The `Sec-WebSocket-Extensions` value, or `""`. */
  readonly extensionHeader: string;
  /** Extra 101 headers from the hooks. */
  readonly headers: Iterable<[string, string]>;
  readonly data: unknown;
  readonly request: UpgradeRequest;
}

/** @internal The decision. */
export type UpgradeOutcome =
  | { kind: "fallback" }
  | { kind: "reject"; status: number; body: string; headers?: Headers }
  | { kind: "response"; response: Response }
  | { kind: "accept"; plan: UpgradePlan };

const NO_HEADERS: readonly [string, string][] = [];

/** @internal The error reported when a raw route is reached through `server.fetch`. */
export class UnsupportedRouteError extends TypeError {
  /**
   * @param route The route path.
   */
  constructor(route: string) {
    super(
      `The raw WebSocket route ${route} cannot be served through server.fetch (Deno.serve): ` +
        "Deno's WebSocket exposes messages, not frames. Serve it with server.listen()",
    );
  }

  override get name(): string {
    return "UnsupportedRouteError";
  }
}

/**
 * @internal Settles like `value`, or rejects with the signal's reason once it aborts, so that a
 * hook or handler that never settles cannot hold a connection (and shutdown) for ever.
 *
 * @param value A value or promise.
 * @param signal The signal.
 * @returns The value.
 */
export function untilAborted<T>(value: T | Promise<T>, signal: AbortSignal): Promise<T> {
  const promise = Promise.resolve(value);
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function reject(status: number, body: string, headers?: Headers): UpgradeOutcome {
  return headers === undefined
    ? { kind: "reject", status, body }
    : { kind: "reject", status, body, headers };
}

/** @internal Reports an error to `onError`, never throwing. */
export function report(
  options: ResolvedServerOptions,
  error: unknown,
  context: ServerErrorContext,
): void {
  try {
    options.onError(error, context);
  } catch {
    // An onError that throws must not take the server down.
  }
}

/**
 * @internal Decides what to do with a request. Without upgrade hooks the decision is made at
 * once (not through a promise).
 *
 * @param router The routes.
 * @param options The server options.
 * @param incoming The request.
 * @param reported Routes already reported as unsupported (each is reported once).
 * @returns The outcome, or a promise of it when hooks run.
 */
export function decideUpgrade(
  router: Router,
  options: ResolvedServerOptions,
  incoming: IncomingRequest,
  reported: Set<Route>,
): UpgradeOutcome | Promise<UpgradeOutcome> {
  const head = incoming.head;
  const wantsWebSocket = hasToken(requestField(head, "upgrade"), "websocket");
  const matches = router.match(incoming);
  const hasFallback = options.fallback !== undefined;
  if (matches.length === 0) {
    if (hasFallback && !wantsWebSocket) return FALLBACK;
    return reject(404, `No WebSocket route for ${incoming.pathname ?? incoming.url.pathname}`);
  }
  if (hasFallback && !wantsWebSocket) return FALLBACK;

  const check = validateClientRequest(head);
  if (!check.ok) return reject(check.status, check.reason, check.headers);

  let match: RouteMatch | undefined;
  for (const m of matches) {
    if (m.route.protocol === undefined || check.protocols.includes(m.route.protocol)) {
      match = m;
      break;
    }
  }
  if (match === undefined) {
    const wanted = [...new Set(matches.map((m) => m.route.protocol!))].join(", ");
    return reject(
      400,
      check.protocols.length === 0
        ? `This route needs the subprotocol ${wanted} (Sec-WebSocket-Protocol)`
        : `None of the offered subprotocols (${check.protocols.join(", ")}) is served here; ` +
          `expected ${wanted}`,
    );
  }
  if (options.origins !== undefined && !options.origins(check.origin)) {
    return reject(
      403,
      check.origin === null
        ? "Missing Origin header"
        : `Origin ${JSON.stringify(check.origin)} not allowed`,
    );
  }
  const route = match.route;
  const request: UpgradeRequest = incoming.upgradeRequest ??
    { url: incoming.url, method: head.method, headers: head.headers };
  if (incoming.mode === "fetch" && route.kind === "raw") {
    if (!reported.has(route)) {
      reported.add(route);
      report(
        options,
        new UnsupportedRouteError(route.path),
        errorContext("upgrade", route, request, incoming),
      );
    }
    return reject(
      501,
      `The raw WebSocket route ${route.path} needs the standalone listener (server.listen)`,
    );
  }
  const decision: Decision = {
    options,
    incoming,
    check,
    match,
    request,
    protocol: route.protocol ?? "",
    data: undefined,
    extra: undefined,
  };
  if (options.upgrade === undefined && route.upgrade === undefined) return plan(decision);
  return runHooks(decision);
}

/** What is settled about an upgrade while its hooks run. */
interface Decision {
  readonly options: ResolvedServerOptions;
  readonly incoming: IncomingRequest;
  readonly check: AcceptedClientRequest;
  readonly match: RouteMatch;
  readonly request: UpgradeRequest;
  /** The subprotocol so far. */
  protocol: string;
  /** The data attached so far. */
  data: unknown;
  /** The 101 headers added so far. */
  extra: Headers | undefined;
}

const FALLBACK: UpgradeOutcome = { kind: "fallback" };

function errorContext(
  phase: "upgrade" | "extensions",
  route: Route,
  request: UpgradeRequest,
  incoming: IncomingRequest,
): ServerErrorContext {
  return { phase, route: route.path, request, remoteAddr: incoming.remoteAddr };
}

/** Runs the server's and the route's upgrade hooks, then makes the plan. */
async function runHooks(decision: Decision): Promise<UpgradeOutcome> {
  const { options, incoming, check, match, request } = decision;
  const route = match.route;
  const hooks = [options.upgrade, route.upgrade];
  for (const hook of hooks) {
    if (hook === undefined) continue;
    let result: unknown;
    const signal = incoming.signal;
    try {
      result = await untilAborted(
        hook(incoming.request(), {
          route: route.path,
          kind: route.kind,
          params: match.params,
          remoteAddr: incoming.remoteAddr,
          protocols: check.protocols,
          protocol: decision.protocol,
          origin: check.origin,
          data: decision.data,
          signal,
        }),
        signal,
      );
      if (result instanceof Response) {
        if (result.status === 101) {
          throw new TypeError("An upgrade hook must not return a 101 Response");
        }
        return { kind: "response", response: result };
      }
      if (result === undefined || result === null) continue;
      const accepted = checkAcceptance(result, check.protocols);
      if (accepted.headers) {
        decision.extra ??= new Headers();
        for (const [name, value] of accepted.headers) decision.extra.append(name, value);
      }
      if (accepted.hasData) decision.data = accepted.data;
      if (accepted.protocol !== undefined) decision.protocol = accepted.protocol;
    } catch (err) {
      if (err instanceof Response && err.status !== 101) return { kind: "response", response: err };
      // Abandoned (timeout, shutdown): the caller drops the connection; nothing to report.
      if (signal.aborted) return reject(503, "The handshake was abandoned");
      report(options, err, errorContext("upgrade", route, request, incoming));
      return reject(500, "Internal Server Error");
    }
  }
  return plan(decision);
}

/** Negotiates the extensions and makes the plan of the 101. */
function plan(decision: Decision): UpgradeOutcome {
  const { options, incoming, check, match, request } = decision;
  const route = match.route;
  let agreements: ExtensionAgreement[] = [];
  let extensionHeader = "";
  const negotiate = incoming.mode === "listen" &&
    (route.kind === "managed" || route.negotiateExtensions) &&
    options.extensions.length > 0 && check.extensions.length > 0;
  if (negotiate) {
    try {
      agreements = negotiateServerExtensions(options.extensions, check.extensions, {
        maxMessageSize: route.kind === "managed" ? options.maxMessageSize : undefined,
      });
      extensionHeader = formatExtensionHeader(agreements.map((a) => a.response));
    } catch (err) {
      // negotiateServerExtensions disposes what it made when it throws; formatting may not.
      for (const agreement of agreements) agreement.extension.dispose();
      if (err instanceof HandshakeError) return reject(400, err.message);
      report(options, err, errorContext("extensions", route, request, incoming));
      return reject(500, "Internal Server Error");
    }
  }
  return {
    kind: "accept",
    plan: {
      route,
      params: match.params,
      key: check.key,
      protocol: decision.protocol,
      agreements,
      extensionHeader,
      headers: decision.extra ?? NO_HEADERS,
      data: decision.data,
      request,
    },
  };
}
