/**
 * What the benchmark runs: implementations, workloads (W1-W6) in both roles, their sizes in the
 * full and the quick mode, and which child processes serve each cell. W3 on the client side and
 * W4 come twice: first as users write them (the headline, {@linkcode CellParams.idiom}: every
 * wirestream send awaited, plain loops for the others), then with the harness's flow control;
 * W4 also a third time, through topics ({@linkcode CellParams.publish}).
 * W5 reports RSS per connection as the process stands (the headline) and after garbage
 * collection.
 *
 * @module
 */

/**
 * An implementation under test. The `…-base` ones are wirestream again, loaded from another
 * checkout of the repository (`--base=PATH`) and driven by this checkout's harness.
 */
export type Impl =
  | "wirestream"
  | "wirestream-raw"
  | "deno"
  | "ws"
  | "tcp"
  | "wirestream-base"
  | "wirestream-raw-base";

/** Every implementation of a run without `--base`, in the order they run within a repetition. */
export const IMPLS: readonly Impl[] = ["wirestream", "wirestream-raw", "deno", "ws", "tcp"];

/** The base counterpart of each wirestream implementation (`--base`). */
export const BASE_OF: Readonly<Partial<Record<Impl, Impl>>> = {
  "wirestream": "wirestream-base",
  "wirestream-raw": "wirestream-raw-base",
};

/** The implementations loaded from the base checkout. */
export const BASE_IMPLS: readonly Impl[] = ["wirestream-base", "wirestream-raw-base"];

/** Every implementation, base ones included. */
export const ALL_IMPLS: readonly Impl[] = [...IMPLS, ...BASE_IMPLS];

/** Other names `--impl` accepts. */
export const IMPL_ALIASES: Readonly<Record<string, Impl>> = {
  "wirestream-managed": "wirestream",
  "wirestream-managed-base": "wirestream-base",
};

/** The implementation named `name` in `--impl` (an id or an alias), or `undefined`. */
export function parseImpl(name: string): Impl | undefined {
  const id = IMPL_ALIASES[name] ?? name;
  return (ALL_IMPLS as readonly string[]).includes(id) ? id as Impl : undefined;
}

/** Whether `impl` is loaded from the base checkout. */
export function isBase(impl: Impl): boolean {
  return BASE_IMPLS.includes(impl);
}

/**
 * `impls` with each wirestream implementation followed by its base counterpart, so that the two
 * run next to each other in every repetition.
 */
export function withBase(impls: readonly Impl[]): Impl[] {
  return impls.flatMap((i) => BASE_OF[i] === undefined ? [i] : [i, BASE_OF[i]!]);
}

/** Display names. */
export const IMPL_NAMES: Readonly<Record<Impl, string>> = {
  "wirestream": "wirestream (managed)",
  "wirestream-raw": "wirestream (raw)",
  "deno": "Deno built-in",
  "ws": "npm:ws under Deno",
  "tcp": "TCP ceiling",
  "wirestream-base": "wirestream (managed, base)",
  "wirestream-raw-base": "wirestream (raw, base)",
};

/** Which side the implementation plays: the server under load, or the client. */
export type Role = "server" | "client";

/** The shape of a workload, as the child processes know it. */
export type Kind = "echo-seq" | "echo-pipe" | "sink" | "broadcast" | "idle" | "deflate";

/** What the server process runs. */
export type ServerImpl = Impl | "neutral";
/** What the client process runs: an implementation, or the neutral load generator. */
export type ClientImpl = Impl | "neutral";

