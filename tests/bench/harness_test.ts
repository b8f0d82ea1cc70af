/**
 * The benchmark harness's pure parts: statistics, formatting, report splicing, target checks,
 * the plan, and the neutral codec (frames split at every byte, unmasking at every phase).
 * CI does not run the benchmark itself; importing the entry modules type-checks the harness.
 */

import assert from "node:assert/strict";
import { main } from "../../bench/run.ts";
import { runClient } from "../../bench/harness/client_main.ts";
import { startServer } from "../../bench/harness/server_main.ts";
import {
  formatNumber,
  formatRatio,
  formatSpread,
  markdownTable,
  median,
  minMax,
  percentile,
  ratio,
} from "../../bench/harness/stats.ts";
import { busyTicks, processTicks } from "../../bench/harness/load.ts";
import {
  baseComparisons,
  BEGIN,
  END,
  isWorse,
  loadNote,
  renderReport,
  type RunRecord,
  spliceGenerated,
  variantTable,
  verdicts,
} from "../../bench/harness/report.ts";
import {
  buildPlan,
  cellProcesses,
  FULL,
  type Impl,
  IMPLS,
  parseImpl,
  QUICK,
  W3_BOUNDED,
  W3_IDIOM,
  W4_IDIOM,
  W4_PUBLISH,
  W4_PUBLISH_IMPLS,
  W4_ROUNDS,
  W5_EVENTS,
  withBase,
} from "../../bench/harness/plan.ts";
import { BASE_ENV, checkBase, clientLib, entryUrl, serverLib } from "../../bench/harness/lib.ts";
import {
  encodeFrame,
  encodeFrames,
  FrameScanner,
  MASK_KEY,
  OP_BINARY,
  OP_TEXT,
} from "../../bench/harness/wire.ts";
import { unmaskInto } from "../../bench/harness/servers/neutral.ts";
import { latencySummary } from "../../bench/harness/child.ts";
import { drained, plainSinkRounds, Signal } from "../../bench/harness/clients/common.ts";
import { summarize } from "../../bench/harness/profile_summary.ts";

Deno.test("harness entry points are functions", () => {
  assert.equal(typeof main, "function");
  assert.equal(typeof runClient, "function");
  assert.equal(typeof startServer, "function");
});

Deno.test("median, range and percentiles", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([NaN, 5, Infinity, 7]), 6);
  assert.deepEqual(minMax([5, 2, NaN, 9]), [2, 9]);
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("latency summary in microseconds", () => {
  const samples = Float64Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);
  const s = latencySummary(samples, 1000, 2);
  assert.equal(s.rate, 500);
  assert.equal(s.p50, 500);
  assert.equal(s.p99, 990);
});

Deno.test("ratios and number formatting", () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.ok(Number.isNaN(ratio(3, 0)));
  assert.ok(Number.isNaN(ratio(NaN, 2)));
  assert.equal(formatNumber(68_400), "68.4 k");
  assert.equal(formatNumber(1_370_000), "1.37 M");
  assert.equal(formatNumber(860), "860");
  assert.equal(formatNumber(2.5), "2.50");
  assert.equal(formatNumber(NaN), "n/a");
  assert.equal(formatRatio(0.873), "0.87×");
  assert.equal(formatRatio(12.34), "12.3×");
  assert.equal(formatRatio(NaN), "n/a");
  assert.equal(formatSpread([1000, 3000, 2000]), "2.00 k (1.00 k–3.00 k)");
  assert.equal(formatSpread([5]), "5.00");
});

Deno.test("markdown tables are aligned", () => {
  const t = markdownTable(["a", "bb"], [["xyz", "1"]], ["l", "r"]);
  assert.equal(t, "| a   | bb |\n| --- | -: |\n| xyz |  1 |");
});

Deno.test("the generated block replaces only itself", () => {
  const first = spliceGenerated("", "one");
  assert.equal(first, `${BEGIN}\n\none\n\n${END}\n`);
  const doc = `# Title\n\nhand-written\n\n${first}\nnotes after\n`;
  const second = spliceGenerated(doc, "two");
  assert.ok(second.startsWith("# Title\n\nhand-written\n\n"));
  assert.ok(second.includes("two") && !second.includes("one"));
  assert.ok(second.endsWith("notes after\n"));
  assert.ok(spliceGenerated("# Only text", "g").startsWith("# Only text\n\n" + BEGIN));
});

