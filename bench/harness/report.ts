/**
 * Turns the cells of a run into tables: per variant, each implementation's median with its
 * range and its ratios to the baselines measured in the same run; with `--base`, every figure of
 * wirestream over the same figure of the base checkout; then the targets (issue 7's, and those
 * of the variants as users write them), met or missed.
 *
 * @module
 */

import { BASE_OF, type Impl, IMPL_NAMES, type Metric, type Role, type Variant } from "./plan.ts";
import { formatNumber, formatRatio, formatSpread, markdownTable, median, ratio } from "./stats.ts";

/** One measurement: an implementation in one repetition of a variant. */
export interface CellRecord {
  /** The variant id. */
  variant: string;
  /** The implementation. */
  impl: Impl;
  /** The repetition, from 0. */
  rep: number;
  /** The figures, when the cell ran. */
  result?: Record<string, number>;
  /** Why the cell failed, when it did. */
  error?: string;
  /** CPU used by other work on the machine while the kept run ran, in cores. */
  otherLoad?: number;
  /** How many times the cell ran (more than once when other work disturbed it). */
  attempts?: number;
}

/** Everything a run produced. */
export interface RunRecord {
  /** ISO start time. */
  started: string;
  /** ISO end time. */
  finished: string;
  /** Wall time in seconds. */
  seconds: number;
  /** The command line. */
  command: string;
  /** Quick mode. */
  quick: boolean;
  /** Repetitions. */
  reps: number;
  /** Machine facts (CPU, cores, Deno, load averages, file descriptor limit). */
  machine: Record<string, string>;
  /** The variants run. */
  variants: Variant[];
  /** The cells. */
  cells: CellRecord[];
}

/** The samples of `key` for `impl` in `variant`. */
export function samples(run: RunRecord, variant: string, impl: Impl, key: string): number[] {
  return run.cells
    .filter((c) => c.variant === variant && c.impl === impl && c.result !== undefined)
    .map((c) => c.result![key] ?? NaN);
}

/** The median of `key` for `impl` in `variant`. */
export function med(run: RunRecord, variant: string, impl: Impl, key: string): number {
  return median(samples(run, variant, impl, key));
}

const SHORT: Readonly<Record<Impl, string>> = {
  "wirestream": "wirestream",
  "wirestream-raw": "raw",
  "deno": "Deno",
  "ws": "ws",
  "tcp": "TCP",
  "wirestream-base": "wirestream base",
  "wirestream-raw-base": "raw base",
};

/** The implementations a variant's ratios are taken against. */
export function baselines(variant: Variant): Impl[] {
  return variant.impls.includes("deno")
    ? variant.impls.filter((i) => i === "deno" || i === "tcp")
    : variant.impls.filter((i) => i === "ws");
}

/**
 * The table of one variant.
 *
 * @param run The run.
 * @param variant The variant.
 */
export function variantTable(run: RunRecord, variant: Variant): string {
  const bases = baselines(variant);
  const ratioMetrics = variant.metrics.filter((m, i) =>
    i === 0 || m.key === "rate" || m.key === "wire"
  );
  const header = [
    "implementation",
    ...variant.metrics.map((m, i) => i === 0 ? `${m.label}, median (min–max)` : m.label),
    ...ratioMetrics.flatMap((m) =>
      bases.map((b) =>
        `${ratioMetrics.length > 1 ? `${m.short} ` : ""}vs ${b === "tcp" ? "TCP" : SHORT[b]}`
      )
    ),
  ];
  const rows = variant.impls.map((impl) => {
    const failed = run.cells.filter((c) =>
      c.variant === variant.id && c.impl === impl && c.error !== undefined
    ).length;
    const cells = [
      IMPL_NAMES[impl] + (failed > 0 ? ` (${failed} failed)` : ""),
      ...variant.metrics.map((m, i) => {
        const s = samples(run, variant.id, impl, m.key);
        return i === 0 ? formatSpread(s) : formatNumber(median(s));
      }),
      ...ratioMetrics.flatMap((m) =>
        bases.map((b) =>
          formatRatio(ratio(med(run, variant.id, impl, m.key), med(run, variant.id, b, m.key)))
        )
      ),
    ];
    return cells;
  });
  return markdownTable(header, rows, header.map((_, i) => (i === 0 ? "l" : "r")));
}

