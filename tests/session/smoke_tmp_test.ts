import assert from "node:assert/strict";
import { webSocketRawSession } from "../../src/session/raw_client.ts";
import { startWsServer } from "../_helpers/node_ws_server.ts";
import { readText } from "../../src/core/frame.ts";

Deno.test("smoke", async () => {
  await using srv = await startWsServer();
  const s = await webSocketRawSession(srv.url());
  const { socket } = await srv.connection();
  socket.on("message", (d, isBinary) => socket.send(d, { binary: isBinary }));
  await s.send("hi");
  const reader = s.incoming.getReader();
  const { value } = await reader.read();
  assert.equal(readText(value!), "hi");
  reader.releaseLock();
  await s.closeAndRelease();
});
