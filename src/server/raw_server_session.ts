/**
 * The raw server session: a {@linkcode RawWebSocketSession} (every frame, nothing automatic)
 * with what the server knows about the upgrade request.
 *
 * @module
 */

import type { TopicHub } from "../topics/topic_hub.ts";
import { RawWebSocketSession, type SessionInit } from "../session/raw_session.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";

/** What every server session knows about its upgrade request. */
export interface WebSocketServerSessionInfo<D = unknown> {
  /**
   * The upgrade request: URL (built from `Host` and the target), method and headers. It stays
   * readable for the whole session, after the handshake too (under `Deno.serve`, a copy taken
   * at the upgrade).
   */
  readonly request: UpgradeRequest;
  /** The parameters the route pattern captured (`/chat/:room` → `{ room }`). */
  readonly params: Readonly<Record<string, string>>;
  /** The client's address. */
  readonly remoteAddr: Deno.Addr | undefined;
  /** The data an upgrade hook attached, or `undefined`. */
  readonly data: D;
}

/** @internal What a server session is built from, besides the socket. */
export interface ServerSessionExtras<D> {
  params: Record<string, string>;
  data: D;
}

/** What the server gives a managed session it creates: the extras and the server's topics. */
export interface ManagedServerSessionExtras<D> extends ServerSessionExtras<D> {
  /** The server's topics. */
  topics: TopicHub;
}

/**
 * The session of a raw route (`server.webSocketRaw`): every frame surfaced as it arrives, nothing
 * automatic (no pong, no close echo, no ping, no reassembly), plus the upgrade request, the
 * route parameters and the hook's data.
 *
 * When the handler returns, the server sends a close frame (1000) unless the handler sent one,
 * waits up to `closeTimeout` for the client's, then closes the connection; when it throws, the
 * close code is 1011.
 *
 * @example A raw echo route that answers pings by hand
 * ```ts ignore
 * import { createServer, Frame } from "@wirestream/ws/server";
 *
 * const server = createServer();
 * server.webSocketRaw("/raw", async (session) => {
 *   for await (const frame of session.incoming) {
 *     if (frame.type === "ping") await session.send(Frame.pong(frame.data));
 *     else if (frame.type === "close") break;
 *     else await session.send(frame);
 *   }
 * });
 * ```
 */
export class RawWebSocketServerSession<D = unknown> extends RawWebSocketSession
  implements WebSocketServerSessionInfo<D> {
  /** The upgrade request. */
  readonly request: UpgradeRequest;
  /** The route parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** The data an upgrade hook attached. */
  readonly data: D;

  /**
   * Created by the server for each upgrade on a raw route.
   *
   * @param init The socket and what the handshake settled.
   * @param extras The route parameters and the hook's data.
   */
  constructor(init: SessionInit, extras: ServerSessionExtras<D>) {
    super(init);
    this.request = init.call.request;
    this.params = extras.params;
    this.data = extras.data;
  }
}
