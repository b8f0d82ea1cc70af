/**
 * The managed sessions' `incoming` (`MessageStream`): a queue that passes for a `ReadableStream`.
 * Iteration reads the queue itself; the other stream uses go through a real stream made on
 * demand; locking, cancelling, ending with an error after the queued messages, the bound, and
 * the block guard behave as a `ReadableStream` of the session's messages would.
 */

import assert from "node:assert/strict";
import { MessageStream, type MessageStreamHost } from "../../src/session/_message_stream.ts";
import type { IncomingGuard } from "../../src/session/_incoming_guard.ts";

class Host implements MessageStreamHost {
  taken = 0;
  emptied = 0;
  cancelled = 0;
  waits = 0;
  onWait(): void {
    this.waits++;
  }
  onTaken(empty: boolean): void {
    this.taken++;
    if (empty) this.emptied++;
  }
  onCancel(): void {
    this.cancelled++;
  }
}

function make(limit = 3): { stream: MessageStream<string>; host: Host; guard: IncomingGuard } {
  const host = new Host();
  const guard = { blockGrace: 0, leftEarly: false, locked: false };
  const stream = new MessageStream<string>(host, { highWaterMark: limit }, guard);
  return { stream, host, guard };
}

/** The stream as users see it. */
const face = (s: MessageStream<string>) => s as unknown as ReadableStream<string>;

Deno.test("message stream: is a ReadableStream to instanceof and to console.log", () => {
  const { stream } = make();
  assert.ok(face(stream) instanceof ReadableStream);
  assert.equal(Deno.inspect(stream), "ReadableStream { locked: false }");
});

Deno.test("message stream: for await takes queued and later messages, then ends; the bound counts", async () => {
  const { stream, host } = make(2);
  stream.push("a");
  assert.equal(stream.full, false);
  stream.push("b");
  assert.equal(stream.full, true);
  const got: string[] = [];
  const loop = (async () => {
    for await (const m of face(stream)) got.push(m);
  })();
  await Promise.resolve();
  assert.equal(face(stream).locked, true);
  stream.push("c");
  stream.end(null);
  await loop;
  assert.deepEqual(got, ["a", "b", "c"]);
  assert.equal(face(stream).locked, false);
  assert.ok(host.taken >= 3);
  assert.ok(host.emptied >= 1);
});

Deno.test("message stream: an error is raised once the queued messages were read", async () => {
  const { stream } = make();
  stream.push("a");
  stream.end(new Error("broken"));
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const m of face(stream)) got.push(m);
  }, /broken/);
  assert.deepEqual(got, ["a"]);
  assert.equal(face(stream).locked, false);
});

Deno.test("message stream: leaving a for await early keeps the messages; values() cancels by default", async () => {
  const { stream, host } = make(10);
  for (const m of ["a", "b", "c"]) stream.push(m);
  for await (const m of face(stream)) {
    assert.equal(m, "a");
    break;
  }
  assert.equal(face(stream).locked, false);
  assert.equal(stream.cancelled, false);
  for await (const m of face(stream).values()) {
    assert.equal(m, "b");
    break;
  }
  assert.equal(stream.cancelled, true);
  assert.equal(host.cancelled, 1);
  stream.push("dropped");
  assert.equal(stream.queued, false);
});

Deno.test("message stream: locked while iterated; getReader, pipeTo, cancel refuse", async () => {
  const { stream } = make();
  const iterator = face(stream)[Symbol.asyncIterator]();
  assert.throws(() => face(stream).getReader(), TypeError);
  assert.throws(() => face(stream)[Symbol.asyncIterator](), TypeError);
  await assert.rejects(face(stream).cancel(), TypeError);
  await assert.rejects(face(stream).pipeTo(new WritableStream()), TypeError);
  await iterator.return!();
  assert.equal(face(stream).locked, false);
});

Deno.test("message stream: getReader reads the same queue, in order, and the end", async () => {
  const { stream } = make();
  stream.push("a");
  const reader = face(stream).getReader();
  assert.equal(face(stream).locked, true);
  assert.deepEqual(await reader.read(), { done: false, value: "a" });
  const next = reader.read();
  stream.push("b");
  assert.deepEqual(await next, { done: false, value: "b" });
  reader.releaseLock();
  // Iterating after a reader: the real stream is iterated.
  stream.push("c");
  stream.end(null);
  const rest: string[] = [];
  for await (const m of face(stream)) rest.push(m);
  assert.deepEqual(rest, ["c"]);
});

Deno.test("message stream: pipeThrough, tee and cancel through the real stream", async () => {
  const { stream, host } = make();
  stream.push("a");
  stream.push("b");
  stream.end(null);
  const upper = face(stream).pipeThrough(
    new TransformStream<string, string>({ transform: (m, c) => c.enqueue(m.toUpperCase()) }),
  );
  assert.deepEqual(await Array.fromAsync(upper), ["A", "B"]);

  const other = make();
  other.stream.push("x");
  const [one, two] = face(other.stream).tee();
  other.stream.end(null);
  assert.deepEqual(await Array.fromAsync(one), ["x"]);
  assert.deepEqual(await Array.fromAsync(two), ["x"]);

  const third = make();
  third.stream.push("y");
  const reader = face(third.stream).getReader();
  await reader.cancel();
  assert.equal(third.stream.cancelled, true);
  assert.equal(third.host.cancelled, 1);
  assert.equal(host.cancelled, 0);
});

Deno.test("message stream: a read that waits tells the host once (a pulled source reads then)", async () => {
  const { stream, host } = make(0);
  const reader = face(stream).getReader();
  const first = reader.read();
  await Promise.resolve();
  assert.equal(host.waits, 1);
  stream.push("a");
  stream.push("b");
  assert.deepEqual(await first, { done: false, value: "a" });
  assert.deepEqual(await reader.read(), { done: false, value: "b" });
  assert.equal(host.waits, 1);
  reader.releaseLock();
});

Deno.test("message stream: cancel() when not locked drops what waits and ends reads", async () => {
  const { stream } = make();
  stream.push("a");
  await face(stream).cancel();
  assert.equal(stream.queued, false);
  assert.deepEqual(await stream.read(), { done: true, value: undefined });
});

Deno.test("message stream: in a block, a loop left early is noted for the closeReason guard", async () => {
  const { stream, guard } = make();
  guard.blockGrace = 100;
  stream.push("a");
  for await (const _ of face(stream)) break;
  assert.equal(guard.leftEarly, true);
  stream.push("b");
  stream.end(null);
  for await (const _ of face(stream)) {
    // The loop runs again: the note is cleared, and set again only by an early exit.
    assert.equal(guard.leftEarly, false);
  }
});
