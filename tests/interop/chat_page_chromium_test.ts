/**
 * The page of examples/chat_server.ts in Chromium (Debian's /usr/bin/chromium driven by
 * npm:playwright-core): it shows the room taken from the URL's hash and explains it, switches
 * rooms, and renders the time the server stamps on every message.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.65.1";
import { lines } from "../_helpers/lines.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];

Deno.test("examples/chat_server.ts: the page shows the #room, switches rooms, shows the times", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../examples/chat_server.ts", import.meta.url).pathname,
      "--port",
      "0",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = lines(child.stdout).getReader();
  const stderr = new Response(child.stderr).text();
  let browser;
  try {
    let port = 0;
    while (port === 0) {
      const { value, done } = await out.read();
      if (done) throw new Error(`chat_server.ts exited early: ${await stderr}`);
      const match = /:(\d+)\//.exec(value);
      if (match) port = Number(match[1]);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
    const page = await browser.newPage();
    page.on("dialog", (dialog) => dialog.accept("carol"));
    await page.goto(`http://127.0.0.1:${port}/#random`);
    await page.locator("#log", { hasText: "connected to #random as carol" }).waitFor();
    assert.equal(await page.locator("h1").textContent(), "Room random");
    assert.equal(await page.locator("#here").textContent(), `http://127.0.0.1:${port}/#random`);
    assert.match(await page.locator("#rooms").textContent() ?? "", /after #/);

    await page.locator("#text").fill("hello");
    await page.locator("#form button").click();
    const line = page.locator("#log div", { hasText: "carol: hello" });
    await line.waitFor();
    const time = line.locator("time");
    const stamped = await time.getAttribute("datetime");
    assert.ok(stamped !== null && !Number.isNaN(Date.parse(stamped)), `datetime ${stamped}`);
    assert.ok(Math.abs(Date.parse(stamped) - Date.now()) < 60_000, "the server's time stamp");
    assert.match(await time.textContent() ?? "", /\d/);

    await page.locator("#to").fill("other room");
    await page.locator("#go button").click();
    await page.locator("#log", { hasText: "connected to #other room as carol" }).waitFor();
    assert.equal(await page.locator("h1").textContent(), "Room other room");
  } finally {
    await browser?.close();
    child.kill("SIGINT");
    while (!(await out.read()).done) { /* drain */ }
    const status = await child.status;
    const err = await stderr;
    assert.equal(status.code, 0, `chat_server.ts: ${err}`);
  }
});
