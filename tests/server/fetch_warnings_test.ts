import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import { FETCH_LIMITATIONS } from "../../src/server/fetch_warnings.ts";
import { perMessageDeflate } from "../../src/session/permessage_deflate.ts";

/** Runs `fn` with `console.warn` recorded. */
async function warnings(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => seen.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return seen;
}

const request = () => new Request("http://127.0.0.1/not-a-route");

Deno.test("fetch warns once per server about each option it cannot apply, naming the listener", async () => {
  const options = {
    extensions: [perMessageDeflate()],
    maxFrameSize: 1024,
    timeout: 1000,
    handshakeTimeout: 1000,
    maxHeaderSize: 4096,
    masking: true,
  };
  const server = createServer(options);
  const seen = await warnings(async () => {
    assert.equal((await server.fetch(request())).status, 404);
    assert.equal((await server.handler(request())).status, 404);
  });
  assert.equal(seen.length, FETCH_LIMITATIONS.length);
  for (const [i, limitation] of FETCH_LIMITATIONS.entries()) {
    assert.match(seen[i]!, new RegExp(`\`${limitation.option}\``));
    assert.match(seen[i]!, /server\.listen\(\)/);
    assert.match(seen[i]!, /fetchWarnings: false/);
  }
  assert.match(seen[0]!, /permessage-deflate/);
  // Another server warns again: once per server.
  const again = await warnings(async () => {
    await createServer({ extensions: [perMessageDeflate()] }).fetch(request());
  });
  assert.equal(again.length, 1);
});

Deno.test("fetch warns about nothing for defaults, for options it applies, and with fetchWarnings: false", async () => {
  const seen = await warnings(async () => {
    await createServer().fetch(request());
    await createServer({ extensions: [], masking: false, pingInterval: 20_000, closeTimeout: 1000 })
      .fetch(request());
    await createServer({ extensions: [perMessageDeflate()], maxFrameSize: 1, fetchWarnings: false })
      .fetch(request());
  });
  assert.deepEqual(seen, []);
});

Deno.test("the listener warns about nothing: it applies every option", async () => {
  const seen = await warnings(async () => {
    const server = createServer({ extensions: [perMessageDeflate()], maxFrameSize: 1024 });
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    await listener.shutdown();
  });
  assert.deepEqual(seen, []);
});

Deno.test("fetchWarnings must be a boolean", () => {
  assert.throws(() => createServer({ fetchWarnings: "no" as never }), TypeError);
});