/** The parameters a cell's child processes get (as JSON on the command line). */
export interface CellParams {
  /** The workload shape. */
  kind: Kind;
  /** The role of the implementation measured (decides who reports what). */
  role: Role;
  /** Payload bytes of each message. */
  size: number;
  /** Text (true) or binary messages. */
  text: boolean;
  /** Untimed warm-up before measuring, in ms (time-bounded workloads). */
  warmupMs: number;
  /** How long to measure, in ms (time-bounded workloads). */
  durationMs: number;
  /** A fixed number of messages (W3), or 0 for time-bounded. */
  count: number;
  /** Messages sent untimed before a counted run (W3). */
  warmupCount: number;
  /** Payload bytes in flight at most (pipelined echo). */
  windowBytes: number;
  /** Connected clients (W4). */
  clients: number;
  /** Messages broadcast (W4). */
  messages: number;
  /** Connections to open (W5). */
  connections: number;
  /** Handshakes in flight at most (W4, W5). */
  concurrency: number;
  /** W6 corpus. */
  corpus: "json" | "text" | "";
  /**
   * The loop as users write it (W3 and W4), not the harness's flow control. W3: wirestream
   * awaits every `send` and `flush()`es before `end`; Deno's `WebSocket` and npm:ws call `send`
   * in a plain loop and wait for `bufferedAmount` to reach 0 before `end`. W4: every server
   * broadcasts each message with a plain loop over its sessions (wirestream `await`s each
   * `send`; Deno and npm:ws wait for nothing). When false, W3 waits only above 1 MiB queued
   * and W4 broadcasts in rounds of 16 messages, each round's writes awaited.
   */
  idiom: boolean;
  /**
   * W4 through topics: the wirestream server subscribes every session to one topic and
   * broadcasts each message with one awaited `server.publish(topic, bytes)`; the other
   * implementations of the variant run their plain loop ({@linkcode CellParams.idiom}).
   */
  publish?: boolean;
  /**
   * W5 with the managed route in event form (`server.webSocket(path, { message })`): no
   * `incoming` stream and no handler suspended in `for await` per session. The other
   * implementations of the variant are the same as in the headline.
   */
  events?: boolean;
}

/** A figure a workload reports, and how it reads. */
export interface Metric {
  /** The key in the child's result. */
  key: string;
  /** Column title. */
  label: string;
  /** Short name, for ratio columns. */
  short: string;
  /** Whether more is better. */
  higherIsBetter: boolean;
}

/** One row group of the report: a workload at one size, in one role. */
export interface Variant {
  /** Stable id, e.g. `W1-32B-text/server`. */
  id: string;
  /** `W1`…`W6`. */
  workload: string;
  /** Human title. */
  title: string;
  /** Who is measured. */
  role: Role;
  /** The implementations compared. */
  impls: readonly Impl[];
  /** The child parameters. */
  params: CellParams;
  /** The figures; the first one is primary (ratios are computed on it). */
  metrics: readonly Metric[];
}

const BASE: CellParams = {
  kind: "echo-seq",
  role: "server",
  size: 0,
  text: false,
  warmupMs: 0,
  durationMs: 0,
  count: 0,
  warmupCount: 0,
  windowBytes: 0,
  clients: 0,
  messages: 0,
  connections: 0,
  concurrency: 0,
  corpus: "",
  idiom: false,
  publish: false,
  events: false,
};

const KIB = 1024;
const MIB = 1024 * 1024;

/** Sizes of a run. */
export interface Scale {
  /** Warm-up of time-bounded workloads, ms. */
  warmupMs: number;
  /** Measurement of time-bounded workloads, ms. */
  durationMs: number;
  /** W3 message count. */
  w3Count: number;
  /** W4 clients and messages. */
  w4Clients: number;
  /** W4 messages broadcast. */
  w4Messages: number;
  /** W5 connections. */
  w5Connections: number;
}

/** The full run (about 10 minutes on the 2-core machine, 5 repetitions). */
export const FULL: Scale = {
  warmupMs: 200,
  durationMs: 700,
  w3Count: 1_000_000,
  w4Clients: 1000,
  w4Messages: 100,
  w5Connections: 10_000,
};

/** The quick smoke run (each workload once, small sizes; about 30-40 s). */
export const QUICK: Scale = {
  warmupMs: 50,
  durationMs: 150,
  w3Count: 100_000,
  w4Clients: 100,
  w4Messages: 20,
  w5Connections: 500,
};

