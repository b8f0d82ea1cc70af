/**
 * Runs a route handler over an upgraded socket: builds the session the route asks for, calls the
 * handler, and closes the session when the handler is done (1000 on return, 1011 and `onError`
 * on a throw, then up to `closeTimeout` for the client's close frame).
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import { extensionRsv } from "../core/extension_chain.ts";
import type { WebSocketExtension } from "../core/extension.ts";
import type { ManagedSessionInit } from "../session/managed_session.ts";
import type { Transport } from "../transport/transport.ts";
import type { SessionInit, UpgradeCall, UpgradeRequest } from "../session/raw_session.ts";
import { type BlockSession, runBlock, type RunBlockOptions } from "../session/run_block.ts";
import { type EventSession, runEvents } from "../session/run_events.ts";
import { MessageSink } from "../session/_message_sink.ts";
import { ManagedWebSocketServerSession } from "./managed_server_session.ts";
import type { ResolvedServerOptions } from "./options.ts";
import { RawWebSocketServerSession } from "./raw_server_session.ts";
import type { TrackedSession } from "./session_tracker.ts";
import { report, type UpgradePlan } from "./upgrade.ts";

const NO_EXTENSIONS: readonly WebSocketExtension[] = [];

/** The close reason sent when a handler throws: the error's text stays on the server. */
export const HANDLER_FAILED: CloseReason = new CloseReason(1011, "Internal error");

/** @internal A started session: what the tracker holds, and the handler's lifecycle. */
export interface StartedSession {
  readonly tracked: TrackedSession;
  /** Settles (never rejects) once the handler is done and the session is closed. */
  readonly task: Promise<void>;
}

/**
 * @internal Starts the session of an accepted upgrade on a socket of the standalone listener.
 *
 * @param options The server options.
 * @param plan The upgrade plan.
 * @param conn The socket, the 101 already written.
 * @param call The upgrade exchange.
 * @param leftover Bytes read past the request head.
 * @returns The session's tracker entry and its task.
 */
export function startSocketSession(
  options: ResolvedServerOptions,
  plan: UpgradePlan,
  conn: Transport,
  call: UpgradeCall,
  leftover: Uint8Array | undefined,
): StartedSession {
  const route = plan.route;
  const extensions = plan.agreements.length === 0
    ? NO_EXTENSIONS
    : plan.agreements.map((a) => a.extension);
  const init: SessionInit & ManagedSessionInit = {
    conn,
    role: "server",
    call,
    protocol: plan.protocol,
    leftover,
    maxFrameSize: options.maxFrameSize,
    masking: options.masking,
    closeTimeout: options.closeTimeout,
    allowedRsv: extensionRsv(extensions),
    extensions,
  };
  if (route.kind === "raw") {
    const session = new RawWebSocketServerSession(init, { params: plan.params, data: plan.data });
    const task = runHandler(options, session, plan);
    if (extensions.length > 0) {
      task.finally(() => {
        for (const ext of extensions) ext.dispose();
      });
    }
    return { tracked: session, task };
  }
  const sink = route.events === undefined ? undefined : new MessageSink(route.events);
  if (sink !== undefined) init.sink = sink as MessageSink<never>;
  const session = new ManagedWebSocketServerSession(
    init,
    options.session,
    { params: plan.params, data: plan.data, topics: options.topics },
  );
  return { tracked: session, task: runHandler(options, session, plan, sink) };
}

/**
 * @internal The lifecycle of a route handler, managed or raw, for both front ends: the block
 * form with the server's policy. A handler that throws closes its session with 1011 "Internal
 * error" (the error's text stays on the server) and is reported to `onError`; an error that only
 * shows the end of the session (the client went away, a protocol error, a ping timeout) is
 * neither. Settles (never rejects) once the session is closed.
 *
 * @param options The server options.
 * @param session The session given to the handler.
 * @param plan The route and the upgrade request.
 * @param sink The route's event handlers bound to the session, for a route in event form.
 * @returns A promise for the end of the session.
 */
export function runHandler(
  options: ResolvedServerOptions,
  session: BlockSession & { readonly remoteAddr?: Deno.Addr },
  plan: { route: { path: string; handler: (session: never) => unknown }; request: UpgradeRequest },
  sink?: MessageSink<unknown>,
): Promise<void> {
  if (sink !== undefined) {
    // Only managed sessions are made with a sink.
    return runEvents(
      session as EventSession,
      sink as MessageSink<EventSession>,
      new HandlerErrors(options, session, plan.route.path, plan.request),
    );
  }
  // No async function and no closure over the plan: a waiting handler holds only the chain of
  // `runBlock` and this small object (the plan's other parts are let go).
  return runBlock(
    session,
    plan.route.handler as (session: unknown) => unknown,
    new HandlerErrors(options, session, plan.route.path, plan.request),
  ) as Promise<unknown> as Promise<void>;
}

/** The block options of a route handler: the 1011 of a throw, and `onError` with the context. */
class HandlerErrors implements RunBlockOptions {
  readonly failReason: CloseReason = HANDLER_FAILED;
  readonly #options: ResolvedServerOptions;
  readonly #session: { readonly remoteAddr?: Deno.Addr };
  readonly #route: string;
  readonly #request: UpgradeRequest;

  constructor(
    options: ResolvedServerOptions,
    session: { readonly remoteAddr?: Deno.Addr },
    route: string,
    request: UpgradeRequest,
  ) {
    this.#options = options;
    this.#session = session;
    this.#route = route;
    this.#request = request;
  }

  /** The grace of the `closeReason` guard: the server's close timeout. */
  get closeTimeout(): number {
    return this.#options.closeTimeout;
  }

  onError(err: unknown): void {
    report(this.#options, err, {
      phase: "handler",
      route: this.#route,
      request: this.#request,
      remoteAddr: this.#session.remoteAddr,
    });
  }
}
