/**
 * `deno task bench`: wirestream beside Deno's built-in WebSocket, npm:ws under Deno and the TCP
 * ceiling, in one run on one machine. Each cell runs a server process and a client process
 * (`Deno.Command`); implementations are interleaved in every repetition (A B C A B C …);
 * medians, ranges and ratios to the baselines of the same run are printed and written to
 * BENCHMARKS.md. The headline rows are the loops as users write them: W3 (client side) with
 * every wirestream `send` awaited and plain `send` loops for Deno's `WebSocket` and npm:ws, W4
 * with a plain loop of sends over the sessions; beside them W4 through topics (one awaited
 * `server.publish` per message, against the TCP ceiling and Deno's plain loop of the same run)
 * and the harness's flow-controlled loops. W5's RSS per connection is measured from one collected baseline (before the first
 * connection) to the last connection, first as the process stands (the headline), then after
 * garbage collection (`--expose-gc`).
 *
 * Usage:
 *
 *     deno task bench                      # full run, writes BENCHMARKS.md (about 11 min)
 *     deno task bench --quick              # each workload once, small sizes (about 40 s)
 *     deno task bench --only=W1,W3 --role=server --reps=3
 *     deno task bench --base=../base       # also wirestream from the checkout ../base
 *
 * Options: `--quick`, `--reps=N` (default 5), `--only=W1,…`, `--role=server|client`,
 * `--impl=a,b` (keep only these implementations: `wirestream` or `wirestream-managed`,
 * `wirestream-raw`, `deno`, `ws`, `tcp`, and with `--base` also `wirestream-base` or
 * `wirestream-managed-base` and `wirestream-raw-base`), `--base=PATH` (run the wirestream
 * implementations a second time, with the library's entry modules `mod.ts`, `raw.ts` and
 * `server.ts` loaded from the checkout at PATH and driven by this checkout's harness; each runs
 * right after its counterpart in every repetition, and the report gains a table of the ratios
 * new/base of the medians, flagging every figure more than 5% worse), `--write` / `--no-write`
 * (BENCHMARKS.md: written by default only by a full, unfiltered run without `--base`),
 * `--out=PATH` (default BENCHMARKS.md), `--json=PATH` (raw cells), `--profile=DIR` (a V8 CPU
 * profile of every measured process, in `DIR/<variant>/<impl>-<rep>/`; summarise them with
 * `bench/harness/profile_summary.ts`), `--render=PATH` (print the report of a run saved with
 * `--json`, measuring nothing; with `--write`, also into BENCHMARKS.md), `--max-other-load=CORES`
 * and `--retries=N` (a cell during which other processes used more than 0.25 of a core is run
 * again, up to 2 more times and for at most a tenth of the cells, keeping the calmest run; no
 * re-runs in quick mode). The exit status is non-zero only when a cell failed to run, never
 * because of a figure.
 *
 * The micro benchmarks of the core stay with `deno bench -A bench/`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  ALL_IMPLS,
  buildPlan,
  cellProcesses,
  FULL,
  type Impl,
  IMPL_ALIASES,
  IMPL_NAMES,
  isBase,
  parseImpl,
  QUICK,
  type Role,
  type Variant,
} from "./harness/plan.ts";
import { BASE_ENV, checkBase } from "./harness/lib.ts";
import { OtherLoad, processTicks } from "./harness/load.ts";
import { Proc, ROOT } from "./harness/proc.ts";
import {
  type CellRecord,
  renderReport,
  type RunRecord,
  spliceGenerated,
} from "./harness/report.ts";
import { formatNumber } from "./harness/stats.ts";

const SERVER_MAIN = "bench/harness/server_main.ts";
const CLIENT_MAIN = "bench/harness/client_main.ts";

/** How long a cell's client may take, by workload shape. */
function clientTimeout(variant: Variant): number {
  switch (variant.params.kind) {
    case "idle":
      return 180_000;
    case "broadcast":
      return 90_000;
    default:
      return 60_000;
  }
}

/** What one run of a cell gives. */
export interface CellOutcome {
  /** The figures. */
  result: Record<string, number>;
  /** CPU used by other work on the machine meanwhile, in cores (`NaN` when unknown). */
  otherLoad: number;
}

/**
 * Runs one cell: the server process, then the client process; returns the figures and how
 * busy the machine was with other work meanwhile.
 *
 * @param variant The variant.
 * @param impl The implementation measured.
 * @param profileDir Where the measured process writes a CPU profile, if anywhere.
 * @param base The base checkout's directory (`--base`), for the `…-base` implementations.
 */
