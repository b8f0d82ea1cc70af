/**
 * One process of the multi-process Deno KV backplane test: subscribes to a topic, prints
 * `ready`, waits for a line on stdin, publishes `count` messages (`<name>:<i>`, all at once),
 * waits until it received `expect` messages (at most 20 s), prints them as one JSON line and
 * exits.
 *
 * `deno run --unstable-kv -A _kv_peer.ts <kv path> <topic> <name> <count> <expect>`
 *
 * @module
 */

import { kvBackplane } from "../../kv.ts";
import { Recorder, waitFor } from "./_kv_helpers.ts";

const [path, topic, name, count, expect] = Deno.args as [string, string, string, string, string];
const host = new Recorder();
const backplane = kvBackplane({ path, pollInterval: 10 });
await backplane.start(host);
await backplane.subscribe(topic);
console.log("ready");
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
stdin.releaseLock();
const published = await Promise.all(
  Array.from(
    { length: Number(count) },
    (_, i) => backplane.publish(topic, { data: `${name}:${i}`, ref: i }),
  ),
);
await waitFor(() => host.messages.length >= Number(expect), "every message", 20_000);
await backplane.close();
console.log(JSON.stringify({
  published: published.map((p) => p.offset),
  received: host.messages.map((m) => ({
    offset: m.offset,
    epoch: m.epoch,
    data: m.data,
    ref: m.ref,
  })),
  events: host.events,
}));