/**
 * One line on the machine's other load during a variant's cells (empty when not measured).
 *
 * @param run The run.
 * @param variant The variant.
 */
export function loadNote(run: RunRecord, variant: Variant): string {
  const cells = run.cells.filter((c) => c.variant === variant.id && c.result !== undefined);
  const loads = cells.map((c) => c.otherLoad ?? NaN).filter(Number.isFinite);
  if (loads.length === 0) return "";
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const rerun = cells.filter((c) => (c.attempts ?? 1) > 1).length;
  return `Other load on the machine during these cells: median ${pct(median(loads))} of a core, ` +
    `at most ${pct(Math.max(...loads))}` +
    (rerun > 0 ? `; ${rerun} cell${rerun > 1 ? "s" : ""} run again because of it.` : ".");
}

/** How much worse than the base a figure may be before the comparison flags it. */
export const WORSE_LIMIT = 0.05;

/** One figure of a wirestream implementation over the same figure of its base counterpart. */
export interface BaseComparison {
  /** The variant. */
  variant: Variant;
  /** The implementation of this checkout. */
  impl: Impl;
  /** The figure. */
  metric: Metric;
  /** Its median for `impl`. */
  value: number;
  /** Its median for the base counterpart. */
  base: number;
  /** `value / base` (`NaN` when either is missing). */
  ratio: number;
  /** More than {@linkcode WORSE_LIMIT} worse than the base; `null` when not measured. */
  worse: boolean | null;
}

/**
 * Whether a ratio new/base is more than {@linkcode WORSE_LIMIT} worse, in the direction that is
 * worse for the figure (lower throughput, higher latency, RSS or wire bytes); `null` when the
 * ratio is missing.
 *
 * @param r The ratio new / base.
 * @param higherIsBetter Whether more is better for the figure.
 */
export function isWorse(r: number, higherIsBetter: boolean): boolean | null {
  if (!Number.isFinite(r)) return null;
  return higherIsBetter ? r < 1 - WORSE_LIMIT : r > 1 + WORSE_LIMIT;
}

/**
 * Every figure of every wirestream implementation that ran beside its base counterpart
 * (`--base`), over the base's; empty for a run without one.
 *
 * @param run The run.
 */
export function baseComparisons(run: RunRecord): BaseComparison[] {
  const out: BaseComparison[] = [];
  for (const variant of run.variants) {
    for (const impl of variant.impls) {
      const counterpart = BASE_OF[impl];
      if (counterpart === undefined || !variant.impls.includes(counterpart)) continue;
      for (const metric of variant.metrics) {
        const value = med(run, variant.id, impl, metric.key);
        const base = med(run, variant.id, counterpart, metric.key);
        const r = ratio(value, base);
        out.push({
          variant,
          impl,
          metric,
          value,
          base,
          ratio: r,
          worse: isWorse(r, metric.higherIsBetter),
        });
      }
    }
  }
  return out;
}

