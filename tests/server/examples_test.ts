import { RedisServer } from "../_helpers/redis_server.ts";
import assert from "node:assert/strict";
import { lines } from "../_helpers/lines.ts";
import { CloseReason } from "../../src/core/close.ts";
import { Frame, readReason, readText } from "../../src/core/frame.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
// @ts-types="npm:@types/ws@8.18.2"
import { WebSocket as NodeWebSocket } from "npm:ws@8.23.0";
import { exchange, upgradeRequest } from "./_tcp.ts";

/** Starts an example, waits for its first line with a URL, runs `fn`, stops it with SIGINT. */
async function withExample(
  file: string,
  args: string[],
  fn: (port: number) => Promise<void>,
  stderrLines?: string[],
): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../../examples/${file}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const out = lines(child.stdout).getReader();
  const stderr = new Response(child.stderr).text();
  const seen: string[] = [];
  try {
    let port = 0;
    while (port === 0) {
      const { value, done } = await out.read();
      if (done) throw new Error(`${file} exited early: ${await stderr}`);
      seen.push(value);
      const match = /:(\d+)\//.exec(value);
      if (match) port = Number(match[1]);
    }
    await fn(port);
  } finally {
    child.kill("SIGINT");
    while (true) {
      const { value, done } = await out.read();
      if (done) break;
      seen.push(value);
    }
    const status = await child.status;
    const err = await stderr;
    stderrLines?.push(...err.split("\n").filter((line) => line !== ""));
    assert.equal(status.code, 0, `${file} exit: ${err}`);
  }
  return seen;
}

function open(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("error"));
  });
}

Deno.test("examples/echo_server.ts: managed echo, then a clean SIGINT shutdown", async () => {
  const output = await withExample("echo_server.ts", ["--port", "0"], async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/anything`);
    ws.binaryType = "arraybuffer";
    await open(ws);
    const got: unknown[] = [];
    const two = new Promise<void>((r) =>
      ws.onmessage = (e) => {
        got.push(e.data);
        if (got.length === 2) r();
      }
    );
    ws.send("text");
    ws.send(new Uint8Array([1, 2, 3]));
    await two;
    assert.equal(got[0], "text");
    assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), new Uint8Array([1, 2, 3]));
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.close(1000);
    await closed;
  });
  assert.match(output[0]!, /echo server \(managed\)/);
  assert.ok(output.includes("stopped"));
});

Deno.test("examples/echo_server.ts --raw --protocol: frame-by-frame echo", async () => {
  await withExample(
    "echo_server.ts",
    ["--port", "0", "--raw", "--protocol", "echo"],
    async (port) => {
      // A client that does not offer the subprotocol is served without one.
      const plain = await webSocketRawSession(`ws://127.0.0.1:${port}/`, { protocols: ["other"] });
      assert.equal(plain.protocol, "");
      await plain.send("plain");
      for await (const frame of plain.incoming) {
        assert.equal(readText(frame), "plain");
        break;
      }
      await plain.closeAndRelease();
      const session = await webSocketRawSession(`ws://127.0.0.1:${port}/`, { protocols: ["echo"] });
      assert.equal(session.protocol, "echo");
      await session.send(Frame.text("Hel", { fin: false }));
      await session.send(Frame.text("lo"));
      await session.send(Frame.ping(new Uint8Array([7])));
      await session.close(new CloseReason(1000, "done"));
      const frames: Frame[] = [];
      for await (const frame of session.incoming.values({ preventCancel: true })) {
        frames.push(
          frame,
        );
      }
      assert.deepEqual(frames.map((f) => `${f.type}:${f.fin}`), [
        "text:false",
        "text:true",
        "pong:true",
        "close:true",
      ]);
      assert.deepEqual(readReason(frames[3]!), new CloseReason(1000, "done"));
    },
  );
});

Deno.test("examples/echo_server.ts --deflate: npm:ws negotiates permessage-deflate", async () => {
  await withExample("echo_server.ts", ["--port", "0", "--deflate"], async (port) => {
    const node = new NodeWebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
    await new Promise((r) => node.once("open", r));
    assert.match(node.extensions, /permessage-deflate/);
    const text = "squeeze ".repeat(500);
    node.send(text);
    assert.equal(await new Promise<string>((r) => node.once("message", (d) => r(String(d)))), text);
    const closed = new Promise((r) => node.once("close", r));
    node.close(1000);
    await closed;
  });
});

