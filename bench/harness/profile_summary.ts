/**
 * Summarises V8 CPU profiles (`deno run --cpu-prof`, or `deno task bench --profile=DIR`): the
 * functions with the most self time and the most inclusive time.
 *
 *     deno run -A bench/harness/profile_summary.ts /tmp/prof/W2-upload-to-sink-64-KiB-server 25
 *
 * @module
 */

/** A node of a `.cpuprofile`. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** One line of the summary. */
export interface Share {
  /** `function file:line`. */
  name: string;
  /** Percent of all samples. */
  percent: number;
}

/**
 * Self and inclusive time per function of one profile.
 *
 * @param profile The parsed `.cpuprofile`.
 * @param top How many functions to keep in each list.
 */
export function summarize(
  profile: { nodes: ProfileNode[]; samples: number[] },
  top = 25,
): { samples: number; self: Share[]; inclusive: Share[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    return `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
  };
  const counts = new Map<number, number>();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, count] of counts) {
    const name = label(nodes.get(id)!);
    self.set(name, (self.get(name) ?? 0) + count);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = label(nodes.get(at)!);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + count);
    }
  }
  const total = profile.samples.length || 1;
  const list = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, n]) => ({
      name,
      percent: (100 * n) / total,
    }));
  return { samples: profile.samples.length, self: list(self), inclusive: list(inclusive) };
}

if (import.meta.main) {
  const [path, topArg] = Deno.args;
  if (path === undefined) {
    console.error("usage: profile_summary.ts <file.cpuprofile | directory> [top]");
    Deno.exit(2);
  }
  const files = (await Deno.stat(path)).isDirectory
    ? [...Deno.readDirSync(path)].filter((e) => e.name.endsWith(".cpuprofile")).map((e) =>
      `${path}/${e.name}`
    )
    : [path];
  for (const file of files) {
    const s = summarize(JSON.parse(await Deno.readTextFile(file)), Number(topArg ?? 25));
    console.log(`${file}: ${s.samples} samples`);
    console.log("  self:");
    for (const x of s.self) console.log(`    ${x.percent.toFixed(1).padStart(5)}%  ${x.name}`);
    console.log("  inclusive:");
    for (const x of s.inclusive) console.log(`    ${x.percent.toFixed(1).padStart(5)}%  ${x.name}`);
  }
}
