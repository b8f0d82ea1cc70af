/**
 * A JSON chat client: `sendSerialized` / `receiveDeserialized` with the JSON converter and a
 * type guard, against a small chat server that greets, echoes and announces.
 *
 * Run: `deno run -A examples/json_chat_client.ts` (it starts its own server on 127.0.0.1).
 *
 * @module
 */

import { createClient, jsonConverter, SerializationError } from "../mod.ts";

/** What the server sends. */
type ServerEvent =
  | { type: "welcome"; you: string }
  | { type: "message"; from: string; text: string }
  | { type: "bye" };

function isServerEvent(value: unknown): value is ServerEvent {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case "welcome":
      return typeof v.you === "string";
    case "message":
      return typeof v.from === "string" && typeof v.text === "string";
    case "bye":
      return true;
    default:
      return false;
  }
}

// The chat server: one room, JSON text messages.
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const name = new URL(req.url).searchParams.get("name") ?? "anonymous";
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => socket.send(JSON.stringify({ type: "welcome", you: name }));
  socket.onmessage = (event) => {
    const { text } = JSON.parse(event.data);
    if (text === "/quit") {
      socket.send(JSON.stringify({ type: "bye" }));
      socket.close(1000, "see you");
      return;
    }
    if (text === "/garbage") socket.send("{not json");
    else socket.send(JSON.stringify({ type: "message", from: name, text }));
  };
  return response;
});

// A client whose sessions all use the JSON converter.
await using client = createClient({ converter: jsonConverter(), closeTimeout: 2000 });

await client.webSocket(`ws://127.0.0.1:${server.addr.port}/chat`, async (session) => {
  const welcome = await session.receiveDeserialized(isServerEvent);
  if (welcome.type === "welcome") console.log(`joined as ${welcome.you}`);

  for (const text of ["hi all", "how is everyone?"]) {
    await session.sendSerialized({ text });
    const event = await session.receiveDeserialized(isServerEvent);
    if (event.type === "message") console.log(`${event.from}: ${event.text}`);
  }

  // A message that is not JSON fails with a typed error that carries the frame.
  await session.sendSerialized({ text: "/garbage" });
  try {
    await session.receiveDeserialized(isServerEvent);
  } catch (err) {
    if (!(err instanceof SerializationError)) throw err;
    console.log(`${err.code}: ${err.message} (frame: ${err.frame})`);
  }

  await session.sendSerialized({ text: "/quit" });
  console.log("server says:", (await session.receiveDeserialized(isServerEvent)).type);
  console.log("closeReason:", String(await session.closeReason));
}, { params: { name: "ada" } });

await server.shutdown();