Deno.test("examples/chat_server.ts: page from the fallback, broadcast in a room", async () => {
  await withExample("chat_server.ts", ["--port", "0"], async (port) => {
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.match(await page.text(), /wirestream chat/);
    const nameless = await exchange(port, upgradeRequest("/chat/lobby", port));
    assert.equal(nameless.status, 400);
    const alice = new WebSocket(`ws://127.0.0.1:${port}/chat/lobby?name=alice`);
    const aliceGot: Record<string, unknown>[] = [];
    let wake: (() => void) | null = null;
    alice.onmessage = (e) => {
      aliceGot.push(JSON.parse(e.data));
      wake?.();
    };
    const until = async (n: number) => {
      while (aliceGot.length < n) await new Promise<void>((r) => wake = r);
    };
    await open(alice);
    await until(1);
    const bob = new WebSocket(`ws://127.0.0.1:${port}/chat/lobby?name=bob`);
    await open(bob);
    await until(2);
    bob.send(JSON.stringify({ text: "hi alice" }));
    await until(3);
    const bobClosed = new Promise((r) => bob.onclose = r);
    bob.close(1000);
    await bobClosed;
    await until(4);
    assert.deepEqual(aliceGot.map((m) => `${m.type}:${m.from}`), [
      "joined:alice",
      "joined:bob",
      "message:bob",
      "left:bob",
    ]);
    assert.equal(aliceGot[2]!.text, "hi alice");
    const aliceClosed = new Promise((r) => alice.onclose = r);
    alice.close(1000);
    await aliceClosed;
  });
});

Deno.test("examples/deploy_handler.ts: Deno.serve with server.handler", async () => {
  const logged: string[] = [];
  await withExample("deploy_handler.ts", ["--port", "0"], async (port) => {
    const home = await fetch(`http://127.0.0.1:${port}/`);
    assert.match(await home.text(), /Deno\.serve/);
    const raw = await exchange(port, upgradeRequest("/raw", port));
    assert.equal(raw.status, 501);
    const session = await webSocketRawSession(`ws://127.0.0.1:${port}/echo`);
    await session.send("deploy");
    const reader = session.incoming.getReader();
    assert.equal(readText((await reader.read()).value!), "deploy");
    reader.releaseLock();
    await session.close(new CloseReason(1000, ""));
    for await (const _ of session.incoming.values({ preventCancel: true })) { /* to the end */ }
  }, logged);
  // The refused raw route is one clear line, not a stack trace.
  assert.deepEqual(logged.length, 1, logged.join("\n"));
  assert.match(
    logged[0]!,
    /^wirestream server: upgrade \/raw answered 501: The raw WebSocket route/,
  );
});

Deno.test("examples/chat_server.ts --redis: two processes share a room through a real redis-server", async () => {
  const redis = await RedisServer.start();
  try {
    const args = ["--port", "0", "--redis", redis.url];
    await withExample("chat_server.ts", args, async (portA) => {
      await withExample("chat_server.ts", args, async (portB) => {
        const got: Record<string, unknown>[] = [];
        let wake: (() => void) | null = null;
        const alice = new WebSocket(`ws://127.0.0.1:${portA}/chat/lobby?name=alice`);
        alice.onmessage = (e) => {
          got.push(JSON.parse(e.data));
          wake?.();
        };
        const until = async (n: number) => {
          while (got.length < n) await new Promise<void>((r) => wake = r);
        };
        await open(alice);
        await until(1); // her own join
        const bob = new WebSocket(`ws://127.0.0.1:${portB}/chat/lobby?name=bob`);
        await open(bob);
        await until(2); // bob joined, on the other process
        bob.send(JSON.stringify({ text: "hi from B" }));
        await until(3);
        assert.deepEqual(got.map((m) => `${m.type}:${m.from}`), [
          "joined:alice",
          "joined:bob",
          "message:bob",
        ]);
        assert.equal(got[2]!.text, "hi from B");
        for (const socket of [bob, alice]) {
          const closed = new Promise((r) => socket.onclose = r);
          socket.close(1000);
          await closed;
        }
      });
    });
  } finally {
    await redis.stop();
  }
});
