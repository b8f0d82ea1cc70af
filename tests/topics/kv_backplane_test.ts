import assert from "node:assert/strict";
import {
  type Backplane,
  kvBackplane,
  KvBackplaneError,
  type KvBackplaneOptions,
} from "../../kv.ts";
import { Recorder, tempKvPath, waitFor } from "./_kv_helpers.ts";

const PREFIX = ["wirestream", "topics"];

/** Runs `body` with a temporary KV file, closing every backplane it started. */
async function withKv(
  body: (ctx: {
    path: string;
    open(options?: KvBackplaneOptions): Promise<{ bp: Backplane; host: Recorder }>;
  }) => Promise<void>,
): Promise<void> {
  const { path, remove } = await tempKvPath();
  const opened: Backplane[] = [];
  try {
    await body({
      path,
      async open(options = {}) {
        const host = new Recorder();
        const bp = kvBackplane(options.kv ? options : { path, ...options });
        opened.push(bp);
        await bp.start(host);
        return { bp, host };
      },
    });
  } finally {
    for (const bp of opened) await bp.close();
    await remove();
  }
}

Deno.test("kv backplane: two instances on one file deliver every message once, in one order", async () => {
  await withKv(async ({ open }) => {
    const a = await open({ pollInterval: 10 });
    const b = await open({ pollInterval: 10 });
    const headA = await a.bp.subscribe("room");
    const headB = await b.bp.subscribe("room");
    assert.deepEqual(headA, headB);
    assert.equal(headA.offset, 0);
    const n = 60;
    const sent = await Promise.all(
      Array.from({ length: n }, (_, i) => [
        a.bp.publish("room", { data: `a${i}`, ref: i }),
        b.bp.publish("room", { data: new Uint8Array([i]), ref: 1000 + i }),
      ]).flat(),
    );
    assert.deepEqual(sent.map((p) => p.offset).sort((x, y) => x - y), range(1, 2 * n));
    await waitFor(() => a.host.messages.length >= 2 * n && b.host.messages.length >= 2 * n, "all");
    for (const { host } of [a, b]) {
      assert.equal(host.messages.length, 2 * n);
      assert.deepEqual(host.messages.map((m) => m.offset), range(1, 2 * n));
      assert.deepEqual(host.events, []);
      const fromA = host.messages.filter((m) => typeof m.data === "string").map((m) => m.data);
      const fromB = host.messages.filter((m) => typeof m.data !== "string");
      assert.deepEqual(fromA, Array.from({ length: n }, (_, i) => `a${i}`));
      assert.deepEqual(fromB.map((m) => (m.data as Uint8Array)[0]), range(0, n - 1));
    }
    // Both agree on what each offset holds, and the positions publish() returned.
    assert.deepEqual(a.host.messages.map(strip), b.host.messages.map(strip));
    for (let i = 0; i < 2 * n; i++) {
      const at = a.host.messages.find((m) => m.offset === sent[i]!.offset)!;
      assert.equal(at.epoch, sent[i]!.epoch);
      assert.equal(
        typeof at.data === "string" ? at.data : `b${(at.data as Uint8Array)[0]}`,
        i % 2 === 0 ? `a${i / 2}` : `b${(i - 1) / 2}`,
      );
    }
    // Own messages carry their ref; the other's none.
    for (const m of a.host.messages) {
      assert.equal(
        m.ref,
        typeof m.data === "string" ? Number((m.data as string).slice(1)) : undefined,
      );
    }
    for (const m of b.host.messages) {
      assert.equal(
        m.ref,
        typeof m.data === "string" ? undefined : 1000 + (m.data as Uint8Array)[0]!,
      );
    }
  });
});

Deno.test("kv backplane: one shared Deno.Kv, watch only (no poll)", async () => {
  await withKv(async ({ path, open }) => {
    const kv = await Deno.openKv(path);
    try {
      const a = await open({ kv, pollInterval: 0 });
      const b = await open({ kv, pollInterval: 0 });
      await a.bp.subscribe("t");
      await b.bp.subscribe("t");
      for (let i = 0; i < 20; i++) await (i % 2 ? a : b).bp.publish("t", { data: `m${i}`, ref: i });
      await waitFor(() => a.host.messages.length === 20 && b.host.messages.length === 20, "20");
      assert.deepEqual(a.host.messages.map((m) => m.data), range(0, 19).map((i) => `m${i}`));
      assert.deepEqual(a.host.messages.map(strip), b.host.messages.map(strip));
      await a.bp.close();
      await b.bp.close();
      // The backplanes did not close a database they were given.
      assert.equal((await kv.get([...PREFIX, "t", "h"])).value !== null, true);
    } finally {
      kv.close();
    }
  });
});