const RT: Metric[] = [
  { key: "rate", label: "round trips/s", short: "rt/s", higherIsBetter: true },
  { key: "p50", label: "p50 µs", short: "p50", higherIsBetter: false },
  { key: "p99", label: "p99 µs", short: "p99", higherIsBetter: false },
];
const MBPS: Metric[] = [
  { key: "mbps", label: "MB/s per direction", short: "MB/s", higherIsBetter: true },
];
const MSGS: Metric[] = [
  { key: "rate", label: "messages/s", short: "msg/s", higherIsBetter: true },
];
const DELIVERIES: Metric[] = [
  { key: "rate", label: "deliveries/s", short: "deliveries/s", higherIsBetter: true },
];
const IDLE: Metric[] = [
  {
    key: "rssPerConnNoGc",
    label: "RSS per connection, no forced GC (B)",
    short: "RSS",
    higherIsBetter: false,
  },
  {
    key: "rssPerConn",
    label: "RSS per connection after GC (B)",
    short: "RSS after GC",
    higherIsBetter: false,
  },
  { key: "rate", label: "connections/s", short: "conn/s", higherIsBetter: true },
];
const DEFLATE: Metric[] = [
  { key: "rate", label: "messages/s", short: "msg/s", higherIsBetter: true },
  {
    key: "wire",
    label: "wire bytes/message, measured side",
    short: "wire",
    higherIsBetter: false,
  },
  {
    key: "peerWire",
    label: "wire bytes/message, other side",
    short: "peer wire",
    higherIsBetter: false,
  },
];

/** The title suffix of W3 (client side) as users write it: {@linkcode CellParams.idiom}. */
export const W3_IDIOM = "plain send loop";
/** The title suffix of W3 (client side) with the harness's 1 MiB flow control. */
export const W3_BOUNDED = "waits above 1 MiB queued";
/** The title suffix of W4 as users write it: {@linkcode CellParams.idiom}. */
export const W4_IDIOM = "plain send loop";
/** The title suffix of W4 in awaited rounds of 16 messages. */
export const W4_ROUNDS = "rounds of 16 awaited";
/** The title suffix of W4 through topics: one awaited `server.publish` per message. */
export const W4_PUBLISH = "publish";
/**
 * The implementations of W4 through topics: the managed sessions (raw ones have no topics),
 * beside Deno's plain loop and the TCP ceiling of the same run.
 */
export const W4_PUBLISH_IMPLS: readonly Impl[] = ["wirestream", "deno", "tcp"];

/** The title suffix of W5 with the managed route in event form. */
export const W5_EVENTS = "managed route in event form";

/**
 * Builds the list of variants. Where a workload has a variant written as users write it
 * ({@linkcode CellParams.idiom}), that one comes first: it is the headline.
 *
 * @param scale Sizes (full or quick).
 * @param options Which workloads and roles to keep; `base` adds the base checkout's wirestream
 * implementations, each next to its counterpart.
 */
