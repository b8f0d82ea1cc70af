/**
 * The sans-I/O proxy pieces: proxy URLs and their redaction, NO_PROXY matching (curl's rules
 * plus ports), the choice of a proxy from the environment, and the SOCKS5 and CONNECT bytes.
 */

import assert from "node:assert/strict";
import { matchesNoProxy } from "../../src/core/no_proxy.ts";
import { proxyFromEnv } from "../../src/core/proxy_env.ts";
import { parseProxyUrl, redactUrl } from "../../src/core/proxy_url.ts";
import {
  socksConnectRequest,
  socksCredentials,
  socksGreeting,
  socksReplyRest,
} from "../../src/core/socks5.ts";
import { basicCredentials, connectRequest } from "../../src/core/http_connect.ts";

Deno.test("parseProxyUrl: schemes, default ports, credentials, display without them", () => {
  const http = parseProxyUrl("http://al%40ice:p%3Ass@proxy.example:3128");
  assert.equal(http.kind, "http");
  assert.equal(http.port, 3128);
  assert.equal(http.username, "al@ice");
  assert.equal(http.password, "p:ss");
  assert.equal(http.display, "http://proxy.example:3128");
  assert.equal(parseProxyUrl("proxy.example:8080").display, "http://proxy.example:8080");
  assert.equal(parseProxyUrl("http://p").port, 80);
  const socks = parseProxyUrl("socks5://[::1]");
  assert.deepEqual([socks.kind, socks.resolveAtProxy, socks.hostname, socks.port], [
    "socks5",
    false,
    "::1",
    1080,
  ]);
  assert.equal(parseProxyUrl("SOCKS5H://u:p@h:1").resolveAtProxy, true);
  assert.equal(parseProxyUrl("socks5h://u:p@h:1").display, "socks5h://h:1");
});

Deno.test("parseProxyUrl: unsupported schemes and bad URLs never echo credentials", () => {
  for (
    const bad of [
      "https://u:secret@h:1",
      "socks4://u:secret@h",
      "ftp://u:secret@h",
      "http://u:secret@",
    ]
  ) {
    assert.throws(() => parseProxyUrl(bad), (err: Error) => {
      assert.ok(err instanceof TypeError, `${bad}: ${err}`);
      assert.ok(!err.message.includes("secret"), err.message);
      return true;
    });
  }
  assert.equal(redactUrl("http://u:secret@h:1/"), "http://h:1/");
  assert.equal(redactUrl("not a url"), "<invalid URL>");
});

Deno.test("matchesNoProxy: names and domain suffixes as curl matches them", () => {
  const cases: [string, string, boolean][] = [
    ["example.com", "example.com", true],
    ["www.example.com", "example.com", true],
    ["www.example.com", ".example.com", true],
    ["example.com", ".example.com", true],
    ["www.example.com", "*.example.com", true],
    ["notexample.com", "example.com", false],
    ["example.com.evil", "example.com", false],
    ["EXAMPLE.com.", "example.COM", true],
    ["example.com", "example.com.", true],
    ["a.b.c", "foo, bar ,b.c", true],
    ["a.b.c", "foo bar\tb.c", true],
    ["anything", "*", true],
    ["anything", "foo,*", true],
    ["anything", "", false],
    ["localhost", "127.0.0.1", false], // names are never resolved
  ];
  for (const [host, list, want] of cases) {
    assert.equal(matchesNoProxy(host, 443, list), want, `${host} vs ${JSON.stringify(list)}`);
  }
});

Deno.test("matchesNoProxy: addresses, CIDR blocks, IPv6 with and without brackets", () => {
  const cases: [string, string, boolean][] = [
    ["127.0.0.1", "127.0.0.1", true],
    ["127.0.0.2", "127.0.0.1", false],
    ["127.1.2.3", "127.0.0.0/8", true],
    ["10.0.0.1", "127.0.0.0/8", false],
    ["192.168.1.7", "192.168.1.0/24", true],
    ["192.168.2.7", "192.168.1.0/24", false],
    ["::1", "::1", true],
    ["[::1]", "::1", true],
    ["::1", "[::1]", true],
    ["fd00::5", "fd00::/8", true],
    ["fe80::1", "fd00::/8", false],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4", true],
    ["1.2.3.4", "::ffff:1.2.3.4", false],
    ["127.0.0.1", "localhost", false],
    ["10.1.1.1", "10.1.1.1/33", false],
  ];
  for (const [host, list, want] of cases) {
    assert.equal(matchesNoProxy(host, 80, list), want, `${host} vs ${list}`);
  }
});