Deno.test("kv backplane: 25 topics watched in groups of 10, joining and leaving", async () => {
  await withKv(async ({ path, open }) => {
    const kv = await Deno.openKv(path);
    try {
      const a = await open({ kv, pollInterval: 0 });
      const b = await open({ kv, pollInterval: 0 });
      const topics = range(1, 25).map((i) => `t${i}`);
      for (const t of topics) {
        await a.bp.subscribe(t);
        // Each topic joins a running group: its watch restarts without losing the others.
        await b.bp.publish(t, { data: `${t} first`, ref: 0 });
      }
      await waitFor(() => a.host.messages.length === 25, "25 first messages");
      for (const t of topics.filter((_, i) => i % 3 === 0)) await a.bp.unsubscribe(t);
      await Promise.all(topics.map((t) => b.bp.publish(t, { data: `${t} second`, ref: 1 })));
      const kept = topics.filter((_, i) => i % 3 !== 0);
      await waitFor(() => a.host.messages.length === 25 + kept.length, "the second messages");
      const got = a.host.messages.map((m) => `${m.topic} ${m.offset} ${m.data}`).sort();
      const want = [
        ...topics.map((t) => `${t} 1 ${t} first`),
        ...kept.map((t) => `${t} 2 ${t} second`),
      ].sort();
      assert.deepEqual(got, want);
      assert.deepEqual(a.host.events, []);
      await a.bp.close();
      await b.bp.close();
    } finally {
      kv.close();
    }
  });
});

Deno.test("kv backplane: subscribe returns the head; only later messages are delivered", async () => {
  await withKv(async ({ open }) => {
    const a = await open({ pollInterval: 10 });
    const b = await open({ pollInterval: 10 });
    for (let i = 1; i <= 3; i++) await a.bp.publish("news", { data: `old${i}`, ref: i });
    const head = await b.bp.subscribe("news");
    assert.equal(head.offset, 3);
    assert.equal(head.epoch, (await a.bp.publish("news", { data: "new4", ref: 4 })).epoch);
    await a.bp.publish("news", { data: "new5", ref: 5 });
    await waitFor(() => b.host.messages.length === 2, "2 messages");
    assert.deepEqual(b.host.messages.map((m) => [m.offset, m.data]), [[4, "new4"], [5, "new5"]]);
    // Subscribing again changes nothing; unsubscribing stops the deliveries.
    assert.deepEqual(await b.bp.subscribe("news"), { offset: 5, epoch: head.epoch });
    await b.bp.unsubscribe("news");
    await a.bp.publish("news", { data: "new6", ref: 6 });
    await a.bp.subscribe("news");
    const p7 = await a.bp.publish("news", { data: "new7", ref: 7 });
    await waitFor(() => a.host.messages.length === 1, "a's own message");
    assert.deepEqual(a.host.messages.map((m) => [m.offset, m.data, m.ref]), [[7, "new7", 7]]);
    assert.equal(p7.offset, 7);
    assert.equal(b.host.messages.length, 2);
  });
});

