/**
 * The send contract of every session: `send()` resolves once the frame is accepted into the
 * bounded outgoing queue (at once below the bound), `flush()` when the socket has taken
 * everything, and a write failure rejects what waits and ends the session with 1006.
 */

import assert from "node:assert/strict";
import { webSocketSession } from "../../src/client/default_client.ts";
import { ConnectionClosedError, ConnectionError } from "../../src/core/errors.ts";
import { RawServer } from "../_helpers/raw_server.ts";

const BOUND = 256 * 1024;
const MESSAGE = 64 * 1024;

/** Reads and discards from `conn` until `total` bytes came, or the end of stream. */
async function drain(conn: Deno.Conn, total: number): Promise<number> {
  const buf = new Uint8Array(256 * 1024);
  let got = 0;
  while (got < total) {
    const n = await conn.read(buf);
    if (n === null) break;
    got += n;
  }
  return got;
}

Deno.test("managed session: a producer that awaits every send is held to the queue bound", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url(), { outgoingQueue: { bytes: BOUND } });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    const COUNT = 400; // 25 MiB: more than the kernel's buffers and the bound together
    const payload = new Uint8Array(MESSAGE).fill(3);
    let highest = 0;
    const producing = (async () => {
      for (let i = 0; i < COUNT; i++) {
        await session.send(payload);
        highest = Math.max(highest, session.bufferedAmount);
      }
    })();
    // The peer reads only now: until then the producer is held back by the bound.
    const expected = COUNT * (MESSAGE + 14); // 10-byte header + mask key
    assert.equal(await drain(peer.conn, expected), expected);
    await producing;
    assert.ok(highest <= BOUND + MESSAGE + 14, `${highest} queued after an accepted send`);
    await session.flush();
    assert.equal(session.bufferedAmount, 0);
  } finally {
    session.abort();
  }
});

Deno.test("managed session: flush() waits for the socket; send() does not", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  try {
    const SIZE = 32 * 1024 * 1024;
    await session.send(new Uint8Array(SIZE)); // accepted at once: nothing was queued
    assert.ok(session.bufferedAmount >= SIZE);
    let flushed = false;
    const flushing = session.flush().then(() => {
      flushed = true;
    });
    const buf = new Uint8Array(64 * 1024);
    const first = await peer.conn.read(buf);
    assert.ok(first !== null);
    assert.equal(flushed, false);
    const expected = SIZE + 14; // 10-byte header + mask key
    assert.equal(first + await drain(peer.conn, expected - first), expected);
    await flushing;
    assert.equal(session.bufferedAmount, 0);
  } finally {
    session.abort();
  }
});

Deno.test("managed session: a write failure rejects waiting sends and ends the session with 1006", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url(), { outgoingQueue: { bytes: BOUND } });
  const peer = await server.accept();
  await peer.upgrade();
  const session = await opening;
  const payload = new Uint8Array(MESSAGE);
  // Fill the kernel's buffers and the bound; the peer never reads.
  const waiting: Promise<void>[] = [];
  for (let i = 0; i < 400; i++) waiting.push(session.send(payload));
  peer.conn.close(); // unread data: the kernel resets the connection
  const results = await Promise.allSettled(waiting);
  const rejected = results.filter((r) => r.status === "rejected");
  assert.ok(rejected.length > 0, "sends that waited beyond the bound must reject");
  for (const r of rejected) {
    const reason = (r as PromiseRejectedResult).reason;
    assert.ok(
      reason instanceof ConnectionError || reason instanceof ConnectionClosedError,
      String(reason),
    );
  }
  const closeReason = await session.closeReason;
  assert.equal(closeReason?.code, 1006);
  await assert.rejects(session.flush());
  await session.closed;
});
