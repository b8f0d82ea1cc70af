/** The FIFO queue behind the incoming queues: order kept across compactions, empty and clear. */

import assert from "node:assert/strict";
import { Fifo } from "../../src/session/_fifo.ts";

Deno.test("fifo: a queue that never empties keeps its order through compactions", () => {
  const fifo = new Fifo<number>();
  let next = 0;
  let expected = 0;
  for (let i = 0; i < 3; i++) fifo.push(next++);
  // Steady state: one in, one out, never empty (the taken front is compacted away).
  for (let i = 0; i < 10_000; i++) {
    fifo.push(next++);
    assert.equal(fifo.shift(), expected++);
    assert.equal(fifo.length, 3);
  }
  while (fifo.length > 0) assert.equal(fifo.shift(), expected++);
  assert.equal(expected, next);
  assert.equal(fifo.shift(), undefined);
});

Deno.test("fifo: clear drops everything; the queue works after", () => {
  const fifo = new Fifo<string>();
  fifo.push("a");
  fifo.push("b");
  fifo.clear();
  assert.equal(fifo.length, 0);
  assert.equal(fifo.shift(), undefined);
  fifo.push("c");
  assert.equal(fifo.shift(), "c");
});

Deno.test("fifo: full at the strategy's high-water mark, counted with its size", () => {
  const fifo = new Fifo<string>({ highWaterMark: 4, size: (s) => s.length });
  fifo.push("ab");
  assert.equal(fifo.full, false);
  fifo.push("cd");
  assert.equal(fifo.full, true);
  fifo.shift();
  assert.equal(fifo.full, false);
  fifo.clear();
  assert.equal(fifo.full, false);
});