Deno.test("kv backplane: messages published by two processes reach both, once, in one order", async () => {
  const { path, remove } = await tempKvPath();
  const n = 100;
  const peer = new URL("./_kv_peer.ts", import.meta.url).pathname;
  const children = ["p", "q"].map((name) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", peer, path, "shared", name, String(n), String(2 * n)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn()
  );
  try {
    const readers = children.map((c) => c.stdout.pipeThrough(new TextDecoderStream()).getReader());
    const buffers = ["", ""];
    const readLine = async (i: number): Promise<string> => {
      for (;;) {
        const nl = buffers[i]!.indexOf("\n");
        if (nl >= 0) {
          const line = buffers[i]!.slice(0, nl);
          buffers[i] = buffers[i]!.slice(nl + 1);
          return line;
        }
        const { done, value } = await readers[i]!.read();
        if (done) throw new Error(`peer ${i} ended early`);
        buffers[i] += value;
      }
    };
    assert.deepEqual(await Promise.all([readLine(0), readLine(1)]), ["ready", "ready"]);
    for (const c of children) {
      const w = c.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
    }
    const results = (await Promise.all([readLine(0), readLine(1)])).map((l) => JSON.parse(l));
    for (const r of readers) r.releaseLock();
    const statuses = await Promise.all(children.map((c) => c.status));
    assert.deepEqual(statuses.map((s) => s.code), [0, 0]);
    type Got = { offset: number; epoch: string; data: string; ref?: number };
    const [p, q] = results as { published: number[]; received: Got[]; events: unknown[] }[];
    for (const [self, r] of [["p", p!], ["q", q!]] as const) {
      assert.equal(r.received.length, 2 * n);
      assert.deepEqual(r.received.map((m) => m.offset), range(1, 2 * n));
      assert.deepEqual(r.events, []);
      for (const name of ["p", "q"]) {
        const mine = r.received.filter((m) => m.data.startsWith(`${name}:`));
        assert.deepEqual(mine.map((m) => m.data), range(0, n - 1).map((i) => `${name}:${i}`));
        // Own messages carry the ref they were published with, the other's none.
        assert.deepEqual(
          mine.map((m) => m.ref),
          range(0, n - 1).map((i) => name === self ? i : undefined),
        );
      }
      // The offsets publish() returned are the ones delivered.
      const own = r.received.filter((m) => m.data.startsWith(`${self}:`)).map((m) => m.offset);
      assert.deepEqual(r.published, own);
    }
    const order = (r: { received: Got[] }) =>
      r.received.map((m) => `${m.offset} ${m.epoch} ${m.data}`);
    assert.deepEqual(order(p!), order(q!));
  } finally {
    for (const c of children) {
      try {
        c.kill();
      } catch { /* already ended */ }
    }
    await Promise.allSettled(children.map((c) => c.status));
    await remove();
  }
});

Deno.test("kv backplane: history and every recover outcome", async () => {
  await withKv(async ({ path, open }) => {
    const a = await open({ history: { size: 5 } });
    const positions = [];
    for (let i = 1; i <= 8; i++) positions.push(await a.bp.publish("h", { data: `m${i}`, ref: i }));
    const epoch = positions[0]!.epoch;
    const head = { offset: 8, epoch };
    const ok = await a.bp.recover("h", { since: { offset: 3, epoch }, limit: 10 });
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.head, head);
    assert.deepEqual(
      ok.ok && ok.messages.map((m) => [m.topic, m.offset, m.epoch, m.data, m.ref]),
      range(4, 8).map((i) => ["h", i, epoch, `m${i}`, i]),
    );
    assert.deepEqual(await a.bp.recover("h", { since: { offset: 8, epoch }, limit: 10 }), {
      ok: true,
      messages: [],
      head,
    });
    const fail = (reason: string) => ({ ok: false, reason, head });
    assert.deepEqual(
      await a.bp.recover("h", { since: { offset: 2, epoch }, limit: 10 }),
      fail("offset-too-old"),
    );
    assert.deepEqual(
      await a.bp.recover("h", { since: { offset: 3, epoch }, limit: 4 }),
      fail("offset-too-old"),
    );
    assert.deepEqual(
      await a.bp.recover("h", { since: { offset: 9, epoch }, limit: 10 }),
      fail("offset-ahead"),
    );
    assert.deepEqual(
      await a.bp.recover("h", { since: { offset: 3, epoch: "x" }, limit: 10 }),
      fail("epoch-changed"),
    );
    // An entry gone before its time (trimmed by a process with less history) is too old too.
    const kv = await Deno.openKv(path);
    try {
      await kv.delete([...PREFIX, "h", "m", 6]);
    } finally {
      kv.close();
    }
    assert.deepEqual(
      await a.bp.recover("h", { since: { offset: 5, epoch }, limit: 10 }),
      fail("offset-too-old"),
    );
    assert.equal((await a.bp.recover("h", { since: { offset: 6, epoch }, limit: 10 })).ok, true);
    // A topic nobody published to yet: its head is created, and recovering from it is fine.
    const fresh = await a.bp.recover("fresh", { since: { offset: 0, epoch: "?" }, limit: 10 });
    assert.equal(fresh.ok, false);
    assert.equal(!fresh.ok && fresh.reason, "epoch-changed");
    assert.deepEqual(await a.bp.recover("fresh", { since: fresh.head, limit: 10 }), {
      ok: true,
      messages: [],
      head: fresh.head,
    });
  });
});

