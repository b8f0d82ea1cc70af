/**
 * The Redis backplane against a real `redis-server` (started per test on a free loopback port,
 * stopped by PID): ordering across instances and processes, refs, binary payloads, history
 * recovery, lost connections, Redis restarts and clean shutdown.
 */

import assert from "node:assert/strict";
import { redisBackplane, type RedisBackplaneOptions } from "../../redis.ts";
import type { Backplane, TopicMessage } from "../../src/topics/backplane.ts";
import { ConnectionClosedError, ConnectionError } from "../../src/core/errors.ts";
import { lines } from "../_helpers/lines.ts";
import { redisCommand, RedisServer } from "../_helpers/redis_server.ts";
import { Recorder } from "./_recorder.ts";

/** A started backplane and its recorder, closed by `await using`. */
async function open(
  options: RedisBackplaneOptions,
): Promise<{ bp: Backplane; rec: Recorder; [Symbol.asyncDispose](): Promise<void> }> {
  const bp = redisBackplane(options);
  const rec = new Recorder();
  await bp.start(rec);
  return { bp, rec, [Symbol.asyncDispose]: () => bp.close() };
}

const texts = (messages: TopicMessage[]) => messages.map((m) => m.data);
const offsets = (messages: TopicMessage[]) => messages.map((m) => m.offset);

/** Kills this node's connections server-side (Redis keeps running). */
async function killClients(port: number, nodeId: string): Promise<number> {
  const list = String(await redisCommand(port, "CLIENT", "LIST"));
  let killed = 0;
  for (const line of list.split("\n")) {
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "";
    if (id && name.endsWith(`:${nodeId}`)) {
      killed += Number(await redisCommand(port, "CLIENT", "KILL", "ID", id));
    }
  }
  return killed;
}

Deno.test("redisBackplane: bad options are TypeError / RangeError, before any connection", () => {
  assert.throws(() => redisBackplane({ url: "http://127.0.0.1:6379" }), TypeError);
  assert.throws(() => redisBackplane({ url: "not a url" }), TypeError);
  assert.throws(() => redisBackplane({ url: "redis://127.0.0.1:6379/db1" }), TypeError);
  assert.throws(() => redisBackplane({ prefix: "" }), TypeError);
  assert.throws(() => redisBackplane({ nodeId: "a\nb" }), TypeError);
  assert.throws(() => redisBackplane({ history: { size: -1 } }), RangeError);
  assert.throws(() => redisBackplane({ history: { size: 1.5 } }), RangeError);
  assert.throws(() => redisBackplane({ history: { ttl: Infinity } }), RangeError);
  assert.throws(() => redisBackplane({ reconnect: { maxDelay: -5 } }), RangeError);
  assert.equal(redisBackplane().name, "redis");
});

