import assert from "node:assert/strict";
import { startPythonScript } from "./python.ts";

const ECHO_SERVER = new URL("./python_echo_server.py", import.meta.url);

/** Opens a Deno WebSocket, resolving once it is open. */
async function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  ws.onopen = () => resolve();
  ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
  await promise;
  return ws;
}

/** Sends `data` and resolves with the next message received. */
function roundTrip(ws: WebSocket, data: string | Uint8Array<ArrayBuffer>): Promise<unknown> {
  const { promise, resolve } = Promise.withResolvers<unknown>();
  ws.onmessage = (e) => resolve(e.data);
  ws.send(data);
  return promise;
}

/** Closes with 1000 and resolves with the close event once the closing handshake is done. */
function close(ws: WebSocket): Promise<CloseEvent> {
  const { promise, resolve } = Promise.withResolvers<CloseEvent>();
  ws.onclose = resolve;
  ws.close(1000, "bye");
  return promise;
}

Deno.test("python echo server echoes text and binary", async () => {
  const py = await startPythonScript(ECHO_SERVER, ["--compression", "none"]);
  try {
    assert.match(py.info, /^websockets \d+\.\d+/);
    const ws = await open(`ws://127.0.0.1:${py.port}/`);
    try {
      assert.equal(await roundTrip(ws, "héllo 👋"), "héllo 👋");
      const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
      const echoed = await roundTrip(ws, bytes);
      assert.ok(echoed instanceof ArrayBuffer);
      assert.deepEqual(new Uint8Array(echoed), bytes);
    } finally {
      const ev = await close(ws);
      assert.equal(ev.code, 1000);
      assert.equal(ev.wasClean, true);
    }
  } finally {
    await py.stop();
  }
});

Deno.test("python echo server: deflate enabled, subprotocol, await using", async () => {
  await using py = await startPythonScript(ECHO_SERVER, ["--subprotocol", "chat.v1"]);
  const ws = await open(`ws://127.0.0.1:${py.port}/path?q=1`, ["chat.v0", "chat.v1"]);
  try {
    assert.equal(ws.protocol, "chat.v1");
    // Deno's built-in client never offers permessage-deflate.
    assert.equal(ws.extensions, "");
    const big = "x".repeat(200_000);
    assert.equal(await roundTrip(ws, big), big);
  } finally {
    await close(ws);
  }
});

Deno.test("startPythonScript: clear error when the script exits early", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/exit.py`;
    await Deno.writeTextFile(script, "import sys\nsys.exit(3)\n");
    await assert.rejects(startPythonScript(script), /exited before printing .*exit code 3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startPythonScript: clear error on a bad first line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/bad.py`;
    await Deno.writeTextFile(script, "import time\nprint('hello', flush=True)\ntime.sleep(60)\n");
    await assert.rejects(startPythonScript(script), /expected "PORT <n> <info>".*got hello/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startPythonScript: clear error when websockets cannot be imported", async () => {
  const dir = await Deno.makeTempDir();
  const saved = Deno.env.get("PYTHONPATH");
  try {
    // A module named websockets that fails to import (quietly: no traceback) shadows the real one.
    await Deno.writeTextFile(`${dir}/websockets.py`, "import sys\nsys.exit(1)\n");
    Deno.env.set("PYTHONPATH", dir);
    await assert.rejects(
      startPythonScript(ECHO_SERVER),
      /\/usr\/bin\/python3 cannot import websockets: run tools\/setup\.sh/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete("PYTHONPATH");
    else Deno.env.set("PYTHONPATH", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
