/**
 * What the client implementations share: the message of a cell, a wake-up signal for windows,
 * the connection pool of W5, the echo loops of the event-driven clients, the sink rounds of W2
 * and W3 (with the harness's flow control, and as users write them), and the figures of W6.
 *
 * @module
 */

import type { CellParams } from "../plan.ts";
import { latencySummary, MAX_SAMPLES, payload, turn, windowMessages } from "../child.ts";

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

/** Runs `n` jobs with at most `concurrency` at once. */
export async function pool(
  n: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, concurrency)) }, worker));
}

/**
 * W5 on the client side: opens `params.connections` connections, `params.concurrency` at a time,
 * and keeps them in `kept` (referenced until the process exits).
 *
 * @param params The cell.
 * @param kept Where the connections go.
 * @param open Opens one connection.
 * @returns The connections opened, the time and the rate.
 */
export async function openIdle<T>(
  params: CellParams,
  kept: T[],
  open: () => Promise<T>,
): Promise<Record<string, number>> {
  const already = kept.length;
  const start = performance.now();
  await pool(params.connections, params.concurrency, async () => {
    kept.push(await open());
  });
  const seconds = (performance.now() - start) / 1000;
  const connections = kept.length - already;
  return { connections, seconds, rate: connections / seconds };
}

/** An event-driven client (Deno's `WebSocket`, npm:ws), as the shared echo loops drive it. */
export interface EventSocket {
  /** Sends a message without waiting. */
  send(data: string | Uint8Array): void;
  /** Sets the one message handler, replacing the previous one. */
  onMessage(handler: () => void): void;
  /** Sets the error handler. */
  onError(handler: (err: unknown) => void): void;
}

/** W1 for an event-driven client: sequential round trips, each sent from the last's reply. */
export function echoSeqEvents(
  params: CellParams,
  socket: EventSocket,
): Promise<Record<string, number>> {
  const msg = message(params);
  const samples = new Float64Array(Math.min(MAX_SAMPLES, 1 << 22));
  return new Promise((resolve, reject) => {
    let n = 0;
    let warm = true;
    const warmEnd = performance.now() + params.warmupMs;
    let start = 0;
    let end = 0;
    let t0 = 0;
    socket.onError(reject);
    socket.onMessage(() => {
      const now = performance.now();
      if (warm) {
        if (now >= warmEnd) {
          warm = false;
          start = now;
          end = now + params.durationMs;
        }
      } else {
        samples[n++] = now - t0;
        if (now >= end || n >= samples.length) {
          socket.onMessage(() => {});
          resolve(latencySummary(samples, n, (now - start) / 1000));
          return;
        }
      }
      t0 = now;
      socket.send(msg);
    });
    t0 = performance.now();
    socket.send(msg);
  });
}

/** W2 echo for an event-driven client: a window of messages in flight, refilled per reply. */
export function echoPipeEvents(
  params: CellParams,
  socket: EventSocket,
): Promise<Record<string, number>> {
  const msg = message(params);
  const window = windowMessages(params);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let got = 0;
    let sending = true;
    let phaseEnd = performance.now() + params.warmupMs;
    let warm = true;
    let before = 0;
    let start = 0;
    const fill = () => {
      while (sending && sent - got < window) {
        if (performance.now() >= phaseEnd) {
          sending = false;
          break;
        }
        socket.send(msg);
        sent++;
      }
    };
    socket.onError(reject);
    socket.onMessage(() => {
      got++;
      if (sending) fill();
      if (!sending && got === sent) {
        const now = performance.now();
        if (warm) {
          warm = false;
          before = got;
          start = now;
          phaseEnd = now + params.durationMs;
          sending = true;
          fill();
        } else {
          const seconds = (now - start) / 1000;
          const messages = got - before;
          resolve({ messages, seconds, mbps: (messages * params.size) / 1e6 / seconds });
        }
      }
    });
    fill();
  });
}

/**
 * W2 upload and W3 for any client: an untimed round (`warmupCount` messages, or `warmupMs`),
 * then the timed one; each round ends with `end`, and the sink's count must match.
 *
 * @param params The cell.
 * @param sendOne Sends one message; returns a promise only when the client must wait (its
 * queue is above {@linkcode HIGH_WATER}), so the loop awaits nothing otherwise.
 * @param finish Sends `end` and resolves with the sink's count.
 * @returns The messages sent in the timed round, the time, messages/s and MB/s.
 */
export async function sinkRounds(
  params: CellParams,
  sendOne: () => Promise<void> | undefined,
  finish: () => Promise<number>,
): Promise<Record<string, number>> {
  let total = 0;
  const round = async (count: number, ms: number) => {
    let sent = 0;
    if (count > 0) {
      for (; sent < count; sent++) {
        const wait = sendOne();
        if (wait !== undefined) await wait;
      }
    } else {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        for (let i = 0; i < 64; i++, sent++) {
          const wait = sendOne();
          if (wait !== undefined) await wait;
        }
      }
    }
    total += sent;
    const n = await finish();
    if (n !== total) throw new Error(`the sink counted ${n} messages, ${total} were sent`);
    return sent;
  };
  await round(params.warmupCount, params.warmupMs);
  const start = performance.now();
  const messages = await round(params.count, params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  return {
    messages,
    seconds,
    rate: messages / seconds,
    mbps: (messages * params.size) / 1e6 / seconds,
  };
}

/**
 * The W3 rounds as users write them (`idiom`): each round is one plain send loop of `count`
 * messages (`sendAll`, which returns once the client has handed everything to its socket), then
 * `end`, and the sink's count must match. Timed from the first send of the counted round to the
 * sink's answer.
 *
 * @param params The cell (`count` > 0).
 * @param sendAll Sends `count` messages the way the client's users do, then waits until its
 * queue is empty.
 * @param finish Sends `end` and resolves with the sink's count.
 * @returns The messages sent in the timed round, the time, messages/s and MB/s.
 */
export async function plainSinkRounds(
  params: CellParams,
  sendAll: (count: number) => Promise<void>,
  finish: () => Promise<number>,
): Promise<Record<string, number>> {
  if (!(params.count > 0)) throw new Error("the plain send loop needs a message count");
  let total = 0;
  const round = async (count: number) => {
    await sendAll(count);
    total += count;
    const n = await finish();
    if (n !== total) throw new Error(`the sink counted ${n} messages, ${total} were sent`);
  };
  await round(params.warmupCount);
  const start = performance.now();
  await round(params.count);
  const seconds = (performance.now() - start) / 1000;
  return {
    messages: params.count,
    seconds,
    rate: params.count / seconds,
    mbps: (params.count * params.size) / 1e6 / seconds,
  };
}

/**
 * Waits until `bufferedAmount()` is 0, looking once per event-loop turn (for clients without a
 * drain event); throws after `ms`.
 *
 * @param bufferedAmount Reads the client's queued bytes.
 * @param ms How long to wait at most.
 */
export async function drained(bufferedAmount: () => number, ms = 45_000): Promise<void> {
  const end = performance.now() + ms;
  while (bufferedAmount() > 0) {
    if (performance.now() > end) throw new Error(`bufferedAmount still above 0 after ${ms} ms`);
    await turn();
  }
}
