import assert from "node:assert/strict";
import { generateReports, unifiedDiff } from "../../tools/api_report.ts";
import { renderType } from "../../tools/_api_render.ts";

const SCRIPT = new URL("../../tools/api_report.ts", import.meta.url).pathname;

const CONFIG = JSON.stringify({
  name: "@fx/pkg",
  exports: { ".": "./mod.ts", "./extra": "./extra.ts" },
});

/** The declarations of the fixture module, each with its doc comment; joined in any order. */
const DECLARATIONS = [
  `/** Parses. */
export function parse(input: string): number;
/** @deprecated Pass a string. */
export function parse(input: Uint8Array, radix?: number): number;
export function parse(input: string | Uint8Array, _radix = 10): number {
  return Number(input);
}`,
  `/** A counter. */
export class Counter<T = number> implements Iterable<T> {
  /** The total. */
  static total = 0;
  #hidden = 1;
  private secret = 2;
  protected step = 1;
  /** Makes one. */
  constructor(public readonly name: string, start?: number) {
    this.secret = start ?? 0;
  }
  /** The value. */
  get value(): number {
    return this.secret + this.#hidden;
  }
  /** @internal */
  reset(): void {}
  *[Symbol.iterator](): Iterator<T> {}
}`,
  `/** Options. */
export interface Options extends Partial<Record<"a" | "b", boolean>> {
  /** A size. */
  readonly size?: number;
  mode: "fast" | "slow";
  callback(error: Error | null, ...values: unknown[]): void;
  [extra: \`x-\${string}\`]: unknown;
}`,
  `/** Keys. */
export type Flags<T> = { readonly [K in keyof T]-?: T[K] extends boolean ? K : never };`,
  `/** A pair. */
export type Pair = readonly [first: string, second?: number];`,
  `/** Limits. */
export const LIMITS = { max: 10, min: 0 } as const;`,
  `/** A color. */
export enum Color { Red, Green = "green" }`,
  `/** A namespace. */
export declare namespace Space {
  /** Inner. */
  export const inner: bigint;
}`,
];

const EXTRA = `/** Extra. @module */
export { Color as Colour } from "./mod.ts";
/** A default. */
export default function (): Promise<void> { return Promise.resolve(); }
`;

const HEADER =
  "# Generated from `deno doc --json` by tools/api_report.ts; update with `deno task api`.";

const MOD_REPORT = `# API report: @fx/pkg (mod.ts): 8 exported names
${HEADER}

enum Color {
  Red
  Green = "green"
}

class Counter<T = number> implements Iterable<T> {
  constructor(public readonly name: string, start?: number)
  static total: number
  [Symbol.iterator](): Iterator<T>
  @internal reset(): void
  protected step: number
  get value(): number
}

type Flags<T> = { readonly [K in keyof T]-?: T[K] extends boolean ? K : never }

const LIMITS: {
  max: number
  min: number
}

interface Options extends Partial<Record<"a" | "b", boolean>> {
  [extra: \`x-\${string}\`]: unknown
  callback(error: Error | null, ...values: unknown[]): void
  mode: "fast" | "slow"
  readonly size?: number
}

type Pair = readonly [string, number]

function parse(input: string): number

@deprecated function parse(input: Uint8Array, radix?: number): number

namespace Space {
  const inner: bigint
}
`;

const EXTRA_REPORT = `# API report: @fx/pkg/extra (extra.ts): 2 exported names
${HEADER}

enum Colour {
  Red
  Green = "green"
}

function default(): Promise<void>
`;

/** Runs `fn` with a temp package holding the fixture (declarations in the given order). */
async function withPackage(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "api-report-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, CONFIG);
    await Deno.writeTextFile(
      `${dir}/mod.ts`,
      `/** A module. @module */\n\n${DECLARATIONS.join("\n\n")}\n`,
    );
    await Deno.writeTextFile(`${dir}/extra.ts`, EXTRA);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the tool in `dir` as a separate process. */
async function runTool(
  dir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code, stdout: dec.decode(stdout), stderr: dec.decode(stderr) };
}