Deno.test("redisBackplane: an unreachable Redis rejects start() without the password", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const bp = redisBackplane({ url: `redis://user:s3cret-pw@127.0.0.1:${port}/2` });
  const error = await bp.start(new Recorder()).then(() => undefined, (e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.equal(error.code, "CONNECTION_REFUSED");
  assert.match(error.message, new RegExp(`redis://127\\.0\\.0\\.1:${port}/2: .*ECONNREFUSED`));
  assert.doesNotMatch(error.message, /s3cret/);
  await assert.rejects(bp.publish("t", { data: "x", ref: 1 }), ConnectionClosedError);
  await bp.close();
});

Deno.test("redisBackplane: a password in the URL is used, and never shown", async () => {
  await using redis = await RedisServer.start({ password: "pa55-w0rd" });
  await using ok = await open({ url: `redis://:pa55-w0rd@127.0.0.1:${redis.port}/0` });
  await ok.bp.subscribe("t");
  await ok.bp.publish("t", { data: "authenticated", ref: 1 });
  await ok.rec.until(() => ok.rec.messages.length === 1, "1 message");

  const wrong = redisBackplane({ url: `redis://default:wr0ng-pa55@127.0.0.1:${redis.port}` });
  const error = await wrong.start(new Recorder()).then(() => undefined, (e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /WRONGPASS/);
  assert.doesNotMatch(`${error.message} ${error.stack}`, /wr0ng-pa55/);
  await wrong.close();
});

Deno.test("redisBackplane: two instances get every message once, in offset order, refs for their own", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url, nodeId: "a" });
  await using b = await open({ url: redis.url, nodeId: "b" });
  const headA = await a.bp.subscribe("room");
  const headB = await b.bp.subscribe("room");
  assert.equal(headA.offset, 0);
  assert.deepEqual(headB, headA);
  await b.bp.subscribe("other");

  const published = await Promise.all([
    ...Array.from({ length: 50 }, (_, i) => a.bp.publish("room", { data: `a${i}`, ref: 100 + i })),
    ...Array.from({ length: 50 }, (_, i) => b.bp.publish("room", { data: `b${i}`, ref: 200 + i })),
    b.bp.publish("other", { data: "elsewhere", ref: 1 }),
  ]);
  for (const p of published.slice(0, 100)) assert.equal(p.epoch, headA.epoch);
  // Each process's publishes get increasing offsets in call order.
  const aOffsets = published.slice(0, 50).map((p) => p.offset);
  assert.deepEqual(aOffsets, [...aOffsets].sort((x, y) => x - y));

  await a.rec.until(() => a.rec.of("room").length === 100, "a: 100 messages");
  await b.rec.until(() => b.rec.of("room").length === 100, "b: 100 messages");
  await b.rec.until(() => b.rec.of("other").length === 1, "b: other");
  for (const rec of [a.rec, b.rec]) {
    assert.deepEqual(offsets(rec.of("room")), Array.from({ length: 100 }, (_, i) => i + 1));
  }
  assert.deepEqual(texts(a.rec.of("room")), texts(b.rec.of("room")));
  assert.equal(a.rec.of("other").length, 0, "a is not subscribed to other");
  // Own messages carry their ref, the others' none.
  for (const m of a.rec.of("room")) {
    const mine = String(m.data).startsWith("a");
    assert.equal(m.ref, mine ? 100 + Number(String(m.data).slice(1)) : undefined);
  }
  for (const m of b.rec.of("room")) {
    assert.equal(m.ref === undefined, String(m.data).startsWith("a"));
  }
  assert.deepEqual(a.rec.events, []);
  assert.deepEqual(b.rec.events, []);
});

Deno.test("redisBackplane: one prefix in two databases: separate topics (channels are server-wide)", async () => {
  await using redis = await RedisServer.start();
  await using db0 = await open({ url: redis.url });
  await using db1 = await open({ url: `${redis.url}/1` });
  await using db1b = await open({ url: `${redis.url}/1` });
  await db0.bp.subscribe("t");
  await db1.bp.subscribe("t");
  await db1b.bp.publish("t", { data: "in 1", ref: 1 });
  await db0.bp.publish("t", { data: "in 0", ref: 1 });
  await db1.rec.until(() => db1.rec.messages.length === 1, "db 1");
  await db0.rec.until(() => db0.rec.messages.length === 1, "db 0");
  await db1b.bp.publish("t", { data: "in 1 again", ref: 2 });
  await db1.rec.until(() => db1.rec.messages.length === 2, "db 1 again");
  assert.deepEqual(texts(db0.rec.messages), ["in 0"]);
  assert.deepEqual(texts(db1.rec.messages), ["in 1", "in 1 again"]);
  assert.deepEqual(offsets(db1.rec.messages), [1, 2]);
  assert.deepEqual([...db0.rec.events, ...db1.rec.events], []);
});