Deno.test("kv backplane: no history, and a history ttl", async () => {
  await withKv(async ({ path, open }) => {
    const none = await open();
    const p = await none.bp.publish("n", { data: "x", ref: 1 });
    assert.deepEqual(
      await none.bp.recover("n", { since: { offset: 0, epoch: p.epoch }, limit: 10 }),
      {
        ok: false,
        reason: "no-history",
        head: p,
      },
    );
    const ttl = await open({ history: { size: 10, ttl: 30 } });
    const before = Date.now();
    const q = await ttl.bp.publish("t", { data: "y", ref: 1 });
    const since = { offset: 0, epoch: q.epoch };
    const published = Date.now();
    const early = await ttl.bp.recover("t", { since: since, limit: 10 });
    // (Only when the machine was quick enough for the message to be younger than the ttl.)
    if (Date.now() - before < 30) assert.equal(early.ok, true);
    await waitFor(() => Date.now() - published > 40, "the ttl to pass");
    assert.deepEqual(await ttl.bp.recover("t", { since: since, limit: 10 }), {
      ok: false,
      reason: "offset-too-old",
      head: q,
    });
    // The entry itself is kept longer (60 s) for the deliveries to other processes.
    const kv = await Deno.openKv(path);
    try {
      const entry = await kv.get<{ d: string }>([...PREFIX, "t", "m", 1]);
      assert.equal(entry.value?.d, "y");
    } finally {
      kv.close();
    }
  });
});

/** A Deno.Kv whose watches emit only what the test pushes (or fail when it says so). */
function controlledWatch(kv: Deno.Kv) {
  const streams: ReadableStreamDefaultController<Deno.KvEntryMaybe<unknown>[]>[] = [];
  const control = { failLists: 0 };
  const wrapper = {
    get: (key: Deno.KvKey) => kv.get(key),
    getMany: (keys: Deno.KvKey[]) => kv.getMany(keys),
    list: (selector: Deno.KvListSelector) => {
      if (control.failLists > 0) {
        control.failLists--;
        throw new Error("list failed");
      }
      return kv.list(selector);
    },
    atomic: () => kv.atomic(),
    watch: () =>
      new ReadableStream<Deno.KvEntryMaybe<unknown>[]>({ start: (c) => void streams.push(c) }),
  } as unknown as Deno.Kv;
  return {
    kv: wrapper,
    streams,
    control,
    /** Pushes the head of `topic` as it is now to the newest watch. */
    async push(topic: string) {
      streams.at(-1)!.enqueue([await kv.get([...PREFIX, topic, "h"])]);
    },
  };
}

Deno.test("kv backplane: entries gone before delivery are reported as a gap", async () => {
  await withKv(async ({ path, open }) => {
    const kv = await Deno.openKv(path);
    try {
      const watched = controlledWatch(kv);
      const a = await open({ kv: watched.kv, pollInterval: 0 });
      const b = await open();
      await a.bp.subscribe("g");
      for (let i = 1; i <= 5; i++) await b.bp.publish("g", { data: `b${i}`, ref: i });
      await kv.delete([...PREFIX, "g", "m", 2]);
      await kv.delete([...PREFIX, "g", "m", 3]);
      await kv.delete([...PREFIX, "g", "m", 5]);
      await watched.push("g");
      await waitFor(() => a.host.events.length === 2, "2 gaps");
      assert.deepEqual(a.host.messages.map((m) => [m.offset, m.data]), [[1, "b1"], [4, "b4"]]);
      assert.deepEqual(a.host.events, [
        { type: "gap", topic: "g", from: 2, to: 3 },
        { type: "gap", topic: "g", from: 5, to: 5 },
      ]);
      await b.bp.publish("g", { data: "b6", ref: 6 });
      await watched.push("g");
      await waitFor(() => a.host.messages.length === 3, "the 6th");
      assert.deepEqual(a.host.messages[2]!.data, "b6");
      // A failing watch: "down", then "up" once the restarted watch reads again.
      watched.streams.at(-1)!.error(new Error("lost"));
      await waitFor(() => a.host.events.length === 3, "down");
      assert.equal(a.host.events[2]!.type, "down");
      await waitFor(() => watched.streams.length === 2, "the watch to restart");
      await b.bp.publish("g", { data: "b7", ref: 7 });
      await watched.push("g");
      await waitFor(() => a.host.messages.length === 4, "the 7th");
      assert.deepEqual(a.host.events[3], { type: "up" });
      await a.bp.close();
    } finally {
      kv.close();
    }
  });
});

