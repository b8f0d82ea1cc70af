/**
 * The Redis backplane: topics published once and delivered to every subscribed WebSocket session
 * in every process (and host) that shares one Redis server.
 *
 * Each topic keeps contiguous offsets, an epoch that changes when Redis loses the topic's data
 * (a restart without persistence) and, with `history.size`, a bounded history from which a
 * reconnecting process or client recovers what it missed. The client is `npm:ioredis`, loaded
 * when the first backplane starts; the rest of `@wirestream/ws` has no dependencies. Needs Redis
 * 6.2 or later; one server (no Cluster or Sentinel).
 *
 * ```ts ignore
 * import { createServer } from "@wirestream/ws/server";
 * import { redisBackplane } from "@wirestream/ws/redis";
 *
 * // Run this in as many processes as you like: a message published in one reaches the
 * // subscribers of all.
 * const server = createServer({
 *   topics: {
 *     backplane: redisBackplane({ url: "redis://127.0.0.1:6379", history: { size: 500 } }),
 *     onBackplaneEvent: (event) => console.log("backplane:", event.type),
 *   },
 * });
 * server.webSocket("/news", async (session) => {
 *   await session.subscribe("news", { envelope: true });
 *   for await (const message of session.incoming) await server.publish("news", message);
 * });
 * server.listen({ port: 8080 });
 * ```
 *
 * @module
 */

export {
  redisBackplane,
  type RedisBackplaneOptions,
  type RedisReconnectOptions,
} from "./src/topics/redis_backplane.ts";
export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  HistoryOptions,
  PublishedData,
  RecoveryRequest,
  TopicData,
  TopicMessage,
  TopicPosition,
  TopicRecovery,
} from "./src/topics/backplane.ts";
