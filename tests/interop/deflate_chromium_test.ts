/**
 * permessage-deflate interop with Chromium (Debian's /usr/bin/chromium, driven by
 * npm:playwright-core): the browser's WebSocket offers
 * `permessage-deflate; client_max_window_bits` to our server and echoes what it gets.
 */

import assert from "node:assert/strict";
import { type Browser, chromium } from "npm:playwright-core@1.65.1";
import { createServer } from "../../src/server/server.ts";
import { CloseReason } from "../../src/core/close.ts";
import type { DeflateParameters } from "../../src/core/deflate_params.ts";
import type { PerMessageDeflateOptions } from "../../src/session/permessage_deflate.ts";
import {
  assertSameMessage,
  countingDeflate,
  deflateOf,
  frameMessage,
  workload,
} from "./_deflate_common.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface Case {
  name: string;
  ours: PerMessageDeflateOptions;
  header: string;
  agreed: Partial<DeflateParameters>;
}

const CASES: Case[] = [
  {
    name: "defaults (context takeover, window 15)",
    ours: {},
    header: "permessage-deflate",
    agreed: { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
  },
  {
    name: "no context takeover, small windows",
    ours: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 9,
    },
    header:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    agreed: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 9,
    },
  },
  {
    name: "window 8 for the server",
    ours: { serverMaxWindowBits: 8, clientMaxWindowBits: 12 },
    header: "permessage-deflate; server_max_window_bits=8; client_max_window_bits=12",
    agreed: { serverMaxWindowBits: 8, clientMaxWindowBits: 12 },
  },
];

Deno.test("deflate interop, Chromium ↔ our server", async (t) => {
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  } catch (err) {
    throw new Error(`Cannot start ${CHROMIUM} (run tools/setup.sh)`, { cause: err });
  }
  try {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const { factory, counts } = countingDeflate(c.ours);
        const server = createServer({ extensions: [factory], maxMessageSize: 4 << 20 });
        const messages = workload();
        const offered = Promise.withResolvers<string | null>();
        const done = Promise.withResolvers<void>();
        server.webSocket("/echo", async (session) => {
          try {
            offered.resolve(session.call.request.headers.get("sec-websocket-extensions"));
            const ext = deflateOf(session.extensions);
            for (const [k, v] of Object.entries(c.agreed)) {
              assert.equal(ext.parameters[k as keyof DeflateParameters], v, k);
            }
            const reader = session.incoming.getReader();
            for (const [i, m] of messages.entries()) {
              await session.send(m);
              const { value } = await reader.read();
              assert.ok(value, `echo of message ${i}`);
              assertSameMessage(frameMessage(value), m, i);
            }
            reader.releaseLock();
            await session.close(new CloseReason(1000, "done"));
            done.resolve();
          } catch (err) {
            done.reject(err);
          }
        });
        const listener = server.listen({ port: 0, hostname: "127.0.0.1" });
        const page = await browser.newPage();
        try {
          const url = `ws://127.0.0.1:${listener.addr.port}/echo`;
          const result = page.evaluate(
            (url: string) =>
              new Promise<{ extensions: string; code: number }>((resolve, reject) => {
                const ws = new WebSocket(url);
                ws.binaryType = "arraybuffer";
                let extensions = "";
                ws.onopen = () => (extensions = ws.extensions);
                ws.onmessage = (e) => ws.send(e.data);
                ws.onerror = () => reject(new Error("WebSocket error"));
                ws.onclose = (e) => resolve({ extensions, code: e.code });
              }),
            url,
          );
          assert.equal(await offered.promise, "permessage-deflate; client_max_window_bits");
          await done.promise;
          const { extensions, code } = await result;
          assert.equal(extensions, c.header);
          assert.equal(code, 1000);
        } finally {
          await page.close();
          await listener.shutdown();
        }
        assert.equal(counts.sentCompressed, messages.length);
        assert.equal(counts.receivedCompressed, messages.length);
      });
    }
  } finally {
    await browser.close();
  }
});
