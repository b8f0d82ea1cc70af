/**
 * Topics across two servers sharing one Redis: what one server's sessions publish reaches the
 * other's, and a client recovers on one server what was published on the other.
 */

import assert from "node:assert/strict";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { DefaultWebSocketServerSession } from "../../src/server/managed_server_session.ts";
import { readText } from "../../src/core/frame.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import { parseTopicEnvelope } from "../../src/core/topic_envelope.ts";
import { redisBackplane } from "../../redis.ts";
import { RedisServer } from "../_helpers/redis_server.ts";

/** `/rooms/:room[?envelope][&since=N&epoch=E]`: sends `{"ready":…}`, then publishes what it reads. */
function roomRoute(server: WebSocketServer): void {
  server.webSocket("/rooms/:room", async (session: DefaultWebSocketServerSession) => {
    const url = new URL(session.request.url);
    const since = url.searchParams.get("since");
    const result = await session.subscribe(session.params.room!, {
      envelope: url.searchParams.has("envelope"),
      since: since === null
        ? undefined
        : { offset: Number(since), epoch: url.searchParams.get("epoch")! },
    });
    await session.send(JSON.stringify({ ready: result }));
    for await (const message of session.incoming) {
      await server.publish(session.params.room!, readText(message));
    }
  });
}

function twoServers(redis: RedisServer) {
  const servers = [1, 2].map(() =>
    createServer({
      topics: { backplane: redisBackplane({ url: redis.url, history: { size: 100 } }) },
    })
  );
  const bases = servers.map((server) => {
    roomRoute(server);
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    return `ws://127.0.0.1:${listener.addr.port}/rooms`;
  });
  return {
    bases: bases as [string, string],
    servers: servers as [WebSocketServer, WebSocketServer],
    async [Symbol.asyncDispose]() {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

Deno.test("topics over Redis: two servers, one room", async () => {
  await using redis = await RedisServer.start();
  await using pair = twoServers(redis);
  const [base1, base2] = pair.bases;
  const a = await webSocketSession(`${base1}/lobby`);
  const b = await webSocketSession(`${base2}/lobby`);
  try {
    for (const s of [a, b]) JSON.parse(readText(await s.receive()));
    await a.send("hello from server 1");
    // Everyone in the room hears it, the sender too (no exclude), on both servers.
    assert.equal(readText(await b.receive()), "hello from server 1");
    assert.equal(readText(await a.receive()), "hello from server 1");
    const result = await pair.servers[1].publish("lobby", "from server 2");
    assert.equal(result.backplane, "redis");
    assert.equal(readText(await a.receive()), "from server 2");
    assert.equal(readText(await b.receive()), "from server 2");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("topics over Redis: recover on one server what was published on the other", async () => {
  await using redis = await RedisServer.start();
  await using pair = twoServers(redis);
  const [base1, base2] = pair.bases;
  const first = await webSocketSession(`${base1}/news?envelope`);
  let position: { offset: number; epoch: string };
  try {
    JSON.parse(readText(await first.receive()));
    await pair.servers[0].publish("news", "one");
    const envelope = parseTopicEnvelope(readText(await first.receive()));
    assert.equal(envelope?.kind, "message");
    position = { offset: envelope!.offset!, epoch: envelope!.epoch! };
  } finally {
    await first.close();
  }
  // Published while the client is away (server 1 still has the topic's backplane).
  await pair.servers[0].publish("news", "two");
  await pair.servers[0].publish("news", "three");
  const again = await webSocketSession(
    `${base2}/news?envelope&since=${position.offset}&epoch=${position.epoch}`,
  );
  try {
    // Replayed from Redis's history before the ready message.
    const replayed = [];
    for (let i = 0; i < 2; i++) replayed.push(parseTopicEnvelope(readText(await again.receive())));
    assert.deepEqual(replayed.map((e) => [e?.kind, e?.kind === "message" && e.data, e?.offset]), [
      ["message", "two", position.offset + 1],
      ["message", "three", position.offset + 2],
    ]);
    const ready = JSON.parse(readText(await again.receive())).ready;
    assert.equal(ready.recovered, 2, JSON.stringify(ready));
    await pair.servers[0].publish("news", "live");
    const live = parseTopicEnvelope(readText(await again.receive()));
    assert.deepEqual([live?.kind === "message" && live.data, live?.offset], [
      "live",
      position.offset + 3,
    ]);
  } finally {
    await again.close();
  }
});
