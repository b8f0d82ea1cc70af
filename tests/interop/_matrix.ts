/**
 * The interop matrix, shared by matrix_*_test.ts: the same checks against every independent
 * implementation, with this library in both roles.
 *
 * The checks: text, binary, a 1 MiB message, a fragmented message, ping/pong, a close code and
 * reason each way, subprotocol selection, and compression when the peer has permessage-deflate.
 *
 * The library as the server ({@linkcode startMatrixServer}) serves `/echo` and `/chat` (which
 * speaks subprotocol `chat.v2`), echoes every message and obeys a few commands sent as text:
 *
 * - `cmd:tag:NAME` names the connection; its close reason is kept under NAME (`closeOf`);
 * - `cmd:close` closes with 4001 "server bye ✓";
 * - `cmd:fragments` answers "frag-1 frag-2 frag-3" in three frames;
 * - `cmd:ping` pings the client, then answers "pong:ok" when the pong came back.
 *
 * A peer server for the library's client ({@linkcode libraryClientChecks}) must echo every
 * message, select `chat.v2` when offered, and obey `cmd:tag:NAME` and `cmd:close` the same way,
 * plus `cmd:close-of:NAME`: answer with `{"code":N,"reason":"…"}` once the connection tagged
 * NAME has closed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import type { ServerListener } from "../../src/server/listener.ts";
import { createClient } from "../../src/client/client.ts";
import type {
  DefaultClientWebSocketSession,
  WebSocketClientOptions,
} from "../../src/client/client_options.ts";
import { CloseReason } from "../../src/core/close.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { countingDeflate, sampleBytes, sampleText, type WireCounts } from "./_deflate_common.ts";

/** The close code and reason the server side uses. */
export const SERVER_CLOSE = { code: 4001, reason: "server bye ✓" };
/** The close code and reason the client side uses. */
export const CLIENT_CLOSE = { code: 4002, reason: "client bye ✓" };
/** The text message every check starts with (non-ASCII on purpose). */
export const HELLO = "héllo wörld ✓ 𝄞";
/** The size of the large message. */
export const LARGE = 1024 * 1024;

/** The checks of the matrix, in order. */
export const CHECKS = [
  "text",
  "binary",
  "1 MiB",
  "fragmented",
  "ping/pong",
  "close code and reason",
  "subprotocol",
  "compression",
] as const;

/** A close code and reason as a peer saw it. */
export interface SeenClose {
  code: number;
  reason: string;
}

/** The library's matrix server. */
export interface MatrixServer {
  listener: ServerListener;
  port: number;
  /** Compressed frames the server sent and received. */
  counts: WireCounts;
  /** The close reason of the connection tagged `name` (waits until it closed). */
  closeOf(name: string): Promise<SeenClose>;
  stop(): Promise<void>;
}

/**
 * Starts the library's server for the matrix on 127.0.0.1:0, with permessage-deflate, and
 * `page` as the answer to plain HTTP requests (for the browser).
 */
