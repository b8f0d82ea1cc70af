/**
 * Writes, or checks, the API report: one text file per entry point of the package, listing every
 * exported name with its kind and signature, so that every change to the public surface shows up
 * as a reviewed diff.
 *
 * ```sh
 * deno run -A tools/api_report.ts           # (deno task api) writes api/<entry>.txt
 * deno run -A tools/api_report.ts --check   # exits 1 with a diff when a report is out of date
 * ```
 *
 * Runs in the current directory. Reads the `name` and `exports` of `./deno.json` (an entry
 * `"./raw": "./raw.ts"` gives `api/raw.txt`), runs `deno doc --json` once on all the entries and
 * renders each with `tools/_api_render.ts`: names sorted, signatures only, no doc text, file names
 * or line numbers, so moving or re-documenting code does not change the report.
 *
 * With `--check` nothing is written: each report is regenerated in memory and compared with the
 * file. When one differs (or is missing, or `api/` holds a `.txt` file no entry writes) it prints a
 * unified diff and `API report out of date: run \`deno task api\`` and exits 1; otherwise it prints
 * `api report: N names in M entries, up to date`. Without `--check`, files no entry writes are
 * removed.
 *
 * @module
 */

import { type Declaration, type DocSymbol, renderReport } from "./_api_render.ts";

/** The directory the reports are written to. */
export const API_DIR = "api";

/** One generated report. */
export interface Report {
  /** The report's path relative to the root, e.g. `api/raw.txt`. */
  path: string;
  /** How many names the entry exports. */
  names: number;
  /** The report's text. */
  text: string;
}

/** The `deno doc --json` schema version the renderer is written for (Deno 2.9). */
const DOC_VERSION = 2;

interface DocOutput {
  version: number;
  nodes: Record<string, { symbols: DocSymbol[] }>;
}

interface Location {
  filename: string;
  line: number;
  col: number;
}

const locationKey = (l: Location | undefined): string =>
  l ? `${l.filename}:${l.line}:${l.col}` : "";

/** Indexes every declaration by its location, for `reference` declarations to find their target. */
function indexDeclarations(doc: DocOutput): Map<string, Declaration> {
  const index = new Map<string, Declaration>();
  const visit = (symbols: DocSymbol[]) => {
    for (const s of symbols) {
      for (const d of s.declarations) {
        const loc = (d as { location?: Location }).location;
        if (d.kind !== "reference" && loc) index.set(locationKey(loc), d);
        if (d.kind === "namespace") visit((d.def as { elements?: DocSymbol[] }).elements ?? []);
      }
    }
  };
  for (const node of Object.values(doc.nodes)) visit(node.symbols);
  return index;
}

/**
 * Generates the report of every entry in `root`'s deno.json `exports`, in the order of the
 * exports. Runs `deno doc --json` in `root`.
 */
export async function generateReports(root = "."): Promise<Report[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const pkg: string = config.name ?? "(unnamed package)";
  const exports: Record<string, string> = typeof config.exports === "string"
    ? { ".": config.exports }
    : config.exports ?? {};
  const entries = Object.entries(exports);
  if (entries.length === 0) throw new Error(`${root}/deno.json has no exports`);
  const files = entries.map(([, file]) => file);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...files],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  if (code !== 0) throw new Error(`deno doc --json failed (exit ${code}):\n${dec.decode(stderr)}`);
  const doc: DocOutput = JSON.parse(dec.decode(stdout));
  if (doc.version !== DOC_VERSION) {
    throw new Error(
      `deno doc --json gave schema version ${doc.version}; this tool reads ${DOC_VERSION}`,
    );
  }
  const index = indexDeclarations(doc);
  const resolve = (target: unknown) => index.get(locationKey(target as Location));
  const base = new URL(`file://${await Deno.realPath(root)}/`);
  return entries.map(([key, file]) => {
    const url = new URL(file, base).href;
    const node = doc.nodes[url];
    if (!node) throw new Error(`deno doc --json gave nothing for ${url}`);
    const stem = file.replace(/^.*\//, "").replace(/\.[cm]?[jt]sx?$/, "");
    const title = `${key === "." ? pkg : pkg + key.slice(1)} (${file.replace(/^\.\//, "")})`;
    return {
      path: `${API_DIR}/${stem}.txt`,
      names: new Set(node.symbols.map((s) => s.name)).size,
      text: renderReport(title, node.symbols, resolve),
    };
  });
}

type Op = [" " | "-" | "+", string];