/** A ratio new/base as `"0.962×"` (three decimals, to read the 5% limit), or `"n/a"`. */
function formatBaseRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(3)}×` : "n/a";
}

/** The comparisons with the base as a Markdown table, one row per figure. */
export function baseTable(list: readonly BaseComparison[]): string {
  return markdownTable(
    ["workload", "role", "implementation", "figure", "new", "base", "new / base", "verdict"],
    list.map((c) => [
      `${c.variant.workload} ${c.variant.title}`,
      c.variant.role,
      IMPL_NAMES[c.impl],
      c.metric.label,
      formatNumber(c.value),
      formatNumber(c.base),
      formatBaseRatio(c.ratio),
      c.worse === null ? "not measured" : c.worse ? `**>${WORSE_LIMIT * 100}% worse**` : "ok",
    ]),
    ["l", "l", "l", "l", "r", "r", "r", "l"],
  );
}

/** The section comparing this checkout with the base (`--base`); empty without one. */
export function baseSection(run: RunRecord): string {
  const list = baseComparisons(run);
  if (list.length === 0) return "";
  const limit = `${WORSE_LIMIT * 100}%`;
  const worse = list.filter((c) => c.worse === true);
  const missing = list.filter((c) => c.worse === null).length;
  return [
    "### This checkout against the base checkout: new / base of the medians",
    "",
    `Each figure of wirestream as of this checkout over the same figure of the base checkout ` +
    `(both named in the machine table), both driven by this checkout's harness and ` +
    `interleaved in every repetition. A figure is **>${limit} worse** when its throughput is ` +
    `more than ${limit} lower, or its latency, RSS or wire bytes more than ${limit} higher, than ` +
    `the base's.` +
    (run.quick
      ? " In quick mode (one short repetition) these verdicts are noise: judge on a full run."
      : ""),
    "",
    baseTable(list),
    "",
    `${worse.length} of ${list.length} figures more than ${limit} worse than the base` +
    (missing > 0 ? ` (${missing} not measured)` : "") +
    (worse.length > 0 && worse.length <= 12
      ? `: ${
        worse.map((c) =>
          `${c.variant.workload} ${c.variant.title} (${c.variant.role}), ${IMPL_NAMES[c.impl]}, ` +
          `${c.metric.short} ${formatBaseRatio(c.ratio)}`
        ).join("; ")
      }.`
      : "."),
  ].join("\n");
}

/** A target of the issue, checked for one implementation in one variant. */
export interface Verdict {
  /** The workload. */
  workload: string;
  /** The variant title. */
  variant: string;
  /** Its role. */
  role: Role;
  /** The implementation. */
  impl: Impl;
  /** The target, in words. */
  target: string;
  /** The measured ratios. */
  measured: string;
  /** Met, missed, or not measured (`null`). */
  met: boolean | null;
}

/** Checks a list of `[label, value, predicate]`; `null` when a value is missing. */
function judge(checks: readonly Check[]): {
  measured: string;
  met: boolean | null;
} {
  const measured = checks.map(([label, v, , format]) => `${(format ?? formatRatio)(v)} ${label}`)
    .join(", ");
  if (checks.some(([, v]) => !Number.isFinite(v))) return { measured, met: null };
  return { measured, met: checks.every(([, v, ok]) => ok(v)) };
}

/**
 * One figure checked against a target: its label, its value, whether it meets it, and how it
 * is written (a ratio `1.23×` unless given).
 */
type Check = [string, number, (v: number) => boolean, ((v: number) => string)?];

/** Bytes as kilobytes (10^3), `"13.2 KB"`. */
function kilobytes(v: number): string {
  return Number.isFinite(v) ? `${(v / 1000).toFixed(1)} KB` : "n/a";
}

/**
 * Reads a figure of the implementation checked: its median over the median of `base` (an
 * implementation), or, with `base` `null`, the median itself.
 */
type Figure = (key: string, base: Impl | null) => number;

/** A target: the variants it applies to, in words, and its checks. */
export interface Target {
  /** The workload. */
  workload: string;
  /** The roles it applies to. */
  roles: readonly Role[];
  /**
   * Only the variant as users write it (`true`), only the other one (`false`), or either
   * (absent).
   */
  idiom?: boolean;
  /** Only the variant through topics (`true`), or any (absent). */
  publish?: boolean;
  /** The target, in words. */
  text: string;
  /** The figures checked. */
  checks(figure: Figure): Check[];
}

/** The largest RSS per idle connection without forced GC, in bytes (14 KB). */
export const W5_RSS_LIMIT = 14_000;

