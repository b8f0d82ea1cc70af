/**
 * Runs conformance cases against the library in four roles: its server (a managed echo route
 * and a raw echo route, on `createServer().listen()`), and its client (the managed client and
 * the raw client, each echoing), with the scripted peer on the other end of a loopback socket.
 *
 * @module
 */

import { createServer, type WebSocketServer } from "../../server.ts";
import { createClient } from "../../mod.ts";
import { webSocketRawSession } from "../../raw.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { perMessageDeflate } from "../../src/session/permessage_deflate.ts";
import type { ServerListener } from "../../src/server/listener.ts";
import { type CaseResult, type ConformanceCase, judge, type Verdict } from "./_dsl.ts";
import {
  clientHandshake,
  observedForm,
  playCase,
  type PlayOptions,
  serverHandshake,
} from "./_peer.ts";
import { clientSide, parseDeflateOffers, PeerDeflate, serverAnswer } from "./_peer_deflate.ts";

/** Where the library sits. */
export type TargetName = "server/managed" | "server/raw" | "client/managed" | "client/raw";

/** All four. */
export const TARGETS: readonly TargetName[] = [
  "server/managed",
  "server/raw",
  "client/managed",
  "client/raw",
];

/** Whether a target negotiates permessage-deflate (raw sessions surface frames as they are). */
export function targetDeflates(target: TargetName): boolean {
  return target.endsWith("/managed");
}

/** Options of {@linkcode runCases}. */
export interface RunOptions {
  /** Cases run at once. */
  concurrency?: number;
  /** Default wait for expected events and for the library to fail a connection, in ms. */
  waitMs?: number;
  /** Time allowed for the close handshake and the end of TCP, in ms. */
  closeWaitMs?: number;
  /** Called after each case. */
  onResult?: (result: CaseResult) => void;
  /**
   * For the server targets: the port of an echo server that is already running (for example
   * examples/echo_server.ts), instead of starting the library's server here.
   */
  port?: number;
}

/** Big enough for category 9 at full size (16 MiB messages). */
const LIMIT = 64 * 1024 * 1024;

/** The library's server with an echo route of the given kind, listening on 127.0.0.1:0. */
export function startLibraryServer(
  kind: "managed" | "raw",
): { server: WebSocketServer; listener: ServerListener; errors: unknown[] } {
  const errors: unknown[] = [];
  const server = createServer({
    maxFrameSize: LIMIT,
    maxMessageSize: LIMIT,
    closeTimeout: 2000,
    extensions: kind === "managed" ? [perMessageDeflate()] : [],
    onError: (error, context) => {
      if (context.phase !== "handler") errors.push(error);
    },
  });
  if (kind === "managed") {
    server.webSocket("/*", async (session) => {
      try {
        for await (const message of session.incoming) await session.send(message);
      } catch {
        // The session failed (the case's point, often); it already sent its close frame.
      }
    });
  } else {
    server.webSocketRaw("/*", async (session) => {
      try {
        for await (const frame of session.incoming) {
          if (frame.type === "ping") await session.send(Frame.pong(frame.data));
          else if (frame.type === "close") {
            await session.close(readReason(frame));
            return;
          } else if (frame.type !== "pong") await session.send(frame);
        }
      } catch {
        // As above.
      }
    });
  }
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  return { server, listener, errors };
}

/** The library's managed client, echoing every message until the session ends. */
async function managedClientEcho(url: string, c: ConformanceCase): Promise<void> {
  const client = createClient({
    maxFrameSize: LIMIT,
    maxMessageSize: LIMIT,
    closeTimeout: 2000,
    extensions: c.deflate ? [perMessageDeflate(c.deflate.clientOptions)] : [],
  });
  try {
    const session = await client.webSocketSession(url);
    try {
      for await (const message of session.incoming) await session.send(message);
    } catch {
      // Failed: the close frame was sent by the session.
    }
    await session.closed;
  } finally {
    await client[Symbol.asyncDispose]();
  }
}