Deno.test("the plan covers W1-W6 in both roles and fits the scales", () => {
  const full = buildPlan(FULL);
  assert.deepEqual([...new Set(full.map((v) => v.workload))], ["W1", "W2", "W3", "W4", "W5", "W6"]);
  assert.ok(full.some((v) => v.role === "client") && full.some((v) => v.role === "server"));
  assert.ok(!full.some((v) => v.workload === "W4" && v.role === "client"));
  assert.equal(full.find((v) => v.workload === "W3")!.params.count, 1_000_000);
  assert.equal(full.find((v) => v.workload === "W5")!.params.connections, 10_000);
  assert.equal(full.find((v) => v.workload === "W4")!.params.clients, 1000);
  assert.ok(buildPlan(QUICK).every((v) => v.params.durationMs <= 200));
  const w1 = buildPlan(FULL, { only: ["W1"], roles: ["client"] });
  assert.equal(w1.length, 2);
  assert.deepEqual(w1[0]!.impls, IMPLS);
  // Server side: the neutral load generator; client side: the neutral server; TCP: its pair.
  assert.deepEqual(cellProcesses(full[0]!, "deno"), { server: "deno", client: "neutral" });
  assert.deepEqual(cellProcesses(w1[0]!, "deno"), { server: "neutral", client: "deno" });
  assert.deepEqual(cellProcesses(w1[0]!, "tcp"), { server: "tcp", client: "tcp" });
  const w6 = full.find((v) => v.workload === "W6" && v.role === "server")!;
  assert.deepEqual(cellProcesses(w6, "wirestream"), { server: "wirestream", client: "ws" });
});

Deno.test("tables and targets from a synthetic run", () => {
  const [variant] = buildPlan(FULL, { only: ["W1"], roles: ["server"] });
  const rates: Record<string, number[]> = {
    "wirestream": [110, 120, 100],
    "wirestream-raw": [90, 95, 80],
    "deno": [100, 100, 100],
    "ws": [50, 60, 55],
    "tcp": [200, 210, 190],
  };
  const run: RunRecord = {
    started: "2026-11-22T00:00:00.000Z",
    finished: "2026-11-22T00:01:00.000Z",
    seconds: 60,
    command: "deno task bench",
    quick: false,
    reps: 3,
    machine: {},
    variants: [variant!],
    cells: Object.entries(rates).flatMap(([impl, values]) =>
      values.map((rate, rep) => ({
        variant: variant!.id,
        impl: impl as keyof typeof rates & typeof IMPLS[number],
        rep,
        result: { rate, p50: 10, p99: 20 },
      }))
    ),
  };
  const table = variantTable(run, variant!);
  assert.match(table, /wirestream \(managed\) +\| +110 \(100–120\) \|/);
  assert.match(table, /1\.10× \| +0\.55× \|/);
  const v = verdicts(run);
  assert.equal(v.length, 2);
  assert.equal(v[0]!.met, true);
  assert.equal(v[0]!.target, "≥ 1.1× Deno built-in round trips/s, p99 ≤ Deno's");
  assert.equal(v[1]!.met, false);
  assert.equal(v[1]!.measured, "0.90× of Deno, 1.00× p99 of Deno");
  // A p99 worse than Deno's misses the target even at 1.1× the round trips.
  const slow = run.cells.map((c) =>
    c.impl === "wirestream" ? { ...c, result: { ...c.result!, p99: 21 } } : c
  );
  assert.equal(verdicts({ ...run, cells: slow })[0]!.met, false);
});

