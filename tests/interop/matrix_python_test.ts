/**
 * Interop matrix with python-websockets (Debian's python3-websockets, run by /usr/bin/python3):
 * a Python client against the library's server, and the library's client against a Python
 * server. See _matrix.ts for the checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PYTHON, startPythonScript } from "../_helpers/python.ts";
import { CLIENT_CLOSE, libraryClientChecks, startMatrixServer, stepsFor } from "./_matrix.ts";

const PEER = new URL("./_matrix_peer.py", import.meta.url).pathname;

Deno.test("interop matrix: python-websockets client → library server", async (t) => {
  const server = startMatrixServer();
  try {
    const out = await new Deno.Command(PYTHON, {
      args: [PEER, "client", `ws://127.0.0.1:${server.port}`, "py"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) || stdout);
    await stepsFor(t, JSON.parse(stdout.split("\n").at(-1)!));
    await t.step("the server saw the client's close code and reason", async () => {
      assert.deepEqual(await server.closeOf("py-close"), CLIENT_CLOSE);
      assert.ok(server.counts.receivedCompressed > 0, "compressed frames from Python");
      assert.ok(server.counts.sentCompressed > 0, "compressed frames to Python");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("interop matrix: library client → python-websockets server", async (t) => {
  const py = await startPythonScript(PEER, ["server"]);
  try {
    await libraryClientChecks(t, { base: `ws://127.0.0.1:${py.port}`, deflate: true });
  } finally {
    await py.stop();
  }
});
