/**
 * What the client implementations share: the message of a cell, a wake-up signal for windows,
 * and the figures of W6.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { payload } from "../child.ts";

/** Bytes queued by a client above which a bulk sender waits for its writes (every client). */
export const HIGH_WATER = 1024 * 1024;

/** The message of a cell: a string for text, bytes for binary. */
export function message(params: CellParams): string | Uint8Array {
  const bytes = payload(params.size);
  return params.text ? new TextDecoder().decode(bytes) : bytes;
}

/** Conditions waited on by some tasks and signalled by others. */
export class Signal {
  #waiting: (() => boolean)[] = [];

  /** Resolves once `cond()` holds, checking at every {@linkcode Signal.notify}. */
  until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting.push(() => {
        if (!cond()) return false;
        resolve();
        return true;
      });
    });
  }

  /** Re-checks the waiting conditions. */
  notify(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const check of waiting) if (!check()) this.#waiting.push(check);
  }
}

/** Socket counters, as W6's npm:ws side reports them. */
export interface Counters {
  /** Bytes read. */
  read: number;
  /** Bytes written. */
  written: number;
}

/**
 * W6 figures. `ownUp`/`ownDown` are the measured client's directions; in the client role they
 * come from the server's counters (its read is the client's upload).
 *
 * @param params The cell.
 * @param messages Echoes completed.
 * @param seconds The time.
 * @param up Bytes client → server during the run.
 * @param down Bytes server → client during the run.
 */
export function deflateResult(
  params: CellParams,
  messages: number,
  seconds: number,
  up: number,
  down: number,
): Record<string, number> {
  const upPer = up / messages;
  const downPer = down / messages;
  // The measured side compresses: the client its uploads, the server its replies.
  const [wire, peerWire] = params.role === "client" ? [upPer, downPer] : [downPer, upPer];
  return { messages, seconds, rate: messages / seconds, wire, peerWire, size: params.size };
}