Deno.test("matchesNoProxy: an entry with a port matches that port only", () => {
  assert.equal(matchesNoProxy("example.com", 8080, "example.com:8080"), true);
  assert.equal(matchesNoProxy("example.com", 443, "example.com:8080"), false);
  assert.equal(matchesNoProxy("a.example.com", 8080, ".example.com:8080"), true);
  assert.equal(matchesNoProxy("127.0.0.1", 9000, "127.0.0.1:9000"), true);
  assert.equal(matchesNoProxy("127.0.0.1", 9001, "127.0.0.1:9000"), false);
  assert.equal(matchesNoProxy("::1", 9000, "[::1]:9000"), true);
  assert.equal(matchesNoProxy("::1", 9001, "[::1]:9000"), false);
});

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("proxyFromEnv: the variables by scheme, lower case first, NO_PROXY last", () => {
  const wss = new URL("wss://example.com/x");
  const ws = new URL("ws://example.com/x");
  const env = envOf({
    WSS_PROXY: "http://wss-upper:1",
    https_proxy: "http://https-lower:1",
    HTTPS_PROXY: "http://https-upper:1",
    HTTP_PROXY: "http://http-upper:1",
    ALL_PROXY: "socks5://all:1",
  });
  assert.deepEqual(proxyFromEnv(wss, env), { url: "http://wss-upper:1", variable: "WSS_PROXY" });
  assert.deepEqual(proxyFromEnv(ws, env), { url: "http://http-upper:1", variable: "HTTP_PROXY" });
  const lower = envOf({ wss_proxy: "http://lower:1", WSS_PROXY: "http://upper:1" });
  assert.equal(proxyFromEnv(wss, lower)?.variable, "wss_proxy");
  const all = envOf({ all_proxy: "socks5h://all:1", HTTPS_PROXY: "" });
  assert.equal(proxyFromEnv(wss, all)?.variable, "all_proxy");
  assert.equal(proxyFromEnv(wss, envOf({})), null);
  const bypass = envOf({ HTTPS_PROXY: "http://p:1", NO_PROXY: ".example.com" });
  assert.equal(proxyFromEnv(wss, bypass), null);
  assert.equal(proxyFromEnv(new URL("wss://other.org/"), bypass)?.variable, "HTTPS_PROXY");
  // The lower-case list wins when both are set.
  const both = envOf({ HTTPS_PROXY: "http://p:1", no_proxy: "other.org", NO_PROXY: "*" });
  assert.equal(proxyFromEnv(wss, both)?.variable, "HTTPS_PROXY");
  // NO_PROXY ports use the URL's port or the scheme's default.
  const ports = envOf({ HTTPS_PROXY: "http://p:1", NO_PROXY: "example.com:443" });
  assert.equal(proxyFromEnv(wss, ports), null);
  assert.equal(proxyFromEnv(new URL("wss://example.com:8443/"), ports)?.variable, "HTTPS_PROXY");
});

Deno.test("proxyFromEnv: upper-case HTTP_PROXY is ignored under CGI (httpoxy)", () => {
  const ws = new URL("ws://example.com/");
  const env = envOf({ HTTP_PROXY: "http://injected:1", REQUEST_METHOD: "GET" });
  assert.equal(proxyFromEnv(ws, env), null);
  const lower = envOf({ http_proxy: "http://mine:1", REQUEST_METHOD: "GET" });
  assert.equal(proxyFromEnv(ws, lower)?.variable, "http_proxy");
});

Deno.test("SOCKS5 messages: greeting, credentials, CONNECT for each address type", () => {
  assert.deepEqual(socksGreeting(false), Uint8Array.of(5, 1, 0));
  assert.deepEqual(socksGreeting(true), Uint8Array.of(5, 2, 0, 2));
  assert.deepEqual(socksCredentials("ab", "c"), Uint8Array.of(1, 2, 97, 98, 1, 99));
  assert.throws(() => socksCredentials("", "x"), RangeError);
  assert.throws(() => socksCredentials("u", "x".repeat(256)), RangeError);
  assert.deepEqual(
    socksConnectRequest("127.0.0.1", 0x1f90),
    Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90),
  );
  assert.deepEqual(
    socksConnectRequest("ab.c", 80),
    Uint8Array.of(5, 1, 0, 3, 4, 97, 98, 46, 99, 0, 80),
  );
  assert.deepEqual(
    socksConnectRequest("::1", 443),
    Uint8Array.of(5, 1, 0, 4, ...new Array(15).fill(0), 1, 1, 187),
  );
  assert.deepEqual(
    socksConnectRequest("2001:db8::ffff:1.2.3.4", 1).subarray(4, 20),
    Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4),
  );
  assert.equal(socksReplyRest(Uint8Array.of(5, 0, 0, 1, 127)), 5);
  assert.equal(socksReplyRest(Uint8Array.of(5, 0, 0, 4, 0)), 17);
  assert.equal(socksReplyRest(Uint8Array.of(5, 0, 0, 3, 9)), 11);
  assert.equal(socksReplyRest(Uint8Array.of(5, 0, 0, 9, 0)), -1);
});

Deno.test("CONNECT request: authority form, IPv6 brackets, Basic credentials in UTF-8", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(
    text(connectRequest("example.com", 443)),
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  );
  assert.equal(
    text(connectRequest("::1", 8080, { username: "u", password: "p" })),
    "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n" +
      "Proxy-Authorization: Basic dTpw\r\n\r\n",
  );
  assert.equal(basicCredentials("ü", "ß"), "Basic w7w6w58=");
});
