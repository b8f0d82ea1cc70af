/**
 * Server processes sharing topics (three on one real redis-server, two on one Deno KV file),
 * clients spread over them: every message published on any process reaches every subscriber on
 * every process, once, in one order; the processes resubscribe after Redis restarts (and say
 * what changed); when one process is killed, the others go on.
 */

import assert from "node:assert/strict";
import { readText } from "../../src/core/frame.ts";
import { parseTopicEnvelope } from "../../src/core/topic_envelope.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import type { DefaultClientWebSocketSession } from "../../mod.ts";
import { lines } from "../_helpers/lines.ts";
import { RedisServer } from "../_helpers/redis_server.ts";

/** A server process: its port, and the backplane events it printed. */
class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly events: string[] = [];
  readonly #lines: ReadableStreamDefaultReader<string>;
  #wake: (() => void) | null = null;
  port = 0;
  readonly done: Promise<void>;

  constructor(kind: "redis" | "kv", where: string) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        "--lock=tests/deno.lock",
        new URL("./_topic_server_process.ts", import.meta.url).pathname,
        kind,
        where,
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    this.#lines = lines(this.child.stdout).getReader();
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    while (true) {
      const { value, done } = await this.#lines.read();
      if (done) break;
      if (value.startsWith("port ")) this.port = Number(value.slice(5));
      else this.events.push(JSON.parse(value).event);
      this.#wake?.();
    }
    this.#wake?.();
  }

  /** Waits (bounded) until `test` holds. */
  async until(test: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      const woken = new Promise<void>((resolve) => this.#wake = resolve);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([woken, new Promise((r) => timer = setTimeout(r, 1000))]);
      clearTimeout(timer);
    }
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch { /* gone */ }
    await this.child.status;
    await this.done;
  }
}

/** A client: what it received (text, offset) after `ready`. */
interface Client {
  session: DefaultClientWebSocketSession;
  got: { text: string; offset: number }[];
  /** Reset and gap notices. */
  notices: string[];
}

async function connect(port: number): Promise<Client> {
  const session = await webSocketSession(`ws://127.0.0.1:${port}/t`);
  assert.equal(readText(await session.receive()), "ready");
  return { session, got: [], notices: [] };
}

/** Reads until `client` has `n` messages (bounded by the session's own end). */
async function receiveUntil(client: Client, n: number): Promise<void> {
  while (client.got.length < n) {
    const text = readText(await client.session.receive());
    const envelope = parseTopicEnvelope(text);
    assert.ok(envelope !== null, `not an envelope: ${text}`);
    if (envelope.kind === "message") {
      client.got.push({ text: envelope.data as string, offset: envelope.offset });
    } else {
      client.notices.push(envelope.kind === "reset" ? `reset:${envelope.reason}` : "gap");
    }
  }
}

/** Every client sends `count` messages named `name:k`; every client then has them all. */
async function round(clients: Client[], count: number, tag: string): Promise<void> {
  const before = clients.map((c) => c.got.length);
  await Promise.all(clients.map(async (c, i) => {
    for (let k = 0; k < count; k++) await c.session.send(`${tag}${i}:${k}`);
  }));
  const total = clients.length * count;
  await Promise.all(clients.map((c, i) => receiveUntil(c, before[i]! + total)));
  const orders = clients.map((c, i) => c.got.slice(before[i]!));
  for (const order of orders) {
    // Exactly once, and each publisher's messages in the order it sent them.
    assert.equal(new Set(order.map((m) => m.text)).size, total);
    for (let i = 0; i < clients.length; i++) {
      const mine = order.filter((m) => m.text.startsWith(`${tag}${i}:`)).map((m) => m.text);
      assert.deepEqual(mine, Array.from({ length: count }, (_, k) => `${tag}${i}:${k}`));
    }
    // One order for everyone: the topic's offsets, increasing.
    assert.deepEqual(order.map((m) => m.text), orders[0]!.map((m) => m.text));
    for (let j = 1; j < order.length; j++) assert.ok(order[j]!.offset > order[j - 1]!.offset);
  }
}

Deno.test("topics over Redis: three server processes, a Redis restart, a killed process", async () => {
  await using redis = await RedisServer.start();
  const servers = [0, 1, 2].map(() => new ServerProcess("redis", redis.url));
  const clients: Client[] = [];
  try {
    for (const s of servers) await s.until(() => s.port > 0, "the port");
    for (const s of servers) clients.push(await connect(s.port), await connect(s.port));

    // 6 clients on 3 processes, 50 messages each: 300 to everyone, in one order.
    await round(clients, 50, "a");

    // Redis restarts without its data: every process reports it down, a new epoch, up again.
    await redis.stop();
    await redis.restart();
    for (const s of servers) {
      await s.until(() => s.events.includes("up"), "the backplane to come back");
      assert.deepEqual(s.events.filter((e) => e !== "gap"), ["down", "epoch", "up"]);
    }
    await round(clients, 20, "b");
    // Each client was told once that the topic's history was lost (a reset envelope).
    for (const c of clients) assert.deepEqual(c.notices, ["reset:epoch-changed"]);

    // One process dies: its clients are cut off, the others go on.
    await servers[2]!.stop("SIGKILL");
    const survivors = clients.slice(0, 4);
    for (const c of clients.slice(4)) assert.equal((await c.session.closeReason).code, 1006);
    await round(survivors, 10, "c");
  } finally {
    await Promise.all(clients.map((c) => c.session.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop()));
  }
});

Deno.test("topics over Deno KV: two server processes on one local KV file, then one is killed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ws-kv-" });
  const path = `${dir}/topics.sqlite`;
  const servers = [0, 1].map(() => new ServerProcess("kv", path));
  const clients: Client[] = [];
  try {
    for (const s of servers) await s.until(() => s.port > 0, "the port");
    for (const s of servers) clients.push(await connect(s.port), await connect(s.port));
    // 4 clients on 2 processes, 30 messages each: 120 to everyone, in one order.
    await round(clients, 30, "a");
    await servers[1]!.stop("SIGKILL");
    for (const c of clients.slice(2)) assert.equal((await c.session.closeReason).code, 1006);
    await round(clients.slice(0, 2), 10, "b");
    for (const c of clients) assert.deepEqual(c.notices, []);
  } finally {
    await Promise.all(clients.map((c) => c.session.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