/** The library's raw client, echoing frame by frame, answering pings and the close. */
async function rawClientEcho(url: string): Promise<void> {
  const session = await webSocketRawSession(url, { maxFrameSize: LIMIT, closeTimeout: 2000 });
  try {
    for await (const frame of session.incoming) {
      if (frame.type === "ping") await session.send(Frame.pong(frame.data));
      else if (frame.type === "close") await session.close(readReason(frame));
      else if (frame.type !== "pong") await session.send(frame);
    }
  } catch {
    // Failed: the session sent its close frame; or a send failed (the connection broke): a raw
    // session is released only by reading on or aborting.
    session.abort();
  }
  await session.closed;
}

function failed(c: ConformanceCase, target: string, reason: string, ms = 0): CaseResult {
  return { id: c.id, category: c.category, target, verdict: "FAILED", reason, ms };
}

function playOptions(c: ConformanceCase, role: "client" | "server", o: RunOptions): PlayOptions {
  const waitMs = c.waitMs ?? o.waitMs ?? 1500;
  return {
    role,
    deflate: null,
    waitMs,
    closeWaitMs: o.closeWaitMs ?? 2500,
    caseTimeoutMs: Math.max(15_000, waitMs * 3),
  };
}

/** One case with the library as the server on `port`. */
async function runAgainstServer(
  c: ConformanceCase,
  target: TargetName,
  port: number,
  o: RunOptions,
): Promise<CaseResult> {
  const start = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const options = playOptions(c, "client", o);
  let rest: Uint8Array;
  try {
    const hs = await clientHandshake(conn, {
      port,
      path: `/case/${c.id}`,
      extensions: c.deflate?.offer,
    });
    rest = hs.rest;
    const offers = parseDeflateOffers(c.deflate?.offer ?? null);
    const answers = parseDeflateOffers(hs.head.headers.get("sec-websocket-extensions") ?? null);
    if (answers.length > 0) {
      if (offers.length === 0) throw new Error("permessage-deflate answered but not offered");
      // The server may pick any offer; the peer checks the answer against the one it matches.
      const side = offers.map((offer) =>
        clientSide(offer, answers[0]!)
      ).find((s) => typeof s !== "string") ?? clientSide(offers[0]!, answers[0]!);
      if (typeof side === "string") throw new Error(`bad permessage-deflate answer: ${side}`);
      options.deflate = new PeerDeflate(side);
    }
  } catch (err) {
    conn.close();
    return failed(c, target, `handshake: ${err instanceof Error ? err.message : err}`);
  }
  try {
    const obs = await playCase(c, conn, rest, options);
    const { verdict, reason } = judge(c, obs, expectations(c), true);
    return {
      id: c.id,
      category: c.category,
      target,
      verdict,
      reason,
      ms: performance.now() - start,
    };
  } finally {
    await options.deflate?.close();
  }
}