Deno.test("api_report: renders each kind of declaration, one report per export", async () => {
  await withPackage(async (dir) => {
    const reports = await generateReports(dir);
    assert.deepEqual(reports.map((r) => [r.path, r.names]), [["api/mod.txt", 8], [
      "api/extra.txt",
      2,
    ]]);
    assert.equal(reports[0]!.text, MOD_REPORT);
    assert.equal(reports[1]!.text, EXTRA_REPORT);
  });
});

Deno.test("api_report: the report is deterministic and ignores order, docs and locations", async () => {
  await withPackage(async (dir) => {
    const first = await generateReports(dir);
    assert.deepEqual(await generateReports(dir), first);
    // Move every declaration, change every doc comment, shift every line.
    const moved = [...DECLARATIONS].reverse().map((d) => d.replace(/\/\*\* (?!@)/g, "/** Now: "));
    await Deno.writeTextFile(`${dir}/mod.ts`, `\n\n\n${moved.join("\n\n// a gap\n\n")}\n`);
    assert.deepEqual(await generateReports(dir), first);
  });
});

Deno.test("api_report: --check fails with a diff when stale, passes once rewritten", async () => {
  await withPackage(async (dir) => {
    const written = await runTool(dir);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, "api/mod.txt: 8 names\napi/extra.txt: 2 names\n");
    assert.equal(await Deno.readTextFile(`${dir}/api/mod.txt`), MOD_REPORT);
    assert.equal(await Deno.readTextFile(`${dir}/api/extra.txt`), EXTRA_REPORT);

    const staleText = MOD_REPORT.replace("  mode: ", "  mood: ");
    await Deno.writeTextFile(`${dir}/api/mod.txt`, staleText);
    await Deno.writeTextFile(`${dir}/api/gone.txt`, "# an entry point that was removed\n");
    const stale = await runTool(dir, "--check");
    assert.equal(stale.code, 1);
    assert.equal(stale.stderr, "API report out of date: run `deno task api`\n");
    assert.ok(stale.stdout.startsWith("api/gone.txt: no entry point writes this file\n"));
    assert.ok(stale.stdout.includes("--- api/mod.txt (committed)\n+++ api/mod.txt (generated)\n"));
    assert.ok(stale.stdout.includes('\n-  mood: "fast" | "slow"\n+  mode: "fast" | "slow"\n'));
    assert.equal(await Deno.readTextFile(`${dir}/api/mod.txt`), staleText, "--check wrote");

    const rewritten = await runTool(dir);
    assert.equal(rewritten.code, 0, rewritten.stderr);
    assert.match(rewritten.stdout, /api\/gone\.txt: removed/);
    const ok = await runTool(dir, "--check");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "api report: 10 names in 2 entries, up to date\n");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${dir}/api`))).map((e) => e.name).sort(),
      ["extra.txt", "mod.txt"],
    );
  });
});

Deno.test("api_report: unifiedDiff gives hunks with line numbers and context", () => {
  const old = "a\nb\nc\nd\ne\nf\ng\nh\n";
  assert.equal(unifiedDiff(old, old, "x", "y"), "");
  assert.equal(
    unifiedDiff(old, "a\nb\nC\nd\ne\nf\ng\nh\ni\n", "x", "y", 1),
    "--- x\n+++ y\n@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n@@ -8,1 +8,2 @@\n h\n+i\n",
  );
  assert.equal(unifiedDiff("", "a\n", "x", "y"), "--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n");
});

Deno.test("api_report: an unknown type kind is rendered visibly, not dropped", () => {
  assert.equal(renderType({ kind: "someNewKind", repr: "Thing" }), "<?someNewKind: Thing>");
  assert.equal(renderType(undefined), "<?>");
  assert.equal(
    renderType({
      kind: "union",
      value: [{ kind: "keyword", value: "string" }, { kind: "later", repr: "X" }],
    }),
    "string | <?later: X>",
  );
});