export function buildPlan(
  scale: Scale,
  options: { only?: readonly string[]; roles?: readonly Role[]; base?: boolean } = {},
): Variant[] {
  const out: Variant[] = [];
  const roles: Role[] = ["server", "client"];
  const t = { warmupMs: scale.warmupMs, durationMs: scale.durationMs };
  for (const role of roles) {
    const add = (
      workload: string,
      title: string,
      params: Partial<CellParams>,
      metrics: Metric[],
      impls: readonly Impl[] = IMPLS,
      noBase = false,
    ) => {
      const id = `${workload} ${title} (${role})`;
      out.push({
        id,
        workload,
        title,
        role,
        impls: options.base === true && !noBase ? withBase(impls) : impls,
        params: { ...BASE, ...t, ...params, role },
        metrics,
      });
    };
    add("W1", "echo 32 B text", { kind: "echo-seq", size: 32, text: true }, RT);
    add("W1", "echo 1 KiB binary", { kind: "echo-seq", size: KIB }, RT);
    for (const size of [64 * KIB, MIB]) {
      const label = size === MIB ? "1 MiB" : "64 KiB";
      add("W2", `pipelined echo ${label}`, {
        kind: "echo-pipe",
        size,
        windowBytes: 4 * MIB,
      }, MBPS);
      add("W2", `upload to sink ${label}`, { kind: "sink", size }, MBPS);
    }
    const w3 = `${scale.w3Count.toLocaleString("en-US")} × 16 B to a sink`;
    const w3Params: Partial<CellParams> = {
      kind: "sink",
      size: 16,
      count: scale.w3Count,
      warmupCount: Math.floor(scale.w3Count / 10),
    };
    if (role === "client") {
      // The headline: the plain send loop users write; beside it, the loop that waits only
      // above 1 MiB queued.
      add("W3", `${w3}, ${W3_IDIOM}`, { ...w3Params, idiom: true }, MSGS);
      add("W3", `${w3}, ${W3_BOUNDED}`, w3Params, MSGS);
    } else {
      // The server under test only receives (and answers `end` with an awaited send).
      add("W3", w3, w3Params, MSGS);
    }
    if (role === "server") {
      const w4 = `broadcast 1 KiB to ${scale.w4Clients.toLocaleString("en-US")} clients`;
      const w4Params: Partial<CellParams> = {
        kind: "broadcast",
        size: KIB,
        clients: scale.w4Clients,
        messages: scale.w4Messages,
        concurrency: 50,
      };
      // The headline: a plain loop of sends over the sessions; beside it, one publish per
      // message to a topic every session subscribes to, and rounds of 16.
      add("W4", `${w4}, ${W4_IDIOM}`, { ...w4Params, idiom: true }, DELIVERIES);
      add(
        "W4",
        `${w4}, ${W4_PUBLISH}`,
        { ...w4Params, idiom: true, publish: true },
        DELIVERIES,
        W4_PUBLISH_IMPLS,
        true, // a base checkout from before topics has no publish
      );
      add("W4", `${w4}, ${W4_ROUNDS}`, w4Params, DELIVERIES);
    }
    const w5 = `${scale.w5Connections.toLocaleString("en-US")} idle connections`;
    const w5Params: Partial<CellParams> = {
      kind: "idle",
      connections: scale.w5Connections,
      concurrency: 64,
    };
    add("W5", w5, w5Params, IDLE);
    if (role === "server") {
      // Beside the headline (a handler in `for await`): the route's event form.
      add(
        "W5",
        `${w5}, ${W5_EVENTS}`,
        { ...w5Params, events: true },
        IDLE,
        W4_PUBLISH_IMPLS,
        true, // a base checkout from before the event form has none
      );
    }
    const deflateImpls: Impl[] = ["wirestream", "ws"];
    add(
      "W6",
      "permessage-deflate 1 KiB JSON",
      {
        kind: "deflate",
        size: KIB,
        text: true,
        corpus: "json",
        windowBytes: 16 * KIB,
      },
      DEFLATE,
      deflateImpls,
    );
    add(
      "W6",
      "permessage-deflate 64 KiB text",
      {
        kind: "deflate",
        size: 64 * KIB,
        text: true,
        corpus: "text",
        windowBytes: 16 * 64 * KIB,
      },
      DEFLATE,
      deflateImpls,
    );
  }
  return out.filter((v) =>
    (options.only === undefined || options.only.includes(v.workload)) &&
    (options.roles === undefined || options.roles.includes(v.role))
  );
}

/**
 * Which processes serve a cell: in the server role every server is driven by the neutral load
 * generator; in the client role every client drives the neutral server. The TCP ceiling is the
 * load generator's TCP mode against the TCP server in both roles. permessage-deflate needs a
 * deflate-capable counterpart: npm:ws plays the neutral side there.
 *
 * @param variant The variant.
 * @param impl The implementation measured.
 */
export function cellProcesses(
  variant: Variant,
  impl: Impl,
): { server: ServerImpl; client: ClientImpl } {
  if (impl === "tcp") return { server: "tcp", client: "tcp" };
  if (variant.params.kind === "deflate") {
    return variant.role === "server" ? { server: impl, client: "ws" } : {
      server: "ws",
      client: impl,
    };
  }
  return variant.role === "server"
    ? { server: impl, client: "neutral" }
    : { server: "neutral", client: impl };
}