export async function runCell(
  variant: Variant,
  impl: Impl,
  profileDir?: string,
  base?: string,
): Promise<CellOutcome> {
  const { server, client } = cellProcesses(variant, impl);
  const params = JSON.stringify(variant.params);
  const prof = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const measured = variant.role === "server" ? "server" : "client";
  const env: Record<string, string> = base === undefined ? {} : { [BASE_ENV]: base };
  const load = new OtherLoad();
  const srv = new Proc(SERVER_MAIN, [server, params], measured === "server" ? prof : [], env);
  let cli: Proc | null = null;
  const outcome = (result: Record<string, number>): CellOutcome => {
    // The client reports its own CPU time; the server is still running and is read directly.
    const { cpuTicks, ...figures } = result;
    return { result: figures, otherLoad: load.cores((cpuTicks ?? NaN) + processTicks(srv.pid)) };
  };
  try {
    const { port } = await srv.expect("READY", 30_000);
    const idle = variant.params.kind === "idle";
    const serverRss = idle && variant.role === "server";
    let before = 0;
    if (serverRss) {
      await srv.send("gc");
      before = (await srv.expect("GC", 10_000)).rss!;
    }
    cli = new Proc(
      CLIENT_MAIN,
      [client, params, String(port)],
      measured === "client" ? prof : [],
      env,
    );
    if (!idle) return outcome(await cli.expect("RESULT", clientTimeout(variant)));
    const open = await cli.expect("OPEN", clientTimeout(variant));
    if (serverRss) {
      // From the same collected baseline: first as the server stands, then after collection.
      await srv.send("mem");
      const standing = (await srv.expect("MEM", 10_000)).rss!;
      await srv.send("gc");
      const after = (await srv.expect("GC", 10_000)).rss!;
      open.rssPerConnNoGc = (standing - before) / open.connections!;
      open.rssPerConn = (after - before) / open.connections!;
    }
    return outcome(open);
  } finally {
    await cli?.stop(5000);
    await srv.stop(1000);
  }
}

