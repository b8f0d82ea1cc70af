import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  createClient,
  Frame,
  jsonConverter,
  readText,
  SerializationError,
  webSocket,
  type WebSocketContentConverter,
  webSocketSession,
} from "../../mod.ts";
import { startNodeEcho, startNodeServer } from "../_helpers/ws_peer.ts";

interface User {
  name: string;
  id: number;
}

function isUser(value: unknown): value is User {
  return typeof value === "object" && value !== null &&
    typeof (value as User).name === "string" && typeof (value as User).id === "number";
}

type Caught = SerializationError & { closeReason?: { code: number } | null };

async function rejection(p: Promise<unknown>): Promise<Caught> {
  try {
    await p;
  } catch (e) {
    return e as Caught;
  }
  throw new Error("expected a rejection");
}

function assertUser(value: unknown): asserts value is User {
  if (!isUser(value)) throw new Error("not a user");
}

Deno.test("jsonConverter round trips 100 values through an echo server", async () => {
  await using server = await startNodeEcho();
  const result = await webSocket(server.url(), async (session) => {
    const got: User[] = [];
    for (let i = 0; i < 100; i++) {
      await session.sendSerialized({ name: `user${i}`, id: i });
      got.push(await session.receiveDeserialized(isUser));
    }
    await session.sendSerialized(null);
    assert.equal(await session.receiveDeserialized(), null);
    return got;
  }, { converter: jsonConverter() });
  assert.equal(result.length, 100);
  assert.deepEqual(result[42], { name: "user42", id: 42 });
});

Deno.test("sendSerialized sends JSON as a text frame", async () => {
  await using server = await startNodeServer();
  await using client = createClient({ converter: jsonConverter() });
  const session = await client.webSocketSession(server.url());
  const { socket } = await server.connection();
  const received = new Promise<{ data: string; binary: boolean }>((resolve) =>
    socket.once("message", (data, binary) => resolve({ data: String(data), binary }))
  );
  await session.sendSerialized({ name: "user", id: 123 });
  assert.deepEqual(await received, { data: '{"name":"user","id":123}', binary: false });
  socket.send('{"name":"server","id":1}');
  const value = await session.receiveDeserialized<User>(assertUser);
  assert.equal(value.name, "server");
  await session.close();
});

Deno.test("without a converter both helpers fail with CONVERTER_NOT_FOUND", async () => {
  await using server = await startNodeEcho();
  await using session = await webSocketSession(server.url());
  assert.equal(session.converter, undefined);
  for (const attempt of [session.sendSerialized({ a: 1 }), session.receiveDeserialized()]) {
    const err = await attempt.catch((e) => e);
    assert.ok(err instanceof SerializationError);
    assert.equal(err.code, "CONVERTER_NOT_FOUND");
    assert.match(err.message, /No converter/);
  }
});

Deno.test("receiveDeserialized fails with the offending frame", async (t) => {
  await using server = await startNodeServer();
  await using client = createClient({ converter: jsonConverter() });
  const session = await client.webSocketSession(server.url());
  const { socket } = await server.connection();

  await t.step("a binary message is not applicable to JSON", async () => {
    socket.send(new Uint8Array([1, 2, 3]));
    const err = await rejection(session.receiveDeserialized());
    assert.ok(err instanceof SerializationError);
    assert.equal(err.code, "DESERIALIZATION_FAILED");
    assert.match(err.message, /doesn't support frame type BINARY/);
    assert.equal(err.frame?.type, "binary");
    assert.deepEqual([...err.frame!.data], [1, 2, 3]);
  });
  await t.step("text that is not JSON", async () => {
    socket.send("{oops");
    const err = await rejection(session.receiveDeserialized());
    assert.equal(err.code, "DESERIALIZATION_FAILED");
    assert.ok(err.cause instanceof SyntaxError);
    assert.equal(readText(err.frame!), "{oops");
  });
  await t.step("a type guard that returns false", async () => {
    socket.send('{"name":1}');
    const err = await rejection(session.receiveDeserialized(isUser));
    assert.equal(err.code, "DESERIALIZATION_FAILED");
    assert.match(err.message, /failed validation/);
    assert.equal(readText(err.frame!), '{"name":1}');
  });
  await t.step("an assertion that throws", async () => {
    socket.send("[]");
    const err = await rejection(session.receiveDeserialized(assertUser));
    assert.equal(err.code, "DESERIALIZATION_FAILED");
    assert.equal((err.cause as Error).message, "not a user");
  });
  await t.step("the session goes on after a failed message", async () => {
    socket.send('{"name":"ok","id":7}');
    assert.deepEqual(await session.receiveDeserialized(isUser), { name: "ok", id: 7 });
  });
  await session.close();
});

Deno.test("sendSerialized fails with SERIALIZATION_FAILED for values JSON cannot hold", async () => {
  await using server = await startNodeEcho();
  await using session = await webSocketSession(server.url(), { converter: jsonConverter() });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const value of [undefined, 10n, cyclic, () => 1]) {
    const err = await session.sendSerialized(value).catch((e) => e);
    assert.ok(err instanceof SerializationError, String(err));
    assert.equal(err.code, "SERIALIZATION_FAILED");
  }
  assert.equal(session.state, "open");
});

