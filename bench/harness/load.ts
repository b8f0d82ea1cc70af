/**
 * How busy the machine was with other work while a cell ran: the CPU time of every process
 * (and the hypervisor's steal time) during the cell, minus the cell's own processes and the
 * driver, from `/proc`. On a shared machine this tells a clean cell from a disturbed one.
 *
 * @module
 */

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
export const TICKS_PER_SECOND = 100;

/**
 * The busy time of all CPUs so far, in ticks: user, nice, system and steal from the `cpu` line of
 * `/proc/stat`; `NaN` where `/proc` cannot be read. Interrupt time is left out: the loopback
 * traffic of the cell itself is partly processed there, and it belongs to no process.
 *
 * @param stat The text of `/proc/stat` (read when omitted).
 */
export function busyTicks(stat?: string): number {
  try {
    const text = stat ?? Deno.readTextFileSync("/proc/stat");
    const line = text.split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return f[0]! + f[1]! + f[2]! + (f[7] ?? 0);
  } catch {
    return NaN;
  }
}

/**
 * The CPU time of a process so far (user + system), in ticks; `NaN` when it is gone. A process
 * that exited but was not waited for yet still reports its total.
 *
 * @param pid The process id, or `"self"`.
 * @param stat The text of `/proc/<pid>/stat` (read when omitted).
 */
export function processTicks(pid: number | "self", stat?: string): number {
  try {
    const text = stat ?? Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** A running measurement of the machine's other load. */
export class OtherLoad {
  readonly #start = performance.now();
  readonly #busy = busyTicks();
  readonly #self = processTicks("self");

  /**
   * The CPU used by other work since this measurement started, in cores (0.25 is a quarter of
   * one core); `NaN` when `/proc` cannot tell.
   *
   * @param ours The CPU ticks of the cell's own processes (all of them since they started).
   */
  cores(ours: number): number {
    const seconds = (performance.now() - this.#start) / 1000;
    const other = busyTicks() - this.#busy - ours - (processTicks("self") - this.#self);
    if (!Number.isFinite(other) || seconds <= 0) return NaN;
    return Math.max(0, other / TICKS_PER_SECOND / seconds);
  }
}
