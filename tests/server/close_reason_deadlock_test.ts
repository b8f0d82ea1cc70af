/**
 * A handler that catches an error around its `incoming` loop and then awaits `closeReason`
 * (Ktor's `catch (e) { closeReason.await() }`) must not wait forever: reading `closeReason`
 * then rejects with `CLOSE_REASON_DEADLOCK` once `closeTimeout` passed with the session open,
 * and the block closes the session with 1011.
 * On real sockets, with the listener and behind `Deno.serve`, and with the managed client's block.
 */

import assert from "node:assert/strict";
import { createServer, type WebSocketServer } from "../../src/server/server.ts";
import type { ServerErrorContext } from "../../src/server/options.ts";
import { CloseReason } from "../../src/core/close.ts";
import { WebSocketError } from "../../src/core/errors.ts";
import { readText } from "../../src/core/frame.ts";
import { webSocket, webSocketSession } from "../../src/client/default_client.ts";
import type { DefaultWebSocketServerSession } from "../../server.ts";

type Front = "listener" | "Deno.serve";

/** Serves `setup`'s routes through `front` on a free loopback port; runs `fn`; shuts down. */
async function serving(
  front: Front,
  setup: (server: WebSocketServer) => void,
  fn: (base: string) => Promise<void>,
  onError: (error: unknown, context: ServerErrorContext) => void,
): Promise<void> {
  const server = createServer({ onError, closeTimeout: 300 });
  setup(server);
  if (front === "listener") {
    const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      await fn(`ws://127.0.0.1:${listener.addr.port}`);
    } finally {
      await listener.shutdown();
    }
    return;
  }
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.handler);
  try {
    await fn(`ws://127.0.0.1:${http.addr.port}`);
  } finally {
    await server.shutdown();
    await http.shutdown();
  }
}

for (const front of ["listener", "Deno.serve"] as const) {
  Deno.test(`closeReason in a handler's catch after its loop threw: 1011 after closeTimeout, not a hang (${front})`, async () => {
    const errors: unknown[] = [];
    const caught = Promise.withResolvers<unknown>();
    await serving(front, (server) => {
      server.webSocket("/", async (session: DefaultWebSocketServerSession) => {
        try {
          for await (const message of session.incoming) {
            JSON.parse(readText(message)); // the application's error: not JSON
          }
        } catch (err) {
          caught.resolve(err);
          await session.closeReason; // would wait for the client, which waits for an answer
        }
      });
    }, async (base) => {
      await using session = await webSocketSession(`${base}/`);
      await session.send("not json");
      assert.deepEqual(await session.closeReason, new CloseReason(1011, "Internal error"));
    }, (error, context) => {
      assert.equal(context.phase, "handler");
      errors.push(error);
    });
    assert.ok((await caught.promise) instanceof SyntaxError);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof WebSocketError);
    assert.equal(errors[0].code, "CLOSE_REASON_DEADLOCK");
    assert.match(errors[0].message, /close it first/i);
  });

  Deno.test(`closeReason in a handler stays a wait when the session can still end (${front})`, async () => {
    const reasons: CloseReason[] = [];
    const errors: unknown[] = [];
    await serving(front, (server) => {
      // Never reads incoming (a push-only route): closeReason waits for the client's close.
      server.webSocket("/push", async (session: DefaultWebSocketServerSession) => {
        await session.send("tick");
        reasons.push(await session.closeReason);
      });
      // Leaves its loop early, closes first, then awaits: the documented fix.
      server.webSocket("/close-first", async (session: DefaultWebSocketServerSession) => {
        for await (const _ of session.incoming) break;
        await session.close(new CloseReason(4000, "done"));
        reasons.push(await session.closeReason);
      });
      // Leaves its loop early because the client closed: the session is closing, no error.
      server.webSocket("/peer-closed", async (session: DefaultWebSocketServerSession) => {
        try {
          for await (const _ of session.incoming) await session.send("x");
        } finally {
          reasons.push(await session.closeReason);
        }
      });
    }, async (base) => {
      const push = await webSocket(`${base}/push`, async (session) => {
        for await (const message of session.incoming) return readText(message);
        return null;
      });
      assert.equal(push, "tick");
      await using closeFirst = await webSocketSession(`${base}/close-first`);
      await closeFirst.send("go");
      assert.deepEqual(await closeFirst.closeReason, new CloseReason(4000, "done"));
      await webSocket(`${base}/peer-closed`, async (session) => {
        await session.close(new CloseReason(1000, "bye"));
      });
    }, (error) => errors.push(error));
    assert.deepEqual(errors, []);
    assert.equal(reasons.length, 3);
    assert.deepEqual(reasons[0], new CloseReason(1000, ""));
    assert.deepEqual(reasons[1], new CloseReason(4000, "done"));
    assert.deepEqual(reasons[2], new CloseReason(1000, "bye"));
  });
}

Deno.test("closeReason in a client block's catch after its loop threw: the block closes with 1011", async () => {
  const server = createServer({ closeTimeout: 300 });
  const seen = Promise.withResolvers<CloseReason>();
  server.webSocket("/", async (session) => {
    await session.send("not json");
    for await (const _ of session.incoming) { /* drain */ }
    seen.resolve(await session.closeReason);
  });
  const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const failure = await webSocket(`ws://127.0.0.1:${listener.addr.port}/`, async (session) => {
      try {
        for await (const message of session.incoming) JSON.parse(readText(message));
      } catch {
        await session.closeReason;
      }
    }).then(() => null, (err) => err);
    assert.ok(failure instanceof WebSocketError);
    assert.equal(failure.code, "CLOSE_REASON_DEADLOCK");
    const reason = await seen.promise;
    assert.equal(reason.code, 1011);
  } finally {
    await listener.shutdown();
  }
});
