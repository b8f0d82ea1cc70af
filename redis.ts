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
 * import { redisBackplane } from "@wirestream/ws/redis";
 *
 * const backplane = redisBackplane({ url: "redis://127.0.0.1:6379", history: { size: 500 } });
 * await backplane.start({
 *   deliver: (m) => console.log(`${m.topic}#${m.offset}`, m.data),
 *   event: (e) => console.log("backplane:", e.type),
 * });
 * await backplane.subscribe("news");
 * await backplane.publish("news", { data: "hello", ref: 1 });
 * await backplane.close();
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
