import FakeTimers from "npm:@sinonjs/fake-timers@14.0.0";
import assert from "node:assert/strict";
import { memoryBackplane } from "../../src/topics/memory_backplane.ts";
import type { PreparedMessage } from "../../src/topics/prepared_message.ts";
import { TopicHub } from "../../src/topics/topic_hub.ts";
import type { TopicSink } from "../../src/topics/topic_types.ts";
import { parseTopicEnvelope, TopicCursor } from "../../src/core/topic_envelope.ts";

/** A session as the hub sees it: records what it gets; its queue is set by the test. */
class FakeSink implements TopicSink {
  get owner(): unknown {
    return this;
  }
  queued = 0;
  topicBound = 1000;
  open = true;
  got: (string | Uint8Array)[] = [];
  notices: string[] = [];
  slowClosed = false;
  #room: PromiseWithResolvers<void> | null = null;
  deliverTopic(message: PreparedMessage, envelope: boolean): boolean {
    if (!this.open) return false;
    this.got.push(message.payload(envelope));
    return true;
  }
  sendTopicNotice(text: string): void {
    this.notices.push(text);
  }
  topicRoom(): Promise<void> {
    this.#room ??= Promise.withResolvers<void>();
    return this.#room.promise;
  }
  drain(): void {
    this.queued = 0;
    this.#room?.resolve();
    this.#room = null;
  }
  closeSlow(): void {
    this.slowClosed = true;
    this.open = false;
  }
}

Deno.test("publish reaches every subscriber once, in order, with counts", async () => {
  const hub = new TopicHub({});
  const a = new FakeSink(), b = new FakeSink(), c = new FakeSink();
  await hub.subscribe(a, "news");
  await hub.subscribe(b, "news");
  await hub.subscribe(c, "other");
  for (let i = 1; i <= 3; i++) {
    const result = await hub.publish("news", `m${i}`);
    assert.deepEqual(result, {
      topic: "news",
      offset: i,
      epoch: result.epoch,
      queued: 2,
      dropped: 0,
      closed: 0,
      backplane: "memory",
    });
  }
  assert.deepEqual(a.got, ["m1", "m2", "m3"]);
  assert.deepEqual(b.got, ["m1", "m2", "m3"]);
  assert.deepEqual(c.got, []);
  assert.deepEqual([...hub.topicsOf(a)], ["news"]);
  await hub.close();
});

Deno.test("publish: exclude skips the sender; bytes and frames are accepted", async () => {
  const hub = new TopicHub({});
  const a = new FakeSink(), b = new FakeSink();
  await hub.subscribe(a, "t");
  await hub.subscribe(b, "t");
  const r = await hub.publish("t", new Uint8Array([1, 2]), { exclude: a as never });
  assert.equal(r.queued, 1);
  assert.deepEqual(a.got, []);
  assert.deepEqual(b.got, [new Uint8Array([1, 2])]);
  await assert.rejects(() => hub.publish("", "x"), TypeError);
  await assert.rejects(() => hub.publish("t", 42), TypeError);
  await hub.close();
});

Deno.test("slow subscribers: drop counts, close closes, others are not slowed", async () => {
  for (const policy of ["drop", "close"] as const) {
    const hub = new TopicHub({ slowSubscribers: policy });
    const slow = new FakeSink(), fast = new FakeSink();
    await hub.subscribe(slow, "t");
    await hub.subscribe(fast, "t");
    slow.queued = 1000;
    const r = await hub.publish("t", "x");
    assert.equal(r.queued, 1);
    assert.equal(policy === "drop" ? r.dropped : r.closed, 1);
    assert.equal(slow.slowClosed, policy === "close");
    assert.deepEqual(fast.got, ["x"]);
    assert.deepEqual(slow.got, []);
    await hub.close();
  }
});

Deno.test("slow subscribers: wait holds the publisher until the subscriber has room", async () => {
  const hub = new TopicHub({ topicPolicy: (t) => t === "w" ? "wait" : undefined });
  const slow = new FakeSink();
  await hub.subscribe(slow, "w");
  slow.queued = 1000;
  let settled = false;
  const p = hub.publish("w", "x").then((r) => {
    settled = true;
    return r;
  });
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.equal(settled, false);
  assert.deepEqual(slow.got, ["x"]); // queued, in order
  slow.drain();
  assert.equal((await p).queued, 1);
  // Past four times the bound it is closed even under "wait".
  slow.queued = 4000;
  assert.equal((await hub.publish("w", "y")).closed, 1);
  assert.equal(slow.slowClosed, true);
  await hub.close();
});