Deno.test("the variants as users write them come first, beside the old ones", () => {
  const full = buildPlan(FULL);
  const titles = (workload: string, role: string) =>
    full.filter((v) => v.workload === workload && v.role === role).map((v) => v.title);
  assert.deepEqual(titles("W3", "client"), [
    `1,000,000 × 16 B to a sink, ${W3_IDIOM}`,
    `1,000,000 × 16 B to a sink, ${W3_BOUNDED}`,
  ]);
  // The server side of W3 only receives: one variant.
  assert.deepEqual(titles("W3", "server"), ["1,000,000 × 16 B to a sink"]);
  assert.deepEqual(titles("W4", "server"), [
    `broadcast 1 KiB to 1,000 clients, ${W4_IDIOM}`,
    `broadcast 1 KiB to 1,000 clients, ${W4_PUBLISH}`,
    `broadcast 1 KiB to 1,000 clients, ${W4_ROUNDS}`,
  ]);
  const idiom = full.filter((v) => v.params.idiom).map((v) => v.id);
  assert.deepEqual(idiom, [
    `W4 broadcast 1 KiB to 1,000 clients, ${W4_IDIOM} (server)`,
    `W4 broadcast 1 KiB to 1,000 clients, ${W4_PUBLISH} (server)`,
    `W3 1,000,000 × 16 B to a sink, ${W3_IDIOM} (client)`,
  ]);
  // W4 through topics: the managed sessions beside Deno's plain loop and the TCP ceiling.
  const publish = full.filter((v) => v.params.publish === true);
  assert.deepEqual(publish.map((v) => v.impls), [W4_PUBLISH_IMPLS]);
  assert.deepEqual(publish.map((v) => v.workload), ["W4"]);
  assert.equal(new Set(full.map((v) => v.id)).size, full.length);
  // W5: RSS without forced GC is the headline figure, after GC beside it.
  const w5 = full.find((v) => v.workload === "W5")!;
  assert.deepEqual(w5.metrics.map((m) => m.key), ["rssPerConnNoGc", "rssPerConn", "rate"]);
  // --base runs the new variants with the base implementations too, except publish: a base
  // checkout from before topics has none.
  const based = buildPlan(FULL, { base: true }).filter((v) => v.params.idiom);
  const plain = based.filter((v) => v.params.publish !== true);
  assert.ok(plain.every((v) => v.impls.includes("wirestream-base")));
  assert.ok(plain.every((v) => v.impls.includes("wirestream-raw-base")));
  const published = based.filter((v) => v.params.publish === true);
  assert.equal(published.length, 1);
  assert.ok(published.every((v) => !v.impls.some((i) => i.endsWith("-base"))));
});

Deno.test("targets of the variants as users write them, and of W5 without forced GC", () => {
  const plan = buildPlan(FULL, { only: ["W3", "W4", "W5"] });
  const figures: Record<string, Partial<Record<Impl, Record<string, number>>>> = {};
  for (const v of plan) {
    figures[v.id] = v.workload === "W5"
      ? {
        "wirestream": { rssPerConnNoGc: 13_500, rssPerConn: 9000, rate: 130 },
        "wirestream-raw": { rssPerConnNoGc: 14_500, rssPerConn: 9000, rate: 130 },
        "deno": { rssPerConnNoGc: 20_000, rssPerConn: 19_000, rate: 100 },
        "tcp": { rssPerConnNoGc: 8000, rssPerConn: 8000, rate: 50 },
      }
      : {
        "wirestream": { rate: 250 },
        "wirestream-raw": { rate: 150 },
        "deno": { rate: 100 },
        "ws": { rate: 100 },
        "tcp": { rate: 1000 },
      };
  }
  const run: RunRecord = {
    started: "2026-11-22T00:00:00.000Z",
    finished: "2026-11-22T00:01:00.000Z",
    seconds: 60,
    command: "deno task bench",
    quick: false,
    reps: 1,
    machine: {},
    variants: plan,
    cells: plan.flatMap((v) =>
      Object.entries(figures[v.id]!).map(([impl, result]) => ({
        variant: v.id,
        impl: impl as Impl,
        rep: 0,
        result,
      }))
    ),
  };
  const list = verdicts(run);
  const row = (title: string, role: string, impl: Impl, n = 0) =>
    list.filter((v) => v.variant.startsWith(title) && v.role === role && v.impl === impl)[n];
  // W3: client side only the plain send loop has a target (2× Deno); server side 3× Deno.
  assert.equal(row(`1,000,000 × 16 B to a sink, ${W3_IDIOM}`, "client", "wirestream")!.met, true);
  assert.equal(
    row(`1,000,000 × 16 B to a sink, ${W3_IDIOM}`, "client", "wirestream-raw")!.met,
    false,
  );
  assert.equal(row(`1,000,000 × 16 B to a sink, ${W3_BOUNDED}`, "client", "wirestream"), undefined);
  assert.equal(
    row("1,000,000 × 16 B to a sink", "server", "wirestream")!.target,
    "≥ 3× Deno built-in and ≥ 1.5× npm:ws messages/s",
  );
  // W4: every variant at 1.2× Deno, the plain loop first; publish also at 0.9 of TCP.
  const w4 = list.filter((v) => v.workload === "W4" && v.impl === "wirestream");
  assert.deepEqual(w4.map((v) => v.variant.split(", ").at(-1)), [
    W4_IDIOM,
    W4_PUBLISH,
    W4_PUBLISH,
    W4_ROUNDS,
  ]);
  assert.deepEqual(w4.map((v) => v.met), [true, true, false, true]);
  assert.equal(w4[2]!.measured, "0.25× of TCP");
  assert.equal(w4[2]!.target, "≥ 0.9 of the TCP ceiling deliveries/s");
  // W5: ≤ 14 KB without forced GC and 1.2× Deno's connections/s in both roles; after GC
  // ≤ 1.25× TCP on the server side; the server's route in event form has both targets too.
  const w5 = list.filter((v) => v.workload === "W5");
  assert.equal(w5.length, 8);
  assert.deepEqual(
    w5.filter((v) => v.variant.endsWith(W5_EVENTS)).map((v) => [v.role, v.impl]),
    [["server", "wirestream"], ["server", "wirestream"]],
  );
  const managed = w5.find((v) => v.role === "client" && v.impl === "wirestream")!;
  assert.equal(managed.measured, "13.5 KB RSS/conn, 1.30× conn/s of Deno");
  assert.equal(managed.met, true);
  assert.equal(w5.find((v) => v.role === "client" && v.impl === "wirestream-raw")!.met, false);
  const afterGc = w5.filter((v) => v.target === "RSS/conn after GC ≤ 1.25× TCP");
  assert.deepEqual(afterGc.map((v) => [v.role, v.measured, v.met]), [
    ["server", "1.13× RSS of TCP", true],
    ["server", "1.13× RSS of TCP", true],
    ["server", "1.13× RSS of TCP", true],
  ]);
  // A run saved before the variants as users write them (no `idiom`, no figure without GC).
  const old = {
    ...run,
    variants: plan.map((v) => ({ ...v, params: { ...v.params, idiom: undefined } })),
    cells: run.cells.map((c) => ({ ...c, result: { ...c.result!, rssPerConnNoGc: NaN } })),
  } as unknown as RunRecord;
  const oldList = verdicts(old);
  assert.ok(!oldList.some((v) => v.role === "client" && v.workload === "W3"));
  assert.equal(oldList.find((v) => v.workload === "W5")!.met, null);
});

