/**
 * Checks that the sans-I/O core stays pure: no runtime APIs, no timers, no streams, and no imports
 * from outside the core directory.
 *
 * ```sh
 * deno run --allow-read tools/check_core_purity.ts [DIR]   # DIR defaults to src/core
 * ```
 *
 * Scans every `.ts` file under DIR (recursively). Comments (`//`, `/* *\/` and JSDoc, including
 * `@example` blocks) are ignored; string and template literals count as code. A file fails when
 * its code mentions `Deno.`, `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`,
 * `queueMicrotask`, `ReadableStream`, `WritableStream` or `TransformStream`, or imports (or
 * re-exports from) anything other than a relative path that stays inside DIR (so no `npm:`,
 * `jsr:`, `node:`, `http(s):`, bare or `../`-escaping specifiers).
 *
 * Prints `core purity: N files clean` and exits 0, or lists `file:line: problem` and exits 1.
 *
 * @module
 */

/** Identifiers the core must not mention, with the word-boundary patterns that find them. */
const FORBIDDEN: readonly [string, RegExp][] = [
  ["Deno.", /(?<![\w$])Deno\s*\??\./g],
  ...[
    "setTimeout",
    "setInterval",
    "clearTimeout",
    "clearInterval",
    "queueMicrotask",
    "ReadableStream",
    "WritableStream",
    "TransformStream",
  ].map((name): [string, RegExp] => [name, new RegExp(`(?<![\\w$])${name}(?![\\w$])`, "g")]),
];

