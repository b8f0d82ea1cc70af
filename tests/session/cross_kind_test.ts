/**
 * One table of close and error scenarios, run against every session kind: the raw and managed
 * clients, the raw and managed routes of the standalone listener, and the managed route served
 * through `Deno.serve`. For each scenario and kind it checks what the other side reads on the
 * wire and what the session reports, so that the kinds cannot drift apart silently: where a kind
 * behaves differently, the table says so, with the reason.
 *
 * The other side is always a raw TCP peer (it can send bad bytes, and shows the exact close
 * payload). It answers a close frame with the same payload, and then (as a server) ends the
 * connection, or (as a client) reads until the server ends it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CloseReason } from "../../src/core/close.ts";
import { ConnectionClosedError, ProtocolError, WebSocketError } from "../../src/core/errors.ts";
import { Frame, readReason } from "../../src/core/frame.ts";
import { webSocket } from "../../src/client/default_client.ts";
import { webSocketRaw } from "../../src/client/raw_client.ts";
import type { DefaultWebSocketSession } from "../../src/session/managed_session.ts";
import type { RawWebSocketSession } from "../../src/session/raw_session.ts";
import { createServer } from "../../src/server/server.ts";
import type { ServerOptions } from "../../src/server/options.ts";
import type { WebSocketServerSessionInfo } from "../../src/server/raw_server_session.ts";
import { type RawPeer as RawServerPeer, RawServer } from "../_helpers/raw_server.ts";
import { RawPeer as RawClientPeer } from "../server/_tcp.ts";

/** The five session kinds. */
const KINDS = [
  "raw client",
  "managed client",
  "raw route (listener)",
  "managed route (listener)",
  "managed route (Deno.serve)",
] as const;
type Kind = typeof KINDS[number];

const RAW_KINDS: readonly Kind[] = ["raw client", "raw route (listener)"];
const CLIENT_KINDS: readonly Kind[] = ["raw client", "managed client"];

/** The size limit every kind runs with: `maxFrameSize` (raw) or `maxMessageSize` (managed). */
const LIMIT = 1024;
/** Long enough never to decide a test on loopback; short enough to fail fast. */
const CLOSE_TIMEOUT = 3_000;
/** A peer reads at most this many frames (a bounded loop). */
const MAX_FRAMES = 16;

const INVALID_UTF8 = new Uint8Array([0x68, 0x69, 0xff, 0xfe]);

/**
 * A close as it shows: `"1005"` for an empty close payload (RFC 6455 §7.1.5: no status code),
 * `"<code>"` or `"<code> <reason>"` otherwise, and `"none"` when the connection ended without a
 * close frame.
 */
type Close = string;

function describeReason(reason: CloseReason | null): Close {
  if (reason === null) return "1005";
  return reason.message === "" ? `${reason.code}` : `${reason.code} ${reason.message}`;
}

function describeFrame(frame: Frame): Close {
  return describeReason(readReason(frame));
}

/** What one scenario shows on one kind. */
interface Outcome {
  /** The close frame the peer read from the session, or `"none"`. */
  wire: Close;
  /**
   * What the session reports: a managed session's `closeReason`; for a raw session (which has
   * none) the close frame `incoming` delivered, or the close code of the error it failed with.
   * `"unread"` when the application did not read `incoming` (it threw).
   */
  reported: Close;
  /** How `incoming` ended: `"end"`, the error's `code`, or `"unread"`. */
  incoming: string;
}

/** A kind that does not behave as the row expects: how, and why. */
interface Difference extends Partial<Outcome> {
  why: string;
}

/** The other side of the connection. */
interface Peer {
  /** Sends a frame (masked when the peer is the client). */
  send(frame: Frame): Promise<void>;
  /** The next frame, or `null` at the end of the stream. */
  next(): Promise<Frame | null>;
  /** Ends our side of the TCP connection without a close frame. */
  closeWrite(): Promise<void>;
  /** Whether the peer is the server (it then ends the connection after the close handshake). */
  readonly isServer: boolean;
  close(): void;
}

/** One scenario. */
interface Row {
  name: string;
  /** What the application does first (in the client's block or the route's handler). */
  app?: (session: RawWebSocketSession | DefaultWebSocketSession) => Promise<void>;
  /** Whether `app` sends a close frame (then a raw application does not echo the peer's). */
  appCloses?: boolean;
  /** Whether `app` throws (then nobody reads `incoming`). */
  appThrows?: boolean;
  /** What the peer does first. */
  peer?: (peer: Peer) => Promise<void>;
  /** Whether `peer` sends a close frame (then the peer does not echo the session's). */
  peerCloses?: boolean;
  /** Whether `peer` ends the TCP connection (then it reads, but answers nothing). */
  peerDrops?: boolean;
  /** What every kind does, unless listed in `differs`. */
  expect: Outcome;
  /** Kinds that behave differently, with the reason. */
  differs?: Partial<Record<Kind, Difference>>;
}

