/** `closeReason` is typed as it behaves: it always resolves with a `CloseReason`. */

import assert from "node:assert/strict";
import type { CloseReason } from "../../src/core/close.ts";
import { webSocketSession } from "../../src/client/default_client.ts";
import type { DefaultWebSocketSession } from "../../src/session/managed_types.ts";
import { RawServer } from "../_helpers/raw_server.ts";

Deno.test("closeReason is typed as it behaves: a CloseReason, never null", async () => {
  await using server = RawServer.start();
  const opening = webSocketSession(server.url());
  const peer = await server.accept();
  await peer.upgrade();
  const session: DefaultWebSocketSession = await opening;
  peer.close();
  // No narrowing needed: the type says what the promise holds.
  const reason: CloseReason = await session.closeReason;
  assert.equal(reason.code, 1006);
});
