/**
 * Interop matrix with npm:ws: a `ws` client against the library's server, and the library's
 * client against a `ws` server, permessage-deflate on. See _matrix.ts for the checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NodeWebSocket, startWsServer } from "../_helpers/node_ws_server.ts";
import {
  CLIENT_CLOSE,
  HELLO,
  LARGE,
  libraryClientChecks,
  type SeenClose,
  SERVER_CLOSE,
  startMatrixServer,
} from "./_matrix.ts";
import { sampleBytes, sampleText } from "./_deflate_common.ts";

function open(url: string, protocols?: string[]): Promise<NodeWebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new NodeWebSocket(url, protocols, { perMessageDeflate: true });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws: NodeWebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const onClose = (code: number) => reject(new Error(`closed ${code} before a message`));
    ws.once("close", onClose);
    ws.once("message", (data, isBinary) => {
      ws.off("close", onClose);
      resolve({ data: data as Buffer, isBinary });
    });
  });
}

function closed(ws: NodeWebSocket): Promise<SeenClose> {
  return new Promise((resolve) => {
    if (ws.readyState === NodeWebSocket.CLOSED) return resolve({ code: 1006, reason: "" });
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

async function roundTrip(url: string, send: (ws: NodeWebSocket) => void) {
  const ws = await open(url);
  const got = next(ws);
  send(ws);
  const result = await got;
  const done = closed(ws);
  ws.close();
  await done;
  return result;
}

Deno.test("interop matrix: ws client → library server", async (t) => {
  const server = startMatrixServer();
  const echo = `ws://127.0.0.1:${server.port}/echo`;
  try {
    await t.step("text", async () => {
      const got = await roundTrip(echo, (ws) => ws.send(HELLO));
      assert.equal(got.isBinary, false);
      assert.equal(got.data.toString(), HELLO);
    });
    await t.step("binary", async () => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      const got = await roundTrip(echo, (ws) => ws.send(bytes));
      assert.equal(got.isBinary, true);
      assert.deepEqual(new Uint8Array(got.data), bytes);
    });
    await t.step("1 MiB", async () => {
      const bytes = sampleBytes(LARGE, 2);
      const got = await roundTrip(echo, (ws) => ws.send(bytes));
      assert.ok(Buffer.compare(got.data, bytes) === 0);
      const text = sampleText(LARGE, 2);
      assert.equal((await roundTrip(echo, (ws) => ws.send(text))).data.toString(), text);
    });
    await t.step("fragmented", async () => {
      const mine = await roundTrip(echo, (ws) => {
        ws.send("frag-a ", { fin: false });
        ws.send("frag-b ", { fin: false });
        ws.send("frag-c", { fin: true });
      });
      assert.equal(mine.data.toString(), "frag-a frag-b frag-c");
      const theirs = await roundTrip(echo, (ws) => ws.send("cmd:fragments"));
      assert.equal(theirs.data.toString(), "frag-1 frag-2 frag-3");
    });
    await t.step("ping/pong", async () => {
      const ws = await open(echo);
      const pong = new Promise<Buffer>((resolve) => ws.once("pong", resolve));
      ws.ping("ws-ping");
      assert.equal((await pong).toString(), "ws-ping");
      const got = next(ws);
      ws.send("cmd:ping");
      assert.equal((await got).data.toString(), "pong:ok");
      const done = closed(ws);
      ws.close();
      await done;
    });
    await t.step("close code and reason", async () => {
      const a = await open(echo);
      a.send("cmd:tag:ws-close");
      const aClosed = closed(a);
      a.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason);
      assert.equal((await aClosed).code, CLIENT_CLOSE.code);
      assert.deepEqual(await server.closeOf("ws-close"), CLIENT_CLOSE);
      const b = await open(echo);
      const bClosed = closed(b);
      b.send("cmd:close");
      assert.deepEqual(await bClosed, SERVER_CLOSE);
    });
    await t.step("subprotocol", async () => {
      const ws = await open(`ws://127.0.0.1:${server.port}/chat`, ["chat.v1", "chat.v2"]);
      assert.equal(ws.protocol, "chat.v2");
      const got = next(ws);
      ws.send(HELLO);
      assert.equal((await got).data.toString(), HELLO);
      const done = closed(ws);
      ws.close();
      await done;
    });
    await t.step("compression", async () => {
      const before = { ...server.counts };
      const text = sampleText(200_000, 5);
      const ws = await open(echo);
      assert.match(ws.extensions, /permessage-deflate/);
      const got = next(ws);
      ws.send(text);
      assert.equal((await got).data.toString(), text);
      const done = closed(ws);
      ws.close();
      await done;
      assert.ok(server.counts.receivedCompressed > before.receivedCompressed);
      assert.ok(server.counts.sentCompressed > before.sentCompressed);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("interop matrix: library client → ws server", async (t) => {
  const peer = await startWsServer({
    perMessageDeflate: true,
    handleProtocols: (protocols) => protocols.has("chat.v2") ? "chat.v2" : false,
  });
  const closes = new Map<string, PromiseWithResolvers<SeenClose>>();
  const slot = (name: string) => {
    let s = closes.get(name);
    if (!s) closes.set(name, s = Promise.withResolvers<SeenClose>());
    return s;
  };
  peer.wss.on("connection", (socket: NodeWebSocket) => {
    let tag: string | null = null;
    socket.on("message", async (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      if (text.startsWith("cmd:tag:")) tag = text.slice(8);
      else if (text === "cmd:close") socket.close(SERVER_CLOSE.code, SERVER_CLOSE.reason);
      else if (text.startsWith("cmd:close-of:")) {
        socket.send(JSON.stringify(await slot(text.slice(13)).promise));
      } else socket.send(data, { binary: isBinary });
    });
    socket.on("close", (code, reason) => {
      if (tag !== null) slot(tag).resolve({ code, reason: reason.toString() });
    });
  });
  try {
    await libraryClientChecks(t, { base: `ws://127.0.0.1:${peer.port}`, deflate: true });
  } finally {
    await peer.close();
  }
});