const TABLE: Row[] = [
  {
    name: "the application closes with a code and a reason",
    app: (s) => s.close(new CloseReason(4001, "bye")),
    appCloses: true,
    expect: { wire: "4001 bye", reported: "4001 bye", incoming: "end" },
  },
  {
    name: "the application sends a close frame without a code",
    app: (s) => s.send(Frame.close()),
    appCloses: true,
    // RFC 6455 §5.5.1: the payload is optional; the session reports 1005 like the peer would.
    expect: { wire: "1005", reported: "1005", incoming: "end" },
  },
  {
    name: "the peer closes with a code and a reason",
    peer: (p) => p.send(Frame.close(new CloseReason(4002, "peer"))),
    peerCloses: true,
    expect: { wire: "4002 peer", reported: "4002 peer", incoming: "end" },
  },
  {
    name: "the peer closes without a code",
    peer: (p) => p.send(Frame.close()),
    peerCloses: true,
    // RFC 6455 §7.1.5: no status code is reported as 1005; the echo stays empty.
    expect: { wire: "1005", reported: "1005", incoming: "end" },
  },
  {
    name: "the peer drops the connection without a close frame",
    peer: (p) => p.closeWrite(),
    peerDrops: true,
    // RFC 6455 §7.1.5: 1006, and no close frame is sent on a connection that is gone.
    expect: {
      wire: "none",
      reported: "1006 Connection was closed without close frame",
      incoming: "CLOSED_ABNORMALLY",
    },
    differs: Object.fromEntries(RAW_KINDS.map((kind) => [kind, {
      reported: "1006",
      why: "a raw session has no closeReason: the CLOSED_ABNORMALLY error incoming fails with " +
        "carries a bare 1006",
    }])),
  },
  {
    name: "the peer sends invalid UTF-8 in a text message",
    peer: (p) => p.send(new Frame("text", INVALID_UTF8)),
    // RFC 6455 §8.1: fail the connection with 1007.
    expect: {
      wire: "1007 Invalid UTF-8 in text message",
      reported: "1007 Invalid UTF-8 in text message",
      incoming: "INVALID_UTF8",
    },
    differs: {
      "managed route (Deno.serve)": {
        wire: "none",
        why: "Deno's WebSocket drops the connection on invalid UTF-8 without sending a close " +
          "frame; the session still reports 1007",
      },
    },
  },
  {
    name: "the peer sends a message over the size limit",
    peer: (p) => p.send(Frame.binary(new Uint8Array(2 * LIMIT))),
    expect: {
      wire: `1009 Message is too big: ${2 * LIMIT}. Max size is ${LIMIT}`,
      reported: `1009 Message is too big: ${2 * LIMIT}. Max size is ${LIMIT}`,
      incoming: "MESSAGE_TOO_BIG",
    },
    differs: Object.fromEntries(RAW_KINDS.map((kind) => [kind, {
      wire: `1009 Frame is too big: ${2 * LIMIT}. Max size is ${LIMIT}`,
      reported: `1009 Frame is too big: ${2 * LIMIT}. Max size is ${LIMIT}`,
      incoming: "FRAME_TOO_BIG",
      why: "raw sessions do not reassemble messages: they limit frames (maxFrameSize)",
    }])),
  },
  {
    name: "the handler throws",
    app: () => Promise.reject(new Error("boom")),
    appThrows: true,
    // Routes keep the error's text on the server (onError) and send 1011 "Internal error".
    expect: { wire: "1011 Internal error", reported: "1011 Internal error", incoming: "unread" },
    differs: {
      "raw client": {
        wire: "1011 Error: boom",
        reported: "unread",
        why: "a client's block sends the error's text (it is the client's own); a raw session " +
          "has no closeReason and the block no longer reads incoming",
      },
      "managed client": {
        wire: "1011 Error: boom",
        reported: "1011 Error: boom",
        why: "a client's block sends the error's text (it is the client's own)",
      },
      "raw route (listener)": {
        reported: "unread",
        why: "a raw session has no closeReason and the handler no longer reads incoming",
      },
    },
  },
];

/** What the application saw: the session, and how `incoming` ended. */
interface AppSide {
  session: RawWebSocketSession | DefaultWebSocketSession | null;
  reported: Close;
  incoming: string;
}