/** One case with the library as the client. */
async function runAgainstClient(
  c: ConformanceCase,
  target: TargetName,
  o: RunOptions,
): Promise<CaseResult> {
  const start = performance.now();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${listener.addr.port}/case/${c.id}`;
  const options = playOptions(c, "server", o);
  let clientError: unknown = null;
  const library = (target === "client/managed" ? managedClientEcho(url, c) : rawClientEcho(url))
    .catch((err) => {
      clientError = err;
    });
  let conn: Deno.Conn | null = null;
  try {
    const accepting = listener.accept();
    accepting.catch(() => {});
    const accepted = await Promise.race([accepting, library.then(() => null)]);
    if (accepted === null) {
      return failed(c, target, `the client did not connect: ${clientError}`);
    }
    conn = accepted;
  } finally {
    listener.close();
  }
  let rest: Uint8Array;
  try {
    const hs = await serverHandshake(conn, (request) => {
      if (!c.deflate) return [];
      const answer = serverAnswer(
        parseDeflateOffers(request.headers.get("sec-websocket-extensions") ?? null),
        c.deflate.accept,
      );
      if (answer === null) return [];
      options.deflate = new PeerDeflate(answer.side);
      return [`Sec-WebSocket-Extensions: ${answer.header}`];
    });
    rest = hs.rest;
  } catch (err) {
    conn.close();
    await library;
    await options.deflate?.close();
    return failed(c, target, `handshake: ${err instanceof Error ? err.message : err}`);
  }
  try {
    const obs = await playCase(c, conn, rest, options);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      library.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
    ]);
    clearTimeout(timer);
    if (!finished) return failed(c, target, "the library client did not end after the case");
    await library;
    const { verdict, reason } = judge(c, obs, expectations(c), false);
    const why = verdict === "FAILED" && clientError !== null
      ? `${reason}; the client threw: ${clientError}`
      : reason;
    return {
      id: c.id,
      category: c.category,
      target,
      verdict,
      reason: why,
      ms: performance.now() - start,
    };
  } finally {
    await options.deflate?.close();
  }
}

const expectationCache = new WeakMap<ConformanceCase, ReturnType<typeof computeExpectations>>();

function computeExpectations(c: ConformanceCase) {
  return { ok: observedForm(c.ok), nonStrict: c.nonStrict ? observedForm(c.nonStrict) : undefined };
}

function expectations(c: ConformanceCase) {
  let e = expectationCache.get(c);
  if (!e) expectationCache.set(c, e = computeExpectations(c));
  return e;
}

/**
 * Runs `cases` against `target`, `concurrency` at a time, and returns the results in case
 * order. Starts and stops the library's server for the server targets.
 */
export async function runCases(
  target: TargetName,
  cases: readonly ConformanceCase[],
  o: RunOptions = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  const server = target.startsWith("server/") && o.port === undefined
    ? startLibraryServer(target === "server/managed" ? "managed" : "raw")
    : null;
  const port = o.port ?? server?.listener.addr.port;
  try {
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        let result: CaseResult;
        try {
          result = port !== undefined
            ? await runAgainstServer(c, target, port, o)
            : await runAgainstClient(c, target, o);
        } catch (err) {
          result = failed(c, target, `runner error: ${err instanceof Error ? err.stack : err}`);
        }
        results[i] = result;
        o.onResult?.(result);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  } finally {
    if (server) {
      await server.listener.shutdown();
      if (server.errors.length > 0) {
        console.error(`${target}: server errors:`, server.errors.slice(0, 3));
      }
    }
  }
  return results;
}

/** Verdict counts per category, as a Markdown table (one row per category and target). */
export function summaryTable(results: readonly CaseResult[]): string {
  const verdicts: Verdict[] = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"];
  const rows = new Map<string, Map<Verdict, number>>();
  for (const r of results) {
    const key = `${r.category.padStart(2)} | ${r.target}`;
    let row = rows.get(key);
    if (!row) rows.set(key, row = new Map());
    row.set(r.verdict, (row.get(r.verdict) ?? 0) + 1);
  }
  const keys = [...rows.keys()].sort((a, b) => {
    const [ca, ta] = a.split(" | ");
    const [cb, tb] = b.split(" | ");
    return Number(ca) - Number(cb) || ta!.localeCompare(tb!);
  });
  const lines = [
    `| cat | target         | ${verdicts.join(" | ")} |`,
    `| --- | -------------- | ${verdicts.map((v) => "-".repeat(v.length)).join(" | ")} |`,
  ];
  for (const key of keys) {
    const [cat, target] = key.split(" | ");
    const row = rows.get(key)!;
    lines.push(
      `| ${cat!.padStart(3)} | ${target!.padEnd(14)} | ${
        verdicts.map((v) => String(row.get(v) ?? 0).padStart(v.length)).join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}