Deno.test("recovery: since replays exactly what was missed, then live messages", async () => {
  const hub = new TopicHub({ backplane: memoryBackplane({ history: { size: 500 } }) });
  const keeper = new FakeSink(); // keeps the topic subscribed
  await hub.subscribe(keeper, "room");
  const client = new FakeSink();
  await hub.subscribe(client, "room", { envelope: true });
  await hub.publish("room", "first");
  const cursor = new TopicCursor();
  for (const text of client.got) cursor.read(text as string);
  const seen = cursor.position("room")!;
  hub.unsubscribe(client, "room");
  for (let i = 0; i < 100; i++) await hub.publish("room", `missed ${i}`);
  const again = new FakeSink();
  const result = await hub.subscribe(again, "room", { envelope: true, since: seen });
  assert.equal(result.recovered, 100);
  assert.equal(result.reset, undefined);
  await hub.publish("room", "live");
  const texts = again.got.map((t) => {
    const e = parseTopicEnvelope(t as string)!;
    assert.equal(e.kind, "message");
    return e.kind === "message" ? e.data : null;
  });
  assert.deepEqual(texts, [...Array.from({ length: 100 }, (_, i) => `missed ${i}`), "live"]);
  // Too old, and a wrong epoch: told plainly.
  const old = new FakeSink();
  const tooOld = await hub.subscribe(old, "room", {
    envelope: true,
    since: { offset: 0, epoch: seen.epoch },
  });
  assert.equal(tooOld.reset, undefined); // 102 messages, all kept
  const wrong = new FakeSink();
  const r = await hub.subscribe(wrong, "room", {
    envelope: true,
    since: { offset: 3, epoch: "nope" },
  });
  assert.equal(r.reset, "epoch-changed");
  assert.equal(parseTopicEnvelope(wrong.notices[0]!)?.kind, "reset");
  await hub.close();
});

Deno.test("recovery: an offset older than the history is offset-too-old", async () => {
  const hub = new TopicHub({ backplane: memoryBackplane({ history: { size: 10 } }) });
  const keeper = new FakeSink();
  await hub.subscribe(keeper, "t");
  let epoch = "";
  for (let i = 0; i < 30; i++) epoch = (await hub.publish("t", `${i}`)).epoch;
  const s = new FakeSink();
  const r = await hub.subscribe(s, "t", { envelope: true, since: { offset: 5, epoch } });
  assert.equal(r.reset, "offset-too-old");
  assert.equal(r.recovered, 0);
  const ok = await hub.subscribe(new FakeSink(), "t", { since: { offset: 25, epoch } });
  assert.equal(ok.recovered, 5);
  const none = new TopicHub({});
  const r2 = await none.subscribe(new FakeSink(), "t", { since: { offset: 0, epoch: "x" } });
  assert.equal(r2.reset, "epoch-changed");
  await hub.close();
  await none.close();
});

Deno.test("options are checked", () => {
  assert.throws(() => new TopicHub({ slowSubscribers: "later" as never }), TypeError);
  assert.throws(() => new TopicHub({ maxRecover: -1 }), RangeError);
  assert.throws(() => memoryBackplane({ history: { size: 1.5 } }), RangeError);
});

Deno.test("a publish made while the first subscription is starting does not wait for ever", async () => {
  // A backplane whose subscribe answers late, with a head that already holds the publish.
  let offset = 0;
  let host: { deliver(m: unknown): void } | null = null;
  const subscribed = Promise.withResolvers<void>();
  const backplane = {
    name: "slow",
    start(h: { deliver(m: unknown): void }) {
      host = h;
      return Promise.resolve();
    },
    publish: () => Promise.resolve({ offset: ++offset, epoch: "e" }),
    async subscribe() {
      await subscribed.promise;
      return { offset, epoch: "e" };
    },
    unsubscribe: () => Promise.resolve(),
    recover: () => Promise.reject(new Error("unused")),
    close: () => Promise.resolve(),
  };
  const hub = new TopicHub({ backplane: backplane as never });
  const sink = new FakeSink();
  const subscribing = hub.subscribe(sink, "t");
  const publishing = hub.publish("t", "before the head");
  // Let the publish reach the backplane before the subscription answers with its head.
  for (let i = 0; i < 5; i++) await Promise.resolve();
  subscribed.resolve();
  await subscribing;
  const result = await publishing;
  assert.equal(result.offset, 1);
  assert.equal(result.queued, 0, "it was published before the subscription's head");
  assert.ok(host !== null);
  await hub.close();
});

Deno.test("wait: a subscriber that never gets room is closed after waitTimeout, and the publish goes on", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    const hub = new TopicHub({ slowSubscribers: "wait", waitTimeout: 5_000 });
    const dead = new FakeSink(); // never drains
    await hub.subscribe(dead, "t");
    dead.queued = 1000;
    let settled = false;
    const p = hub.publish("t", "x").then((r) => {
      settled = true;
      return r;
    });
    await clock.tickAsync(4_999);
    assert.equal(settled, false);
    assert.equal(dead.slowClosed, false);
    await clock.tickAsync(1);
    assert.equal(dead.slowClosed, true);
    assert.equal((await p).queued, 1);
    await hub.close();
  } finally {
    clock.uninstall();
  }
  assert.throws(() => new TopicHub({ waitTimeout: -1 }), RangeError);
});
