/**
 * permessage-deflate interop with python-websockets (Debian's, run by /usr/bin/python3), in both
 * roles: our managed client against a python server, and a python client against our server.
 */

import assert from "node:assert/strict";
import { startPythonScript } from "../_helpers/python.ts";
import { createClient } from "../../src/client/client.ts";
import { createServer } from "../../src/server/server.ts";
import { CloseReason } from "../../src/core/close.ts";
import type { DeflateParameters } from "../../src/core/deflate_params.ts";
import type { PerMessageDeflateOptions } from "../../src/session/permessage_deflate.ts";
import {
  assertSameMessage,
  countingDeflate,
  deflateOf,
  frameMessage,
  workload,
} from "./_deflate_common.ts";

const PEER = new URL("../_helpers/python_deflate_peer.py", import.meta.url);

interface Case {
  name: string;
  ours: PerMessageDeflateOptions;
  python: string[];
  agreed: DeflateParameters;
}

const DEFAULTS: DeflateParameters = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

const CLIENT_CASES: Case[] = [
  { name: "defaults", ours: {}, python: [], agreed: DEFAULTS },
  {
    name: "the server turns context takeover off unasked",
    ours: {},
    python: ["--server-no-context-takeover", "--client-no-context-takeover"],
    agreed: { ...DEFAULTS, serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
  {
    name: "the server limits both windows (python's own defaults: 12 and 12)",
    ours: {},
    python: ["--server-max-window-bits", "12", "--client-max-window-bits", "12"],
    agreed: { ...DEFAULTS, serverMaxWindowBits: 12, clientMaxWindowBits: 12 },
  },
  {
    name: "the client asks for small windows and no server context",
    ours: { serverMaxWindowBits: 9, clientMaxWindowBits: 8, serverNoContextTakeover: true },
    python: [],
    agreed: {
      ...DEFAULTS,
      serverNoContextTakeover: true,
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 8,
    },
  },
];

const SERVER_CASES: Case[] = [
  { name: "defaults", ours: {}, python: [], agreed: DEFAULTS },
  {
    name: "the client asks for no context takeover either way",
    ours: {},
    python: ["--server-no-context-takeover", "--client-no-context-takeover"],
    agreed: { ...DEFAULTS, serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
  {
    name: "the client asks for windows 8 and 9",
    ours: {},
    python: ["--server-max-window-bits", "8", "--client-max-window-bits", "9"],
    agreed: { ...DEFAULTS, serverMaxWindowBits: 8, clientMaxWindowBits: 9 },
  },
  {
    name: "the server limits both windows",
    ours: { serverMaxWindowBits: 11, clientMaxWindowBits: 10 },
    python: [],
    agreed: { ...DEFAULTS, serverMaxWindowBits: 11, clientMaxWindowBits: 10 },
  },
];

for (const c of CLIENT_CASES) {
  Deno.test(`deflate interop, our client ↔ python server: ${c.name}`, async () => {
    await using py = await startPythonScript(PEER, c.python);
    const { factory, counts } = countingDeflate(c.ours);
    await using client = createClient({ extensions: [factory], maxMessageSize: 4 << 20 });
    const messages = workload();
    await client.webSocket(`ws://127.0.0.1:${py.port}/`, async (session) => {
      assert.deepEqual(deflateOf(session.extensions).parameters, c.agreed);
      const reader = session.incoming.getReader();
      try {
        for (const [i, m] of messages.entries()) {
          await session.send(m);
          const { value } = await reader.read();
          assert.ok(value, `echo of message ${i}`);
          assertSameMessage(frameMessage(value), m, i);
        }
      } finally {
        reader.releaseLock();
      }
    });
    assert.equal(counts.sentCompressed, messages.length);
    assert.equal(counts.receivedCompressed, messages.length);
  });
}

for (const c of SERVER_CASES) {
  Deno.test(`deflate interop, python client ↔ our server: ${c.name}`, async () => {
    const { factory, counts } = countingDeflate(c.ours);
    const server = createServer({ extensions: [factory], maxMessageSize: 4 << 20 });
    const messages = workload();
    const done = Promise.withResolvers<void>();
    server.webSocket("/", async (session) => {
      try {
        assert.deepEqual(deflateOf(session.extensions).parameters, c.agreed);
        const reader = session.incoming.getReader();
        for (const [i, m] of messages.entries()) {
          await session.send(m);
          const { value } = await reader.read();
          assert.ok(value, `echo of message ${i}`);
          assertSameMessage(frameMessage(value), m, i);
        }
        reader.releaseLock();
        await session.close(new CloseReason(1000, "done"));
        done.resolve();
      } catch (err) {
        done.reject(err);
      }
    });
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      await using py = await startPythonScript(PEER, [
        "--connect",
        `ws://127.0.0.1:${listener.addr.port}/`,
        ...c.python,
      ]);
      assert.match(py.info, /PerMessageDeflate/);
      await done.promise;
    } finally {
      await listener.shutdown();
    }
    assert.equal(counts.sentCompressed, messages.length);
    assert.equal(counts.receivedCompressed, messages.length);
  });
}

Deno.test("deflate interop: python echoes a bomb back, our client stops at 1009", async () => {
  await using py = await startPythonScript(PEER, ["--max-size", "0"]);
  await using client = createClient({
    extensions: [countingDeflate({ maxInflatedSize: 1 << 20 }).factory],
    maxMessageSize: 1 << 30,
  });
  let checked = false;
  await client.webSocket(`ws://127.0.0.1:${py.port}/`, async (session) => {
    await session.send(new Uint8Array(32 << 20)); // 32 MiB of zeros, about 32 KiB compressed
    const reader = session.incoming.getReader();
    await assert.rejects(reader.read(), (err: Error & { closeCode?: number }) => {
      assert.equal(err.closeCode, 1009);
      return true;
    });
    reader.releaseLock();
    assert.equal((await session.closeReason)?.code, 1009);
    checked = true;
  }).catch((err) => {
    if (!checked) throw err;
  });
  assert.ok(checked);
});

Deno.test("deflate interop: a python client echoes a bomb back, our server stops at 1009", async () => {
  const server = createServer({
    extensions: [countingDeflate({ maxInflatedSize: 1 << 20 }).factory],
    maxMessageSize: 1 << 30,
  });
  const done = Promise.withResolvers<number | undefined>();
  server.webSocket("/", async (session) => {
    await session.send(new Uint8Array(32 << 20));
    try {
      for await (const _ of session.incoming) { /* the echo fails */ }
    } catch { /* the protocol error */ }
    done.resolve((await session.closeReason)?.code);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    await using _py = await startPythonScript(PEER, [
      "--connect",
      `ws://127.0.0.1:${listener.addr.port}/`,
      "--max-size",
      "0",
    ]);
    assert.equal(await done.promise, 1009);
  } finally {
    await listener.shutdown();
  }
});
