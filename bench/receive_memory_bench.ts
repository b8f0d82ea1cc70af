/**
 * What a received byte costs before any WebSocket work: fresh memory for it (JavaScript can only
 * allocate zero-filled `ArrayBuffer`s, and a payload handed to the application needs memory of
 * its own) against reusing one buffer, and unmasking it. These bound W2 of `deno task bench`
 * (see BENCHMARKS.md).
 *
 * Run with `deno bench -A bench/receive_memory_bench.ts`.
 *
 * @module
 */

import { applyMask } from "../src/core/mask.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const reused = new Uint8Array(256 * 1024);

for (const size of [64 * 1024, 256 * 1024]) {
  const label = `${size / 1024} KiB`;
  Deno.bench(`fresh Uint8Array ${label} (what every read slab costs)`, {
    group: `memory ${label}`,
    baseline: true,
  }, () => {
    new Uint8Array(size)[size - 1] = 1;
  });
  Deno.bench(`zero a reused buffer ${label}`, { group: `memory ${label}` }, () => {
    reused.subarray(0, size).fill(0);
  });
  Deno.bench(`applyMask ${label}`, { group: `memory ${label}` }, () => {
    applyMask(reused.subarray(0, size), KEY);
  });
}
