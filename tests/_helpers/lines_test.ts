import assert from "node:assert/strict";
import { lines } from "./lines.ts";

/** A byte stream that yields `chunks` one by one. */
function bytes(...chunks: (string | number[])[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? enc.encode(c) : new Uint8Array(c)),
  );
}

Deno.test("lines: splits on \\n and \\r\\n across chunk boundaries", async () => {
  const got = await Array.fromAsync(lines(bytes("a\nb", "c\r", "\nd\n\ne\r\n", "last")));
  assert.deepEqual(got, ["a", "bc", "d", "", "e", "last"]);
});

Deno.test("lines: decodes UTF-8 split across chunks; no empty last line", async () => {
  // "é" is c3 a9, split between two chunks.
  const got = await Array.fromAsync(lines(bytes([0x68, 0xc3], [0xa9, 0x0a])));
  assert.deepEqual(got, ["hé"]);
});

Deno.test("lines: reads a child process's stdout", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "console.log('one'); console.log('two')"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const got = await Array.fromAsync(lines(child.stdout));
  assert.deepEqual(got, ["one", "two"]);
  assert.equal((await child.status).success, true);
});

Deno.test("lines: cancelling the line stream cancels the source", async () => {
  const cancelled = Promise.withResolvers<void>();
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("first\nsecond\n"));
    },
    cancel() {
      cancelled.resolve();
    },
  });
  const reader = lines(source).getReader();
  assert.deepEqual(await reader.read(), { done: false, value: "first" });
  await reader.cancel();
  await cancelled.promise; // propagates through the pipes asynchronously
});
