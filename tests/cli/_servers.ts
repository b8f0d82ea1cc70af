/**
 * The servers the command-line tool is tested against: the project's own server with a route
 * for each behaviour (echo, hold, close 4000, refuse, a scripted raw route that pings and
 * fragments), recording what each connection saw.
 *
 * @module
 */

import { CloseReason } from "../../src/core/close.ts";
import { Frame, readText } from "../../src/core/frame.ts";
import { createServer } from "../../src/server/server.ts";
import type { ServerListener } from "../../src/server/listener.ts";
import { perMessageDeflate } from "../../src/session/permessage_deflate.ts";

/** What one connection to the test server saw. */
export interface Seen {
  /** The route. */
  path: string;
  /** The request headers. */
  headers: Headers;
  /** The subprotocol selected. */
  protocol: string;
  /** Messages in order: text as is, binary as `hex:…`. */
  messages: string[];
  /** The close reason (the client's, when it closed first). */
  close: { code: number; reason: string } | null;
}

/** The project's server, on 127.0.0.1, with the test routes. */
export interface TestServer extends AsyncDisposable {
  /** `ws://127.0.0.1:PORT`. */
  base: string;
  /** What each connection saw, in order of arrival. */
  seen: Seen[];
  /** Resolves with the next connection's record once its session has ended. */
  ended(): Promise<Seen>;
}

/**
 * Starts the project's server with the test routes:
 *
 * - `/echo` (managed, deflate accepted, subprotocol `chat.v1` when offered): echoes.
 * - `/hold`: echoes; on the message `bye-please` closes with 4001 "done".
 * - `/close4000`: closes with 4000 "bye" at once.
 * - `/refuse`: answers the upgrade with 403 and the body "go away".
 * - `/script` (raw): sends a ping "p1", a text message in two fragments "hel" + "lo", and a
 *   close 1001 "bye", then reads until the client's close frame (at most 400 ms, or `?wait=MS`).
 *
 * @returns The running server.
 */
export function startTestServer(): TestServer {
  const seen: Seen[] = [];
  const waiting: ((s: Seen) => void)[] = [];
  const done: Seen[] = [];
  const finish = (s: Seen) => {
    const w = waiting.shift();
    if (w) w(s);
    else done.push(s);
  };
  const server = createServer({ extensions: [perMessageDeflate()], closeTimeout: 300 });
  const record = (session: { request: { url: URL; headers: Headers }; protocol: string }) => {
    const s: Seen = {
      path: session.request.url.pathname,
      headers: session.request.headers,
      protocol: session.protocol,
      messages: [],
      close: null,
    };
    seen.push(s);
    return s;
  };
  for (const protocol of ["chat.v1", undefined]) {
    server.webSocket("/echo", async (session) => {
      const s = record(session);
      try {
        for await (const m of session.incoming) {
          s.messages.push(m.type === "text" ? readText(m) : `hex:${m.data.toHex()}`);
          await session.send(m);
        }
      } finally {
        const r = await session.closeReason;
        s.close = r && { code: r.code, reason: r.message };
        finish(s);
      }
    }, { protocol });
  }
  server.webSocket("/hold", async (session) => {
    const s = record(session);
    try {
      for await (const m of session.incoming) {
        const text = m.type === "text" ? readText(m) : "";
        s.messages.push(text);
        if (text === "bye-please") {
          await session.close(new CloseReason(4001, "done"));
          break;
        }
        await session.send(m);
      }
    } finally {
      const r = await session.closeReason;
      s.close = r && { code: r.code, reason: r.message };
      finish(s);
    }
  });
  server.webSocket("/close4000", async (session) => {
    const s = record(session);
    await session.close(new CloseReason(4000, "bye"));
    finish(s);
  });
  server.webSocket("/refuse", () => {}, {
    upgrade: () => new Response("go away", { status: 403 }),
  });
  server.webSocketRaw("/script", async (session) => {
    const s = record(session);
    await session.send(Frame.ping(new TextEncoder().encode("p1")));
    await session.send(Frame.text("hel", { fin: false }));
    await session.send(Frame.text("lo"));
    await session.close(new CloseReason(1001, "bye"));
    // A raw client may never answer: give up on it after a while (a bound, not a wait).
    const bound = Number(session.request.url.searchParams.get("wait") ?? 400);
    const timer = setTimeout(() => session.abort(), bound);
    try {
      for await (const frame of session.incoming) {
        if (frame.type === "pong") s.messages.push(`pong:${new TextDecoder().decode(frame.data)}`);
        if (frame.type === "close") break;
      }
    } catch {
      // The client may leave without a close frame.
    } finally {
      clearTimeout(timer);
    }
    finish(s);
  });
  const listener: ServerListener = server.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    base: `ws://127.0.0.1:${listener.addr.port}`,
    seen,
    ended: () => {
      const s = done.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
    },
    [Symbol.asyncDispose]: () => listener.shutdown(),
  };
}
