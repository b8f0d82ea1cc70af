/**
 * Attack soak: one listener under several attacks at once for a bounded time (ATTACK_SOAK_MS,
 * default 8000 ms), while a normal client keeps doing request/response echo on it.
 *
 * The attacks: ping floods from peers that never read (held back by TCP once the pongs wait),
 * peers that send messages to the echo route and never read the echoes, peers that ignore the
 * server's close (never answer it, never close TCP), random bytes after a valid upgrade, and
 * upgrade requests with a 100 KB header.
 *
 * Checks: every round trip of the normal client succeeds, each within MAX_ROUND_TRIP_MS (fresh
 * connections too); the process's RSS grows by less than RSS_BOUND past a baseline taken after
 * a warm-up (the attackers run in this process too, so the figure is an upper bound for the
 * server); every attack ran; the server drops the peers that ignore its close; after the
 * attackers stop and the listener shuts down no connection is left, and the test sanitizers
 * check that no socket or timer survived.
 *
 * @module
 */

import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { createServer } from "../../server.ts";
import { readText, webSocketSession } from "../../mod.ts";
import { Frame } from "../../src/core/frame.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { RawPeer, readResponse, upgradeRequest, write } from "../server/_tcp.ts";

const DURATION = Number(Deno.env.get("ATTACK_SOAK_MS") ?? 8000);
const WARMUP = Math.min(1000, DURATION / 8);
const MAX_ROUND_TRIP_MS = 2000;
/** Growth of RSS sampled right after a full GC: what the server holds. */
const RSS_BOUND = 64 * 1024 * 1024;
/** Growth of RSS sampled without a GC (garbage included). */
const RSS_PEAK_BOUND = 256 * 1024 * 1024;
const MASK = new Uint8Array([1, 2, 3, 4]);
const MB = 1024 * 1024;

/** Stops the attackers: a flag, and every socket they hold is closed. */
class Attackers {
  stopped = false;
  readonly #conns = new Set<Deno.Conn>();
  readonly counts = new Map<string, number>();
  /** Errors an attacker met while the run was still on (resets and the like: expected). */
  readonly errors = new Map<string, number>();

  hold<T extends Deno.Conn>(conn: T): T {
    if (this.stopped) {
      conn.close();
      throw new Error("stopped");
    }
    this.#conns.add(conn);
    return conn;
  }

