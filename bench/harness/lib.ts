/**
 * Where the wirestream implementations of a cell load the library from: this checkout, or (for
 * the `…-base` implementations of `--base=PATH`) another checkout of the repository, named by the
 * {@linkcode BASE_ENV} environment variable of the child process. Only the library's entry modules
 * (`mod.ts`, `raw.ts`, `server.ts`) are loaded from there; the harness code is this checkout's, so
 * the same servers and clients drive both.
 *
 * @module
 */

import { pathToFileURL } from "node:url";

/** The environment variable naming the base checkout's directory in a child process. */
export const BASE_ENV = "WIRESTREAM_BENCH_BASE";

/** What the servers under test use of `server.ts` (present in both trees). */
export type ServerLib = Pick<
  typeof import("../../server.ts"),
  "createServer" | "Frame" | "perMessageDeflate" | "readText"
>;

/** What the clients under test use of `mod.ts` and `raw.ts` (present in both trees). */
export type ClientLib =
  & Pick<
    typeof import("../../mod.ts"),
    "createClient" | "perMessageDeflate" | "readText" | "webSocketSession"
  >
  & Pick<typeof import("../../raw.ts"), "webSocketRawSession">;

/** The exports the harness needs, by entry module (checked before a `--base` run). */
export const NEEDED: Readonly<Record<"mod.ts" | "raw.ts" | "server.ts", readonly string[]>> = {
  "mod.ts": ["createClient", "perMessageDeflate", "readText", "webSocketSession"],
  "raw.ts": ["webSocketRawSession"],
  "server.ts": ["createServer", "Frame", "perMessageDeflate", "readText"],
};

/** The URL of an entry module of the checkout at `dir`. */
export function entryUrl(dir: string, module: keyof typeof NEEDED): string {
  return pathToFileURL(`${dir.replace(/\/+$/, "")}/${module}`).href;
}

/** The base checkout's directory, from {@linkcode BASE_ENV}. */
function baseDir(): string {
  const dir = Deno.env.get(BASE_ENV);
  if (dir === undefined || dir === "") throw new Error(`a base implementation needs ${BASE_ENV}`);
  return dir;
}

/**
 * Loads what the servers use, from this checkout or from the base checkout.
 *
 * @param base Whether to load the base checkout's `server.ts`.
 */
export async function serverLib(base: boolean): Promise<ServerLib> {
  return base
    ? await import(entryUrl(baseDir(), "server.ts")) as ServerLib
    : await import("../../server.ts");
}

/**
 * Loads what the clients use, from this checkout or from the base checkout.
 *
 * @param base Whether to load the base checkout's `mod.ts` and `raw.ts`.
 */
export async function clientLib(base: boolean): Promise<ClientLib> {
  if (!base) {
    const mod = await import("../../mod.ts");
    const raw = await import("../../raw.ts");
    return { ...mod, webSocketRawSession: raw.webSocketRawSession };
  }
  const dir = baseDir();
  const mod = await import(entryUrl(dir, "mod.ts"));
  const raw = await import(entryUrl(dir, "raw.ts"));
  return { ...mod, webSocketRawSession: raw.webSocketRawSession } as ClientLib;
}

/**
 * Checks that `dir` is a checkout whose entry modules export what the harness uses; returns the
 * list of problems (empty when it is usable).
 *
 * @param dir The directory.
 */
export async function checkBase(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const [module, names] of Object.entries(NEEDED)) {
    let exports: Record<string, unknown>;
    try {
      exports = await import(entryUrl(dir, module as keyof typeof NEEDED));
    } catch (err) {
      problems.push(`${module}: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
      continue;
    }
    const missing = names.filter((n) => typeof exports[n] !== "function");
    if (missing.length > 0) problems.push(`${module} lacks ${missing.join(", ")}`);
  }
  return problems;
}
