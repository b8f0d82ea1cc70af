/**
 * Load: 2,000 concurrent connections from the library's managed client to one server of the
 * library on loopback, keepalive on at both ends, messages exchanged on every connection; every
 * message must arrive exactly once, and no connection may drop. `bench/load_bench.ts` scales
 * this to 10,000 connections and reports the resident memory per connection.
 *
 * Each connection costs two descriptors here (both ends are in this process): 4,000 plus a few,
 * well under the usual `ulimit -n` (the test checks it can open them and fails clearly if not).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer } from "../../server.ts";
import { createClient, type DefaultClientWebSocketSession, readText } from "../../mod.ts";

const CONNECTIONS = Number(Deno.env.get("LOAD_CONNECTIONS") ?? 2000);
const MESSAGES = 5;
const OPEN_AT_ONCE = 100;
/** Keepalive period; a pong may take up to PONG_MS (the machine may be busy with other tests). */
const PING_MS = 1000;
const PONG_MS = 5000;

/** The soft limit of open files of this process (Linux), or Infinity when unknown. */
function openFileLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? Infinity);
  } catch {
    return Infinity;
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

/** Reads `n` messages from a session. */
async function take(session: DefaultClientWebSocketSession, n: number): Promise<string[]> {
  const reader = session.incoming.getReader();
  const got: string[] = [];
  try {
    while (got.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(readText(value));
    }
  } finally {
    reader.releaseLock();
  }
  return got;
}

Deno.test(`load: ${CONNECTIONS} concurrent connections, keepalive on, every message exactly once`, async () => {
  const limit = openFileLimit();
  assert.ok(
    2 * CONNECTIONS + 200 <= limit,
    `${CONNECTIONS} loopback connections need ${2 * CONNECTIONS + 200} descriptors in this ` +
      `process, but ulimit -n is ${limit} (Deno cannot raise it: run \`ulimit -n ${
        2 * CONNECTIONS + 200
      }\` first, or set LOAD_CONNECTIONS)`,
  );
  const seen = new Map<string, number>();
  let serverSessions = 0;
  const server = createServer({ pingInterval: PING_MS, timeout: PONG_MS, closeTimeout: 3000 });
  server.webSocket("/load", async (session) => {
    serverSessions++;
    for await (const message of session.incoming) {
      const text = readText(message);
      seen.set(text, (seen.get(text) ?? 0) + 1);
      await session.send(text);
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const client = createClient({ pingInterval: PING_MS, timeout: PONG_MS, closeTimeout: 3000 });
  const url = `ws://127.0.0.1:${listener.addr.port}/load`;
  const started = performance.now();
  try {
    const ids = Array.from({ length: CONNECTIONS }, (_, i) => i);
    const sessions = await pool(ids, OPEN_AT_ONCE, async (i) => {
      try {
        return await client.webSocketSession(url);
      } catch (err) {
        throw new Error(`connection ${i} of ${CONNECTIONS} failed: ${err}`, { cause: err });
      }
    });
    const opened = performance.now();
    const early = sessions.filter((s) => s.state !== "open");
    assert.deepEqual(
      await Promise.all(early.slice(0, 3).map(async (s) => String(await s.closeReason))),
      [],
      `${early.length} connections ended while the others were opening`,
    );
    assert.equal(client.openSessions, CONNECTIONS);
    assert.equal(server.connections, CONNECTIONS, "all connections open at the same time");

    // Two rounds of messages, with idle time between them for several keepalive pings.
    const round = async (r: number) => {
      await Promise.all(sessions.map(async (s, i) => {
        const sent = Array.from({ length: MESSAGES }, (_, k) => `r${r}-c${i}-m${k}`);
        const echoed = take(s, MESSAGES);
        try {
          for (const m of sent) await s.send(m);
        } catch (err) {
          echoed.catch(() => {});
          throw new Error(`connection ${i} round ${r}: ${err}; ${await s.closeReason}`);
        }
        assert.deepEqual(await echoed, sent, `connection ${i} round ${r}`);
      }));
    };
    await round(1);
    // Idle for two and a half ping periods: every connection is pinged (and answers) at least
    // twice each way in between, then must still carry messages.
    await new Promise((resolve) => setTimeout(resolve, PING_MS * 2.5));
    const dropped = sessions.filter((s) => s.state !== "open");
    assert.deepEqual(
      await Promise.all(dropped.slice(0, 3).map(async (s) => String(await s.closeReason))),
      [],
      `${dropped.length} connections dropped while idle with keepalive on`,
    );
    await round(2);

    assert.equal(seen.size, CONNECTIONS * MESSAGES * 2);
    assert.ok([...seen.values()].every((n) => n === 1), "each message reached the server once");
    assert.equal(serverSessions, CONNECTIONS);

    await pool(sessions, 200, (s) => s.close());
    const reasons = await Promise.all(sessions.map((s) => s.closeReason));
    assert.ok(reasons.every((r) => r?.code === 1000), "every connection closed normally");
    console.log(
      `${CONNECTIONS} connections opened in ${Math.round(opened - started)} ms; ` +
        `${CONNECTIONS * MESSAGES * 2} messages echoed; total ${
          Math.round(performance.now() - started)
        } ms`,
    );
  } finally {
    await client.close();
    await listener.shutdown();
  }
});
