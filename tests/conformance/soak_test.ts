/**
 * Soak: random valid and invalid traffic through a live server (and random server behaviour
 * against the library's clients) for a bounded time, then checks that nothing leaked: every
 * connection released, every handler returned, no session left open; the test sanitizers then
 * check that no socket, timer or pending operation survived.
 *
 * The traffic is seeded (SOAK_SEED) so that a failure can be replayed; SOAK_MS sets the
 * duration per side (default 2500 ms).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer } from "../../server.ts";
import { createClient } from "../../mod.ts";
import { webSocketRawSession } from "../../raw.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { perMessageDeflate } from "../../src/session/permessage_deflate.ts";
import { clientHandshake, readHead } from "./_peer.ts";
import { closePayload, concat, encodeWire, type FrameSpec, Op, WireParser } from "./_wire.ts";

const DURATION = Number(Deno.env.get("SOAK_MS") ?? 2500);
const SEED = Number(Deno.env.get("SOAK_SEED") ?? Date.now() % 1_000_000);
const WORKERS = 12;

/** A small seeded generator (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}
type Rng = ReturnType<typeof random>;

async function writeChopped(conn: Deno.Conn, data: Uint8Array, rng: Rng): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = rng.next() < 0.3 ? 1 + rng.int(16) : data.length - off;
    off += await conn.write(data.subarray(off, off + n));
  }
}

/** Reads until the server ends the connection or `ms` pass; returns the frames read. */
async function readUntilEnd(conn: Deno.Conn, ms: number): Promise<number> {
  const parser = new WireParser();
  const buf = new Uint8Array(65536);
  let frames = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
  try {
    while (true) {
      const n = await Promise.race([conn.read(buf).catch(() => null), deadline]);
      if (n === null) return frames;
      parser.push(buf.subarray(0, n));
      while (parser.next() !== null) frames++;
    }
  } finally {
    clearTimeout(timer);
  }
}

function randomFrame(rng: Rng, valid: boolean): FrameSpec {
  const payload = rng.next() < 0.5
    ? new TextEncoder().encode("x".repeat(rng.int(300)) + "✓")
    : rng.bytes(rng.int(rng.next() < 0.1 ? 70_000 : 400));
  if (valid) {
    const kind = rng.int(4);
    if (kind === 0) return { opcode: Op.TEXT, payload: new TextEncoder().encode("hello ✓") };
    if (kind === 1) return { opcode: Op.BINARY, payload };
    if (kind === 2) return { opcode: Op.PING, payload: payload.subarray(0, 100) };
    return { opcode: Op.PONG, payload: payload.subarray(0, 10) };
  }
  return {
    opcode: rng.int(16),
    fin: rng.next() < 0.8,
    rsv: rng.next() < 0.2 ? rng.int(8) : 0,
    payload: rng.next() < 0.5 ? payload : payload.subarray(0, 130),
    mask: rng.next() < 0.9,
  };
}

/** One client connection with a random behaviour. */
async function oneConnection(port: number, rng: Rng, stats: Map<string, number>): Promise<void> {
  const behaviours = [
    "valid session",
    "valid then garbage",
    "random frames",
    "fragmented + deflate",
    "bad handshake",
    "half a head",
    "drop mid-frame",
    "garbage bytes",
  ] as const;
  const behaviour = rng.pick(behaviours);
  stats.set(behaviour, (stats.get(behaviour) ?? 0) + 1);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    switch (behaviour) {
      case "bad handshake": {
        await conn.write(new TextEncoder().encode(
          rng.pick([
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /echo HTTP/1.0\r\n\r\n",
            "\r\n\r\n",
          ]),
        ));
        await readUntilEnd(conn, 1000);
        return;
      }
      case "half a head":
        await conn.write(new TextEncoder().encode("GET /echo HTTP/1.1\r\nHost: 127"));
        if (rng.next() < 0.5) await readUntilEnd(conn, 400); // the handshake timeout
        return;
      case "garbage bytes":
        await writeChopped(conn, rng.bytes(rng.int(3000)), rng).catch(() => {});
        await readUntilEnd(conn, 500);
        return;
    }
    const path = rng.pick(["/echo", "/raw"]);
    const deflate = behaviour === "fragmented + deflate" && path === "/echo";
    await clientHandshake(conn, {
      port,
      path,
      extensions: deflate ? "permessage-deflate; client_max_window_bits" : undefined,
    });
    if (behaviour === "valid session" || behaviour === "fragmented + deflate") {
      const frames: Uint8Array[] = [];
      for (let i = rng.int(10); i >= 0; i--) {
        if (behaviour === "fragmented + deflate") {
          frames.push(encodeWire({ opcode: Op.TEXT, fin: false, payload: "part one, " }, true));
          frames.push(encodeWire({ opcode: Op.PING, payload: "p" }, true));
          frames.push(encodeWire({ opcode: Op.CONTINUATION, payload: "part two" }, true));
        } else frames.push(encodeWire(randomFrame(rng, true), true));
      }
      frames.push(encodeWire({ opcode: Op.CLOSE, payload: closePayload(1000, "bye") }, true));
      await writeChopped(conn, concat(frames), rng);
      await readUntilEnd(conn, 1500);
    } else if (behaviour === "valid then garbage" || behaviour === "random frames") {
      const frames: Uint8Array[] = [];
      for (let i = 1 + rng.int(6); i > 0; i--) {
        frames.push(encodeWire(randomFrame(rng, behaviour === "valid then garbage"), true));
      }
      if (behaviour === "valid then garbage") frames.push(rng.bytes(1 + rng.int(64)));
      await writeChopped(conn, concat(frames), rng).catch(() => {});
      await readUntilEnd(conn, 1500);
    } else {
      // drop mid-frame
      const frame = encodeWire({ opcode: Op.BINARY, payload: rng.bytes(2000) }, true);
      await conn.write(frame.subarray(0, 1 + rng.int(frame.length - 1))).catch(() => 0);
    }
  } catch {
    // The server may end a connection at any point of a bad exchange.
  } finally {
    conn.close();
  }
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > deadline) return false;
    // Short real intervals while the server finishes its close timeouts.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