/** The module specifiers of static imports, re-exports and dynamic imports. */
const IMPORTS: readonly RegExp[] = [
  // import x from "a"; import { y } from "a"; import type T from "a"; export * from "a"; export { z } from "a"
  /(?<![\w$.])(?:import|export)\s[^;]*?(?<![\w$])from\s*(["'])(?<spec>[^"'\n]*)\1/g,
  // import "a"
  /(?<![\w$.])import\s*(["'])(?<spec>[^"'\n]*)\1/g,
  // import("a"), import.meta is not matched; require("a") for good measure
  /(?<![\w$.])(?:import|require)\s*\(\s*(["'`])(?<spec>[^"'`\n]*)\1/g,
];

/** One problem found in a file. */
export interface Problem {
  /** 1-based line number. */
  line: number;
  /** What is wrong. */
  message: string;
}

/**
 * Returns `source` with every comment replaced by spaces (newlines are kept, so offsets and line
 * numbers stay the same). Strings, template literals (with nested `${}`) and regular expression
 * literals are recognised so that `"//"` or `/\/*\/` inside them does not start a comment.
 */
export function stripComments(source: string): string {
  const out = source.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n" && out[k] !== "\r") out[k] = " ";
  };
  // Stack of open template literals: the `{` depth at which each `${` was entered.
  const templates: number[] = [];
  let braces = 0;
  let i = 0;
  const n = source.length;
  // The last significant code character before i (for regex-vs-division), and the word ending there.
  let prev = "";
  let prevWord = "";

  /** Skips a template literal body starting after its opening backquote or after a `}`. */
  const templateBody = (): void => {
    while (i < n) {
      const c = source[i];
      if (c === "\\") i += 2;
      else if (c === "`") {
        i++;
        prev = "`";
        prevWord = "";
        return;
      } else if (c === "$" && source[i + 1] === "{") {
        i += 2;
        templates.push(braces);
        braces++;
        prev = "{";
        prevWord = "";
        return;
      } else i++;
    }
  };

  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") i += source[i] === "\\" ? 2 : 1;
      i++;
      prev = c;
      prevWord = "";
    } else if (c === "`") {
      i++;
      templateBody();
    } else if (c === "/" && startsRegex(prev, prevWord)) {
      // A regular expression literal: ends at an unescaped `/` outside a class, or (if it was not
      // one after all) at the end of the line.
      i++;
      let inClass = false;
      while (i < n && source[i] !== "\n") {
        const r = source[i];
        if (r === "\\") i++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (i < n && /[a-z]/i.test(source[i]!)) i++; // flags
      prev = "/";
      prevWord = "";
    } else if (c === "{") {
      braces++;
      prev = c;
      prevWord = "";
      i++;
    } else if (c === "}") {
      braces--;
      if (templates.length > 0 && templates[templates.length - 1] === braces) {
        templates.pop();
        i++;
        templateBody();
      } else {
        prev = c;
        prevWord = "";
        i++;
      }
    } else if (/[\w$]/.test(c)) {
      const start = i;
      while (i < n && /[\w$]/.test(source[i]!)) i++;
      prev = source[i - 1]!;
      prevWord = source.slice(start, i);
    } else {
      if (!/\s/.test(c)) {
        prev = c;
        prevWord = "";
      }
      i++;
    }
  }
  return out.join("");
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

function startsRegex(prev: string, prevWord: string): boolean {
  if (prevWord !== "") return REGEX_AFTER_WORD.has(prevWord);
  return prev === "" || "(,=:[!&|?{};+-*%<>~^}".includes(prev);
}

/** Returns the 1-based line number of offset `index` in `text`. */
function lineAt(text: string, index: number): number {
  let line = 1;
  for (let k = text.indexOf("\n"); k !== -1 && k < index; k = text.indexOf("\n", k + 1)) line++;
  return line;
}

/** Resolves `.`/`..` segments of a `/`-separated path. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") {
      if (parts.length === 0 || parts[parts.length - 1] === "..") parts.push("..");
      else parts.pop();
    } else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/**
 * Checks one file's source. `relPath` is the file's path relative to the checked directory,
 * `/`-separated (it decides whether a `../` import leaves the directory).
 */
export function checkSource(source: string, relPath: string): Problem[] {
  const code = stripComments(source);
  const problems: Problem[] = [];
  for (const [name, pattern] of FORBIDDEN) {
    for (const m of code.matchAll(pattern)) {
      problems.push({ line: lineAt(code, m.index), message: `uses ${name}` });
    }
  }
  const dir = relPath.includes("/") ? relPath.slice(0, relPath.lastIndexOf("/")) : "";
  const seen = new Set<number>();
  for (const pattern of IMPORTS) {
    for (const m of code.matchAll(pattern)) {
      const spec = m.groups!.spec!;
      const at = m.index + m[0].lastIndexOf(spec);
      if (seen.has(at)) continue;
      seen.add(at);
      const relative = spec.startsWith("./") || spec.startsWith("../");
      if (!relative || normalize(`${dir}/${spec}`).startsWith("..")) {
        problems.push({
          line: lineAt(code, at),
          message: `imports "${spec}" from outside the core`,
        });
      }
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}

async function* walk(dir: string, rel = ""): AsyncGenerator<string> {
  const entries = [];
  for await (const entry of Deno.readDir(`${dir}/${rel}`)) entries.push(entry);
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const entry of entries) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory) yield* walk(dir, path);
    else if (entry.isFile && /\.[cm]?tsx?$/.test(entry.name)) yield path;
  }
}

async function main(args: string[]): Promise<number> {
  const dir = (args[0] ?? "src/core").replace(/\/+$/, "") || "/";
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
  } catch (e) {
    console.error(`core purity: cannot scan ${dir}: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  let files = 0;
  let bad = 0;
  for await (const rel of walk(dir)) {
    files++;
    const problems = checkSource(await Deno.readTextFile(`${dir}/${rel}`), rel);
    if (problems.length > 0) bad++;
    for (const p of problems) console.error(`${dir}/${rel}:${p.line}: ${p.message}`);
  }
  if (bad > 0) {
    console.error(`core purity: ${bad} of ${files} files have problems`);
    return 1;
  }
  console.log(`core purity: ${files} files clean`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
