/**
 * The Redis backplane's per-topic sequencing, without Redis: order, duplicates, gaps, epochs,
 * messages held while subscribing or catching up, and the catch-up after a reconnection.
 */

import assert from "node:assert/strict";
import type { BackplaneEvent } from "../../src/topics/backplane.ts";
import { topicKeys, type WireMessage } from "../../src/topics/_redis_protocol.ts";
import { type TopicSink, TopicState } from "../../src/topics/_redis_topic.ts";

const encoder = new TextEncoder();

function sink(): TopicSink & { log: (string | BackplaneEvent)[] } {
  const log: (string | BackplaneEvent)[] = [];
  return {
    log,
    deliver: (_topic, m) => log.push(`${m.epoch}#${m.offset}`),
    event: (e) => log.push(e),
  };
}

const msg = (offset: number, epoch = "e1", time = 0): WireMessage => ({
  offset,
  epoch,
  origin: "n",
  ref: offset,
  data: `d${offset}`,
  time,
});

const payload = (offset: number, epoch = "e1") =>
  encoder.encode(`${offset}\n${epoch}\nn\n${offset}\nt\nd${offset}`);

function state(epoch: string, last: number): TopicState {
  const s = new TopicState("t", topicKeys("p", "t"));
  s.epoch = epoch;
  s.last = last;
  s.ready = true;
  return s;
}

Deno.test("TopicState: in order once; duplicates dropped; a hole is a gap", () => {
  const s = state("e1", 2);
  const out = sink();
  for (const o of [3, 3, 2, 4, 7, 8]) s.accept(msg(o), out);
  assert.deepEqual(out.log, [
    "e1#3",
    "e1#4",
    { type: "gap", topic: "t", from: 5, to: 6 },
    "e1#7",
    "e1#8",
  ]);
});

Deno.test("TopicState: a new epoch is reported before its first message", () => {
  const s = state("e1", 9);
  const out = sink();
  s.accept(msg(1, "e2"), out);
  s.accept(msg(3, "e2"), out);
  assert.deepEqual(out.log, [
    { type: "epoch", topic: "t", epoch: "e2", offset: 0 },
    "e2#1",
    { type: "gap", topic: "t", from: 2, to: 2 },
    "e2#3",
  ]);
});

Deno.test("TopicState: held messages wait for the head, those up to it are dropped", () => {
  const s = new TopicState("t", topicKeys("p", "t"));
  const out = sink();
  for (const o of [4, 5, 6]) s.receive(payload(o), out);
  assert.deepEqual(out.log, []);
  s.epoch = "e1";
  s.last = 5; // the head read after SUBSCRIBE
  s.flush(out);
  s.receive(payload(7), out);
  s.receive(encoder.encode("garbage"), out);
  assert.deepEqual(out.log, ["e1#6", "e1#7"]);
});

Deno.test("TopicState: catch-up delivers the history, reports the trimmed part, then the held", () => {
  const s = state("e1", 3);
  const out = sink();
  s.hold();
  s.receive(payload(9), out); // arrived on the new connection during the catch-up
  const read = { epoch: "e1", head: 8, now: 0, entries: [msg(6), msg(7), msg(8)] };
  s.catchUp(read, read.entries, out);
  assert.deepEqual(out.log, [
    { type: "gap", topic: "t", from: 4, to: 5 },
    "e1#6",
    "e1#7",
    "e1#8",
    "e1#9",
  ]);
  assert.equal(s.ready, true);
});

Deno.test("TopicState: catch-up in a new epoch; without history everything missed is a gap", () => {
  const a = state("e1", 3);
  const outA = sink();
  a.hold();
  a.catchUp({ epoch: "e2", head: 2, now: 0, entries: [msg(1, "e2"), msg(2, "e2")] }, [
    msg(1, "e2"),
    msg(2, "e2"),
  ], outA);
  assert.deepEqual(outA.log, [
    { type: "epoch", topic: "t", epoch: "e2", offset: 0 },
    "e2#1",
    "e2#2",
  ]);
  const b = state("e1", 3);
  const outB = sink();
  b.hold();
  b.catchUp({ epoch: "e1", head: 6, now: 0, entries: [] }, [], outB);
  assert.deepEqual(outB.log, [{ type: "gap", topic: "t", from: 4, to: 6 }]);
  assert.equal(b.last, 6);
  // Nothing missed: nothing reported.
  const c = state("e1", 3);
  const outC = sink();
  c.catchUp({ epoch: "e1", head: 3, now: 0, entries: [] }, [], outC);
  assert.deepEqual(outC.log, []);
});
