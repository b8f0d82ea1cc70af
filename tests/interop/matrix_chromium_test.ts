/**
 * Interop matrix with Chromium (Debian's /usr/bin/chromium driven by npm:playwright-core): a
 * page served by the library's server opens WebSockets back to it and runs every check a
 * browser can make (text, binary, 1 MiB messages, a message the server fragments, the server's
 * ping, close codes and reasons both ways, a subprotocol, permessage-deflate). A browser is
 * only ever a client, so this row of the matrix has one role. See _matrix.ts for the checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.65.1";
import {
  CLIENT_CLOSE,
  LARGE,
  standardClientScenario,
  startMatrixServer,
  stepsFor,
} from "./_matrix.ts";

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

const PAGE = `<!doctype html><meta charset="utf-8"><title>wirestream interop</title>
<p>The test drives WebSockets from this page.</p>`;

Deno.test("interop matrix: Chromium page → library server", async (t) => {
  const server = startMatrixServer({ page: PAGE });
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  } catch (err) {
    await server.stop();
    throw new Error(`Cannot start ${CHROMIUM} (run tools/setup.sh)`, { cause: err });
  }
  try {
    const page = await browser.newPage();
    const response = await page.goto(`http://127.0.0.1:${server.port}/`);
    assert.equal(response?.status(), 200, "the library's server served the page");
    const results = await page.evaluate(standardClientScenario, {
      base: `ws://127.0.0.1:${server.port}`,
      tag: "chromium",
      large: LARGE,
    });
    await stepsFor(t, results);
    await t.step("the server saw the browser's close code and reason", async () => {
      assert.deepEqual(await server.closeOf("chromium-close"), CLIENT_CLOSE);
      assert.ok(server.counts.receivedCompressed > 0, "compressed frames from the browser");
      assert.ok(server.counts.sentCompressed > 0, "compressed frames to the browser");
    });
  } finally {
    await browser.close();
    await server.stop();
  }
});
