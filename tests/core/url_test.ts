import assert from "node:assert/strict";
import { type Endpoint, resolveEndpoint } from "../../src/core/url.ts";

/** The fields worth comparing (the URL as its href). */
function view(e: Endpoint): Record<string, unknown> {
  return {
    href: e.url.href,
    secure: e.secure,
    hostname: e.hostname,
    port: e.port,
    hostHeader: e.hostHeader,
    target: e.target,
    method: e.method,
  };
}

Deno.test("resolveEndpoint: schemes and their default ports", () => {
  const cases: [string, boolean, number, string][] = [
    ["ws://example.com/chat", false, 80, "ws://example.com/chat"],
    ["wss://example.com/chat", true, 443, "wss://example.com/chat"],
    ["http://example.com/chat", false, 80, "ws://example.com/chat"],
    ["https://example.com/chat", true, 443, "wss://example.com/chat"],
    ["WSS://EXAMPLE.com", true, 443, "wss://example.com/"],
  ];
  for (const [input, secure, port, href] of cases) {
    const e = resolveEndpoint(input);
    assert.equal(e.secure, secure, input);
    assert.equal(e.port, port, input);
    assert.equal(e.url.href, href, input);
    assert.equal(e.hostHeader, "example.com", input);
  }
});

Deno.test("resolveEndpoint: explicit ports; the Host header carries only a non-default one", () => {
  assert.deepEqual(view(resolveEndpoint("ws://h:8080/a?b=1")), {
    href: "ws://h:8080/a?b=1",
    secure: false,
    hostname: "h",
    port: 8080,
    hostHeader: "h:8080",
    target: "/a?b=1",
    method: "GET",
  });
  // A port equal to the scheme's default is dropped by the URL parser.
  assert.equal(resolveEndpoint("wss://h:443/").hostHeader, "h");
  assert.equal(resolveEndpoint("ws://h:443/").hostHeader, "h:443");
  assert.equal(resolveEndpoint("https://h:80/").port, 80);
  assert.equal(resolveEndpoint("https://h:80/").secure, true);
});

Deno.test('resolveEndpoint: a URL\'s own scheme wins over `secure` (wss("ws://…") is plain)', () => {
  assert.equal(resolveEndpoint("ws://h/", { secure: true }).secure, false);
  assert.equal(resolveEndpoint("ws://h/", { secure: true }).port, 80);
  assert.equal(resolveEndpoint("wss://h/", { secure: false }).secure, true);
  assert.equal(resolveEndpoint(new URL("wss://h/x"), { secure: false }).url.href, "wss://h/x");
});

Deno.test("resolveEndpoint: request parts use `secure` and its default port", () => {
  assert.deepEqual(view(resolveEndpoint({ host: "example.com", path: "/s" }, { secure: true })), {
    href: "wss://example.com/s",
    secure: true,
    hostname: "example.com",
    port: 443,
    hostHeader: "example.com",
    target: "/s",
    method: "GET",
  });
  const plain = resolveEndpoint({});
  assert.equal(plain.url.href, "ws://localhost/");
  assert.equal(plain.port, 80);
  assert.equal(resolveEndpoint({ host: "h", path: "no-slash" }).target, "/no-slash");
  assert.equal(resolveEndpoint({ host: "h", path: "/p?q=1" }).target, "/p?q=1");
  assert.equal(resolveEndpoint({ host: "h", path: "/a b" }).target, "/a%20b");
  assert.equal(resolveEndpoint({ host: "h", method: "POST" }).method, "POST");
});

Deno.test("resolveEndpoint: a path starting with // stays a path and never names a host", () => {
  const e = resolveEndpoint({ host: "safe.example", port: 9000, path: "//evil.example/x" });
  assert.equal(e.hostname, "safe.example");
  assert.equal(e.port, 9000);
  assert.equal(e.target, "//evil.example/x");
});

Deno.test("resolveEndpoint: IPv6 hosts, with or without brackets", () => {
  assert.deepEqual(view(resolveEndpoint("ws://[::1]:9001/x")), {
    href: "ws://[::1]:9001/x",
    secure: false,
    hostname: "::1",
    port: 9001,
    hostHeader: "[::1]:9001",
    target: "/x",
    method: "GET",
  });
  for (const host of ["::1", "[::1]"]) {
    const e = resolveEndpoint({ host, port: 8080, path: "/x" });
    assert.equal(e.url.href, "ws://[::1]:8080/x");
    assert.equal(e.hostname, "::1");
    assert.equal(e.hostHeader, "[::1]:8080");
  }
  assert.equal(resolveEndpoint("wss://[2001:db8::1]/").hostHeader, "[2001:db8::1]");
});

Deno.test("resolveEndpoint: params are appended to the query", () => {
  const e = resolveEndpoint("ws://h/p?a=1", { params: { b: "two words", c: "ü&=" } });
  assert.equal(e.url.searchParams.get("a"), "1");
  assert.equal(e.url.searchParams.get("b"), "two words");
  assert.equal(e.url.searchParams.get("c"), "ü&=");
  assert.equal(e.target, "/p?a=1&b=two+words&c=%C3%BC%26%3D");
  const repeated = resolveEndpoint(
    { host: "h" },
    { params: new URLSearchParams([["k", "1"], ["k", "2"]]) },
  );
  assert.deepEqual(repeated.url.searchParams.getAll("k"), ["1", "2"]);
  assert.equal(repeated.target, "/?k=1&k=2");
});

Deno.test("resolveEndpoint: fragments are rejected, even empty ones", () => {
  assert.throws(() => resolveEndpoint("ws://h/#frag"), TypeError);
  assert.throws(() => resolveEndpoint("ws://h/#"), TypeError);
  assert.throws(() => resolveEndpoint({ host: "h", path: "/x#y" }), TypeError);
  // An encoded # in the path or query is not a fragment.
  assert.equal(resolveEndpoint("ws://h/a%23b?c=%23").target, "/a%23b?c=%23");
});

Deno.test("resolveEndpoint: credentials in the URL are rejected", () => {
  assert.throws(() => resolveEndpoint("ws://user:pass@h/"), /Credentials/);
  assert.throws(() => resolveEndpoint("wss://user@h/"), TypeError);
});

Deno.test("resolveEndpoint: other schemes and unparsable input are TypeErrors", () => {
  for (const bad of ["ftp://h/", "file:///tmp/x", "mailto:a@b", "not a url", "", "//h/x"]) {
    assert.throws(() => resolveEndpoint(bad), TypeError, bad);
  }
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveEndpoint(42 as any), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => resolveEndpoint(null as any), TypeError);
  for (const host of ["", "a/b", "a b", "h?x", "u@h", "h#"]) {
    assert.throws(() => resolveEndpoint({ host }), TypeError, host);
  }
});

Deno.test("resolveEndpoint: ports out of range are RangeErrors", () => {
  for (const port of [0, -1, 65536, 70000, 1.5, NaN]) {
    assert.throws(() => resolveEndpoint({ host: "h", port }), RangeError, String(port));
  }
  assert.throws(() => resolveEndpoint("ws://h:70000/"), RangeError);
  assert.throws(() => resolveEndpoint("ws://[::1]:99999/"), RangeError);
  assert.throws(() => resolveEndpoint("ws://h:0/"), RangeError);
  assert.equal(resolveEndpoint("ws://h:65535/").port, 65535);
});

Deno.test("resolveEndpoint: the input URL object is not modified", () => {
  const input = new URL("https://h/x");
  const e = resolveEndpoint(input, { params: { a: "1" } });
  assert.equal(input.href, "https://h/x");
  assert.equal(e.url.href, "wss://h/x?a=1");
});
