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
import type { TopicHub } from "../topics/topic_hub.ts";
import type {
  SubscribeOptions,
  SubscribeResult,
  TopicSink,
  TopicSubscriber,
} from "../topics/topic_types.ts";
import { ManagedTopicSink } from "./_topic_sinks.ts";
import type { UpgradeRequest } from "../session/raw_session.ts";
import type {
  ManagedServerSessionExtras,
  WebSocketServerSessionInfo,
} from "./raw_server_session.ts";

/**
 * The session of a managed route (`server.webSocket`), Ktor's `DefaultWebSocketServerSession`:
 * a {@linkcode DefaultWebSocketSession} plus the upgrade request, the route parameters, the
 * client's address and the upgrade hook's data. Sessions served through `server.fetch`
 * implement it too, on top of Deno's `WebSocket`.
 */
export interface DefaultWebSocketServerSession<D = unknown>
  extends DefaultWebSocketSession, WebSocketServerSessionInfo<D>, TopicSubscriber {}

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
  readonly #hub: TopicHub;
  /** What the hub sees of this session (made at the first subscribe). */
  #sink: TopicSink | null = null;

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
    extras: ManagedServerSessionExtras<D>,
  ) {
    super(init, options);
    this.request = init.call.request;
    this.params = extras.params;
    this.data = extras.data;
    this.#hub = extras.topics;
  }

  /**
   * Subscribes this session to a topic: messages that `server.publish` sends to it (from this
   * process or, through the backplane, from others) are queued for this session. With
   * `since`, the messages published after that position are sent first (see
   * {@linkcode SubscribeOptions}).
   *
   * @example
   * ```ts ignore
   * server.webSocket("/rooms/:room", async (session) => {
   *   await session.subscribe(session.params.room!, { envelope: true });
   *   for await (const message of session.incoming) {
   *     if (message.type === "text") {
   *       await server.publish(session.params.room!, readText(message), { exclude: session });
   *     }
   *   }
   * });
   * ```
   *
   * @param topic The topic.
   * @param options Envelopes, and the position to recover from.
   * @returns The topic's head, and what was recovered.
   */
  subscribe(topic: string, options?: SubscribeOptions): Promise<SubscribeResult> {
    if (this.#sink === null) {
      const sink = this.#sink = new ManagedTopicSink(this);
      this.closed.then(() => this.#hub.leave(sink));
    }
    return this.#hub.subscribe(this.#sink, topic, options);
  }

  /**
   * Unsubscribes this session from a topic (no-op when not subscribed).
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void {
    if (this.#sink !== null) this.#hub.unsubscribe(this.#sink, topic);
  }

  /** The topics this session is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.#hub.topicsOf(this.#sink);
  }
}