/**
 * The targets: issue 7's (W1-W6 on the server side), and those of "speed as users write it"
 * (W1 in both roles, W3 and W4 as users write them, W5 RSS without forced GC in both roles),
 * which replace issue 7's where they are stricter (W1, W5 connections/s); and W4 through
 * topics against the TCP ceiling.
 */
export const TARGETS: readonly Target[] = [
  {
    workload: "W1",
    roles: ["server", "client"],
    text: "≥ 1.1× Deno built-in round trips/s, p99 ≤ Deno's",
    checks: (f) => [
      ["of Deno", f("rate", "deno"), (x) => x >= 1.1],
      ["p99 of Deno", f("p99", "deno"), (x) => x <= 1],
    ],
  },
  {
    workload: "W2",
    roles: ["server"],
    text: "≥ 1.5× Deno built-in MB/s and ≥ 0.6 of TCP",
    checks: (f) => [
      ["of Deno", f("mbps", "deno"), (x) => x >= 1.5],
      ["of TCP", f("mbps", "tcp"), (x) => x >= 0.6],
    ],
  },
  {
    workload: "W3",
    roles: ["server"],
    text: "≥ 3× Deno built-in and ≥ 1.5× npm:ws messages/s",
    checks: (f) => [
      ["of Deno", f("rate", "deno"), (x) => x >= 3],
      ["of ws", f("rate", "ws"), (x) => x >= 1.5],
    ],
  },
  {
    workload: "W3",
    roles: ["client"],
    idiom: true,
    text: "≥ 2× Deno built-in messages/s",
    checks: (f) => [["of Deno", f("rate", "deno"), (x) => x >= 2]],
  },
  {
    workload: "W4",
    roles: ["server"],
    text: "≥ 1.2× Deno built-in deliveries/s",
    checks: (f) => [["of Deno", f("rate", "deno"), (x) => x >= 1.2]],
  },
  {
    workload: "W4",
    roles: ["server"],
    publish: true,
    text: "≥ 0.9 of the TCP ceiling deliveries/s",
    checks: (f) => [["of TCP", f("rate", "tcp"), (x) => x >= 0.9]],
  },
  {
    workload: "W5",
    roles: ["server", "client"],
    text: "RSS/conn without forced GC ≤ 14 KB; connections/s ≥ 1.2× Deno built-in",
    checks: (f) => [
      ["RSS/conn", f("rssPerConnNoGc", null), (x) => x <= W5_RSS_LIMIT, kilobytes],
      ["conn/s of Deno", f("rate", "deno"), (x) => x >= 1.2],
    ],
  },
  {
    workload: "W5",
    roles: ["server"],
    text: "RSS/conn after GC ≤ 1.25× TCP",
    checks: (f) => [["RSS of TCP", f("rssPerConn", "tcp"), (x) => x <= 1.25]],
  },
  {
    workload: "W6",
    roles: ["server"],
    text: "messages/s ≥ npm:ws, wire bytes ≤ npm:ws",
    checks: (f) => [
      ["msg/s of ws", f("rate", "ws"), (x) => x >= 1],
      ["wire of ws", f("wire", "ws"), (x) => x <= 1.005],
    ],
  },
];

/** Whether `target` applies to `variant`. */
function applies(target: Target, variant: Variant): boolean {
  return target.workload === variant.workload && target.roles.includes(variant.role) &&
    (target.idiom === undefined || target.idiom === (variant.params.idiom ?? false)) &&
    (target.publish === undefined || target.publish === (variant.params.publish ?? false));
}

/**
 * Checks the targets for wirestream (managed and raw), one row per target, variant and
 * implementation, in the order of the report's tables.
 *
 * @param run The run.
 */