Deno.test("a custom binary converter sends binary frames", async () => {
  // A tiny length-prefixed format: [u8 length][utf-8 name][u32 id].
  const compact: WebSocketContentConverter = {
    serialize(value) {
      const user = value as User;
      const name = new TextEncoder().encode(user.name);
      const out = new Uint8Array(1 + name.length + 4);
      out[0] = name.length;
      out.set(name, 1);
      new DataView(out.buffer).setUint32(1 + name.length, user.id);
      return Promise.resolve(Frame.binary(out));
    },
    deserialize(frame) {
      const n = frame.data[0]!;
      const view = new DataView(frame.data.buffer, frame.data.byteOffset, frame.data.length);
      return {
        name: new TextDecoder().decode(frame.data.subarray(1, 1 + n)),
        id: view.getUint32(1 + n),
      };
    },
    isApplicable: (frame) => frame.type === "binary",
  };
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url(), { converter: compact });
  const { socket } = await server.connection();
  socket.on("message", (data, binary) => socket.send(data, { binary }));
  const received = new Promise<boolean>((r) => socket.once("message", (_d, binary) => r(binary)));
  await session.sendSerialized({ name: "ada", id: 1815 });
  assert.equal(await received, true);
  assert.deepEqual(await session.receiveDeserialized(isUser), { name: "ada", id: 1815 });
  await session.close();
});

Deno.test("a converter that returns no frame fails with SERIALIZATION_FAILED", async () => {
  await using server = await startNodeEcho();
  const broken = {
    serialize: () => "not a frame",
    deserialize: () => null,
    isApplicable: () => true,
  } as unknown as WebSocketContentConverter;
  await using session = await webSocketSession(server.url(), { converter: broken });
  const err = await session.sendSerialized(1).catch((e) => e);
  assert.equal(err.code, "SERIALIZATION_FAILED");
});

Deno.test("concurrent receiveDeserialized calls get the messages in order", async () => {
  await using server = await startNodeServer();
  await using session = await webSocketSession(server.url(), { converter: jsonConverter() });
  const { socket } = await server.connection();
  const pending = Array.from({ length: 10 }, () => session.receiveDeserialized<number>());
  for (let i = 0; i < 10; i++) socket.send(String(i));
  assert.deepEqual(await Promise.all(pending), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("receiveDeserialized after the end: SESSION_CLOSED, or the failure", async () => {
  await using server = await startNodeServer();
  const session = await webSocketSession(server.url(), { converter: jsonConverter() });
  const { socket } = await server.connection();
  socket.close(1000, "bye");
  const err = await rejection(session.receiveDeserialized());
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.code, "SESSION_CLOSED");
  assert.equal(err.closeReason?.code, 1000);

  const second = await webSocketSession(server.url(), { converter: jsonConverter() });
  (await server.connection()).socket.terminate();
  const lost = await rejection(second.receiveDeserialized());
  assert.equal(lost.code, "CLOSED_ABNORMALLY");
  await session.closed;
  await second.closed;
});

Deno.test("jsonConverter options: reviver and replacer; bad options are TypeErrors", () => {
  const json = jsonConverter({
    replacer: (_key, value) => (value instanceof Map ? Object.fromEntries(value) : value),
    reviver: (key, value) => (key === "at" ? new Date(value as string) : value),
  });
  const frame = json.serialize({ m: new Map([["a", 1]]) }) as Frame;
  assert.equal(readText(frame), '{"m":{"a":1}}');
  const value = json.deserialize(Frame.text('{"at":"2026-01-01T00:00:00.000Z"}')) as { at: Date };
  assert.ok(value.at instanceof Date);
  assert.equal(json.isApplicable(Frame.binary(new Uint8Array())), false);
  assert.throws(() => jsonConverter({ reviver: 1 as never }), TypeError);
  assert.throws(() => createClient({ converter: {} as never }), TypeError);
});

Deno.test("receive() gives the next message and leaves incoming usable", async () => {
  await using server = await startNodeEcho();
  await using session = await webSocketSession(server.url());
  await session.send("one");
  await session.send("two");
  assert.equal(readText(await session.receive()), "one");
  for await (const message of session.incoming) {
    assert.equal(readText(message), "two");
    break;
  }
  await session.send("three");
  assert.equal(readText(await session.receive()), "three");
});

Deno.test("deserialized() iterates values and ends quietly on a normal close", async () => {
  await using server = await startNodeServer();
  await using client = createClient({ converter: jsonConverter() });
  const session = await client.webSocketSession(server.url());
  const { socket } = await server.connection();
  for (let i = 0; i < 3; i++) socket.send(JSON.stringify({ name: `u${i}`, id: i }));
  socket.close(4000, "done");
  const got: User[] = [];
  for await (const user of session.deserialized(isUser)) got.push(user);
  assert.deepEqual(got.map((u) => u.id), [0, 1, 2]);
  assert.equal((await session.closeReason)?.code, 4000);
});

Deno.test("deserialized() throws the failure when the session fails", async () => {
  await using server = await startNodeServer();
  await using client = createClient({ converter: jsonConverter() });
  const session = await client.webSocketSession(server.url());
  const { socket } = await server.connection();
  socket.send(JSON.stringify({ name: "u", id: 1 }));
  socket.terminate();
  const got: User[] = [];
  await assert.rejects(
    (async () => {
      for await (const user of session.deserialized(isUser)) got.push(user);
    })(),
    ConnectionClosedError,
  );
  assert.equal(got.length, 1);
});
