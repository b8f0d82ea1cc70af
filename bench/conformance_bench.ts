/**
 * The Autobahn limits and compression categories at full size: category 9 (messages up to
 * 16 MiB, 4 MiB messages in 64-octet fragments, 1 MiB messages in 64-octet TCP chops, 1000
 * round trips) against the library in its four roles, and optionally categories 12 and 13 with
 * Autobahn's 1000 messages per case. CI runs the same cases scaled down
 * (tests/conformance/autobahn_test.ts). Prints each case's verdict and time, as Autobahn's
 * report does, then the table per category; exits non-zero on a FAILED verdict.
 *
 * ```sh
 * deno run -A bench/conformance_bench.ts                 # category 9, all four roles (~1 min)
 * deno run -A bench/conformance_bench.ts --deflate       # + 12 and 13, 1000 messages (~10 min)
 * deno run -A bench/conformance_bench.ts --target server/managed --cases 9.1,9.3
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { CaseResult, ConformanceCase } from "../tests/conformance/_dsl.ts";
import { FULL_SCALE, limitsCases } from "../tests/conformance/_cases_limits.ts";
import { deflateCases } from "../tests/conformance/_cases_deflate.ts";
import {
  runCases,
  summaryTable,
  targetDeflates,
  type TargetName,
  TARGETS,
} from "../tests/conformance/_runner.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      deflate: { type: "boolean", default: false },
      messages: { type: "string", default: "1000" },
      target: { type: "string", multiple: true },
      cases: { type: "string" },
      concurrency: { type: "string", default: "2" },
    },
  });
  const prefixes = values.cases?.split(",").map((s) => s.trim());
  const chosen = (c: ConformanceCase) =>
    !prefixes || prefixes.some((p) => c.id === p || c.id.startsWith(`${p}.`));
  const cases = [
    ...limitsCases(FULL_SCALE),
    ...(values.deflate ? deflateCases(Number(values.messages)) : []),
  ].filter(chosen);
  const targets = (values.target ?? TARGETS) as TargetName[];
  const results: CaseResult[] = [];
  const started = performance.now();
  for (const target of targets) {
    const mine = cases.filter((c) => !c.deflate || targetDeflates(target));
    console.log(`\n## ${target}: ${mine.length} cases`);
    const got = await runCases(target, mine, {
      // Big cases one or two at a time, so that the timings mean something.
      concurrency: Number(values.concurrency),
      onResult: (r) => {
        const note = r.verdict === "OK" ? "" : `  ${r.reason}`;
        console.log(
          `${r.id.padEnd(8)} ${r.verdict.padEnd(13)} ${r.ms.toFixed(0).padStart(7)} ms${note}`,
        );
      },
    });
    results.push(...got);
  }
  console.log(`\n${summaryTable(results)}\n`);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return results.some((r) => r.verdict === "FAILED") ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
