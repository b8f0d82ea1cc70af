/**
 * A server process for the multi-process topic tests:
 * `deno run -A --unstable-kv _topic_server_process.ts redis URL | kv PATH`.
 * Serves `/t`: the session subscribes to the topic `room` with envelopes, says `ready`, then
 * publishes every text message it reads to `room` (a publish that fails is answered with
 * `publish failed`). Prints `port N` once listening and one JSON line per backplane event; stops
 * on SIGTERM.
 *
 * @module
 */

import { createServer } from "../../server.ts";
import { readText } from "../../mod.ts";
import { redisBackplane } from "../../redis.ts";
import { kvBackplane } from "../../kv.ts";

const [kind, where] = Deno.args as [string, string];
const server = createServer({
  onError: () => {},
  topics: {
    backplane: kind === "kv"
      ? kvBackplane({ path: where, history: { size: 10_000 }, pollInterval: 10 })
      : redisBackplane({
        url: where,
        history: { size: 10_000 },
        reconnect: { initialDelay: 20, maxDelay: 200 },
      }),
    onBackplaneEvent: (event) => console.log(JSON.stringify({ event: event.type })),
  },
});
server.webSocket("/t", async (session) => {
  await session.subscribe("room", { envelope: true });
  await session.send("ready");
  for await (const message of session.incoming) {
    try {
      await server.publish("room", readText(message));
    } catch {
      await session.send("publish failed");
    }
  }
});
const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
console.log(`port ${listener.addr.port}`);
const stop = () => server.shutdown();
Deno.addSignalListener("SIGTERM", stop);
await listener.finished;
Deno.removeSignalListener("SIGTERM", stop);