async function shell(command: string): Promise<string> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", command], stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  return {
    "CPU": `${model}, ${navigator.hardwareConcurrency} cores`,
    "memory": Number.isFinite(memKb) ? `${Math.round(memKb / 1024 / 1024)} GiB` : "unknown",
    "OS": `${Deno.build.os} ${Deno.osRelease()}`,
    "Deno": `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    "npm:ws": "8.23.0",
    "open files limit": await shell("ulimit -n"),
  };
}

/** The commit checked out at `dir`, e.g. `9cbef38: Merge …` (with `, with changes` when dirty). */
async function commitOf(dir: string): Promise<string> {
  const git = async (...args: string[]): Promise<string | null> => {
    try {
      const out = await new Deno.Command("git", { args: ["-C", dir, ...args], stderr: "null" })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const head = await git("log", "-1", "--format=%h: %s");
  if (head === null || head === "") return "unknown commit";
  const dirty = await git("status", "--porcelain", "--untracked-files=no");
  return `${head.length > 70 ? head.slice(0, 69) + "…" : head}${dirty ? ", with changes" : ""}`;
}

/**
 * The base checkout of `--base=path`, as an absolute directory, checked to export what the
 * harness uses; `null` (after printing why) when it cannot serve.
 */
async function resolveBase(path: string): Promise<string | null> {
  let dir: string;
  try {
    dir = await Deno.realPath(path);
  } catch {
    console.error(`--base: no directory ${path}`);
    return null;
  }
  const problems = await checkBase(dir);
  if (problems.length > 0) {
    console.error(`--base: ${dir} cannot serve as a base: ${problems.join("; ")}`);
    return null;
  }
  return dir;
}

function loadavg(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}

function progress(text: string): void {
  console.error(text);
}

function summary(variant: Variant, result: Record<string, number>): string {
  return variant.metrics.map((m) => `${formatNumber(result[m.key] ?? NaN)} ${m.label}`).join(", ");
}

/**
 * Writes `report` between the markers of the Markdown file at `out` (relative to the repository
 * root), keeping the hand-written text around them, and formats it as `deno fmt` would.
 */
async function publish(out: string, report: string): Promise<void> {
  const path = out.startsWith("/") ? out : ROOT + out;
  const doc = await Deno.readTextFile(path).catch(() => "");
  await Deno.writeTextFile(path, spliceGenerated(doc, report));
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path], cwd: ROOT }).output();
  progress(`wrote ${path}`);
}

/** Runs the benchmark with command-line `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      reps: { type: "string" },
      only: { type: "string" },
      role: { type: "string" },
      impl: { type: "string" },
      base: { type: "string" },
      write: { type: "boolean" },
      "no-write": { type: "boolean", default: false },
      out: { type: "string", default: "BENCHMARKS.md" },
      json: { type: "string" },
      profile: { type: "string" },
      render: { type: "string" },
      retries: { type: "string" },
      "max-other-load": { type: "string" },
    },
  });
  if (values.render !== undefined) {
    // Re-render a saved run (--json) without measuring anything.
    const saved = JSON.parse(await Deno.readTextFile(values.render)) as RunRecord;
    const report = renderReport(saved);
    console.log(report);
    if (values.write === true) await publish(values.out, report);
    return 0;
  }
  const quick = values.quick;
  const reps = quick ? 1 : Math.max(1, Number(values.reps ?? 5));
  const only = values.only?.split(",").map((s) => s.trim().toUpperCase());
  const roles = values.role !== undefined ? [values.role as Role] : undefined;
  const implNames = values.impl?.split(",").map((s) => s.trim());
  const impls = implNames?.map(parseImpl);
  if (impls?.some((i) => i === undefined)) {
    console.error(`--impl takes ${[...ALL_IMPLS, ...Object.keys(IMPL_ALIASES)].join(", ")}`);
    return 2;
  }
  if (values.base === undefined && impls?.some((i) => isBase(i!))) {
    console.error("--impl: the base implementations need --base=PATH");
    return 2;
  }
  const base = values.base === undefined ? undefined : await resolveBase(values.base);
  if (base === null) return 2;
  const filtered = only !== undefined || roles !== undefined || impls !== undefined ||
    values.reps !== undefined || values.profile !== undefined || base !== undefined;
  const write = values["no-write"] ? false : values.write ?? (!quick && !filtered);

  const scale = { ...(quick ? QUICK : FULL) };
  const info = await machine();
  const fdLimit = Number(info["open files limit"]);
  if (Number.isFinite(fdLimit) && fdLimit < scale.w5Connections + 256) {
    scale.w5Connections = Math.max(100, Math.floor((fdLimit - 256) / 100) * 100);
    info["W5 connections"] = `${scale.w5Connections} (open files limit ${fdLimit})`;
  }
  if (base !== undefined) {
    info["this checkout"] = `${ROOT.replace(/\/$/, "")} at ${await commitOf(ROOT)}`;
    info["base checkout"] = `${base} at ${await commitOf(base)}`;
  }
  const variants = buildPlan(scale, { only, roles, base: base !== undefined }).map((v) =>
    impls === undefined ? v : { ...v, impls: v.impls.filter((i) => impls.includes(i)) }
  ).filter((v) => v.impls.length > 0);

  const command = `deno task bench${args.length > 0 ? " " + args.join(" ") : ""}`;
  const started = new Date();
  const t0 = performance.now();
  info["load average at start"] = loadavg();
  const total = variants.reduce((n, v) => n + v.impls.length * reps, 0);
  const maxOtherLoad = Number(values["max-other-load"] ?? 0.25);
  const retries = quick ? 0 : Math.max(0, Number(values.retries ?? 2));
  // Re-runs are bounded for the whole run too (a tenth of the cells), to keep its duration.
  let retryBudget = Math.ceil(total / 10);
  progress(`${command}: ${variants.length} variants × ${reps} repetitions, ${total} cells`);
  const cells: CellRecord[] = [];
  let done = 0;
  for (const variant of variants) {
    for (let rep = 0; rep < reps; rep++) {
      for (const impl of variant.impls) {
        done++;
        const label = `[${done}/${total}] ${variant.id} #${rep + 1} ${IMPL_NAMES[impl]}`;
        try {
          const dir = values.profile === undefined
            ? undefined
            : `${values.profile}/${
              variant.id.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")
            }/${impl}-${rep + 1}`;
          // A cell that other work disturbed is run again (bounded), keeping the calmest run.
          let best: CellOutcome | null = null;
          let attempts = 0;
          while (true) {
            const outcome = await runCell(variant, impl, dir, base);
            attempts++;
            if (best === null || !(outcome.otherLoad >= best.otherLoad)) best = outcome;
            if (!(outcome.otherLoad > maxOtherLoad) || attempts > retries || retryBudget <= 0) {
              break;
            }
            retryBudget--;
            progress(
              `${label}: other load ${outcome.otherLoad.toFixed(2)} cores, running it again`,
            );
            await new Promise((resolve) => setTimeout(resolve, 2000));
          }
          const { result, otherLoad } = best;
          cells.push({ variant: variant.id, impl, rep, result, otherLoad, attempts });
          progress(`${label}: ${summary(variant, result)} (other load ${otherLoad.toFixed(2)})`);
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          cells.push({ variant: variant.id, impl, rep, error });
          progress(`${label}: FAILED ${error}`);
        }
      }
    }
  }
  info["load average at end"] = loadavg();
  const run: RunRecord = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    command,
    quick,
    reps,
    machine: info,
    variants,
    cells,
  };
  const report = renderReport(run);
  console.log(report);
  if (values.json !== undefined) {
    await Deno.writeTextFile(values.json, JSON.stringify(run, null, 1));
  }
  if (write) await publish(values.out, report);
  progress(`done in ${Math.round(run.seconds)} s`);
  return cells.some((c) => c.error !== undefined) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
