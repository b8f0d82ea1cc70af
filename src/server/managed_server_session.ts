/**
 * The managed server session: a {@linkcode ManagedWebSocketSession} (complete messages,
 * automatic pongs, the pinger, the close handshake, `closeReason`, serialization) with what the
 * server knows about the upgrade request.
 *
 * @module
 */

import {
  type DefaultWebSocketSession,
  type ManagedSessionInit,
  type ManagedSessionOptions,
  ManagedWebSocketSession,
} from "../session/managed_session.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import type { ServerSessionExtras, WebSocketServerSessionInfo } from "./raw_server_session.ts";

/**
 * The session of a managed route (`server.webSocket`), Ktor's `DefaultWebSocketServerSession`:
 * a {@linkcode DefaultWebSocketSession} plus the upgrade request, the route parameters, the
 * client's address and the upgrade hook's data. Sessions served through `server.fetch`
 * implement it too, on top of Deno's `WebSocket`.
 */
export interface DefaultWebSocketServerSession<D = unknown>
  extends DefaultWebSocketSession, WebSocketServerSessionInfo<D> {}

/**
 * The managed session the standalone listener gives to `server.webSocket` handlers.
 *
 * @example A chat room: join message, then broadcast
 * ```ts ignore
 * import { createServer, type DefaultWebSocketServerSession } from "@wirestream/ws/server";
 *
 * const members = new Set<DefaultWebSocketServerSession>();
 * createServer().webSocket("/chat", async (session) => {
 *   members.add(session);
 *   try {
 *     for await (const message of session.incoming) {
 *       for (const member of members) member.send(message).catch(() => {});
 *     }
 *   } finally {
 *     members.delete(session);
 *   }
 * });
 * ```
 */
export class ManagedWebSocketServerSession<D = unknown> extends ManagedWebSocketSession
  implements DefaultWebSocketServerSession<D> {
  /** The upgrade request. */
  readonly request: UpgradeRequest;
  /** The route parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** The data an upgrade hook attached. */
  readonly data: D;

  /**
   * Created by the server for each upgrade on a managed route.
   *
   * @param init The socket, what the handshake settled, the negotiated extensions.
   * @param options Pinger, message size limit, converter and queue bounds.
   * @param extras The route parameters and the hook's data.
   */
  constructor(
    init: ManagedSessionInit,
    options: ManagedSessionOptions,
    extras: ServerSessionExtras<D>,
  ) {
    super(init, options);
    this.request = init.call.request;
    this.params = extras.params;
    this.data = extras.data;
  }
}
