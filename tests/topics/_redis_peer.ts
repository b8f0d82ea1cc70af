/**
 * One "process" of the multi-process Redis backplane test: `deno run -A _redis_peer.ts URL TOPIC
 * NAME COUNT PEERS`. Subscribes, prints `ready`, waits for a line on stdin, publishes COUNT
 * messages `NAME:i` (i = 0…COUNT-1, in order, without waiting for each), waits until it received
 * COUNT × PEERS messages and prints them as one JSON line:
 * `{ messages: [[offset, data, ref | null], …], events: [type, …] }`.
 *
 * @module
 */

import { redisBackplane } from "../../redis.ts";
import { Recorder } from "./_recorder.ts";

const [url, topic, name, countText, peersText] = Deno.args as [
  string,
  string,
  string,
  string,
  string,
];
const count = Number(countText);
const peers = Number(peersText);
const recorder = new Recorder();
const backplane = redisBackplane({ url, nodeId: name, prefix: "multi" });
await backplane.start(recorder);
await backplane.subscribe(topic);
console.log("ready");
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();
await Promise.all(
  Array.from(
    { length: count },
    (_, i) => backplane.publish(topic, { data: `${name}:${i}`, ref: i }),
  ),
);
await recorder.until(() => recorder.messages.length >= count * peers, "every message", 30_000);
console.log(JSON.stringify({
  messages: recorder.messages.map((m) => [m.offset, m.data, m.ref ?? null]),
  events: recorder.events.map((e) => e.type),
}));
await backplane.close();