Deno.test("redisBackplane: binary and text payloads arrive byte for byte", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url, history: { size: 10 } });
  await a.bp.subscribe("bin");
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const view = new Uint8Array(new Uint8Array([9, 9, 1, 2, 3, 10, 13, 0, 9]).buffer, 2, 6);
  const text = "é\n\r\u0000𝄞 line\nbreaks";
  await a.bp.publish("bin", { data: all, ref: 1 });
  await a.bp.publish("bin", { data: view, ref: 2 });
  await a.bp.publish("bin", { data: text, ref: 3 });
  await a.bp.publish("bin", { data: new Uint8Array(), ref: 4 });
  await a.bp.publish("bin", { data: "", ref: 5 });
  await a.rec.until(() => a.rec.messages.length === 5, "5 messages");
  const expected = [all, new Uint8Array([1, 2, 3, 10, 13, 0]), text, new Uint8Array(), ""];
  assert.deepEqual(texts(a.rec.messages), expected);
  // The same from the history.
  const recovered = await a.bp.recover("bin", {
    since: { offset: 0, epoch: a.rec.messages[0]!.epoch },
    limit: 10,
  });
  assert.ok(recovered.ok);
  assert.deepEqual(texts([...recovered.messages]), expected);
  assert.deepEqual(recovered.messages.map((m) => m.ref), [1, 2, 3, 4, 5]);
});

Deno.test("redisBackplane: subscribe returns the head; only later messages are delivered", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url });
  await using b = await open({ url: redis.url });
  await a.bp.publish("t", { data: "before-1", ref: 1 });
  const second = await a.bp.publish("t", { data: "before-2", ref: 2 });
  const head = await b.bp.subscribe("t");
  assert.deepEqual(head, second);
  assert.deepEqual(await b.bp.subscribe("t"), head, "subscribing twice changes nothing");
  await a.bp.publish("t", { data: "after", ref: 3 });
  await b.rec.until(() => b.rec.messages.length === 1, "1 message");
  assert.deepEqual(texts(b.rec.messages), ["after"]);
  assert.equal(b.rec.messages[0]!.offset, 3);
  await b.bp.unsubscribe("t");
  await b.bp.unsubscribe("t");
  await a.bp.publish("t", { data: "unheard", ref: 4 });
  await b.bp.subscribe("t"); // a round trip on b's subscriber connection after the publish
  assert.equal(b.rec.messages.length, 1);
});

