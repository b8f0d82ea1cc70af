/**
 * What every backplane shares: checking history options, making an epoch.
 *
 * @module
 */

import type { HistoryOptions } from "./backplane.ts";

/**
 * Checks history options and fills in the defaults.
 *
 * @param history The options.
 * @returns The size and ttl.
 */
export function checkHistory(history: HistoryOptions | undefined): Required<HistoryOptions> {
  const size = history?.size ?? 0;
  const ttl = history?.ttl ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`history.size must be a whole number >= 0, got ${size}`);
  }
  if (!Number.isFinite(ttl) || ttl < 0) {
    throw new RangeError(`history.ttl must be a number of milliseconds >= 0, got ${ttl}`);
  }
  return { size, ttl };
}

/**
 * A new random epoch: 16 hex digits.
 *
 * @returns The epoch.
 */
export function randomEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
