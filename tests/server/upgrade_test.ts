import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { decideUpgrade, type IncomingRequest } from "../../src/server/upgrade.ts";
import { resolveServerOptions, type ServerOptions } from "../../src/server/options.ts";
import { routePattern, Router } from "../../src/server/router.ts";
import type { UpgradeHook } from "../../src/server/upgrade_hook.ts";
import { hasToken } from "../../src/core/http1_syntax.ts";
import { parseRequestHeadLazily } from "../../src/core/http1_request.ts";
import { upgradeRequest } from "./_tcp.ts";

Deno.test("hasToken: an element that is the token once trimmed and lower-cased", () => {
  const reference = (value: string | null, token: string) =>
    value !== null && value.split(",").some((part) => part.trim().toLowerCase() === token);
  const piece = fc.constantFrom(
    "websocket",
    "WebSocket",
    "close",
    "CLOSE",
    ",",
    " ",
    "\t",
    "\n",
    "\v",
    "\r",
    "\xa0",
    "\u2000",
    "\u2028",
    "\u3000",
    "\ufeff",
    "\u0130",
    "\u212a",
    "x",
    "\xe9",
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.array(piece, { maxLength: 8 }).map((a) => a.join("")), fc.string()),
      fc.constantFrom("websocket", "close", "k"),
      (value, token) => assert.equal(hasToken(value, token), reference(value, token)),
    ),
    { numRuns: 5000 },
  );
  assert.equal(hasToken(null, "close"), false);
});

function incoming(path: string): IncomingRequest {
  const head = parseRequestHeadLazily(new TextEncoder().encode(upgradeRequest(path, 80)))!;
  const url = new URL(`http://127.0.0.1:80${path}`);
  return {
    head,
    url,
    remoteAddr: undefined,
    signal: new AbortController().signal,
    request: () => new Request(url, { headers: head.headers }),
    mode: "listen",
  };
}

function router(upgrade?: UpgradeHook): Router {
  const out = new Router();
  const { pattern, text } = routePattern("/ws");
  out.add({
    kind: "managed",
    path: text,
    pattern,
    handler: () => {},
    protocol: undefined,
    negotiateExtensions: false,
    upgrade,
  });
  return out;
}

Deno.test("decideUpgrade: decided at once without hooks, through a promise with them", async () => {
  const plain = (options?: ServerOptions) =>
    resolveServerOptions({ onError: () => {}, ...options });
  const direct = decideUpgrade(router(), plain(), incoming("/ws"), new Set());
  assert.ok(!(direct instanceof Promise));
  assert.equal(direct.kind, "accept");
  const missing = decideUpgrade(router(), plain(), incoming("/nope"), new Set());
  assert.ok(!(missing instanceof Promise));
  assert.equal(missing.kind, "reject");

  const serverHook = decideUpgrade(
    router(),
    plain({ upgrade: () => ({ data: 1 }) }),
    incoming("/ws"),
    new Set(),
  );
  assert.ok(serverHook instanceof Promise);
  const outcome = await serverHook;
  assert.equal(outcome.kind === "accept" && outcome.plan.data, 1);
  const routeHook = decideUpgrade(
    router(() => new Response(null, { status: 401 })),
    plain(),
    incoming("/ws"),
    new Set(),
  );
  assert.ok(routeHook instanceof Promise);
  assert.equal((await routeHook).kind, "response");
});
