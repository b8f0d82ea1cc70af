/**
 * What `send()` takes besides strings, `Uint8Array`s and frames: an `ArrayBuffer`, any typed
 * array or `DataView` (the bytes it views), a `Blob` (read first, sent in order), on every kind
 * of session.
 */

import assert from "node:assert/strict";
import type { Frame } from "../../src/core/frame.ts";
import { webSocket, webSocketSession } from "../../src/client/default_client.ts";
import { webSocketRawSession } from "../../src/client/raw_client.ts";
import type { Sendable } from "../../src/session/raw_session.ts";
import type { DefaultWebSocketSession } from "../../src/session/managed_session.ts";
import { createServer } from "../../src/server/server.ts";
import { viewBytes } from "../../src/session/session_types.ts";
import { RawServer } from "../_helpers/raw_server.ts";

/** The messages to send, and what the peer must read (`string` for text, bytes for binary). */
function samples(): { send: Sendable[]; expect: (string | number[])[] } {
  const wide = new Uint16Array([0x0102, 0x0304, 0x0506]);
  const buffer = new Uint8Array([9, 8, 7, 6]).buffer;
  const view = new DataView(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3);
  const send: Sendable[] = [
    "first",
    buffer,
    wide.subarray(1),
    view,
    new Blob([new Uint8Array([42, 43]), "!"]),
    "after the blob",
    new Uint8Array([7]),
    new Blob(["second blob"]),
    new Float32Array([1.5]),
  ];
  const expect: (string | number[])[] = [
    "first",
    [9, 8, 7, 6],
    [...new Uint8Array(wide.buffer, 2, 4)],
    [2, 3, 4],
    [42, 43, 33],
    "after the blob",
    [7],
    [...new TextEncoder().encode("second blob")],
    [...new Uint8Array(new Float32Array([1.5]).buffer)],
  ];
  return { send, expect };
}

function shape(frame: Frame): string | number[] {
  return frame.type === "text" ? new TextDecoder().decode(frame.data) : [...frame.data];
}

Deno.test("viewBytes: the same memory, no copy", () => {
  const buffer = new ArrayBuffer(8);
  const wide = new Uint32Array(buffer, 4, 1);
  const bytes = viewBytes(wide)!;
  assert.equal(bytes.buffer, buffer);
  assert.equal(bytes.byteOffset, 4);
  assert.equal(bytes.byteLength, 4);
  assert.equal(viewBytes(buffer)!.buffer, buffer);
  assert.equal(viewBytes("text"), null);
});

for (const kind of ["managed", "raw"] as const) {
  Deno.test(`${kind} client session: sends ArrayBuffers, typed arrays, DataViews and Blobs in order`, async () => {
    await using server = RawServer.start();
    const opening = kind === "managed"
      ? webSocketSession(server.url())
      : webSocketRawSession(server.url());
    const peer = await server.accept();
    await peer.upgrade();
    const session = await opening;
    try {
      const { send, expect } = samples();
      // Unawaited on purpose: a Blob's later neighbours must not overtake it.
      const sends = send.map((data) => session.send(data));
      await Promise.all(sends);
      const seen: (string | number[])[] = [];
      while (seen.length < expect.length) {
        const frame = await peer.readFrame();
        assert.ok(frame !== null);
        seen.push(shape(frame));
      }
      assert.deepEqual(seen, expect);
      await assert.rejects(
        session.send(42 as unknown as Sendable),
        (err: unknown) => err instanceof TypeError && /ArrayBuffer/.test(err.message),
      );
    } finally {
      session.abort();
    }
  });
}

for (const how of ["listen", "Deno.serve"] as const) {
  Deno.test(`managed server session (${how}): sends ArrayBuffers, typed arrays, DataViews and Blobs in order`, async () => {
    const server = createServer();
    const done = Promise.withResolvers<void>();
    server.webSocket("/", async (session) => {
      try {
        for (const data of samples().send) session.send(data);
        await session.flush();
      } finally {
        done.resolve();
      }
    });
    let port: number;
    let stop: () => Promise<void>;
    if (how === "Deno.serve") {
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
    const seen: (string | number[])[] = [];
    const expect = samples().expect;
    try {
      await webSocket(`ws://127.0.0.1:${port}/`, async (session: DefaultWebSocketSession) => {
        for await (const frame of session.incoming) {
          seen.push(shape(frame));
          if (seen.length === expect.length) break;
        }
      });
      await done.promise;
    } finally {
      await stop();
    }
    assert.deepEqual(seen, expect);
  });
}
