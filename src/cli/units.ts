/**
 * Durations and sizes as the command line writes them: `--wait 1.5`, `--ping-interval 500ms`,
 * `--max-message-size 16M`.
 *
 * @module
 */

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Reads a duration: a number of seconds (`2`, `0.5`) or a number with a unit (`500ms`, `2s`,
 * `1m`).
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 *
 * console.log(parseDuration("--wait", "1.5"), parseDuration("--wait", "250ms")); // 1500 250
 * ```
 *
 * @param flag The flag, for the error message.
 * @param text The value.
 * @returns Milliseconds.
 * @throws {RangeError} When the value is not a non-negative duration.
 */
export function parseDuration(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) {
    throw new RangeError(`${flag} takes seconds (2, 0.5) or a unit (500ms, 2s, 1m), got "${text}"`);
  }
  return Math.round(Number(m[1]) * TIME_UNITS[(m[2] ?? "s").toLowerCase()]!);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Reads a size in bytes: `1048576`, `64k`, `16M`, `1G` (binary multiples; `KiB`, `MB` and the
 * like are read the same way).
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 *
 * console.log(parseSize("--max-message-size", "16M")); // 16777216
 * ```
 *
 * @param flag The flag, for the error message.
 * @param text The value.
 * @returns Bytes, at least 1.
 * @throws {RangeError} When the value is not a positive size.
 */
export function parseSize(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new RangeError(`${flag} takes a size in bytes (65536, 64k, 16M), got "${text}"`);
  }
  return bytes;
}
