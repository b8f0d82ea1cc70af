/**
 * wirestream's clients under test: a managed session (`webSocketSession`) or a raw one
 * (`webSocketRawSession`), written as a user would: `await session.send(...)`, frames read from
 * `session.incoming`. W3 as users write it awaits every send and `flush()`es before `end`; the
 * other bulk senders await a send only once `bufferedAmount` passes 1 MiB. The library comes
 * from this checkout or from the base checkout (`--base`), see `../lib.ts`.
 *
 * @module
 */

import type { Frame } from "../../../mod.ts";
import type { CellParams } from "../plan.ts";
import type { ClientLib } from "../lib.ts";
import { corpus, DEFLATE, latencySummary, MAX_SAMPLES, STATS, windowMessages } from "../child.ts";
import {
  type Counters,
  deflateResult,
  HIGH_WATER,
  message,
  openIdle,
  plainSinkRounds,
  Signal,
  sinkRounds,
} from "./common.ts";

/** What both session kinds offer the workloads. */
interface Session {
  send(data: string | Uint8Array): Promise<void>;
  flush(): Promise<void>;
  readonly incoming: ReadableStream<Frame>;
  readonly bufferedAmount: number;
}

/** Sessions of the idle workload, kept referenced until the process exits. */
const kept: Session[] = [];

/**
 * Runs the workload against `port`.
 *
 * @param params The cell.
 * @param port The server.
 * @param raw Whether to use the raw client.
 * @param lib The library (this checkout's or the base checkout's `mod.ts` and `raw.ts`).
 */
export async function runWirestream(
  params: CellParams,
  port: number,
  raw: boolean,
  lib: ClientLib,
): Promise<Record<string, number>> {
  const { createClient, perMessageDeflate, webSocketRawSession, webSocketSession } = lib;
  const url = `ws://127.0.0.1:${port}/bench`;
  const deflating = params.kind === "deflate"
    ? createClient({
      extensions: [
        perMessageDeflate({ level: DEFLATE.level, memLevel: DEFLATE.memLevel, threshold: 0 }),
      ],
    })
    : null;
  const open = (): Promise<Session> =>
    raw
      ? webSocketRawSession(url)
      : deflating !== null
      ? deflating.webSocketSession(url)
      : webSocketSession(url);
  if (params.kind === "idle") return await openIdle(params, kept, open);
  const session = await open();
  const reader = session.incoming.getReader();
  const next = async (): Promise<Frame> => {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server ended the session");
    return value;
  };
  switch (params.kind) {
    case "echo-seq":
      return await echoSeq(params, session, next);
    case "echo-pipe":
      return await echoPipe(params, session, next);
    case "sink":
      return await sink(params, session, next, lib.readText);
    case "deflate":
      return await deflate(params, session, next, lib.readText);
    default:
      throw new Error(`no client workload ${params.kind}`);
  }
}

async function echoSeq(
  params: CellParams,
  session: Session,
  next: () => Promise<Frame>,
): Promise<Record<string, number>> {
  const msg = message(params);
  const warmEnd = performance.now() + params.warmupMs;
  while (performance.now() < warmEnd) {
    await session.send(msg);
    await next();
  }
  const samples = new Float64Array(Math.min(MAX_SAMPLES, 1 << 22));
  let n = 0;
  const start = performance.now();
  const end = start + params.durationMs;
  let now = start;
  while (now < end && n < samples.length) {
    const t0 = now;
    await session.send(msg);
    await next();
    now = performance.now();
    samples[n++] = now - t0;
  }
  return latencySummary(samples, n, (now - start) / 1000);
}

async function echoPipe(
  params: CellParams,
  session: Session,
  next: () => Promise<Frame>,
): Promise<Record<string, number>> {
  const msg = message(params);
  const window = windowMessages(params);
  const signal = new Signal();
  let sent = 0;
  let got = 0;
  let stop = false;
  let failed: unknown = null;
  const receiving = (async () => {
    try {
      while (!stop || got < sent) {
        if (got >= sent) {
          await signal.until(() => got < sent || stop);
          continue;
        }
        await next();
        got++;
        signal.notify();
      }
    } catch (err) {
      failed = err;
      signal.notify();
    }
  })();
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end && failed === null) {
      if (sent - got >= window) await signal.until(() => sent - got < window || failed !== null);
      await session.send(msg);
      sent++;
      signal.notify();
    }
    await signal.until(() => got >= sent || failed !== null);
  };
  await run(params.warmupMs);
  const before = got;
  const start = performance.now();
  await run(params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  signal.notify();
  await receiving;
  if (failed !== null) throw failed;
  const messages = got - before;
  return { messages, seconds, mbps: (messages * params.size) / 1e6 / seconds };
}

function sink(
  params: CellParams,
  session: Session,
  next: () => Promise<Frame>,
  readText: ClientLib["readText"],
): Promise<Record<string, number>> {
  const msg = message(params);
  const finish = async () => {
    await session.send("end");
    return Number(readText(await next()));
  };
  if (params.idiom) {
    // As users write it: every send awaited, no bufferedAmount check.
    return plainSinkRounds(params, async (count) => {
      for (let i = 0; i < count; i++) await session.send(msg);
      await session.flush();
    }, finish);
  }
  return sinkRounds(params, () => {
    const sent = session.send(msg);
    return session.bufferedAmount >= HIGH_WATER ? sent : undefined;
  }, finish);
}

async function deflate(
  params: CellParams,
  session: Session,
  next: () => Promise<Frame>,
  readText: ClientLib["readText"],
): Promise<Record<string, number>> {
  const texts = corpus(params);
  const window = windowMessages(params);
  const stats = async (): Promise<Counters | null> => {
    await session.send(STATS);
    const reply = readText(await next());
    return reply.startsWith("{") ? JSON.parse(reply) as Counters : null;
  };
  let sent = 0;
  let got = 0;
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    const signal = new Signal();
    let receiving = true;
    const receiver = (async () => {
      while (receiving || got < sent) {
        if (got >= sent) {
          await signal.until(() => got < sent || !receiving);
          continue;
        }
        await next();
        got++;
        signal.notify();
      }
    })();
    while (performance.now() < end) {
      if (sent - got >= window) await signal.until(() => sent - got < window);
      await session.send(texts[sent % texts.length]!);
      sent++;
      signal.notify();
    }
    receiving = false;
    signal.notify();
    await receiver;
  };
  await run(params.warmupMs);
  const before = got;
  const c0 = await stats();
  const start = performance.now();
  await run(params.durationMs);
  const seconds = (performance.now() - start) / 1000;
  const c1 = await stats();
  const messages = got - before;
  const [up, down] = c0 !== null && c1 !== null
    ? [c1.read - c0.read, c1.written - c0.written]
    : [NaN, NaN];
  return deflateResult(params, messages, seconds, up, down);
}
