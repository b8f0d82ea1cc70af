import assert from "node:assert/strict";
import { checkSource, stripComments } from "../../tools/check_core_purity.ts";

const SCRIPT = new URL("../../tools/check_core_purity.ts", import.meta.url).pathname;

const CLEAN = `/**
 * A clean core module. Its docs may mention Deno.connect and setTimeout freely.
 *
 * @example
 * \`\`\`ts
 * const conn = await Deno.connect({ port: 80 });
 * setTimeout(() => conn.close(), 1000);
 * \`\`\`
 * @module
 */
import { helper } from "./sub/helper.ts"; // a relative import inside the directory
import type { Other } from "./other.ts";
export { helper };

/* block comment: new ReadableStream() */
export const url = "ws://example.com/path"; // "//" inside a string is not a comment
export const re = /\\/\\*[a-z/]+/g; // a regex literal that looks like a comment opener
export const tpl = \`a \${"b" + \`c\${1 / 2}\`} // not a comment\`;
export function timeoutLike(other: Other): number {
  const setTimeoutish = 1; // identifiers merely containing a name are fine
  return setTimeoutish / 2 / other.n; // divisions, not regexes
}
`;

const HELPER = `import { url } from "../clean.ts";\nexport const helper = url;\n`;

const DIRTY = `/** Docs mentioning Deno. are fine. */
import { x } from "npm:some-package@1";
import * as fs from "node:fs";
import { y } from "../outside/thing.ts";
export * from "https://example.com/mod.ts";
export const a = Deno.env;
export function b(): void {
  setTimeout(() => {}, 1);
  globalThis.queueMicrotask(() => {});
}
export type S = ReadableStream<Uint8Array>;
const lazy = () => import("jsr:@std/assert");
`;

/** Runs the checker on `dir` as a separate process. */
async function runChecker(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-read=${dir}`, SCRIPT, dir],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code, stdout: dec.decode(stdout), stderr: dec.decode(stderr) };
}

Deno.test("check_core_purity: a clean directory passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "purity-" });
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/clean.ts`, CLEAN);
    await Deno.writeTextFile(`${dir}/sub/helper.ts`, HELPER);
    await Deno.writeTextFile(`${dir}/notes.md`, "Deno.exit() is ignored in non-TS files\n");
    const { code, stdout, stderr } = await runChecker(dir);
    assert.equal(stderr, "");
    assert.equal(stdout, "core purity: 2 files clean\n");
    assert.equal(code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check_core_purity: a dirty file fails with file:line for each problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "purity-" });
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/clean.ts`, CLEAN);
    await Deno.writeTextFile(`${dir}/sub/helper.ts`, HELPER);
    await Deno.writeTextFile(`${dir}/dirty.ts`, DIRTY);
    const { code, stdout, stderr } = await runChecker(dir);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    const f = `${dir}/dirty.ts`;
    assert.deepEqual(stderr.trimEnd().split("\n"), [
      `${f}:2: imports "npm:some-package@1" from outside the core`,
      `${f}:3: imports "node:fs" from outside the core`,
      `${f}:4: imports "../outside/thing.ts" from outside the core`,
      `${f}:5: imports "https://example.com/mod.ts" from outside the core`,
      `${f}:6: uses Deno.`,
      `${f}:8: uses setTimeout`,
      `${f}:9: uses queueMicrotask`,
      `${f}:11: uses ReadableStream`,
      `${f}:12: imports "jsr:@std/assert" from outside the core`,
      "core purity: 1 of 3 files have problems",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check_core_purity: a missing directory is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "purity-" });
  try {
    const { code, stderr } = await runChecker(`${dir}/nope`);
    assert.equal(code, 2);
    assert.match(stderr, /core purity: cannot scan .*nope/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stripComments keeps offsets and strips only comments", () => {
  const src = `a; // c1\nb = "//s"; /* c2\nc2 */ d = /[/]\\//; e = \`\${f /* c3 */}\`;`;
  const out = stripComments(src);
  assert.equal(out.length, src.length);
  assert.equal(
    out,
    `a;      \nb = "//s";      \n      d = /[/]\\//; e = \`\${f         }\`;`,
  );
});

Deno.test("checkSource: each forbidden name, but not look-alikes", () => {
  const names = [
    "setTimeout",
    "setInterval",
    "clearTimeout",
    "clearInterval",
    "queueMicrotask",
    "ReadableStream",
    "WritableStream",
    "TransformStream",
  ];
  for (const name of names) {
    assert.deepEqual(checkSource(`x(${name});`, "a.ts"), [{ line: 1, message: `uses ${name}` }]);
    assert.deepEqual(checkSource(`x(my${name}, ${name}2, o.$${name});`, "a.ts"), []);
  }
  assert.deepEqual(checkSource("globalThis.Deno?.exit(1);", "a.ts"), [
    { line: 1, message: "uses Deno." },
  ]);
  assert.deepEqual(checkSource("const Denox = 1; type Deno = 2;", "a.ts"), []);
});

Deno.test("checkSource: relative imports must stay inside the directory", () => {
  assert.deepEqual(checkSource(`import "./a.ts";\nimport "../a.ts";`, "sub/b.ts"), []);
  assert.deepEqual(checkSource(`import "../../a.ts";`, "sub/b.ts"), [
    { line: 1, message: 'imports "../../a.ts" from outside the core' },
  ]);
  assert.deepEqual(checkSource(`export { x } from "ws";`, "b.ts"), [
    { line: 1, message: 'imports "ws" from outside the core' },
  ]);
  assert.deepEqual(
    checkSource(`import {\n  a,\n  b,\n} from "/abs/c.ts";`, "b.ts"),
    [{ line: 4, message: 'imports "/abs/c.ts" from outside the core' }],
  );
});
