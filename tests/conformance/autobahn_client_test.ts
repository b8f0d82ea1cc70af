/**
 * examples/autobahn_client.ts against a stand-in for Autobahn's fuzzing server: a raw listener
 * that speaks the fuzzing server's URL protocol (`/getCaseCount`, `/runCase?case=N&agent=A`,
 * `/updateReports?agent=A`) and plays this suite's own cases as case N. The example runs as a
 * `deno run` subprocess and must exit cleanly after the reports.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CaseResult, ConformanceCase } from "./_dsl.ts";
import { judge } from "./_dsl.ts";
import { basicCases } from "./_cases_basic.ts";
import { utf8Cases } from "./_cases_utf8.ts";
import { deflateCases } from "./_cases_deflate.ts";
import { observedForm, playCase, serverHandshake } from "./_peer.ts";
import { parseDeflateOffers, PeerDeflate, serverAnswer } from "./_peer_deflate.ts";
import { closePayload, encodeWire, Op, WireParser } from "./_wire.ts";

const EXAMPLE = new URL("../../examples/autobahn_client.ts", import.meta.url).pathname;

interface FuzzingServer {
  port: number;
  results: Map<number, CaseResult>;
  agents: string[];
  reports: string[];
  stop(): Promise<void>;
}

/** Starts the stand-in fuzzing server with `cases` as cases 1..n. */
function startFuzzingServer(cases: ConformanceCase[]): FuzzingServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const results = new Map<number, CaseResult>();
  const agents: string[] = [];
  const reports: string[] = [];
  const running = new Set<Promise<void>>();

  async function serve(conn: Deno.Conn): Promise<void> {
    let deflate: PeerDeflate | null = null;
    let current: ConformanceCase | null = null;
    let number = 0;
    try {
      const { request, rest } = await serverHandshake(conn, (head) => {
        const target = new URL(head.line.split(" ")[1] ?? "/", "http://x");
        if (target.pathname === "/runCase") {
          number = Number(target.searchParams.get("case"));
          agents.push(target.searchParams.get("agent") ?? "");
          current = cases[number - 1] ?? null;
          const offers = parseDeflateOffers(head.headers.get("sec-websocket-extensions") ?? null);
          if (current?.deflate && offers.length > 0) {
            const answer = serverAnswer(offers, current.deflate.accept);
            if (answer) {
              deflate = new PeerDeflate(answer.side);
              return [`Sec-WebSocket-Extensions: ${answer.header}`];
            }
          }
        }
        return [];
      });
      const path = request.line.split(" ")[1] ?? "/";
      if (path === "/getCaseCount") {
        await conn.write(encodeWire({ opcode: Op.TEXT, payload: String(cases.length) }, false));
        await conn.write(encodeWire({ opcode: Op.CLOSE, payload: closePayload(1000) }, false));
        await drain(conn);
      } else if (path.startsWith("/updateReports")) {
        reports.push(path);
        await conn.write(encodeWire({ opcode: Op.CLOSE, payload: closePayload(1000) }, false));
        await drain(conn);
      } else if (current !== null) {
        const c: ConformanceCase = current;
        const obs = await playCase(c, conn, rest, {
          role: "server",
          deflate,
          waitMs: 1500,
          closeWaitMs: 2500,
          caseTimeoutMs: 15_000,
        });
        const expected = {
          ok: observedForm(c.ok),
          nonStrict: c.nonStrict ? observedForm(c.nonStrict) : undefined,
        };
        const { verdict, reason } = judge(c, obs, expected, false);
        results.set(number, {
          id: c.id,
          category: c.category,
          target: "example",
          verdict,
          reason,
          ms: obs.ms,
        });
      }
    } catch {
      // A broken connection is the example's verdict, checked by the test.
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the case
      }
      await (deflate as PeerDeflate | null)?.close();
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      const p = serve(conn);
      running.add(p);
      p.finally(() => running.delete(p));
    }
  })();

  return {
    port: listener.addr.port,
    results,
    agents,
    reports,
    async stop() {
      listener.close();
      await accepting;
      await Promise.all(running);
    },
  };
}