function errorCode(err: unknown): string {
  return err instanceof WebSocketError ? err.code : String(err);
}

/** The close code a raw session's `incoming` failed with. */
function errorClose(err: unknown): Close {
  if (err instanceof ProtocolError) return `${err.closeCode} ${err.message}`;
  if (err instanceof ConnectionClosedError && err.closeReason) {
    return describeReason(err.closeReason);
  }
  return errorCode(err);
}

/**
 * The application: runs the row's `app`, then reads `incoming` to its end. A raw application
 * answers the peer's close frame with the same payload (nothing is automatic there).
 */
async function application(
  row: Row,
  raw: boolean,
  session: RawWebSocketSession | DefaultWebSocketSession,
  side: AppSide,
): Promise<void> {
  side.session = session;
  if (row.app) await row.app(session);
  const reader = session.incoming.getReader();
  try {
    for (let i = 0; i < MAX_FRAMES; i++) {
      const { done, value } = await reader.read();
      if (done) {
        side.incoming = "end";
        return;
      }
      if (raw && value.type === "close") {
        side.reported = describeFrame(value);
        if (!row.appCloses) await session.send(value);
      }
    }
    side.incoming = "too many frames";
  } catch (err) {
    side.incoming = errorCode(err);
    if (raw) side.reported = errorClose(err);
  } finally {
    reader.releaseLock();
  }
}

/**
 * The peer: runs the row's `peer`, then reads frames to the end of the connection, answering
 * the first close frame with the same payload unless it sent its own; a server peer ends the
 * connection once both close frames went by.
 *
 * @returns The first close frame read, or `"none"`.
 */
async function runPeer(row: Row, peer: Peer): Promise<Close> {
  if (row.peer) await row.peer(peer);
  let wire: Close = "none";
  for (let i = 0; i < MAX_FRAMES; i++) {
    const frame = await peer.next();
    if (frame === null) return wire;
    if (frame.type !== "close" || wire !== "none") continue;
    wire = describeFrame(frame);
    if (row.peerDrops) continue;
    // The session may have let go of the socket at once (a protocol failure).
    if (!row.peerCloses) await peer.send(new Frame("close", frame.data)).catch(() => {});
    if (peer.isServer) return wire;
  }
  return "too many frames";
}

function serverPeer(peer: RawServerPeer): Peer {
  return {
    isServer: true,
    send: (frame) => peer.send(frame),
    next: () => peer.readFrame(),
    closeWrite: () => peer.conn.closeWrite(),
    close: () => peer.close(),
  };
}

function clientPeer(peer: RawClientPeer): Peer {
  return {
    isServer: false,
    send: (frame) => peer.send(frame),
    next: () => peer.next(),
    closeWrite: () => peer.conn.closeWrite(),
    close: () => peer.close(),
  };
}

/** Runs `row` on a client kind against a raw TCP server. */
async function runClient(row: Row, kind: Kind): Promise<Outcome> {
  const raw = kind === "raw client";
  await using server = RawServer.start();
  const side: AppSide = { session: null, reported: "unread", incoming: "unread" };
  const options = { closeTimeout: CLOSE_TIMEOUT };
  const block = raw
    ? webSocketRaw(server.url(), (s) => application(row, true, s, side), {
      ...options,
      maxFrameSize: LIMIT,
    })
    : webSocket(server.url(), (s) => application(row, false, s, side), {
      ...options,
      maxMessageSize: LIMIT,
      pingInterval: 0,
    });
  const settled = block.then(() => null, (err: unknown) => err);
  const accepted = await server.accept();
  await accepted.upgrade();
  const peer = serverPeer(accepted);
  try {
    const wire = await runPeer(row, peer);
    peer.close();
    const thrown = await settled;
    if (row.appThrows) assert.equal((thrown as Error | null)?.message, "boom");
    else if (thrown !== null) throw thrown;
    return outcome(wire, raw, side);
  } finally {
    peer.close();
  }
}