Deno.test("the plain sink rounds: the warm-up, then the timed round, counts checked", async () => {
  const [variant] = buildPlan(QUICK, { only: ["W3"], roles: ["client"] });
  const params = variant!.params;
  assert.equal(params.idiom, true);
  const rounds: number[] = [];
  let sunk = 0;
  const result = await plainSinkRounds(params, (count) => {
    rounds.push(count);
    sunk += count;
    return Promise.resolve();
  }, () => Promise.resolve(sunk));
  assert.deepEqual(rounds, [params.warmupCount, params.count]);
  assert.equal(result.messages, params.count);
  await assert.rejects(
    plainSinkRounds(params, () => Promise.resolve(), () => Promise.resolve(1)),
    /the sink counted 1 messages, 10000 were sent/,
  );
  let queued = 3;
  await drained(() => queued--);
  assert.equal(queued, -1);
  await assert.rejects(drained(() => 1, 5), /still above 0/);
});

Deno.test("the scanner finds frames split at every byte", () => {
  const text = new TextEncoder().encode("hello, benchmark");
  const big = new Uint8Array(70_000).map((_, i) => i & 0xff);
  for (const masked of [false, true]) {
    const stream = new Uint8Array([
      ...encodeFrame(OP_TEXT, text, masked),
      ...encodeFrame(OP_BINARY, new Uint8Array(300), masked),
      ...encodeFrame(OP_BINARY, big, masked),
    ]);
    for (const step of [1, 2, 3, 7, 13, 4096, stream.length]) {
      const texts: string[] = [];
      let payload = 0;
      const scanner = new FrameScanner({
        onPayload: (chunk) => (payload += chunk.length),
        onFrame: (_op, _len, t) => {
          if (t !== null) texts.push(t);
        },
      });
      for (let i = 0; i < stream.length; i += step) {
        scanner.scan(stream, i, Math.min(stream.length, i + step));
      }
      assert.equal(scanner.frames, 3, `step ${step}`);
      assert.equal(scanner.dataFrames, 3);
      assert.equal(payload, text.length + 300 + big.length);
      assert.deepEqual(texts, ["hello, benchmark"]);
    }
  }
});