Deno.test("redisBackplane: recover: ok, offset-too-old, offset-ahead, epoch-changed, no-history", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url, history: { size: 5 } });
  await using none = await open({ url: redis.url });
  const { epoch } = await a.bp.subscribe("h");
  for (let i = 1; i <= 8; i++) await a.bp.publish("h", { data: `m${i}`, ref: i });
  const head = { offset: 8, epoch };

  const ok = await a.bp.recover("h", { since: { offset: 5, epoch }, limit: 10 });
  assert.ok(ok.ok);
  assert.deepEqual(ok.head, head);
  assert.deepEqual(texts([...ok.messages]), ["m6", "m7", "m8"]);
  assert.deepEqual(offsets([...ok.messages]), [6, 7, 8]);
  assert.ok(ok.messages.every((m) => m.topic === "h" && m.epoch === epoch && m.ref !== undefined));

  const upToDate = await a.bp.recover("h", { since: head, limit: 10 });
  assert.deepEqual(upToDate, { ok: true, messages: [], head });
  // Kept: 4…8 (5 messages). Asking after 3 works, after 2 does not.
  assert.equal((await a.bp.recover("h", { since: { offset: 3, epoch }, limit: 10 })).ok, true);
  assert.deepEqual(await a.bp.recover("h", { since: { offset: 2, epoch }, limit: 10 }), {
    ok: false,
    reason: "offset-too-old",
    head,
  });
  // More than `limit` missed is offset-too-old too.
  assert.deepEqual(await a.bp.recover("h", { since: { offset: 5, epoch }, limit: 2 }), {
    ok: false,
    reason: "offset-too-old",
    head,
  });
  assert.deepEqual(await a.bp.recover("h", { since: { offset: 9, epoch }, limit: 10 }), {
    ok: false,
    reason: "offset-ahead",
    head,
  });
  assert.deepEqual(
    await a.bp.recover("h", { since: { offset: 5, epoch: "elsewhere" }, limit: 10 }),
    {
      ok: false,
      reason: "epoch-changed",
      head,
    },
  );
  assert.deepEqual(await none.bp.recover("h", { since: { offset: 5, epoch }, limit: 10 }), {
    ok: false,
    reason: "no-history",
    head,
  });
  // Another node's messages come without ref.
  const other = await none.bp.recover("h", { since: { offset: 0, epoch }, limit: 10 });
  assert.equal(other.ok, false);
  await using b = await open({ url: redis.url, history: { size: 5 } });
  const fromB = await b.bp.recover("h", { since: { offset: 6, epoch }, limit: 10 });
  assert.ok(fromB.ok);
  assert.deepEqual(fromB.messages.map((m) => m.ref), [undefined, undefined]);

  // The data is lost (a Redis restart without persistence): a new epoch.
  await redisCommand(redis.port, "FLUSHALL");
  const lost = await a.bp.recover("h", { since: { offset: 8, epoch }, limit: 10 });
  assert.equal(lost.ok, false);
  assert.equal(!lost.ok && lost.reason, "epoch-changed");
  assert.equal(lost.head.offset, 0);
  assert.notEqual(lost.head.epoch, epoch);
  // Its messages arrive in the new epoch; the subscriber is told first.
  await a.bp.publish("h", { data: "fresh", ref: 9 });
  await a.rec.until(() => a.rec.messages.length === 9, "9 messages");
  assert.deepEqual(a.rec.events, [{
    type: "epoch",
    topic: "h",
    epoch: lost.head.epoch,
    offset: 0,
  }]);
  assert.deepEqual(a.rec.messages.at(-1), {
    topic: "h",
    offset: 1,
    epoch: lost.head.epoch,
    data: "fresh",
    ref: 9,
  });
});

Deno.test("redisBackplane: a lost counter (evicted, deleted) starts a new epoch", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url, prefix: "ev", history: { size: 10 } });
  const { epoch } = await a.bp.subscribe("t");
  await a.bp.publish("t", { data: "one", ref: 1 });
  await a.bp.publish("t", { data: "two", ref: 2 });
  assert.equal(await redisCommand(redis.port, "DEL", "ev:{t}:n"), 1);
  const three = await a.bp.publish("t", { data: "three", ref: 3 });
  assert.equal(three.offset, 1);
  assert.notEqual(three.epoch, epoch);
  await a.rec.until(() => a.rec.messages.length === 3, "3 messages");
  assert.deepEqual(a.rec.events, [{ type: "epoch", topic: "t", epoch: three.epoch, offset: 0 }]);
  const r = await a.bp.recover("t", { since: { offset: 0, epoch: three.epoch }, limit: 10 });
  assert.ok(r.ok);
  assert.deepEqual(texts([...r.messages]), ["three"], "the old epoch's history is gone");
});

