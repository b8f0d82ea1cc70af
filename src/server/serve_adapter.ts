/**
 * The `Deno.serve` / Deno Deploy front end: the same routes, checks and hooks as the listener,
 * upgraded through `Deno.upgradeWebSocket`, with sessions backed by Deno's `WebSocket`.
 *
 * @module
 */

import type { ParsedRequestHead } from "../core/http1_request.ts";
import { SESSION_DEFAULTS } from "../session/options.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import type { ServerCore } from "./listener.ts";
import { NativeWebSocketServerSession } from "./native_server_session.ts";
import { runHandler as runManaged } from "./session_runner.ts";
import { MessageSink } from "../session/_message_sink.ts";
import type { SessionTracker } from "./session_tracker.ts";
import { decideUpgrade, type IncomingRequest, report } from "./upgrade.ts";

const UNKNOWN_ADDR: Deno.NetAddr = { transport: "tcp", hostname: "0.0.0.0", port: 0 };

/** Characters a `Host` cannot hold (the listener refuses them too): the URL would change. */
const BAD_HOST = /[\/?#@\s\\]/;

function text(status: number, body: string, headers?: Headers): Response {
  const h = new Headers(headers);
  if (!h.has("content-type")) h.set("content-type", "text/plain; charset=utf-8");
  return new Response(body, { status, headers: h });
}

function badTarget(): Response {
  return text(400, "Invalid request target or Host");
}

/**
 * @internal Serves one request of `Deno.serve`.
 *
 * @param core The server.
 * @param tracker The sessions opened through `fetch`.
 * @param request The request.
 * @param info The connection info.
 * @returns The response.
 */
export async function handleFetch(
  core: ServerCore,
  tracker: SessionTracker,
  request: Request,
  info?: Deno.ServeHandlerInfo,
): Promise<Response> {
  if (!(request instanceof Request)) throw new TypeError("fetch needs a Request");
  const { options } = core;
  // Deno builds request.url from the Host header as sent: it may not parse ("Host: a b"), or
  // move the path ("Host: a/b"). Such a request is refused as the listener refuses it.
  const host = request.headers.get("host");
  if (host !== null && (host === "" || BAD_HOST.test(host))) return badTarget();
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return badTarget();
  }
  // Read once: Deno's getter throws once the request is over.
  const peer: Deno.Addr | undefined = info?.remoteAddr;
  const remoteAddr = peer?.transport === "tcp" ? peer as Deno.NetAddr : undefined;
  const head: ParsedRequestHead = {
    method: request.method,
    target: url.pathname + url.search,
    version: "HTTP/1.1",
    versionMajor: 1,
    versionMinor: 1,
    headers: request.headers,
    headLength: 0,
  };
  let controller: AbortController | undefined;
  const incoming: IncomingRequest = {
    head,
    url,
    remoteAddr,
    // Not request.signal: Deno aborts it when the response is sent (and warns on access).
    get signal(): AbortSignal {
      controller ??= new AbortController();
      return controller.signal;
    },
    request: () => request,
    mode: "fetch",
  };
  if (tracker.closing) return text(503, "The server is shutting down");
  const outcome = await decideUpgrade(core.router, options, incoming, core.reported);
  switch (outcome.kind) {
    case "reject":
      return text(outcome.status, outcome.body, outcome.headers);
    case "response":
      return outcome.response;
    case "fallback":
      try {
        const response = await options.fallback!(request, {
          remoteAddr: (peer ?? UNKNOWN_ADDR) as Deno.NetAddr,
          completed: info?.completed ?? Promise.resolve(),
        });
        if (!(response instanceof Response)) {
          throw new TypeError("The fallback handler must return a Response");
        }
        return response;
      } catch (err) {
        report(options, err, {
          phase: "fallback",
          request: { url, method: request.method, headers: request.headers },
          remoteAddr: peer,
        });
        return text(500, "Internal Server Error");
      }
    case "accept":
      break;
  }
  if (tracker.closing) return text(503, "The server is shutting down");
  if (!core.acquire()) {
    return text(503, "Too many connections", new Headers({ "Retry-After": "1" }));
  }
  // Deno closes the Request once the 101 is returned (its headers then throw "Request closed"):
  // the session and onError keep a copy. The URL, the method, the route parameters and the
  // address were read already.
  const snapshot: UpgradeRequest = {
    url,
    method: head.method,
    headers: new Headers(request.headers),
  };
  const plan = { ...outcome.plan, request: snapshot };
  const idleTimeout = options.pingPeriod > 0 ? Math.ceil(options.pingPeriod / 1000) : 0;
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(request, {
      protocol: plan.protocol === "" ? undefined : plan.protocol,
      idleTimeout,
    });
    for (const [name, value] of plan.headers) upgraded.response.headers.append(name, value);
  } catch (err) {
    core.release();
    report(options, err, {
      phase: "upgrade",
      route: plan.route.path,
      request: plan.request,
      remoteAddr,
    });
    return text(400, "The request cannot be upgraded here");
  }
  const events = plan.route.events;
  const sink = events === undefined ? undefined : new MessageSink(events);
  const session = new NativeWebSocketServerSession({
    socket: upgraded.socket,
    call: {
      request: plan.request,
      response: {
        status: 101,
        statusText: "Switching Protocols",
        headers: upgraded.response.headers,
      },
    },
    protocol: plan.protocol,
    remoteAddr: peer,
    params: plan.params,
    data: plan.data,
    closeTimeout: options.closeTimeout,
    idleTimeout: idleTimeout * 1000,
    maxMessageSize: options.maxMessageSize,
    converter: options.session.converter,
    incomingMessages: options.incomingMessages,
    incomingBytes: options.incomingBytes,
    outgoingBytes: options.session.outgoingQueue?.bytes ?? SESSION_DEFAULTS.outgoingBytes,
    topics: options.topics,
    sink: sink as MessageSink<never> | undefined,
  });
  // The place is taken until Deno's socket is gone, not when the session gave up on it.
  session.released.then(() => core.release());
  const task = session.opened.then((open) =>
    open ? runManaged(options, session, plan, sink) : undefined
  );
  tracker.add(session, task);
  return upgraded.response;
}