Deno.test("pre-encoded frames repeat exactly", () => {
  const one = encodeFrame(OP_BINARY, new Uint8Array(16).fill(7), true);
  const many = encodeFrames(OP_BINARY, new Uint8Array(16).fill(7), true, 5);
  assert.equal(many.length, one.length * 5);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(many.subarray(i * one.length, (i + 1) * one.length), one);
  }
  assert.deepEqual(one.subarray(2, 6), MASK_KEY);
  assert.equal(one[6], 7 ^ MASK_KEY[0]!);
});

Deno.test("unmaskInto matches a byte loop at every alignment and phase", () => {
  const key = new Uint8Array([1, 2, 3, 250]);
  const src = new Uint8Array(100).map((_, i) => (i * 37) & 0xff);
  for (let at = 0; at < 5; at++) {
    for (let phase = 0; phase < 4; phase++) {
      for (const len of [0, 1, 15, 16, 17, 99]) {
        const dst = new Uint8Array(120);
        unmaskInto(dst, at, src.subarray(1, 1 + len), key, phase);
        for (let i = 0; i < len; i++) {
          assert.equal(dst[at + i], src[1 + i]! ^ key[(phase + i) & 3]!, `at ${at} ${phase} ${i}`);
        }
      }
    }
  }
});

Deno.test("a signal wakes every waiter whose condition holds", async () => {
  const signal = new Signal();
  let x = 0;
  const a = signal.until(() => x >= 1);
  const b = signal.until(() => x >= 2);
  x = 1;
  signal.notify();
  await a;
  x = 2;
  signal.notify();
  await b;
  await signal.until(() => true);
});

Deno.test("profile summary: self and inclusive shares", () => {
  const frame = (functionName: string) => ({ functionName, url: "file:///x/a.ts", lineNumber: 0 });
  const s = summarize({
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2] },
      { id: 2, callFrame: frame("outer"), children: [3] },
      { id: 3, callFrame: frame("inner") },
    ],
    samples: [3, 3, 2, 1],
  });
  assert.equal(s.samples, 4);
  assert.deepEqual(s.self[0], { name: "inner a.ts:1", percent: 50 });
  assert.deepEqual(s.inclusive.find((x) => x.name === "outer a.ts:1"), {
    name: "outer a.ts:1",
    percent: 75,
  });
});

Deno.test("other load: /proc parsing and the note under a table", () => {
  assert.equal(busyTicks("cpu  100 2 30 5000 7 1 4 6 0 0\ncpu0 1 2 3\n"), 100 + 2 + 30 + 6);
  assert.ok(Number.isNaN(busyTicks("garbage")));
  const stat = "4242 (deno run (x)) S 1 2 3 4 5 6 7 8 9 10 120 35 0 0 20 0 9";
  assert.equal(processTicks(4242, stat), 155);
  const [variant] = buildPlan(FULL, { only: ["W3"], roles: ["server"] });
  const cell = (impl: typeof IMPLS[number], otherLoad: number, attempts = 1) => ({
    variant: variant!.id,
    impl,
    rep: 0,
    result: { rate: 1 },
    otherLoad,
    attempts,
  });
  const run: RunRecord = {
    started: "",
    finished: "",
    seconds: 1,
    command: "",
    quick: false,
    reps: 1,
    machine: {},
    variants: [variant!],
    cells: [cell("wirestream", 0.02), cell("deno", 0.1, 2), cell("tcp", 0.3)],
  };
  assert.equal(
    loadNote(run, variant!),
    "Other load on the machine during these cells: median 10% of a core, at most 30%; " +
      "1 cell run again because of it.",
  );
  assert.equal(loadNote({ ...run, cells: [] }, variant!), "");
});