Deno.test(`soak: random traffic through a live server leaks nothing (seed ${SEED})`, async () => {
  let handlers = 0;
  let handled = 0;
  const unexpected: unknown[] = [];
  const server = createServer({
    pingInterval: 100,
    timeout: 300,
    closeTimeout: 300,
    handshakeTimeout: 300,
    extensions: [perMessageDeflate()],
    onError: (error, context) => {
      if (context.phase === "accept") unexpected.push(error);
    },
  });
  server.webSocket("/echo", async (session) => {
    handlers++;
    try {
      for await (const message of session.incoming) await session.send(message);
    } catch {
      // failed sessions are the point
    } finally {
      handlers--;
      handled++;
    }
  });
  server.webSocketRaw("/raw", async (session) => {
    handlers++;
    try {
      for await (const frame of session.incoming) {
        if (frame.type === "ping") await session.send(Frame.pong(frame.data));
        else if (frame.type === "close") return await session.close(readReason(frame));
        else if (frame.type !== "pong") await session.send(frame);
      }
    } catch {
      // as above
    } finally {
      handlers--;
      handled++;
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const stats = new Map<string, number>();
  try {
    const end = performance.now() + DURATION;
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      const rng = random(SEED * 31 + w);
      while (performance.now() < end) await oneConnection(listener.addr.port, rng, stats);
    }));
    const total = [...stats.values()].reduce((a, b) => a + b, 0);
    const trafficEnded = performance.now();
    const settled = await waitFor(() => server.connections === 0 && handlers === 0, 5000);
    assert.ok(
      settled,
      `after ${total} connections: ${server.connections} still open, ${handlers} handlers running`,
    );
    assert.deepEqual(unexpected, []);
    assert.ok(total > 50, `only ${total} connections in ${DURATION} ms`);
    assert.ok(handled > 0);
    console.log(
      `soak (seed ${SEED}): ${total} connections, ${handled} sessions, ${
        Math.round(trafficEnded - end)
      } ms to finish the last ones, ${Math.round(performance.now() - trafficEnded)} ms to settle: ${
        [...stats].map(([k, v]) => `${k} ${v}`).join(", ")
      }`,
    );
  } finally {
    await listener.shutdown();
  }
});

/** A crafted server connection with a random behaviour toward the library's client. */
async function oneServerConnection(conn: Deno.Conn, rng: Rng): Promise<void> {
  try {
    const { head } = await readHead(conn);
    const behaviour = rng.int(6);
    if (behaviour === 0) {
      await conn.write(
        new TextEncoder().encode("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"),
      );
      return;
    }
    if (behaviour === 1) {
      await conn.write(rng.bytes(rng.int(200)));
      return;
    }
    const key = head.headers.get("sec-websocket-key") ?? "";
    const { acceptFor } = await import("./_peer.ts");
    await conn.write(new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptFor(key)}\r\n\r\n`,
    ));
    const frames: Uint8Array[] = [];
    for (let i = 1 + rng.int(6); i > 0; i--) {
      const spec = randomFrame(rng, behaviour !== 2);
      frames.push(encodeWire({ ...spec, mask: behaviour === 2 ? spec.mask : false }, false));
    }
    if (behaviour === 3) {
      frames.push(encodeWire({ opcode: Op.CLOSE, payload: closePayload(1001, "going") }, false));
    }
    await writeChopped(conn, concat(frames), rng);
    if (behaviour === 4) return; // drop without a close frame
    await readUntilEnd(conn, 1500);
  } catch {
    // The client may end the connection at any point.
  } finally {
    conn.close();
  }
}

Deno.test(`soak: random server behaviour against the library's clients leaks nothing (seed ${SEED})`, async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${listener.addr.port}/`;
  const serverRng = random(SEED + 7);
  const serving = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const p = oneServerConnection(conn, serverRng);
      serving.add(p);
      p.finally(() => serving.delete(p));
    }
  })();
  const client = createClient({ closeTimeout: 300, handshakeTimeout: 1000, pingInterval: 100 });
  let sessions = 0;
  try {
    const end = performance.now() + Math.min(DURATION, 2000);
    await Promise.all(Array.from({ length: 6 }, async (_, w) => {
      const rng = random(SEED * 17 + w);
      while (performance.now() < end) {
        try {
          if (rng.next() < 0.5) {
            const s = await client.webSocketSession(url);
            sessions++;
            try {
              for await (const m of s.incoming) await s.send(m);
            } catch {
              // failed
            }
            await s.closed;
          } else {
            const s = await webSocketRawSession(url, { closeTimeout: 300 });
            sessions++;
            try {
              for await (const f of s.incoming) {
                if (f.type === "close") await s.close(readReason(f));
                else if (f.type === "text" || f.type === "binary") await s.send(f);
              }
            } catch {
              // Failed, or a send failed: a raw session is released by reading on or aborting.
              s.abort();
            }
            await s.closed;
          }
        } catch {
          // handshake refused: fine
        }
      }
    }));
    assert.equal(client.openSessions, 0);
    assert.ok(sessions > 10, `only ${sessions} sessions`);
  } finally {
    await client.close();
    listener.close();
    await accepting;
    await Promise.all(serving);
  }
});