export function verdicts(run: RunRecord): Verdict[] {
  const out: Verdict[] = [];
  for (const v of run.variants) {
    const targets = TARGETS.filter((t) => applies(t, v));
    for (const impl of v.impls.filter((i) => i === "wirestream" || i === "wirestream-raw")) {
      const figure: Figure = (key, base) => {
        const value = med(run, v.id, impl, key);
        return base === null ? value : ratio(value, med(run, v.id, base, key));
      };
      for (const t of targets) {
        out.push({
          workload: v.workload,
          variant: v.title,
          role: v.role,
          impl,
          target: t.text,
          ...judge(t.checks(figure)),
        });
      }
    }
  }
  return out;
}

/** The targets as a Markdown table. */
export function verdictTable(list: readonly Verdict[]): string {
  return markdownTable(
    ["workload", "role", "implementation", "target", "measured", "met"],
    list.map((v) => [
      `${v.workload} ${v.variant}`,
      v.role,
      IMPL_NAMES[v.impl],
      v.target,
      v.measured,
      v.met === null ? "not measured" : v.met ? "yes" : "**no**",
    ]),
  );
}

/**
 * The full report (Markdown): how it was made, every variant's table, the comparison with the
 * base checkout (`--base`), the targets.
 *
 * @param run The run.
 */
export function renderReport(run: RunRecord): string {
  const parts: string[] = [];
  parts.push(
    `Produced by \`${run.command}\` on ${run.started.slice(0, 10)} ` +
      `(${
        run.quick
          ? "quick mode: one repetition, small sizes; not comparable"
          : `${run.reps} interleaved repetitions`
      }, ` +
      `${Math.round(run.seconds)} s wall time).`,
  );
  parts.push("");
  parts.push(
    markdownTable(
      ["machine", ""],
      Object.entries(run.machine).map(([k, v]) => [k, v]),
    ),
  );
  for (const role of ["server", "client"] as const) {
    const list = run.variants.filter((v) => v.role === role);
    if (list.length === 0) continue;
    parts.push("");
    parts.push(
      role === "server"
        ? "### Server side: every server driven by the same neutral load generator"
        : "### Client side: every client driving the same neutral server",
    );
    for (const v of list) {
      parts.push("");
      parts.push(`#### ${v.workload} ${v.title}`);
      parts.push("");
      parts.push(variantTable(run, v));
      const note = loadNote(run, v);
      if (note !== "") {
        parts.push("");
        parts.push(note);
      }
    }
  }
  const errors = run.cells.filter((c) => c.error !== undefined);
  if (errors.length > 0) {
    parts.push("");
    parts.push("### Failed cells");
    parts.push("");
    for (const c of errors.slice(0, 30)) {
      parts.push(
        `- ${c.variant}, ${IMPL_NAMES[c.impl]}, repetition ${c.rep + 1}: ${
          c.error!.split("\n")[0]!.slice(0, 200)
        }`,
      );
    }
  }
  const comparison = baseSection(run);
  if (comparison !== "") {
    parts.push("");
    parts.push(comparison);
  }
  parts.push("");
  parts.push(
    "### Targets against this run's peers: W1, W3 and W5 in both roles, W2, W4 and W6 server " +
      "side",
  );
  parts.push("");
  parts.push(verdictTable(verdicts(run)));
  return parts.join("\n") + "\n";
}

/** Markers around the generated part of BENCHMARKS.md. */
export const BEGIN = "<!-- BEGIN GENERATED BY bench/run.ts -->";
/** End marker. */
export const END = "<!-- END GENERATED BY bench/run.ts -->";

/**
 * Puts `generated` between the markers of `doc` (hand-written text outside them is kept); a
 * document without markers gets them appended.
 *
 * @param doc The current BENCHMARKS.md (or `""`).
 * @param generated The generated Markdown.
 */
export function spliceGenerated(doc: string, generated: string): string {
  const block = `${BEGIN}\n\n${generated.trim()}\n\n${END}`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) return doc.slice(0, a) + block + doc.slice(b + END.length);
  return `${doc.trimEnd()}${doc.trim() === "" ? "" : "\n\n"}${block}\n`;
}