Deno.test("redisBackplane: history ttl drops old messages from recovery", async () => {
  await using redis = await RedisServer.start();
  await using a = await open({ url: redis.url, history: { size: 100, ttl: 150 } });
  const old = await a.bp.publish("ttl", { data: "old", ref: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await a.bp.publish("ttl", { data: "new", ref: 2 });
  const since = { offset: 0, epoch: old.epoch };
  const r = await a.bp.recover("ttl", { since: since, limit: 10 });
  assert.equal(!r.ok && r.reason, "offset-too-old");
  const recent = await a.bp.recover("ttl", { since: { offset: 1, epoch: old.epoch }, limit: 10 });
  assert.ok(recent.ok);
  assert.deepEqual(texts([...recent.messages]), ["new"]);
});

Deno.test("redisBackplane: lost connections: down, catch-up from history, gap for the trimmed, up", async () => {
  await using redis = await RedisServer.start();
  // Long enough for b to publish everything below before a comes back, even on a loaded machine.
  const reconnect = { initialDelay: 1000, maxDelay: 1000 };
  await using a = await open({ url: redis.url, nodeId: "a", history: { size: 3 }, reconnect });
  await using b = await open({ url: redis.url, nodeId: "b", history: { size: 3 } });
  const { epoch } = await a.bp.subscribe("g");
  await a.bp.subscribe("h");
  await b.bp.publish("g", { data: "g1", ref: 1 });
  await a.rec.until(() => a.rec.messages.length === 1, "g1");

  // Killing one of the two is enough: the backplane drops the other and reconnects both.
  assert.ok(await killClients(redis.port, "a") >= 1);
  await a.rec.until(() => a.rec.events.length === 1, "down");
  const down = a.rec.events[0]!;
  assert.equal(down.type, "down");
  assert.ok(down.type === "down" && down.error instanceof ConnectionError);
  await assert.rejects(a.bp.publish("g", { data: "while down", ref: 0 }), (e: unknown) => {
    return e instanceof ConnectionError && e.code === "CONNECTION_FAILED";
  });
  // While a is away: 6 messages on g (history keeps the last 3), 2 on h.
  for (let i = 2; i <= 7; i++) await b.bp.publish("g", { data: `g${i}`, ref: i });
  await b.bp.publish("h", { data: "h1", ref: 1 });
  await b.bp.publish("h", { data: "h2", ref: 2 });

  await a.rec.until(() => a.rec.eventsOf("up").length === 1, "up");
  assert.deepEqual(a.rec.events.slice(1), [
    { type: "gap", topic: "g", from: 2, to: 4 },
    { type: "up" },
  ]);
  assert.deepEqual(texts(a.rec.of("g")), ["g1", "g5", "g6", "g7"]);
  assert.deepEqual(texts(a.rec.of("h")), ["h1", "h2"]);
  assert.ok(a.rec.of("g").every((m) => m.epoch === epoch));
  // Subscriptions are live again.
  await b.bp.publish("g", { data: "g8", ref: 8 });
  await a.bp.publish("h", { data: "h3", ref: 3 });
  await a.rec.until(() => a.rec.messages.length === 8, "g8 and h3");
  assert.deepEqual(offsets(a.rec.of("g")), [1, 5, 6, 7, 8]);
  assert.equal(a.rec.of("h").at(-1)!.ref, 3);
});

Deno.test("redisBackplane: a Redis restart: down, reconnection with backoff, new epochs, up", async () => {
  await using redis = await RedisServer.start();
  const reconnect = { initialDelay: 20, maxDelay: 100 };
  await using a = await open({ url: redis.url, history: { size: 10 }, reconnect });
  await using b = await open({ url: redis.url, history: { size: 10 }, reconnect });
  const before = await a.bp.subscribe("r");
  await b.bp.subscribe("r");
  await a.bp.publish("r", { data: "one", ref: 1 });
  await b.rec.until(() => b.rec.messages.length === 1, "one");
  await a.rec.until(() => a.rec.messages.length === 1, "one (own)");

  await redis.stop();
  await a.rec.until(() => a.rec.eventsOf("down").length === 1, "a down");
  await b.rec.until(() => b.rec.eventsOf("down").length === 1, "b down");
  // Several attempts fail while Redis is away (bounded delays: no hang, no extra events).
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(a.rec.events.length, 1);
  await assert.rejects(a.bp.subscribe("s"), ConnectionError);
  await redis.restart();

  await a.rec.until(() => a.rec.eventsOf("up").length === 1, "a up");
  await b.rec.until(() => b.rec.eventsOf("up").length === 1, "b up");
  for (const rec of [a.rec, b.rec]) {
    assert.deepEqual(rec.events.map((e) => e.type), ["down", "epoch", "up"]);
    const e = rec.events[1]!;
    assert.ok(e.type === "epoch" && e.topic === "r" && e.offset === 0);
    assert.notEqual(e.epoch, before.epoch);
  }
  const again = await b.bp.publish("r", { data: "two", ref: 2 });
  assert.equal(again.offset, 1);
  const epochEvent = a.rec.events[1]!;
  assert.equal(epochEvent.type === "epoch" && epochEvent.epoch, again.epoch);
  await a.rec.until(() => a.rec.messages.length === 2, "two");
  assert.deepEqual(a.rec.messages.map((m) => [m.data, m.offset]), [["one", 1], ["two", 1]]);
  assert.equal(a.rec.messages.at(-1)!.epoch, again.epoch);
});

Deno.test("redisBackplane: close() while reconnecting, twice, and after close", async () => {
  await using redis = await RedisServer.start();
  const a = redisBackplane({ url: redis.url, reconnect: { initialDelay: 50, maxDelay: 50 } });
  const rec = new Recorder();
  await a.start(rec);
  await a.subscribe("c");
  await redis.stop();
  await rec.until(() => rec.eventsOf("down").length === 1, "down");
  await new Promise((resolve) => setTimeout(resolve, 120)); // an attempt or two fail
  await Promise.all([a.close(), a.close()]);
  await a.close();
  await assert.rejects(a.publish("c", { data: "x", ref: 1 }), ConnectionClosedError);
  await assert.rejects(a.subscribe("c"), ConnectionClosedError);
  assert.deepEqual(rec.events.map((e) => e.type), ["down"]);
  // And a close() while connected.
  await redis.restart();
  const b = redisBackplane({ url: redis.url });
  await b.start(new Recorder());
  await b.subscribe("c");
  await b.close();
  await assert.rejects(b.start(new Recorder()), TypeError);
});

Deno.test("redisBackplane: three processes agree on one order; each gets every message once", async () => {
  await using redis = await RedisServer.start();
  const count = 200;
  const names = ["p1", "p2", "p3"];
  const peer = new URL("./_redis_peer.ts", import.meta.url).pathname;
  const lock = new URL("../deno.lock", import.meta.url).pathname;
  const children = names.map((name) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--lock=${lock}`,
        "--frozen",
        peer,
        redis.url,
        "shared",
        name,
        String(count),
        "3",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn()
  );
  const outputs = children.map((c) => lines(c.stdout).getReader());
  for (const out of outputs) assert.equal((await out.read()).value, "ready");
  const go = new TextEncoder().encode("go\n");
  for (const child of children) {
    const writer = child.stdin.getWriter();
    await writer.write(go);
    await writer.close();
  }
  const results: { messages: [number, string, number | null][]; events: string[] }[] = [];
  for (const out of outputs) {
    results.push(JSON.parse((await out.read()).value!));
    await out.cancel();
  }
  for (const child of children) assert.equal((await child.status).code, 0);

  const total = count * names.length;
  const reference = results[0]!.messages.map(([offset, data]) => [offset, data]);
  assert.deepEqual(reference.map(([o]) => o), Array.from({ length: total }, (_, i) => i + 1));
  for (const [i, { messages, events }] of results.entries()) {
    assert.deepEqual(events, []);
    // Every process saw the same sequence: same offsets, same data, exactly once each.
    assert.deepEqual(messages.map(([offset, data]) => [offset, data]), reference);
    assert.equal(new Set(messages.map(([, data]) => data)).size, total);
    // Per publisher, in publish order; refs on this process's own messages only.
    for (const name of names) {
      const mine = messages.filter(([, data]) => data.startsWith(`${name}:`));
      assert.deepEqual(
        mine.map(([, data]) => data),
        Array.from({ length: count }, (_, k) => `${name}:${k}`),
      );
      const refs = mine.map(([, , ref]) => ref);
      const expected = name === names[i] ? mine.map((_, k) => k) : mine.map(() => null);
      assert.deepEqual(refs, expected);
    }
  }
});