export function startMatrixServer(options?: { page?: string }): MatrixServer {
  const { factory, counts } = countingDeflate();
  const closes = new Map<string, PromiseWithResolvers<SeenClose>>();
  const closeSlot = (name: string) => {
    let slot = closes.get(name);
    if (!slot) closes.set(name, slot = Promise.withResolvers<SeenClose>());
    return slot;
  };
  const server = createServer({
    extensions: [factory],
    fallback: () =>
      new Response(options?.page ?? "not found", {
        status: options?.page ? 200 : 404,
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
    onError: (error, context) => console.error(`matrix server ${context.phase}:`, error),
  });
  const handler = async (session: DefaultClientWebSocketSession) => {
    try {
      for await (const message of session.incoming) {
        const text = message.type === "text" ? readText(message) : "";
        if (text.startsWith("cmd:tag:")) {
          const slot = closeSlot(text.slice(8));
          session.closeReason.then((r) =>
            slot.resolve({ code: r?.code ?? 1005, reason: r?.message ?? "" })
          );
        } else if (text === "cmd:close") {
          await session.close(new CloseReason(SERVER_CLOSE.code, SERVER_CLOSE.reason));
          return;
        } else if (text === "cmd:fragments") {
          await session.send(Frame.text("frag-1 ", { fin: false }));
          await session.send(Frame.text("frag-2 ", { fin: false }));
          await session.send(Frame.text("frag-3"));
        } else if (text === "cmd:ping") {
          await session.ping(new TextEncoder().encode("server-ping"));
          await session.send("pong:ok");
        } else {
          await session.send(message);
        }
      }
    } catch {
      // The client went away; its close reason is recorded by closeReason.
    }
  };
  server.webSocket("/echo", handler);
  server.webSocket("/chat", handler, { protocol: "chat.v2" });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  return {
    listener,
    port: listener.addr.port,
    counts,
    closeOf: (name) => closeSlot(name).promise,
    stop: () => listener.shutdown(),
  };
}

/**
 * The checks a browser-like client can make with nothing but the standard `WebSocket` API, as
 * one self-contained function (it runs in Deno as it is, and in Chromium via `page.evaluate`).
 * Returns, per check, `true` or what went wrong. Tagged connections are named `TAG-…`.
 */
export async function standardClientScenario(
  { base, tag, large }: { base: string; tag: string; large: number },
): Promise<Record<string, true | string>> {
  const results: Record<string, true | string> = {};
  const open = (path: string, protocols?: string[]) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(base + path, protocols);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error(`cannot open ${path}`));
    });
  const next = (ws: WebSocket) =>
    new Promise<string | ArrayBuffer>((resolve, reject) => {
      ws.onmessage = (e) => resolve(e.data);
      ws.onclose = (e) => reject(new Error(`closed ${e.code} before a message`));
    });
  const closed = (ws: WebSocket) =>
    new Promise<{ code: number; reason: string }>((resolve) => {
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
  const check = async (name: string, fn: () => Promise<true | string>) => {
    try {
      results[name] = await fn();
    } catch (err) {
      results[name] = String(err);
    }
  };
  const sameBytes = (a: ArrayBuffer, b: Uint8Array) => {
    const x = new Uint8Array(a);
    if (x.length !== b.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
    return true;
  };
  const hello = "héllo wörld ✓ 𝄞";
  await check("text", async () => {
    const ws = await open("/echo");
    ws.send(hello);
    const got = await next(ws);
    ws.close();
    return got === hello || `got ${String(got).slice(0, 40)}`;
  });
  await check("binary", async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const ws = await open("/echo");
    ws.send(bytes);
    const got = await next(ws);
    ws.close();
    return (got instanceof ArrayBuffer && sameBytes(got, bytes)) || "binary echo differs";
  });
  await check("1 MiB", async () => {
    const bytes = new Uint8Array(large).map((_, i) => (i * 7) & 0xff);
    const text = "0123456789abcdef".repeat(large / 16);
    const ws = await open("/echo");
    ws.send(bytes);
    const got = await next(ws);
    ws.send(text);
    const gotText = await next(ws);
    ws.close();
    if (!(got instanceof ArrayBuffer && sameBytes(got, bytes))) return "1 MiB binary differs";
    return gotText === text || "1 MiB text differs";
  });
  await check("fragmented", async () => {
    const ws = await open("/echo");
    ws.send("cmd:fragments");
    const got = await next(ws);
    ws.close();
    return got === "frag-1 frag-2 frag-3" || `got ${got}`;
  });
  await check("ping/pong", async () => {
    // A browser cannot send pings: the server pings and the browser answers.
    const ws = await open("/echo");
    ws.send("cmd:ping");
    const got = await next(ws);
    ws.close();
    return got === "pong:ok" || `got ${got}`;
  });
  await check("close code and reason", async () => {
    const a = await open("/echo");
    a.send(`cmd:tag:${tag}-close`);
    const aClosed = closed(a);
    a.close(4002, "client bye ✓");
    const mine = await aClosed;
    const b = await open("/echo");
    const bClosed = closed(b);
    b.send("cmd:close");
    const theirs = await bClosed;
    if (theirs.code !== 4001 || theirs.reason !== "server bye ✓") {
      return `server close seen as ${theirs.code} "${theirs.reason}"`;
    }
    return mine.code === 4002 || `own close reported as ${mine.code}`;
  });
  await check("subprotocol", async () => {
    const ws = await open("/chat", ["chat.v1", "chat.v2"]);
    const protocol = ws.protocol;
    ws.send(hello);
    const got = await next(ws);
    ws.close();
    if (got !== hello) return "no echo on /chat";
    return protocol === "chat.v2" || `protocol ${protocol}`;
  });
  await check("compression", async () => {
    const ws = await open("/echo");
    const text = "compress me, compress me, compress me. ".repeat(2000);
    ws.send(text);
    const got = await next(ws);
    const extensions = ws.extensions;
    ws.close();
    if (got !== text) return "echo differs";
    return extensions.includes("permessage-deflate") || `extensions "${extensions}"`;
  });
  return results;
}

/** A peer server for {@linkcode libraryClientChecks}. */
export interface PeerServer {
  /** `ws://127.0.0.1:port` (no trailing slash). */
  base: string;
  /** Whether the peer offers permessage-deflate. */
  deflate: boolean;
  /** Client options for every connection (a proxy, TLS). */
  client?: WebSocketClientOptions;
}

/** Opens a managed session on the peer; returns it and the client (to close it afterwards). */
async function session(
  url: string,
  deflate: boolean,
  protocols?: string[],
  options?: WebSocketClientOptions,
) {
  const { factory, counts } = countingDeflate();
  const client = createClient({
    ...options,
    extensions: deflate ? [factory] : [],
    closeTimeout: 3000,
  });
  const s = await client.webSocketSession(url, { protocols });
  return { s, client, counts };
}

async function nextMessage(s: DefaultClientWebSocketSession): Promise<Frame> {
  const reader = s.incoming.getReader();
  try {
    const { done, value } = await reader.read();
    if (done) throw new Error("the session ended before a message");
    return value;
  } finally {
    reader.releaseLock();
  }
}

/**
 * The library's managed client against a peer server (see the module docs for what the peer
 * does), one test step per check.
 */
export async function libraryClientChecks(t: Deno.TestContext, peer: PeerServer): Promise<void> {
  const echoUrl = `${peer.base}/echo`;
  const roundTrip = async (message: string | Uint8Array | Frame[]) => {
    const { s, client } = await session(echoUrl, false, undefined, peer.client);
    try {
      if (Array.isArray(message)) { for (const f of message) await s.send(f); }
      else await s.send(message);
      return await nextMessage(s);
    } finally {
      await client.close();
    }
  };

  await t.step("text", async () => {
    const got = await roundTrip(HELLO);
    assert.equal(got.type, "text");
    assert.equal(readText(got), HELLO);
  });
  await t.step("binary", async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const got = await roundTrip(bytes);
    assert.equal(got.type, "binary");
    assert.deepEqual(got.data, bytes);
  });
  await t.step("1 MiB", async () => {
    const bytes = sampleBytes(LARGE, 9);
    const got = await roundTrip(bytes);
    assert.equal(got.data.length, LARGE);
    assert.ok(Buffer.compare(got.data, bytes) === 0, "1 MiB binary echo differs");
    const text = sampleText(LARGE, 9);
    assert.equal(readText(await roundTrip(text)), text);
  });
  await t.step("fragmented", async () => {
    const got = await roundTrip([
      Frame.text("frag-a ", { fin: false }),
      Frame.text("frag-b ", { fin: false }),
      Frame.text("frag-c"),
    ]);
    assert.equal(readText(got), "frag-a frag-b frag-c");
  });
  await t.step("ping/pong", async () => {
    const { s, client } = await session(echoUrl, false, undefined, peer.client);
    try {
      const rtt = await s.ping(new TextEncoder().encode("client-ping"), { timeout: 5000 });
      assert.ok(rtt >= 0);
      await s.send(HELLO);
      assert.equal(readText(await nextMessage(s)), HELLO);
    } finally {
      await client.close();
    }
  });
  await t.step("close code and reason", async () => {
    const tag = `close-${crypto.randomUUID()}`;
    {
      const { s, client } = await session(echoUrl, false, undefined, peer.client);
      await s.send(`cmd:tag:${tag}`);
      await s.close(new CloseReason(CLIENT_CLOSE.code, CLIENT_CLOSE.reason));
      assert.equal((await s.closeReason)?.code, CLIENT_CLOSE.code);
      await client.close();
    }
    {
      const { s, client } = await session(echoUrl, false, undefined, peer.client);
      try {
        await s.send(`cmd:close-of:${tag}`);
        const seen = JSON.parse(readText(await nextMessage(s)));
        assert.deepEqual(seen, CLIENT_CLOSE, "the peer saw our close code and reason");
      } finally {
        await client.close();
      }
    }
    {
      const { s, client } = await session(echoUrl, false, undefined, peer.client);
      await s.send("cmd:close");
      const reason = await s.closeReason;
      assert.equal(reason?.code, SERVER_CLOSE.code);
      assert.equal(reason?.message, SERVER_CLOSE.reason);
      await client.close();
    }
  });
  await t.step("subprotocol", async () => {
    const { s, client } = await session(
      `${peer.base}/chat`,
      false,
      ["chat.v1", "chat.v2"],
      peer.client,
    );
    try {
      assert.equal(s.protocol, "chat.v2");
      await s.send(HELLO);
      assert.equal(readText(await nextMessage(s)), HELLO);
    } finally {
      await client.close();
    }
  });
  await t.step("compression", async () => {
    if (!peer.deflate) {
      // The peer has no permessage-deflate: the offer must be declined and all else work.
      const { s, client } = await session(echoUrl, true, undefined, peer.client);
      try {
        assert.equal(s.extensions.length, 0);
        await s.send(HELLO);
        assert.equal(readText(await nextMessage(s)), HELLO);
      } finally {
        await client.close();
      }
      return;
    }
    const { s, client, counts } = await session(echoUrl, true, undefined, peer.client);
    try {
      assert.ok(s.extensions.some((e) => e.name === "permessage-deflate"), "deflate agreed");
      const text = sampleText(200_000, 3);
      await s.send(text);
      assert.equal(readText(await nextMessage(s)), text);
      const bytes = sampleBytes(100_000, 4);
      await s.send(bytes);
      assert.ok(Buffer.compare((await nextMessage(s)).data, bytes) === 0);
      assert.ok(counts.sentCompressed >= 2, `sent compressed: ${counts.sentCompressed}`);
      assert.ok(
        counts.receivedCompressed >= 1,
        `received compressed: ${counts.receivedCompressed}`,
      );
    } finally {
      await client.close();
    }
  });
}

/** Turns a scenario's results into one test step per check. */
export async function stepsFor(
  t: Deno.TestContext,
  results: Record<string, true | string>,
  checks: readonly string[] = CHECKS,
): Promise<void> {
  for (const name of checks) {
    await t.step(name, () => assert.equal(results[name], true, `${name}: ${results[name]}`));
  }
}
