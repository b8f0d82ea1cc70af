/**
 * permessage-deflate interop with npm:ws (perMessageDeflate on), in both roles: our managed
 * client against a ws server, and ws clients against our server.
 */

import assert from "node:assert/strict";
// @ts-types="npm:@types/ws@8.18.2"
import type { PerMessageDeflateOptions as WsDeflateOptions } from "npm:ws@8.23.0";
import { nextClose, NodeWebSocket, startWsServer } from "../_helpers/node_ws_server.ts";
import { createClient } from "../../src/client/client.ts";
import { createServer } from "../../src/server/server.ts";
import { CloseReason } from "../../src/core/close.ts";
import {
  deflateFrame,
  inflateFrame,
  type PerMessageDeflateOptions,
} from "../../src/session/permessage_deflate.ts";
import {
  assertSameMessage,
  countingDeflate,
  deflateOf,
  frameMessage,
  type Message,
  sampleText,
  workload,
} from "./_deflate_common.ts";

interface Case {
  name: string;
  ours: PerMessageDeflateOptions;
  theirs: WsDeflateOptions;
  /** The response header expected. */
  header: string;
  noContext?: { server: boolean; client: boolean };
  bits?: { server: number; client: number };
}

const CASES: Case[] = [
  {
    name: "defaults (context takeover, window 15)",
    ours: {},
    theirs: {},
    header: "permessage-deflate; client_max_window_bits=15",
    noContext: { server: false, client: false },
    bits: { server: 15, client: 15 },
  },
  {
    name: "no context takeover either way",
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    theirs: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    header: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    noContext: { server: true, client: true },
  },
  {
    name: "small windows",
    ours: { serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    theirs: { serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    header: "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
    bits: { server: 10, client: 9 },
  },
  {
    name: "window 8 both ways",
    ours: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    theirs: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    header: "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
    bits: { server: 8, client: 8 },
  },
];

function wsSend(socket: NodeWebSocket, m: Message): void {
  socket.send(m, { binary: typeof m !== "string" });
}

function wsMessages(socket: NodeWebSocket): () => Promise<Message> {
  const queue: Message[] = [];
  const waiting: ((m: Message) => void)[] = [];
  socket.on("message", (data, isBinary) => {
    const buf = data as Buffer;
    const m: Message = isBinary
      ? new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
      : buf.toString("utf8");
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return () => {
    const m = queue.shift();
    return m !== undefined ? Promise.resolve(m) : new Promise((r) => waiting.push(r));
  };
}

for (const c of CASES) {
  Deno.test(`deflate interop, our client ↔ ws server: ${c.name}`, async () => {
    await using server = await startWsServer({ perMessageDeflate: { threshold: 0, ...c.theirs } });
    const { factory, counts } = countingDeflate({
      // ws's client-side defaults are what a ws client would offer: match them where a case
      // does not say otherwise.
      ...c.ours,
    });
    await using client = createClient({ extensions: [factory], maxMessageSize: 4 << 20 });
    const echo = (async () => {
      const { socket } = await server.connection();
      socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
    })();
    const messages = workload();
    await client.webSocket(server.url("/"), async (session) => {
      await echo;
      const ext = deflateOf(session.extensions);
      if (c.noContext) {
        assert.equal(ext.parameters.serverNoContextTakeover, c.noContext.server);
        assert.equal(ext.parameters.clientNoContextTakeover, c.noContext.client);
      }
      if (c.bits) {
        assert.equal(ext.parameters.serverMaxWindowBits, c.bits.server);
        assert.equal(ext.parameters.clientMaxWindowBits, c.bits.client);
      }
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

  Deno.test(`deflate interop, ws client ↔ our server: ${c.name}`, async () => {
    const { factory, counts } = countingDeflate(c.ours);
    const server = createServer({ extensions: [factory], maxMessageSize: 4 << 20 });
    server.webSocket("/echo", async (session) => {
      for await (const m of session.incoming) await session.send(m);
    });
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const socket = new NodeWebSocket(`ws://127.0.0.1:${listener.addr.port}/echo`, {
        perMessageDeflate: { threshold: 0, ...c.theirs },
      });
      const upgrade = new Promise<string>((resolve) =>
        socket.once("upgrade", (res) => resolve(String(res.headers["sec-websocket-extensions"])))
      );
      const next = wsMessages(socket);
      await new Promise((resolve, reject) => {
        socket.once("open", resolve);
        socket.once("error", reject);
      });
      const header = await upgrade;
      assert.match(header, /^permessage-deflate/);
      const messages = workload();
      for (const [i, m] of messages.entries()) {
        wsSend(socket, m);
        assertSameMessage(await next(), m, i);
      }
      const closed = nextClose(socket);
      socket.close(1000, "done");
      assert.equal((await closed).code, 1000);
      assert.equal(counts.sentCompressed, messages.length);
      assert.equal(counts.receivedCompressed, messages.length);
    } finally {
      await listener.shutdown();
    }
  });
}

Deno.test("deflate interop: our server answers ws's default offer as ws expects", async () => {
  const server = createServer({
    extensions: [countingDeflate({ serverMaxWindowBits: 12, clientMaxWindowBits: 11 }).factory],
  });
  const offered = Promise.withResolvers<string | null>();
  server.webSocket("/", (session) => {
    offered.resolve(session.call.request.headers.get("sec-websocket-extensions"));
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const socket = new NodeWebSocket(`ws://127.0.0.1:${listener.addr.port}/`, {
      perMessageDeflate: true,
    });
    const answer = new Promise<string>((resolve) =>
      socket.once("upgrade", (res) => resolve(String(res.headers["sec-websocket-extensions"])))
    );
    const closed = nextClose(socket);
    assert.equal(await offered.promise, "permessage-deflate; client_max_window_bits");
    assert.equal(
      await answer,
      "permessage-deflate; server_max_window_bits=12; client_max_window_bits=11",
    );
    assert.equal(socket.extensions, "permessage-deflate");
    assert.equal((await closed).code, 1000);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("deflate interop: a decompression bomb from ws closes our client with 1009", async () => {
  await using server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
  await using client = createClient({
    extensions: [countingDeflate({ maxInflatedSize: 1 << 20 }).factory],
    maxMessageSize: 1 << 30,
  });
  const serverSide = (async () => {
    const { socket } = await server.connection();
    const closed = nextClose(socket);
    socket.send(new Uint8Array(64 << 20)); // 64 MiB of zeros: about 64 KiB on the wire
    return await closed;
  })();
  let checked = false;
  await client.webSocket(server.url("/"), async (session) => {
    const reader = session.incoming.getReader();
    await assert.rejects(reader.read(), (err: Error & { closeCode?: number }) => {
      assert.equal(err.closeCode, 1009);
      return true;
    });
    reader.releaseLock();
    assert.equal((await session.closeReason)?.code, 1009);
    checked = true;
  }).catch((err) => {
    // the block's own close after the session failed may report that failure again
    if (!checked) throw err;
  });
  assert.ok(checked);
  assert.equal((await serverSide).code, 1009);
});

Deno.test("deflate interop: a decompression bomb from a ws client closes it with 1009", async () => {
  const server = createServer({
    extensions: [countingDeflate({ maxInflatedSize: 1 << 20 }).factory],
    maxMessageSize: 1 << 30,
  });
  const handlerDone = Promise.withResolvers<CloseReason | null>();
  server.webSocket("/", async (session) => {
    try {
      for await (const _ of session.incoming) { /* nothing arrives */ }
    } catch { /* the protocol error */ }
    handlerDone.resolve(await session.closeReason);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const socket = new NodeWebSocket(`ws://127.0.0.1:${listener.addr.port}/`, {
      perMessageDeflate: { threshold: 0 },
    });
    const closed = nextClose(socket);
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(new Uint8Array(64 << 20));
    assert.equal((await closed).code, 1009);
    assert.equal((await handlerDone.promise)?.code, 1009);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("deflate interop: per-message opt-out and threshold reach the wire", async () => {
  await using server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
  const { factory, counts } = countingDeflate({ threshold: 100 });
  await using client = createClient({ extensions: [factory] });
  const echo = (async () => {
    const { socket } = await server.connection();
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  })();
  await client.webSocket(server.url("/"), async (session) => {
    await echo;
    const reader = session.incoming.getReader();
    const sent = [sampleText(99), sampleText(100), sampleText(5000)];
    await session.send(sent[0]!);
    await session.send(sent[1]!);
    await session.send(sent[2]!, { compress: false });
    for (const [i, m] of sent.entries()) {
      const { value } = await reader.read();
      assertSameMessage(frameMessage(value!), m, i);
    }
    reader.releaseLock();
    await session.close(new CloseReason(1000, ""));
  });
  assert.equal(counts.sentCompressed, 1, "only the 100-character message went compressed");
  assert.equal(counts.receivedCompressed, 3, "ws compresses all of its echoes");
});

Deno.test("deflate interop: a raw route with negotiateExtensions inflates and deflates by hand", async () => {
  const { factory, counts } = countingDeflate();
  const server = createServer({ extensions: [factory] });
  const seen: { rsv1: boolean; fin: boolean }[] = [];
  server.webSocketRaw("/raw", async (session) => {
    assert.equal(session.extensions.length, 1);
    for await (const received of session.incoming) {
      if (received.type === "close") {
        await session.send(received); // a raw session echoes the close by hand
        return;
      }
      if (received.isControl) continue;
      seen.push({ rsv1: received.rsv1, fin: received.fin });
      const frame = inflateFrame(received, session);
      assert.equal(frame.rsv1, false);
      // echo each frame as it comes, compressed again
      await session.send(deflateFrame(frame, session));
    }
  }, { negotiateExtensions: true });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const socket = new NodeWebSocket(`ws://127.0.0.1:${listener.addr.port}/raw`, {
      perMessageDeflate: { threshold: 0 },
    });
    const next = wsMessages(socket);
    await new Promise((resolve) => socket.once("open", resolve));
    assert.equal(socket.extensions, "permessage-deflate");
    const text = sampleText(100_000, 9);
    wsSend(socket, text);
    assertSameMessage(await next(), text, 0);
    // a fragmented message: RSV1 on its first frame only
    socket.send("part one, ", { fin: false });
    socket.send("part two", { fin: true });
    assertSameMessage(await next(), "part one, part two", 1);
    const closed = nextClose(socket);
    socket.close(1000);
    assert.equal((await closed).code, 1000);
    assert.deepEqual(seen.slice(-2), [{ rsv1: true, fin: false }, { rsv1: false, fin: true }]);
    assert.equal(seen[0]!.rsv1, true);
    assert.equal(counts.made.length, 1);
  } finally {
    await listener.shutdown();
  }
});
