/**
 * wirestream's servers under test: the standalone listener with a managed route
 * (`server.webSocket`) or a raw route (`server.webSocketRaw`), written as a user would. W4 as
 * users write it broadcasts with `for (const s of sessions) await s.send(bytes)` for each
 * message; the other W4 variant sends one pre-built `Frame` in rounds of 16 messages, awaiting
 * each round's last sends. W4 through topics (`publish`) subscribes every session to one topic
 * and broadcasts each message with one awaited `server.publish`. The library comes from this checkout or from the base checkout
 * (`--base`), see `../lib.ts`.
 *
 * @module
 */

import type {
  DefaultWebSocketServerSession,
  Frame,
  RawWebSocketServerSession,
} from "../../../server.ts";
import type { CellParams } from "../plan.ts";
import type { ServerLib } from "../lib.ts";
import { DEFLATE, payload } from "../child.ts";
import { parseGo, ROUND, waitFor } from "./tcp.ts";

/** A session as the broadcast loops see it. */
interface Member {
  send(data: Frame | Uint8Array): Promise<void>;
}

/**
 * Broadcasts as users write it: for each message, a plain loop over the sessions, each send
 * awaited (it resolves at once while the session's outgoing queue is below its bound).
 */
async function plainBroadcast(
  sessions: Set<Member>,
  messages: number,
  msg: Uint8Array,
): Promise<void> {
  for (let m = 0; m < messages; m++) {
    for (const s of sessions) await s.send(msg);
  }
}

/** The topic of W4 through topics. */
const TOPIC = "bench";

/** What the W4 publish loop needs of the server. */
interface Publisher {
  publish(topic: string, data: Uint8Array): Promise<unknown>;
}

/**
 * Broadcasts through a topic as users write it: one awaited `publish` per message (the same
 * bytes encoded once and shared by every subscriber).
 */
async function publishBroadcast(
  server: Publisher,
  messages: number,
  msg: Uint8Array,
): Promise<void> {
  for (let m = 0; m < messages; m++) await server.publish(TOPIC, msg);
}

/**
 * Sends `messages` copies of one 1 KiB frame to every member, in rounds of 16 messages; each
 * round waits for the members' writes. The frame object is built once.
 */
async function broadcast(
  lib: ServerLib,
  members: Set<Member>,
  messages: number,
  size: number,
): Promise<void> {
  const frame = lib.Frame.binary(payload(size));
  const all = [...members];
  for (let m = 0; m < messages; m += ROUND) {
    const round = Math.min(ROUND, messages - m);
    const last: Promise<void>[] = [];
    for (let r = 0; r < round - 1; r++) {
      for (let i = 0; i < all.length; i++) all[i]!.send(frame).catch(() => {});
    }
    for (let i = 0; i < all.length; i++) last.push(all[i]!.send(frame).catch(() => {}));
    await Promise.all(last);
  }
}

/**
 * Starts the server.
 *
 * @param params The cell.
 * @param raw Whether to serve a raw route (else a managed one).
 * @param lib The library (this checkout's or the base checkout's `server.ts`).
 * @returns The port.
 */
export function startWirestream(params: CellParams, raw: boolean, lib: ServerLib): number {
  const { createServer, perMessageDeflate, readText } = lib;
  const kind = params.kind;
  const server = createServer({
    onError: () => {},
    extensions: kind === "deflate"
      ? [perMessageDeflate({ level: DEFLATE.level, memLevel: DEFLATE.memLevel, threshold: 0 })]
      : [],
  });
  const members = new Set<Member>();
  const clients = () => members.size;
  const bytes = payload(params.size || 1024);
  const publish = params.publish === true && !raw;
  const broadcastAll = (messages: number): Promise<void> =>
    publish
      ? publishBroadcast(server, messages, bytes)
      : params.idiom
      ? plainBroadcast(members, messages, bytes)
      : broadcast(lib, members, messages, params.size);

  if (!raw && params.events === true) {
    // W5 with the route in event form: an idle session holds no stream and no handler frame.
    server.webSocket("/bench", { message() {} });
  } else if (!raw) {
    server.webSocket("/bench", async (session: DefaultWebSocketServerSession) => {
      if (kind === "echo-seq" || kind === "echo-pipe" || kind === "deflate") {
        for await (const message of session.incoming) await session.send(message);
      } else if (kind === "sink") {
        let count = 0;
        for await (const message of session.incoming) {
          if (message.type === "text") await session.send(`${count}`);
          else count++;
        }
      } else if (kind === "broadcast") {
        if (publish) await session.subscribe(TOPIC);
        members.add(session);
        try {
          for await (const message of session.incoming) {
            const go = message.type === "text" ? parseGo(readText(message)) : null;
            if (go === null) continue;
            await waitFor(() => clients() >= go.clients);
            await broadcastAll(go.messages);
          }
        } finally {
          members.delete(session);
        }
      } else {
        for await (const _ of session.incoming) {
          // Idle.
        }
      }
    });
  } else {
    server.webSocketRaw("/bench", async (session: RawWebSocketServerSession) => {
      let count = 0;
      if (kind === "broadcast") members.add(session);
      try {
        for await (const frame of session.incoming) {
          const type = frame.type;
          if (type === "close") {
            await session.send(frame);
            return;
          }
          if (kind === "echo-seq" || kind === "echo-pipe") {
            await session.send(frame);
          } else if (kind === "sink") {
            if (type === "text") await session.send(`${count}`);
            else count++;
          } else if (kind === "broadcast" && type === "text") {
            const go = parseGo(readText(frame));
            if (go === null) continue;
            await waitFor(() => clients() >= go.clients);
            await broadcastAll(go.messages);
          }
        }
      } finally {
        members.delete(session);
      }
    });
  }
  const listener = server.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}
