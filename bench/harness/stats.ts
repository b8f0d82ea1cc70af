/**
 * Pure helpers of the benchmark driver: medians, percentiles, ratios and number formatting.
 *
 * @module
 */

/**
 * The median of `values` (the mean of the two middle values for an even count); `NaN` when
 * empty. Non-finite values are ignored.
 *
 * @param values The samples.
 */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The smallest and largest finite value, or `[NaN, NaN]`. */
export function minMax(values: readonly number[]): [number, number] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [NaN, NaN];
  return [Math.min(...v), Math.max(...v)];
}

/**
 * The `p`-th percentile (0-100) of sorted samples, nearest rank; `NaN` when empty.
 *
 * @param sorted Samples in ascending order.
 * @param p The percentile.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/**
 * `value / base`, or `NaN` when either is missing or the base is zero.
 *
 * @param value The figure.
 * @param base What it is compared with.
 */
export function ratio(value: number, base: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return NaN;
  return value / base;
}

/**
 * A figure in 3 significant digits with a k/M/G suffix: `68400` → `"68.4 k"`.
 *
 * @param value The figure.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  const [scaled, suffix] = abs >= 1e9
    ? [value / 1e9, " G"]
    : abs >= 1e6
    ? [value / 1e6, " M"]
    : abs >= 1e3
    ? [value / 1e3, " k"]
    : [value, ""];
  const a = Math.abs(scaled);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return `${scaled.toFixed(digits)}${suffix}`;
}

/**
 * A ratio as `"1.23×"`, or `"n/a"`.
 *
 * @param value The ratio.
 */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value.toFixed(value >= 10 ? 1 : 2)}×`;
}

/**
 * A median with its range: `"68.4 k (66.1 k-69.0 k)"`.
 *
 * @param values The samples of the repetitions.
 */
export function formatSpread(values: readonly number[]): string {
  const m = median(values);
  if (!Number.isFinite(m)) return "n/a";
  const [lo, hi] = minMax(values);
  if (values.filter(Number.isFinite).length < 2) return formatNumber(m);
  return `${formatNumber(m)} (${formatNumber(lo)}–${formatNumber(hi)})`;
}

/**
 * Renders a Markdown table with padded columns.
 *
 * @param header The column titles.
 * @param rows The cells.
 * @param align Per column: `"l"` or `"r"` (default `"l"`).
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ("l" | "r")[] = [],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const pad = (s: string, c: number) =>
    align[c] === "r" ? s.padStart(widths[c]!) : s.padEnd(widths[c]!);
  const line = (cells: readonly string[]) =>
    `| ${header.map((_, c) => pad(cells[c] ?? "", c)).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, c) => align[c] === "r" ? "-".repeat(w - 1) + ":" : "-".repeat(w)).join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