/** The edit script from `a` to `b`: common prefix and suffix, then a longest common subsequence. */
function diffOps(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]
  ) suf++;
  const x = a.slice(pre, a.length - suf), y = b.slice(pre, b.length - suf);
  const n = x.length, m = y.length, w = m + 1;
  const ops: Op[] = a.slice(0, pre).map((l): Op => [" ", l]);
  if (n * m > 4_000_000) {
    // Too big to align: show the middle as removed, then added.
    ops.push(...x.map((l): Op => ["-", l]), ...y.map((l): Op => ["+", l]));
  } else {
    // lcs[i * w + j]: the length of the longest common subsequence of x[i..] and y[j..].
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = x[i] === y[j]
          ? lcs[(i + 1) * w + j + 1]! + 1
          : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) ops.push([" ", x[i++]!]), j++;
      else if (j >= m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        ops.push(["-", x[i++]!]);
      } else ops.push(["+", y[j++]!]);
    }
  }
  ops.push(...a.slice(a.length - suf).map((l): Op => [" ", l]));
  return ops;
}

/**
 * A unified diff (`---`/`+++` headers, `@@ -l,n +l,n @@` hunks, `context` lines around each
 * change) from `oldText` to `newText`; empty when they are equal.
 */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName: string,
  newName: string,
  context = 3,
): string {
  if (oldText === newText) return "";
  const lines = (t: string) => (t === "" ? [] : t.replace(/\n$/, "").split("\n"));
  const ops = diffOps(lines(oldText), lines(newText));
  // Line numbers before each op, in the old and the new text.
  const oldAt: number[] = [], newAt: number[] = [];
  let o = 0, n = 0;
  for (const [kind] of ops) {
    oldAt.push(o), newAt.push(n);
    if (kind !== "+") o++;
    if (kind !== "-") n++;
  }
  oldAt.push(o), newAt.push(n);
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  const range = (start: number, count: number) => `${count ? start + 1 : start},${count}`;
  for (let i = 0; i < ops.length;) {
    if (ops[i]![0] === " ") {
      i++;
      continue;
    }
    let end = i;
    for (let k = i; k < ops.length && k - end <= 2 * context + 1; k++) {
      if (ops[k]![0] !== " ") end = k;
    }
    const from = Math.max(0, i - context), to = Math.min(ops.length, end + context + 1);
    const [o0, o1, n0, n1] = [oldAt[from]!, oldAt[to]!, newAt[from]!, newAt[to]!];
    out.push(`@@ -${range(o0, o1 - o0)} +${range(n0, n1 - n0)} @@`);
    for (const [kind, line] of ops.slice(from, to)) out.push(kind + line);
    i = to;
  }
  return out.join("\n") + "\n";
}

/** The `.txt` files in `root/api` (relative paths), or none when the directory is missing. */
async function existingReports(root: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(`${root}/${API_DIR}`)) {
      if (e.isFile && e.name.endsWith(".txt")) found.push(`${API_DIR}/${e.name}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return found.sort();
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  }
}

/** Runs the tool with command-line `args` in `root`; returns the exit status. */
export async function main(args: string[], root = "."): Promise<number> {
  const check = args.includes("--check");
  if (args.some((a) => a !== "--check")) {
    console.error("usage: deno run -A tools/api_report.ts [--check]");
    return 2;
  }
  const reports = await generateReports(root);
  const names = reports.reduce((sum, r) => sum + r.names, 0);
  const stale = (await existingReports(root)).filter((p) => !reports.some((r) => r.path === p));
  if (!check) {
    await Deno.mkdir(`${root}/${API_DIR}`, { recursive: true });
    for (const r of reports) {
      await Deno.writeTextFile(`${root}/${r.path}`, r.text);
      console.log(`${r.path}: ${r.names} names`);
    }
    for (const p of stale) {
      await Deno.remove(`${root}/${p}`);
      console.log(`${p}: removed (no entry point writes it)`);
    }
    return 0;
  }
  let outdated = stale.length > 0;
  for (const p of stale) console.log(`${p}: no entry point writes this file`);
  for (const r of reports) {
    const diff = unifiedDiff(
      await readOrEmpty(`${root}/${r.path}`),
      r.text,
      `${r.path} (committed)`,
      `${r.path} (generated)`,
    );
    if (diff) outdated = true, console.log(diff.trimEnd());
  }
  if (outdated) {
    console.error("API report out of date: run `deno task api`");
    return 1;
  }
  console.log(`api report: ${names} names in ${reports.length} entries, up to date`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