Deno.test("--base: base implementations next to their counterparts, and their names", () => {
  assert.deepEqual(withBase(IMPLS), [
    "wirestream",
    "wirestream-base",
    "wirestream-raw",
    "wirestream-raw-base",
    "deno",
    "ws",
    "tcp",
  ]);
  const plain = buildPlan(FULL);
  const based = buildPlan(FULL, { base: true });
  assert.equal(based.length, plain.length);
  assert.ok(plain.every((v) => !v.impls.some((i) => i.endsWith("-base"))));
  const w6 = based.find((v) => v.workload === "W6")!;
  assert.deepEqual(w6.impls, ["wirestream", "wirestream-base", "ws"]);
  assert.deepEqual(cellProcesses(w6, "wirestream-base"), {
    server: "wirestream-base",
    client: "ws",
  });
  assert.equal(parseImpl("wirestream-managed"), "wirestream");
  assert.equal(parseImpl("wirestream-managed-base"), "wirestream-base");
  assert.equal(parseImpl("wirestream-raw-base"), "wirestream-raw-base");
  assert.equal(parseImpl("deno"), "deno");
  assert.equal(parseImpl("nope"), undefined);
});

Deno.test("--base: the library is loaded from this checkout, or from the base's", async () => {
  assert.equal(entryUrl("/a b/c/", "mod.ts"), "file:///a%20b/c/mod.ts");
  const server = await serverLib(false);
  const client = await clientLib(false);
  assert.equal(typeof server.createServer, "function");
  assert.equal(typeof client.webSocketRawSession, "function");
  // This checkout can serve as its own base.
  const root = new URL("../../", import.meta.url).pathname;
  assert.deepEqual(await checkBase(root), []);
  assert.equal((await checkBase("/nonexistent-checkout")).length, 3);
  const saved = Deno.env.get(BASE_ENV);
  Deno.env.delete(BASE_ENV);
  try {
    await assert.rejects(serverLib(true), new RegExp(BASE_ENV));
  } finally {
    if (saved !== undefined) Deno.env.set(BASE_ENV, saved);
  }
});

Deno.test("--base: ratios new/base, flagged in the direction that is worse", () => {
  assert.equal(isWorse(0.94, true), true);
  assert.equal(isWorse(0.96, true), false);
  assert.equal(isWorse(1.06, false), true);
  assert.equal(isWorse(0.5, false), false);
  assert.equal(isWorse(NaN, true), null);
  const [variant] = buildPlan(FULL, { only: ["W1"], roles: ["server"], base: true });
  const figures: Partial<Record<Impl, { rate: number; p50: number; p99: number }>> = {
    "wirestream": { rate: 90, p50: 10, p99: 20 },
    "wirestream-base": { rate: 100, p50: 10, p99: 20 },
    "wirestream-raw": { rate: 100, p50: 10, p99: 30 },
    "wirestream-raw-base": { rate: 100, p50: 10, p99: 20 },
    "deno": { rate: 100, p50: 10, p99: 20 },
    "ws": { rate: 50, p50: 20, p99: 40 },
    "tcp": { rate: 200, p50: 5, p99: 10 },
  };
  const run: RunRecord = {
    started: "2026-11-22T00:00:00.000Z",
    finished: "2026-11-22T00:01:00.000Z",
    seconds: 60,
    command: "deno task bench --base=../base",
    quick: false,
    reps: 1,
    machine: { "base checkout": "/base (abc1234 old)" },
    variants: [variant!],
    cells: Object.entries(figures).map(([impl, result]) => ({
      variant: variant!.id,
      impl: impl as Impl,
      rep: 0,
      result,
    })),
  };
  const list = baseComparisons(run);
  assert.equal(list.length, 6);
  assert.deepEqual(
    list.filter((c) => c.worse).map((c) => `${c.impl} ${c.metric.key}`),
    ["wirestream rate", "wirestream-raw p99"],
  );
  const report = renderReport(run);
  assert.match(report, /wirestream \(managed, base\) +\| +100 \|/);
  assert.match(report, /\| round trips\/s +\| +90\.0 \| +100 \| +0\.900× \| \*\*>5% worse\*\* \|/);
  assert.match(report, /2 of 6 figures more than 5% worse than the base: /);
  assert.doesNotMatch(report, /quick mode/);
  assert.match(renderReport({ ...run, quick: true }), /these verdicts are noise/);
  // Without base implementations the report has no such section.
  const plain = {
    ...run,
    command: "deno task bench",
    machine: {},
    variants: [{ ...variant!, impls: IMPLS }],
    cells: run.cells.filter((c) => !c.impl.endsWith("-base")),
  };
  assert.doesNotMatch(renderReport(plain), /base/);
  assert.deepEqual(baseComparisons(plain), []);
});
