import assert from "node:assert/strict";
import { createServer } from "../../src/server/server.ts";
import { resolveServerOptions, SERVER_DEFAULTS } from "../../src/server/options.ts";
import { routePattern, Router } from "../../src/server/router.ts";

Deno.test("options: defaults follow Ktor where it is safe", () => {
  const o = resolveServerOptions(undefined);
  assert.equal(o.pingInterval, SERVER_DEFAULTS.pingInterval);
  assert.equal(o.pingInterval, 0);
  assert.equal(o.timeout, 15_000);
  assert.equal(o.masking, false);
  assert.equal(o.maxFrameSize, 16 * 1024 * 1024);
  assert.equal(o.maxMessageSize, 16 * 1024 * 1024);
  assert.equal(o.handshakeTimeout, SERVER_DEFAULTS.handshakeTimeout);
  assert.equal(o.closeTimeout, 5000);
  assert.equal(o.maxConnections, Infinity);
  assert.equal(o.maxHeaderSize, 16384);
  assert.equal(o.origins, undefined);
  assert.deepEqual(o.extensions, []);
});

Deno.test("options: bad values throw RangeError or TypeError at once", () => {
  const bad: [Record<string, unknown>, ErrorConstructor][] = [
    [{ pingInterval: -1 }, RangeError],
    [{ pingPeriod: -1 }, RangeError],
    [{ pingInterval: 1000, pingPeriod: 2000 }, TypeError],
    [{ timeout: NaN }, RangeError],
    [{ maxFrameSize: 0 }, RangeError],
    [{ maxMessageSize: -5 }, RangeError],
    [{ handshakeTimeout: Infinity }, RangeError],
    [{ closeTimeout: -1 }, RangeError],
    [{ maxConnections: 0 }, RangeError],
    [{ maxConnections: 1.5 }, RangeError],
    [{ maxHeaderSize: 10 }, RangeError],
    [{ maxHeaderSize: 1024.5 }, RangeError],
    [{ masking: "yes" }, TypeError],
    [{ extensions: "deflate" }, TypeError],
    [{ origins: "https://a.example" }, TypeError],
    [{ origins: [42] }, TypeError],
    [{ origins: [" https://a.example"] }, TypeError],
    [{ upgrade: "nope" }, TypeError],
    [{ fallback: 1 }, TypeError],
    [{ onError: {} }, TypeError],
    [{ converter: {} }, TypeError],
    [{ incomingQueue: { messages: 0 } }, RangeError],
  ];
  for (const [options, type] of bad) {
    assert.throws(() => createServer(options as never), type, JSON.stringify(options));
  }
  assert.throws(() => createServer("x" as never), TypeError);
});

Deno.test("options: pingPeriod (Ktor's server name) is an alias of pingInterval", () => {
  for (
    const options of [{ pingInterval: 5000 }, { pingPeriod: 5000 }, {
      pingInterval: 5000,
      pingPeriod: 5000,
    }]
  ) {
    const o = resolveServerOptions(options);
    assert.equal(o.pingInterval, 5000, JSON.stringify(options));
    assert.equal(o.session.pingInterval, 5000, JSON.stringify(options));
  }
  assert.throws(
    () => resolveServerOptions({ pingInterval: 5000, pingPeriod: 6000 }),
    {
      name: "TypeError",
      message: "pingInterval and pingPeriod are the same option (pingPeriod is an alias): " +
        "give one, got 5000 and 6000",
    },
  );
  // An error names the name the caller used.
  assert.throws(
    () => resolveServerOptions({ pingPeriod: -1 }),
    {
      name: "RangeError",
      message: "pingPeriod must be a finite number of milliseconds >= 0, got -1",
    },
  );
  assert.throws(
    () => resolveServerOptions({ pingInterval: -1 }),
    {
      name: "RangeError",
      message: "pingInterval must be a finite number of milliseconds >= 0, got -1",
    },
  );
});

Deno.test("routes: bad paths, handlers and options throw TypeError", () => {
  const server = createServer();
  assert.throws(() => server.webSocket("chat", () => {}), TypeError);
  assert.throws(() => server.webSocket("/(", () => {}), TypeError);
  assert.throws(() => server.webSocket("/", "nope" as never), TypeError);
  assert.throws(() => server.webSocket("/", () => {}, { protocol: "bad token" }), TypeError);
  assert.throws(() => server.webSocket("/", () => {}, { upgrade: 5 as never }), TypeError);
  assert.throws(
    () => server.webSocketRaw("/", () => {}, { negotiateExtensions: "yes" as never }),
    TypeError,
  );
  assert.throws(() => server.listen({ port: 70000 }), RangeError);
  assert.throws(() => server.listen({ port: 0, cert: "x" }), TypeError);
  // Chaining.
  assert.equal(server.webSocket("/a", () => {}).webSocketRaw("/b", () => {}), server);
});

Deno.test("router: URLPattern paths, parameters, wildcards, registration order", () => {
  const router = new Router();
  const handler = () => {};
  for (const path of ["/chat/:room", "/files/*", "/chat/lobby"]) {
    const { pattern, text } = routePattern(path);
    router.add({
      kind: "managed",
      path: text,
      pattern,
      handler,
      protocol: undefined,
      negotiateExtensions: false,
      upgrade: undefined,
    });
  }
  const hits = router.match(new URL("http://x/chat/lobby?x=1"));
  assert.deepEqual(hits.map((h) => h.route.path), ["/chat/:room", "/chat/lobby"]);
  assert.deepEqual(hits[0]!.params, { room: "lobby" });
  assert.deepEqual(router.match(new URL("http://x/files/a/b.txt"))[0]!.params, { "0": "a/b.txt" });
  assert.deepEqual(router.match(new URL("http://x/other")), []);
  const custom = routePattern(new URLPattern({ pathname: "/v/:id", hostname: ":sub.example.com" }));
  assert.equal(custom.text, "/v/:id");
});

Deno.test("router: a known pathname routes literal paths without making the URL", () => {
  const router = new Router();
  const handler = () => {};
  for (const path of ["/chat", "/chat/:room"]) {
    const { pattern, text } = routePattern(path);
    router.add({
      kind: "managed",
      path: text,
      pattern,
      handler,
      protocol: undefined,
      negotiateExtensions: false,
      upgrade: undefined,
    });
  }
  let made = 0;
  const target = (pathname: string | undefined, href: string) => ({
    pathname,
    get url(): URL {
      made++;
      return new URL(href);
    },
  });
  const literal = router.routes.slice(0, 1);
  const onlyLiteral = new Router();
  onlyLiteral.add(literal[0]!);
  assert.deepEqual(
    onlyLiteral.match(target("/chat", "http://x/chat")).map((m) => m.route.path),
    ["/chat"],
  );
  assert.equal(made, 0);
  assert.deepEqual(onlyLiteral.match(target(undefined, "http://x/chat?q")).length, 1);
  assert.equal(made, 1);
  const hits = router.match(target("/chat/lobby", "http://x/chat/lobby"));
  assert.deepEqual(hits.map((m) => [m.route.path, m.params]), [["/chat/:room", { room: "lobby" }]]);
  assert.equal(made, 2);
});