/** Runs `row` on a server kind with a raw TCP client. */
async function runRoute(row: Row, kind: Kind): Promise<Outcome> {
  const raw = kind === "raw route (listener)";
  const side: AppSide = { session: null, reported: "unread", incoming: "unread" };
  const errors: unknown[] = [];
  const options: ServerOptions = {
    closeTimeout: CLOSE_TIMEOUT,
    onError: (err) => void errors.push(err),
    ...(raw ? { maxFrameSize: LIMIT } : { maxMessageSize: LIMIT }),
  };
  const server = createServer(options);
  const handled = Promise.withResolvers<void>();
  const handler = async (s: RawWebSocketSession | DefaultWebSocketSession) => {
    try {
      await application(row, raw, s, side);
    } finally {
      handled.resolve();
    }
  };
  if (raw) server.webSocketRaw("/", handler);
  else server.webSocket("/", handler);
  let port: number;
  let stop: () => Promise<void>;
  if (kind === "managed route (Deno.serve)") {
    const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.handler);
    port = http.addr.port;
    stop = async () => {
      await server.shutdown();
      await http.shutdown();
    };
  } else {
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    port = listener.addr.port;
    stop = () => listener.shutdown();
  }
  let peer: Peer | null = null;
  try {
    const opened = await RawClientPeer.open(port, "/");
    assert.equal(opened.status, 101);
    peer = clientPeer(opened.peer);
    const wire = await runPeer(row, peer);
    await handled.promise;
    await side.session!.closed;
    assert.equal(errors.length, row.appThrows ? 1 : 0, `onError got ${errors}`);
    return outcome(wire, raw, side);
  } finally {
    peer?.close();
    await stop();
  }
}

async function outcome(wire: Close, raw: boolean, side: AppSide): Promise<Outcome> {
  const session = side.session;
  assert.ok(session, "the application never got a session");
  const reported = raw
    ? side.reported
    : describeReason(await (session as DefaultWebSocketSession).closeReason);
  return { wire, reported, incoming: side.incoming };
}

for (const row of TABLE) {
  for (const kind of KINDS) {
    Deno.test(`every session kind: ${row.name} — ${kind}`, async () => {
      const { why: _why, ...difference } = row.differs?.[kind] ?? { why: "" };
      const expected: Outcome = { ...row.expect, ...difference };
      const got = CLIENT_KINDS.includes(kind)
        ? await runClient(row, kind)
        : await runRoute(row, kind);
      assert.deepEqual(got, expected);
    });
  }
}

Deno.test("every session kind: the table lists only real kinds, and says why a kind differs", () => {
  for (const row of TABLE) {
    for (const [kind, difference] of Object.entries(row.differs ?? {})) {
      assert.ok((KINDS as readonly string[]).includes(kind), `${row.name}: unknown kind ${kind}`);
      assert.ok(difference.why.length > 20, `${row.name} / ${kind}: say why it differs`);
    }
  }
});

Deno.test("every route kind: the upgrade request, params and address stay readable in the handler", async () => {
  type Seen = { method: string; url: string; header: string | null; params: unknown; port: number };
  let seen: Seen[] = [];
  let finished = Promise.withResolvers<void>();
  const record = (s: WebSocketServerSessionInfo) => {
    seen.push({
      method: s.request.method,
      url: s.request.url.href,
      header: s.request.headers.get("x-user"),
      params: { ...s.params },
      port: (s.remoteAddr as Deno.NetAddr).port,
    });
  };
  const server = createServer();
  server.webSocket("/m/:room", async (session) => {
    try {
      record(session);
      for await (const _ of session.incoming) break;
      record(session);
      await session.closeReason;
      record(session);
    } finally {
      finished.resolve();
    }
  });
  server.webSocketRaw("/r/:room", async (session) => {
    try {
      record(session);
      for await (const frame of session.incoming) {
        if (frame.type !== "close") continue;
        await session.send(frame);
        break;
      }
      record(session);
    } finally {
      finished.resolve();
    }
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.handler);
  try {
    for (
      const [name, port, path] of [
        ["managed", listener.addr.port, "/m/lobby?x=1"],
        ["raw", listener.addr.port, "/r/lobby?x=1"],
        ["served", http.addr.port, "/m/lobby?x=1"],
      ] as const
    ) {
      const { peer, status } = await RawClientPeer.open(port, path, { "X-User": "bob" });
      assert.equal(status, 101);
      const local = (peer.conn.localAddr as Deno.NetAddr).port;
      await peer.send(Frame.text("hi"));
      await peer.send(Frame.close(new CloseReason(1000, "")));
      await finished.promise;
      assert.equal(await peer.ended(), true);
      peer.close();
      const expected = {
        method: "GET",
        url: `http://127.0.0.1:${port}${path}`,
        header: "bob",
        params: { room: "lobby" },
        port: local,
      };
      assert.equal(seen.length, name === "raw" ? 2 : 3, `${name}: the handler ran to its end`);
      for (const entry of seen) assert.deepEqual(entry, expected, name);
      seen = [];
      finished = Promise.withResolvers<void>();
    }
  } finally {
    await listener.shutdown();
    await server.shutdown();
    await http.shutdown();
  }
});