Deno.test("kv backplane: a failed read is retried, with down and up events", async () => {
  await withKv(async ({ path, open }) => {
    const kv = await Deno.openKv(path);
    try {
      const watched = controlledWatch(kv);
      const a = await open({ kv: watched.kv, pollInterval: 0 });
      const b = await open();
      await a.bp.subscribe("r");
      await b.bp.publish("r", { data: "one", ref: 1 });
      watched.control.failLists = 2;
      await watched.push("r");
      await waitFor(() => a.host.messages.length === 1, "the message after the retries");
      assert.deepEqual(a.host.messages.map((m) => m.data), ["one"]);
      assert.equal(a.host.events.length, 2);
      assert.equal(a.host.events[0]!.type, "down");
      assert.deepEqual(a.host.events[1], { type: "up" });
      assert.equal(watched.control.failLists, 0);
      await a.bp.close();
    } finally {
      kv.close();
    }
  });
});

Deno.test("kv backplane: a deleted head starts a new epoch", async () => {
  await withKv(async ({ path, open }) => {
    const a = await open({ pollInterval: 10, history: { size: 10 } });
    const b = await open({ pollInterval: 10 });
    const { epoch: first } = await a.bp.subscribe("e");
    await b.bp.publish("e", { data: "one", ref: 1 });
    await b.bp.publish("e", { data: "two", ref: 2 });
    await waitFor(() => a.host.messages.length === 2, "2 messages");
    const kv = await Deno.openKv(path);
    try {
      await kv.delete([...PREFIX, "e", "h"]);
    } finally {
      kv.close();
    }
    const p = await b.bp.publish("e", { data: "three", ref: 3 });
    assert.notEqual(p.epoch, first);
    assert.equal(p.offset, 1);
    await waitFor(() => a.host.messages.length === 3, "the new epoch's message");
    assert.deepEqual(a.host.events, [{ type: "epoch", topic: "e", epoch: p.epoch, offset: 0 }]);
    assert.deepEqual(a.host.messages.map((m) => [m.offset, m.epoch, m.data]), [
      [1, first, "one"],
      [2, first, "two"],
      [1, p.epoch, "three"],
    ]);
    const r = await a.bp.recover("e", { since: { offset: 2, epoch: first }, limit: 10 });
    assert.deepEqual(r, { ok: false, reason: "epoch-changed", head: p });
    // The old epoch's entry 2 is never taken for the new epoch's.
    assert.deepEqual(await a.bp.recover("e", { since: { offset: 0, epoch: p.epoch }, limit: 10 }), {
      ok: true,
      messages: [{ topic: "e", offset: 1, epoch: p.epoch, data: "three" }],
      head: p,
    });
    // …and the old epoch's entries left behind are swept.
    const check = await Deno.openKv(path);
    try {
      let gone = false;
      for (let i = 0; i < 200 && !gone; i++) {
        gone = (await check.get([...PREFIX, "e", "m", 2])).versionstamp === null;
        if (!gone) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(gone, "the old epoch's entry 2 is swept");
    } finally {
      check.close();
    }
    await b.bp.publish("e", { data: "four", ref: 4 });
    await waitFor(() => a.host.messages.length === 4, "the 4th message");
    assert.deepEqual(a.host.messages[3], { topic: "e", offset: 2, epoch: p.epoch, data: "four" });
  });
});

Deno.test("kv backplane: close() stops everything and refuses later calls", async () => {
  await withKv(async ({ path, open }) => {
    const a = await open({ pollInterval: 5 });
    await a.bp.subscribe("c1");
    await a.bp.subscribe("c2");
    const pending = Array.from(
      { length: 50 },
      (_, i) => a.bp.publish("c1", { data: `m${i}`, ref: i }),
    );
    await a.bp.close();
    const settled = await Promise.allSettled(pending);
    // Call order holds: what committed is a prefix, the rest failed with BACKPLANE_CLOSED.
    const firstFailed = settled.findIndex((s) => s.status === "rejected");
    for (const s of firstFailed < 0 ? [] : settled.slice(firstFailed)) {
      assert.equal(s.status, "rejected");
      assert.equal((s as PromiseRejectedResult).reason.code, "BACKPLANE_CLOSED");
    }
    await a.bp.close();
    await assert.rejects(a.bp.publish("c1", { data: "x", ref: 1 }), { code: "BACKPLANE_CLOSED" });
    await assert.rejects(a.bp.subscribe("c1"), { code: "BACKPLANE_CLOSED" });
    await assert.rejects(a.bp.start(new Recorder()), { code: "BACKPLANE_CLOSED" });
    // The database it opened is closed: the file can be opened and used again.
    const kv = await Deno.openKv(path);
    kv.close();
  });
});

Deno.test("kv backplane: bad arguments and faults", async () => {
  assert.throws(() => kvBackplane({ path: "a", kv: {} as Deno.Kv }), TypeError);
  assert.throws(() => kvBackplane({ history: { size: -1 } }), RangeError);
  assert.throws(() => kvBackplane({ history: { ttl: NaN } }), RangeError);
  assert.throws(() => kvBackplane({ pollInterval: -1 }), RangeError);
  assert.throws(() => kvBackplane({ publishAttempts: 0 }), RangeError);
  assert.throws(() => kvBackplane({ nodeId: "" }), TypeError);
  assert.throws(() => kvBackplane({ prefix: "x" as unknown as Deno.KvKey }), TypeError);
  const idle = kvBackplane({ path: "unused" });
  await assert.rejects(idle.publish("t", { data: "x", ref: 1 }), { code: "BACKPLANE_NOT_STARTED" });
  await idle.close();
  await withKv(async ({ path, open }) => {
    const a = await open();
    await assert.rejects(a.bp.publish("", { data: "x", ref: 1 }), RangeError);
    await assert.rejects(a.bp.publish(1 as unknown as string, { data: "x", ref: 1 }), TypeError);
    await assert.rejects(a.bp.publish("t", { data: 5 as unknown as string, ref: 1 }), TypeError);
    await assert.rejects(
      a.bp.publish("t", { data: new Uint8Array(64 * 1024), ref: 1 }),
      RangeError,
    );
    await assert.rejects(a.bp.publish("t", { data: "é".repeat(40_000), ref: 1 }), RangeError);
    await assert.rejects(
      a.bp.recover("t", { since: { offset: -1, epoch: "" }, limit: 1 }),
      TypeError,
    );
    await assert.rejects(
      a.bp.recover("t", { since: { offset: 0, epoch: "" }, limit: 1.5 }),
      RangeError,
    );
    await assert.rejects(a.bp.start(new Recorder()), { code: "BACKPLANE_FAILED" });
    // A database where every commit loses the race: PUBLISH_CONFLICT after the attempts.
    const kv = await Deno.openKv(path);
    try {
      const losing = {
        get: (key: Deno.KvKey) => kv.get(key),
        atomic: () => {
          const op = kv.atomic();
          const fake = {
            check: () => fake,
            set: () => fake,
            delete: () => fake,
            commit: () => Promise.resolve({ ok: false } as Deno.KvCommitError),
          };
          return Object.assign(op, fake);
        },
      } as unknown as Deno.Kv;
      const c = await open({ kv: losing, publishAttempts: 3 });
      const error = await c.bp.publish("t", { data: "x", ref: 1 }).catch((e) => e);
      assert.ok(error instanceof KvBackplaneError);
      assert.equal(error.code, "PUBLISH_CONFLICT");
      assert.equal(error.name, "KvBackplaneError");
    } finally {
      kv.close();
    }
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function strip(m: { offset: number; epoch: string; data: unknown }) {
  return { offset: m.offset, epoch: m.epoch, data: m.data };
}