/** Reads the client's frames until its close frame (then the caller ends TCP, as a server does). */
async function drain(conn: Deno.Conn): Promise<void> {
  const parser = new WireParser();
  const buf = new Uint8Array(1024);
  try {
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      parser.push(buf.subarray(0, n));
      for (let f = parser.next(); f !== null; f = parser.next()) {
        if (f.opcode === Op.CLOSE) return;
      }
    }
  } catch {
    // reset
  }
}

async function runExample(args: string[]): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

function pick(ids: string[]): ConformanceCase[] {
  const all = [...basicCases(), ...utf8Cases(), ...deflateCases(3)];
  return ids.map((id) => {
    const c = all.find((x) => x.id === id);
    if (!c) throw new Error(`no case ${id}`);
    return c;
  });
}

Deno.test("examples/autobahn_client.ts runs every case, echoing, then updates the reports", async () => {
  const cases = pick([
    "1.1.1",
    "1.2.6",
    "2.6",
    "2.10",
    "3.1",
    "4.2.1",
    "5.6",
    "5.19",
    "6.2.3",
    "6.4.1",
    "6.12.8",
    "7.3.6",
    "7.7.1",
    "7.9.4",
    "10.1.1",
    "12.1.1",
    "12.2.11",
    "13.2.3",
    "13.5.1",
  ]);
  const server = startFuzzingServer(cases);
  try {
    const { code, stdout } = await runExample([
      `ws://127.0.0.1:${server.port}`,
      "--agent",
      "wirestream-test",
      "--deflate",
      "--quiet",
    ]);
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`ran cases 1-${cases.length} of ${cases.length}`));
    assert.equal(server.results.size, cases.length);
    const failedCases = [...server.results.values()].filter((r) => r.verdict === "FAILED");
    assert.deepEqual(failedCases.map((r) => `${r.id}: ${r.reason}`), []);
    // The deflate cases really ran compressed.
    for (const [n, r] of server.results) {
      if (cases[n - 1]!.deflate) assert.equal(r.verdict, "OK", `${r.id}: ${r.reason}`);
    }
    assert.deepEqual(new Set(server.agents), new Set(["wirestream-test"]));
    assert.deepEqual(server.reports, ["/updateReports?agent=wirestream-test"]);
  } finally {
    await server.stop();
  }
});

Deno.test("examples/autobahn_client.ts --cases limits the range", async () => {
  const server = startFuzzingServer(pick(["1.1.1", "1.1.2", "2.1", "2.2"]));
  try {
    const { code, stdout } = await runExample([
      `ws://127.0.0.1:${server.port}`,
      "--cases",
      "2-3",
      "--quiet",
    ]);
    assert.equal(code, 0, stdout);
    assert.deepEqual([...server.results.keys()].sort(), [2, 3]);
    assert.deepEqual([...server.results.values()].map((r) => r.verdict), ["OK", "OK"]);
    assert.deepEqual(server.agents, ["wirestream", "wirestream"]);
  } finally {
    await server.stop();
  }
});

Deno.test("examples/autobahn_client.ts exits with 1 when the server cannot be reached", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const { code, stdout } = await runExample([`ws://127.0.0.1:${port}`]);
  assert.equal(code, 1);
  assert.match(stdout, /cannot reach the fuzzing server/);
});

Deno.test("examples/autobahn_client.ts gives up on a server that never answers /getCaseCount", async () => {
  // Accepts connections and never says a word.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const started = performance.now();
    const { code, stdout } = await runExample([
      `ws://127.0.0.1:${listener.addr.port}`,
      "--timeout",
      "0.5",
    ]);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /no answer from ws:\/\/127\.0\.0\.1:\d+\/getCaseCount within 0\.5 s/);
    assert.ok(performance.now() - started < 10_000);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
