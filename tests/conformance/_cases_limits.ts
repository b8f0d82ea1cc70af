/**
 * Autobahn|Testsuite category 9 (limits and performance), from the published case descriptions,
 * with a scale divisor: CI runs the sizes divided by 16 (and a tenth of the round trips);
 * `bench/conformance_bench.ts` runs them at full size (messages up to 16 MiB, 4 MiB messages in
 * 64-octet fragments, 1 MiB messages in 64-octet TCP chops, 1000 round trips).
 *
 * @module
 */

import {
  CLEAN_CLOSE,
  type ConformanceCase,
  echo,
  type Expected,
  repeated,
  type Step,
} from "./_dsl.ts";

const K = 1024;
const M = 1024 * 1024;

/** The size scale: `divisor` 1 is Autobahn's full size. */
export interface LimitsScale {
  /** Sizes are divided by this. */
  divisor: number;
  /** Round trips of 9.7 / 9.8 (Autobahn: 1000). */
  roundTrips: number;
}

/** CI's scale. */
export const CI_SCALE: LimitsScale = { divisor: 16, roundTrips: 100 };
/** Autobahn's sizes. */
export const FULL_SCALE: LimitsScale = { divisor: 1, roundTrips: 1000 };

function sized(n: number, scale: LimitsScale): number {
  return Math.max(1, Math.floor(n / scale.divisor));
}

function fmt(n: number): string {
  return n >= M ? `${n / M} MiB` : n >= K ? `${n / K} KiB` : `${n} B`;
}

function one(
  id: string,
  description: string,
  step: Step,
  expected: Expected,
  waitMs: number,
): ConformanceCase {
  return {
    id,
    category: "9",
    description,
    steps: () => [step],
    ok: [expected],
    close: CLEAN_CLOSE,
    waitMs,
  };
}

/** Category 9 at `scale`. */
export function limitsCases(scale: LimitsScale): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const payload = (binary: boolean, n: number) =>
    binary ? repeated(0xfe, n) : repeated("BAsd7&jh23", n);
  const wait = (n: number) => 10_000 + Math.ceil(n / M) * 4000;
  for (const [group, binary] of [[1, false], [2, true]] as const) {
    [64 * K, 256 * K, M, 4 * M, 8 * M, 16 * M].forEach((full, i) => {
      const n = sized(full, scale);
      const data = payload(binary, n);
      out.push(one(
        `9.${group}.${i + 1}`,
        `Send a ${binary ? "binary" : "text"} message of ${fmt(n)} (Autobahn: ${fmt(full)}).`,
        { message: data, binary },
        echo(data, binary),
        wait(n),
      ));
    });
  }
  for (const [group, binary] of [[3, false], [4, true]] as const) {
    [64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M].forEach((fragment, i) => {
      const n = sized(4 * M, scale);
      const data = payload(binary, n);
      out.push(one(
        `9.${group}.${i + 1}`,
        `Send a ${binary ? "binary" : "text"} message of ${fmt(n)} in fragments of ${
          fmt(fragment)
        }.`,
        { message: data, binary, fragment },
        echo(data, binary),
        wait(n) + (n / fragment) * 2,
      ));
    });
  }
  for (const [group, binary] of [[5, false], [6, true]] as const) {
    [64, 128, 256, 512, K, 2 * K].forEach((chop, i) => {
      const n = sized(M, scale);
      const data = payload(binary, n);
      out.push(one(
        `9.${group}.${i + 1}`,
        `Send a ${binary ? "binary" : "text"} message of ${fmt(n)} in TCP chops of ${chop} octets.`,
        { message: data, binary, chop },
        echo(data, binary),
        wait(n) + (n / chop) * 2,
      ));
    });
  }
  for (const [group, binary] of [[7, false], [8, true]] as const) {
    [0, 16, 64, 256, K, 4 * K].forEach((size, i) => {
      const data = payload(binary, size);
      const count = scale.roundTrips;
      out.push({
        id: `9.${group}.${i + 1}`,
        category: "9",
        description: `Send ${count} ${binary ? "binary" : "text"} messages of ${
          fmt(size)
        }, one at a time, each after the echo of the one before.`,
        steps: function* () {
          for (let k = 0; k < count; k++) {
            yield { message: data, binary };
            yield { awaitEvents: k + 1 };
          }
        },
        ok: Array.from({ length: count }, () => echo(data, binary)),
        close: CLEAN_CLOSE,
        waitMs: 10_000 + count * 20,
      });
    });
  }
  return out;
}
