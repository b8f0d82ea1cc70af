/**
 * A send that fails after the peer closed says why: the close reason is in the error's message
 * and is its `cause`.
 */

import assert from "node:assert/strict";
import { CloseReason } from "../../src/core/close.ts";
import { ConnectionClosedError, ConnectionError } from "../../src/core/errors.ts";
import { Frame } from "../../src/core/frame.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import { RawServer } from "../_helpers/raw_server.ts";

Deno.test("managed session: a send after the peer closed with 1009 carries the close reason", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    // The peer refuses a message as too big and hangs up without waiting for our answer.
    await peer.send(Frame.close(new CloseReason(1009, "Message is too big")));
    peer.close();
    const big = new Uint8Array(1024 * 1024);
    let failure: unknown = null;
    for (let i = 0; i < 200 && failure === null; i++) {
      await session.send(big).catch((err) => failure = err);
    }
    assert.ok(
      failure instanceof ConnectionError || failure instanceof ConnectionClosedError,
      String(failure),
    );
    assert.match(failure.message, /1009 "Message is too big"/);
    assert.ok(failure.cause instanceof CloseReason, String(failure.cause));
    assert.equal(failure.cause.code, 1009);
    assert.equal((await session.closeReason).code, 1009);
    // Later sends say the same.
    const later = await session.send("more").catch((err) => err);
    assert.ok(later instanceof ConnectionClosedError, String(later));
    assert.equal(later.code, "SESSION_CLOSED");
    assert.match(later.message, /: the peer closed the session with 1009 "Message is too big"$/);
    assert.ok(later.cause instanceof CloseReason);
  } finally {
    session.abort();
  }
});

Deno.test("managed session: sends after a clean close say how it closed", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    await peer.send(Frame.close(new CloseReason(1001, "going away")));
    assert.equal((await session.closeReason).code, 1001);
    const err = await session.send("late").catch((e) => e);
    assert.ok(err instanceof ConnectionClosedError, String(err));
    assert.equal(err.code, "SESSION_CLOSED");
    assert.match(err.message, /the peer closed the session with 1001 "going away"$/);
    assert.equal(err.closeReason?.code, 1001);
    assert.ok(err.cause instanceof CloseReason);
  } finally {
    session.abort();
  }
});
