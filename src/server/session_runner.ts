/**
 * Runs a route handler over an upgraded socket: builds the session the route asks for, calls the
 * handler, and closes the session when the handler is done (1000 on return, 1011 and `onError`
 * on a throw, then up to `closeTimeout` for the client's close frame).
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";
import { WebSocketError } from "../core/errors.ts";
import { extensionRsv } from "../core/extension_chain.ts";
import type { WebSocketExtension } from "../core/extension.ts";
import type { ManagedSessionInit } from "../session/managed_session.ts";
import type { Transport } from "../transport/transport.ts";
import type { SessionInit, UpgradeCall, UpgradeRequest } from "../session/raw_session.ts";
import {
  type DefaultWebSocketServerSession,
  ManagedWebSocketServerSession,
} from "./managed_server_session.ts";
import type { ResolvedServerOptions } from "./options.ts";
import { RawWebSocketServerSession } from "./raw_server_session.ts";
import type { TrackedSession } from "./session_tracker.ts";
import { report, type UpgradePlan } from "./upgrade.ts";

const NORMAL = new CloseReason(1000, "");
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
    const task = runRaw(options, session, plan);
    if (extensions.length > 0) {
      task.finally(() => {
        for (const ext of extensions) ext.dispose();
      });
    }
    return { tracked: session, task };
  }
  const session = new ManagedWebSocketServerSession(
    init,
    options.session,
    { params: plan.params, data: plan.data },
  );
  return { tracked: session, task: runManaged(options, session, plan) };
}

/** @internal The lifecycle of a managed handler, for both front ends. */
export async function runManaged(
  options: ResolvedServerOptions,
  session: DefaultWebSocketServerSession,
  plan: { route: { path: string; handler: (session: never) => unknown }; request: UpgradeRequest },
): Promise<void> {
  let reason = NORMAL;
  try {
    await plan.route.handler(session as never);
  } catch (err) {
    if (endedBySession(session, err)) {
      await session.closed;
      return;
    }
    reason = HANDLER_FAILED;
    report(options, err, {
      phase: "handler",
      route: plan.route.path,
      request: plan.request,
      remoteAddr: session.remoteAddr,
    });
  }
  try {
    await session.close(reason);
  } catch {
    session.abort();
  }
}

/**
 * Whether a handler's error is just the end of its session showing through (the client went
 * away, a protocol error, a ping timeout): the session already ended and told the client, so
 * it is neither a handler failure for `onError` nor a reason to send 1011 (Ktor is silent about
 * these too).
 */
function endedBySession(session: { signal: AbortSignal }, err: unknown): boolean {
  return session.signal.aborted && err instanceof WebSocketError;
}

async function runRaw(
  options: ResolvedServerOptions,
  session: RawWebSocketServerSession,
  plan: UpgradePlan,
): Promise<void> {
  let reason = NORMAL;
  try {
    await plan.route.handler(session);
  } catch (err) {
    if (endedBySession(session, err)) return;
    reason = HANDLER_FAILED;
    report(options, err, {
      phase: "handler",
      route: plan.route.path,
      request: plan.request,
      remoteAddr: session.remoteAddr,
    });
  }
  try {
    await session.closeAndRelease(reason);
  } catch {
    session.abort();
  }
}
