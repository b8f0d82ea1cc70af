/**
 * A server process for the multi-process Redis tests: `deno run -A _redis_topic_server.ts URL`.
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

const url = Deno.args[0]!;
const server = createServer({
  onError: () => {},
  topics: {
    backplane: redisBackplane({
      url,
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