  release(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // closed
    }
  }

  count(name: string, key = this.counts): void {
    key.set(name, (key.get(name) ?? 0) + 1);
  }

  stop(): void {
    this.stopped = true;
    for (const conn of [...this.#conns]) this.release(conn);
  }

  /** Runs `attack` up to `max` times (each on its own connection) until stopped. */
  async loop(name: string, max: number, attack: () => Promise<void>): Promise<void> {
    for (let i = 0; i < max && !this.stopped; i++) {
      try {
        await attack();
        this.count(name);
      } catch {
        if (!this.stopped) this.count(name, this.errors);
      }
    }
  }

  async open(port: number, path: string): Promise<RawPeer> {
    const { peer, status } = await RawPeer.open(port, path);
    this.hold(peer.conn);
    if (status !== 101) {
      this.release(peer.conn);
      throw new Error(`status ${status}`);
    }
    return peer;
  }
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

Deno.test("attack soak: a normal client is served and RSS stays bounded under five attacks at once", async () => {
  const handlerErrors: unknown[] = [];
  const server = createServer({
    closeTimeout: 500,
    handshakeTimeout: 1000,
    onError: (error) => handlerErrors.push(error),
  });
  server.webSocket("/echo", async (s) => {
    for await (const m of s.incoming) await s.send(m);
  });
  // Closes at once: its peers then ignore the close.
  server.webSocket("/close", (s) => s.close());
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const port = listener.addr.port;
  const attackers = new Attackers();

  // A full collection before the retained-memory samples (`--expose-gc` set at run time).
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const rss = { start: Deno.memoryUsage().rss, baseline: 0, peak: 0, retained: 0, end: 0 };
  let peakConnections = 0;
  let lastGc = 0;
  const sample = () => {
    peakConnections = Math.max(peakConnections, server.connections);
    if (rss.baseline === 0) return;
    rss.peak = Math.max(rss.peak, Deno.memoryUsage().rss);
    if (performance.now() - lastGc < 1000) return;
    gc();
    lastGc = performance.now();
    rss.retained = Math.max(rss.retained, Deno.memoryUsage().rss);
  };

  // Bounds the run (the only timers; both cleared below).
  const started = performance.now();
  const done = Promise.withResolvers<void>();
  const stopTimer = setTimeout(() => done.resolve(), DURATION);
  const baselineTimer = setTimeout(() => {
    gc();
    lastGc = performance.now();
    rss.baseline = rss.peak = rss.retained = Deno.memoryUsage().rss;
  }, WARMUP);

  // Ping flood: masked pings as fast as possible, never reading the pongs.
  const ping = encodeFrame(Frame.ping(new Uint8Array(125).fill(7)), { maskKey: MASK });
  const pingBatch = new Uint8Array(ping.length * 500);
  for (let i = 0; i < 500; i++) pingBatch.set(ping, i * ping.length);
  let floodsHeldBack = 0;
  const pingFlood = () =>
    attackers.loop("ping flood", 100, async () => {
      const peer = await attackers.open(port, "/echo");
      let stalled: { pending: Promise<unknown> } | null = null;
      try {
        // Up to 8000 batches of 500 pings (500 MB) a connection, until the server stops
        // reading (its pongs wait for the socket): a write not taken within STALL_MS. The
        // flooding peer then disconnects with the pongs unread, and floods again.
        for (let i = 0; i < 8000 && !attackers.stopped && stalled === null; i++) {
          stalled = await writeUnlessStalled(peer.conn, pingBatch);
        }
        if (stalled !== null) floodsHeldBack++;
      } finally {
        attackers.release(peer.conn);
        await stalled?.pending;
      }
    });

  // Non-reading clients: messages to the echo route, echoes never read. Once the server stops
  // reading (its echoes are not read), the writes block until the run stops.
  const text = encodeFrame(Frame.text("x".repeat(1024)), { maskKey: MASK });
  const textBatch = new Uint8Array(text.length * 64);
  for (let i = 0; i < 64; i++) textBatch.set(text, i * text.length);
  let nonReadingOpened = 0;
  const nonReading = () =>
    attackers.loop("non-reading", 20, async () => {
      const peer = await attackers.open(port, "/echo");
      nonReadingOpened++;
      try {
        for (let i = 0; i < 200 && !attackers.stopped; i++) await write(peer.conn, textBatch);
      } finally {
        attackers.release(peer.conn);
      }
    });

  // Clients ignoring the close: the server closes, the client neither answers nor closes TCP;
  // it only reads, to see the server drop the connection at closeTimeout.
  let closesIgnored = 0;
  const ignoreClose = () =>
    attackers.loop("ignoring the close", 200, async () => {
      const peer = await attackers.open(port, "/close");
      try {
        const frame = await peer.next();
        assert.equal(frame?.type, "close");
        if (await peer.ended()) closesIgnored++;
      } finally {
        attackers.release(peer.conn);
      }
    });

  // Random bytes after a valid upgrade, until the server ends the connection (or 256 KB).
  let randomEnded = 0;
  const randomAfterUpgrade = () =>
    attackers.loop("random bytes", 20_000, async () => {
      const peer = await attackers.open(port, "/echo");
      let ended = false;
      const reading = peer.ended().then(() => ended = true);
      try {
        for (let i = 0; i < 64 && !ended && !attackers.stopped; i++) {
          await write(peer.conn, randomBytes(4096));
        }
      } catch {
        // the server dropped it mid-write
      } finally {
        attackers.release(peer.conn);
        await reading;
        if (ended) randomEnded++;
      }
    });

  // Oversize headers: a 100 KB header in the upgrade request; 431 or a closed connection.
  const oversize = new TextEncoder().encode(
    upgradeRequest("/echo", port, { "X-Big": "a".repeat(100 * 1024) }),
  );
  const statuses = new Map<number, number>();
  const oversizeHeaders = () =>
    attackers.loop("oversize headers", 20_000, async () => {
      const conn = attackers.hold(await Deno.connect({ hostname: "127.0.0.1", port }));
      try {
        await write(conn, oversize).catch(() => {});
        const { status } = parseStatus(await readResponse(conn));
        assert.ok(status === 431 || status === 0, `status ${status}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      } finally {
        attackers.release(conn);
      }
    });

  // The normal client: request/response echo every few ms; a fresh session every 100 rounds.
  const roundTrips: number[] = [];
  const handshakes: number[] = [];
  const normalClient = async () => {
    let finished = false;
    void done.promise.then(() => finished = true);
    let i = 0;
    while (!finished) {
      const t0 = performance.now();
      const session = await webSocketSession(`ws://127.0.0.1:${port}/echo`);
      handshakes.push(performance.now() - t0);
      try {
        for (let n = 0; n < 100 && !finished; n++, i++) {
          const t = performance.now();
          await session.send(`request ${i}`);
          const reply = await session.receive();
          roundTrips.push(performance.now() - t);
          assert.equal(readText(reply), `request ${i}`);
          sample();
          await new Promise<void>((resolve) => {
            const pause = setTimeout(resolve, 5);
            void done.promise.then(() => {
              clearTimeout(pause);
              resolve();
            });
          });
        }
      } finally {
        await session.close();
      }
    }
  };

  const attacks = [
    pingFlood(),
    pingFlood(),
    ...Array.from({ length: 4 }, nonReading),
    ignoreClose(),
    ignoreClose(),
    randomAfterUpgrade(),
    randomAfterUpgrade(),
    oversizeHeaders(),
    oversizeHeaders(),
  ];
  let clientError: unknown = null;
  try {
    await normalClient();
  } catch (e) {
    clientError = e;
  } finally {
    clearTimeout(stopTimer);
    clearTimeout(baselineTimer);
    done.resolve();
    attackers.stop();
    await Promise.all(attacks);
    await listener.shutdown();
  }
  const elapsed = performance.now() - started;
  gc();
  rss.end = Deno.memoryUsage().rss;
  if (clientError !== null) throw clientError;

  const max = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
  const fmt = (n: number) => `${(n / MB).toFixed(1)} MB`;
  console.log(
    `attack soak: ${elapsed.toFixed(0)} ms; ${roundTrips.length} round trips (max ${
      max(roundTrips).toFixed(1)
    } ms), ${handshakes.length} sessions (max handshake ${max(handshakes).toFixed(1)} ms)`,
  );
  console.log(
    `  RSS start ${fmt(rss.start)}, baseline ${fmt(rss.baseline)}, peak ${fmt(rss.peak)} ` +
      `(+${fmt(rss.peak - rss.baseline)}), peak after a full GC ${fmt(rss.retained)} ` +
      `(+${fmt(rss.retained - rss.baseline)}), end ${fmt(rss.end)}; ` +
      `peak connections ${peakConnections}; non-reading clients ${nonReadingOpened}; ` +
      `ping floods held back ${floodsHeldBack}`,
  );
  console.log(`  attacks done ${JSON.stringify(Object.fromEntries(attackers.counts))}`);
  console.log(
    `  attacker errors ${JSON.stringify(Object.fromEntries(attackers.errors))}; ` +
      `closes ignored then dropped ${closesIgnored}; random bytes ended by the server ${randomEnded}; ` +
      `oversize statuses ${
        JSON.stringify(Object.fromEntries(statuses))
      }; onError ${handlerErrors.length}`,
  );

  assert.ok(roundTrips.length >= 10, `only ${roundTrips.length} round trips`);
  assert.ok(max(roundTrips) < MAX_ROUND_TRIP_MS, `a round trip took ${max(roundTrips)} ms`);
  assert.ok(max(handshakes) < MAX_ROUND_TRIP_MS, `a handshake took ${max(handshakes)} ms`);
  assert.ok(rss.baseline > 0, "no baseline");
  assert.ok(
    rss.retained - rss.baseline < RSS_BOUND,
    `RSS after a full GC grew by ${fmt(rss.retained - rss.baseline)} past the baseline`,
  );
  assert.ok(
    rss.peak - rss.baseline < RSS_PEAK_BOUND,
    `RSS grew by ${fmt(rss.peak - rss.baseline)} past the baseline`,
  );
  for (
    const name of [
      "ping flood",
      "ignoring the close",
      "random bytes",
      "oversize headers",
    ]
  ) {
    assert.ok((attackers.counts.get(name) ?? 0) > 0, `${name} never completed`);
  }
  assert.ok(nonReadingOpened > 0, "no non-reading client connected");
  assert.ok(floodsHeldBack > 0, "the server never held a ping flood back");
  assert.ok(closesIgnored > 0, "the server never dropped a client that ignored its close");
  assert.equal(server.connections, 0);
});

/** A write the server has not taken within this long: it stopped reading. */
const STALL_MS = 250;

/**
 * Writes `bytes` to `conn`, unless a write is not taken within `STALL_MS`.
 *
 * @returns `null` once written, or the stalled write (settles once the connection closes).
 */
async function writeUnlessStalled(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<{ pending: Promise<unknown> } | null> {
  let off = 0;
  while (off < bytes.length) {
    const written = conn.write(bytes.subarray(off));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let n: number | null;
    try {
      n = await Promise.race([
        written,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), STALL_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (n === null) return { pending: written.catch(() => {}) };
    off += n;
  }
  return null;
}

function parseStatus(bytes: Uint8Array): { status: number } {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(bytes.subarray(0, 32)));
  return { status: m === null ? 0 : Number(m[1]) };
}
