/**
 * The Autobahn|Testsuite cases (categories 1-7, 9 scaled down, 10, 12 and 13), run against the
 * library in four roles: the server with a managed and with a raw echo route, the managed client
 * and the raw client (each echoing), with a scripted peer on the other end (see _dsl.ts).
 *
 * A case fails its test on a FAILED verdict; OK, NON-STRICT and INFORMATIONAL pass, as in
 * Autobahn's reports. The last test prints the verdicts per category and role.
 *
 * `CONFORMANCE_CASES=6.4,7.1.1 deno test -A tests/conformance/autobahn_test.ts` runs only the
 * cases with those ids or id prefixes, and prints every verdict.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CaseResult, ConformanceCase } from "./_dsl.ts";
import { basicCases } from "./_cases_basic.ts";
import { utf8Cases } from "./_cases_utf8.ts";
import { CI_SCALE, limitsCases } from "./_cases_limits.ts";
import { deflateCases } from "./_cases_deflate.ts";
import { runCases, summaryTable, targetDeflates, TARGETS } from "./_runner.ts";

/** Messages per permessage-deflate case in CI (Autobahn: 1000; see bench/conformance_bench.ts). */
const DEFLATE_MESSAGES = 5;

const filter = Deno.env.get("CONFORMANCE_CASES")?.split(",").map((s) => s.trim()).filter(Boolean);
const selected = (c: ConformanceCase) =>
  !filter || filter.some((f) => c.id === f || c.id.startsWith(`${f}.`));

const ALL: ConformanceCase[] = [
  ...basicCases(),
  ...utf8Cases(),
  ...limitsCases(CI_SCALE),
  ...deflateCases(DEFLATE_MESSAGES),
].filter(selected);

const CATEGORIES = [...new Set(ALL.map((c) => c.category))];
const results: CaseResult[] = [];

Deno.test("conformance: every Autobahn case id is unique and described", () => {
  const ids = new Set<string>();
  for (const c of ALL) {
    assert.ok(!ids.has(c.id), `duplicate case ${c.id}`);
    ids.add(c.id);
    assert.ok(c.description.length > 10, `${c.id} has no description`);
  }
  if (!filter) {
    // Autobahn's counts: 1: 16, 2: 11, 3: 7, 4: 10, 5: 20, 6: 145, 7: 37, 9: 54, 10: 1,
    // 12: 90, 13: 126.
    const count = (cat: string) => ALL.filter((c) => c.category === cat).length;
    assert.deepEqual(
      ["1", "2", "3", "4", "5", "6", "7", "9", "10", "12", "13"].map(count),
      [16, 11, 7, 10, 20, 145, 37, 54, 1, 90, 126],
    );
  }
});

for (const target of TARGETS) {
  Deno.test(`conformance: Autobahn cases against the library as ${target}`, async (t) => {
    const cases = ALL.filter((c) => !c.deflate || targetDeflates(target));
    const got = await runCases(target, cases, { concurrency: 8 });
    results.push(...got);
    if (filter) {
      for (const r of got) console.log(`${r.target} ${r.id}: ${r.verdict} (${r.reason})`);
    }
    for (const category of CATEGORIES) {
      const mine = got.filter((r) => r.category === category);
      if (mine.length === 0) continue;
      await t.step(`category ${category}: ${mine.length} cases, none FAILED`, () => {
        // permessage-deflate exists: a compression case that did not negotiate it fails too.
        const bad = mine.filter((r) => r.verdict === "FAILED" || r.verdict === "UNIMPLEMENTED")
          .map((r) => `${r.id}: ${r.verdict} ${r.reason}`);
        assert.deepEqual(bad, []);
      });
    }
  });
}

Deno.test("conformance: verdicts per category and role", () => {
  console.log(
    `\nAutobahn verdicts (category 9 at 1/16 size, ${DEFLATE_MESSAGES} messages per ` +
      `case in 12 and 13):\n${summaryTable(results)}\n`,
  );
  const nonStrict = results.filter((r) => r.verdict === "NON-STRICT");
  if (nonStrict.length > 0) {
    console.log(
      `NON-STRICT: ${nonStrict.map((r) => `${r.id} (${r.target})`).join(", ")}\n`,
    );
  }
  assert.ok(results.length > 0);
});
