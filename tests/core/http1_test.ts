import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { HandshakeError } from "../../src/core/errors.ts";
import { DEFAULT_MAX_HEAD_SIZE, findHeadEnd } from "../../src/core/http1_scan.ts";
import {
  type ParsedRequestHead,
  parseRequestHead,
  parseRequestHeadLazily,
  requestField,
  RequestHead,
} from "../../src/core/http1_request.ts";
import { parseResponseHead } from "../../src/core/http1_response.ts";
import { serializeRequestHead, serializeResponseHead } from "../../src/core/http1_serialize.ts";

const enc = (text: string): Uint8Array => {
  // latin1: one byte per char, so tests can write any byte as \xNN
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
};
const dec = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

function assertHandshakeError(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HandshakeError, `expected HandshakeError, got ${err}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const RESPONSE = "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
  "\r\n";

const REQUEST = "GET /chat?room=1 HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "\r\n";

// ---------------------------------------------------------------------------------------------
// findHeadEnd

Deno.test("findHeadEnd returns the index after CRLF CRLF", () => {
  assert.equal(findHeadEnd(enc("HTTP/1.1 200 OK\r\n\r\n")), 19);
  assert.equal(findHeadEnd(enc("HTTP/1.1 200 OK\r\n\r\nbody\r\n\r\n")), 19);
  assert.equal(findHeadEnd(enc("\r\n\r\n")), 4);
});

Deno.test("findHeadEnd returns -1 when the head is incomplete", () => {
  assert.equal(findHeadEnd(enc("")), -1);
  assert.equal(findHeadEnd(enc("HTTP/1.1 200 OK\r\n\r")), -1);
  assert.equal(findHeadEnd(enc("a\n\n\r\n\n\r\r\n")), -1);
});

Deno.test("findHeadEnd scans from a position", () => {
  const bytes = enc("A\r\n\r\nB\r\n\r\n");
  assert.equal(findHeadEnd(bytes, 0), 5);
  assert.equal(findHeadEnd(bytes, 1), 5);
  assert.equal(findHeadEnd(bytes, 2), 10);
  assert.equal(findHeadEnd(bytes, 100), -1);
});

Deno.test("findHeadEnd rejects bad arguments", () => {
  assert.throws(() => findHeadEnd(enc("x"), -1), RangeError);
  assert.throws(() => findHeadEnd(enc("x"), 1.5), RangeError);
  assert.throws(() => findHeadEnd("x" as unknown as Uint8Array), TypeError);
});

// ---------------------------------------------------------------------------------------------
// parseResponseHead

Deno.test("parseResponseHead parses the status line and headers", () => {
  const head = parseResponseHead(enc(RESPONSE));
  assert.ok(head);
  assert.equal(head.version, "HTTP/1.1");
  assert.equal(head.status, 101);
  assert.equal(head.statusText, "Switching Protocols");
  assert.equal(head.headers.get("upgrade"), "websocket");
  assert.equal(head.headers.get("CONNECTION"), "Upgrade");
  assert.equal(head.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.equal(head.headLength, RESPONSE.length);
});

Deno.test("parseResponseHead keeps bytes after the head", () => {
  const bytes = new Uint8Array([...enc(RESPONSE), 0x81, 0x02, 0x68, 0x69, 0x0d, 0x0a]);
  const head = parseResponseHead(bytes);
  assert.ok(head);
  assert.deepEqual(bytes.subarray(head.headLength), new Uint8Array([0x81, 2, 0x68, 0x69, 13, 10]));
});

Deno.test("parseResponseHead ignores garbage after the head", () => {
  const head = parseResponseHead(enc(RESPONSE + "\x00\r\n\n garbage \r\r\n\r\n"));
  assert.equal(head?.headLength, RESPONSE.length);
});

Deno.test("parseResponseHead returns null at every split point until complete", () => {
  const bytes = enc(RESPONSE + "\x81\x00");
  for (let i = 0; i < RESPONSE.length; i++) {
    assert.equal(parseResponseHead(bytes.subarray(0, i)), null, `prefix of ${i} bytes`);
  }
  for (let i = RESPONSE.length; i <= bytes.length; i++) {
    assert.equal(parseResponseHead(bytes.subarray(0, i))?.headLength, RESPONSE.length);
  }
});

Deno.test("parseResponseHead accepts a head without headers", () => {
  const head = parseResponseHead(enc("HTTP/1.1 404 Not Found\r\n\r\n"));
  assert.equal(head?.status, 404);
  assert.deepEqual([...head!.headers], []);
});

Deno.test("parseResponseHead accepts an empty or missing reason phrase", () => {
  assert.equal(parseResponseHead(enc("HTTP/1.1 101 \r\n\r\n"))?.statusText, "");
  assert.equal(parseResponseHead(enc("HTTP/1.1 101\r\n\r\n"))?.status, 101);
  assert.equal(parseResponseHead(enc("HTTP/1.1 500 Oops\t \xe9\r\n\r\n"))?.statusText, "Oops\t é");
});

Deno.test("parseResponseHead reads HTTP/1.0 and higher 1.x minor versions", () => {
  assert.equal(parseResponseHead(enc("HTTP/1.0 200 OK\r\n\r\n"))?.version, "HTTP/1.0");
  assert.equal(parseResponseHead(enc("HTTP/1.1 200 OK\r\n\r\n"))?.version, "HTTP/1.1");
  assert.equal(parseResponseHead(enc("HTTP/1.2 200 OK\r\n\r\n"))?.version, "HTTP/1.1");
});

Deno.test("parseResponseHead trims optional whitespace and keeps inner whitespace", () => {
  const head = parseResponseHead(
    enc("HTTP/1.1 200 OK\r\nX-A:  a \t b\t \r\nX-B:\r\nX-C:c\r\n\r\n"),
  );
  assert.equal(head?.headers.get("x-a"), "a \t b");
  assert.equal(head?.headers.get("x-b"), "");
  assert.equal(head?.headers.get("x-c"), "c");
});

Deno.test("parseResponseHead decodes obs-text as latin1", () => {
  const head = parseResponseHead(enc("HTTP/1.1 200 OK\r\nX-Name: caf\xe9 \x80\xff\r\n\r\n"));
  assert.equal(head?.headers.get("x-name"), "café \x80\xff");
});

Deno.test("parseResponseHead combines repeated headers", () => {
  const head = parseResponseHead(
    enc("HTTP/1.1 101 OK\r\nConnection: keep-alive\r\nconnection: Upgrade\r\n\r\n"),
  );
  assert.equal(head?.headers.get("connection"), "keep-alive, Upgrade");
});

const BAD_RESPONSES: [string, string][] = [
  ["not HTTP at all", "SSH-2.0-OpenSSH_9.6\r\n\r\n"],
  ["HTTP/2", "HTTP/2 101 Switching Protocols\r\n\r\n"],
  ["HTTP/2.0", "HTTP/2.0 101 Switching Protocols\r\n\r\n"],
  ["HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n"],
  ["lower-case http", "http/1.1 101 OK\r\n\r\n"],
  ["no status", "HTTP/1.1\r\n\r\n"],
  ["two-digit status", "HTTP/1.1 99 OK\r\n\r\n"],
  ["four-digit status", "HTTP/1.1 1010 OK\r\n\r\n"],
  ["status starting with 0", "HTTP/1.1 099 OK\r\n\r\n"],
  ["letters in status", "HTTP/1.1 1a1 OK\r\n\r\n"],
  ["two spaces", "HTTP/1.1  101 OK\r\n\r\n"],
  ["tab separator", "HTTP/1.1\t101 OK\r\n\r\n"],
  ["empty line before the status line", "\r\nHTTP/1.1 101 OK\r\n\r\n"],
  ["bare LF line endings", "HTTP/1.1 101 OK\nUpgrade: websocket\n\n"],
  ["bare LF after a header", "HTTP/1.1 101 OK\r\nUpgrade: websocket\n\r\n"],
  ["bare LF ending the head", "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\n"],
  ["bare CR in a value", "HTTP/1.1 101 OK\r\nX-A: a\rb\r\n\r\n"],
  ["NUL in a value", "HTTP/1.1 101 OK\r\nX-A: a\x00b\r\n\r\n"],
  ["NUL in the reason", "HTTP/1.1 101 O\x00K\r\n\r\n"],
  ["DEL in a value", "HTTP/1.1 101 OK\r\nX-A: a\x7fb\r\n\r\n"],
  ["control character in a value", "HTTP/1.1 101 OK\r\nX-A: a\x01b\r\n\r\n"],
  ["obs-fold with SP", "HTTP/1.1 101 OK\r\nX-A: a\r\n b\r\n\r\n"],
  ["obs-fold with HTAB", "HTTP/1.1 101 OK\r\nX-A: a\r\n\tb\r\n\r\n"],
  ["space before the colon", "HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n"],
  ["no colon", "HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n"],
  ["empty field name", "HTTP/1.1 101 OK\r\n: websocket\r\n\r\n"],
  ["separator in field name", "HTTP/1.1 101 OK\r\nX(A): 1\r\n\r\n"],
  ["non-ASCII field name", "HTTP/1.1 101 OK\r\nX-\xe9: 1\r\n\r\n"],
];

for (const [what, text] of BAD_RESPONSES) {
  Deno.test(`parseResponseHead rejects ${what}`, () => {
    assertHandshakeError(() => parseResponseHead(enc(text)), "HANDSHAKE_INVALID");
  });
}

Deno.test("parseResponseHead rejects a non-HTTP peer before the head ends", () => {
  assertHandshakeError(() => parseResponseHead(enc("SSH-")), "HANDSHAKE_INVALID");
  assertHandshakeError(() => parseResponseHead(enc("HTTP/2")), "HANDSHAKE_INVALID");
  assertHandshakeError(() => parseResponseHead(enc("HTTP/1.1 101 OK\nUpg")), "HANDSHAKE_INVALID");
  assertHandshakeError(
    () => parseResponseHead(enc("HTTP/1.1 101 OK\r\nX-A: \x00")),
    "HANDSHAKE_INVALID",
  );
  assertHandshakeError(() => parseResponseHead(enc("HTTP/1.1 101 OK\r\n X")), "HANDSHAKE_INVALID");
  // A CR at the very end may still be followed by LF.
  assert.equal(parseResponseHead(enc("HTTP/1.1 101 OK\r")), null);
  assert.equal(parseResponseHead(enc("HTTP/1.1 101 OK\r\nX-A: 1\r")), null);
  assert.equal(parseResponseHead(enc("HTTP/1.1 101 OK\r\nX-A: 1\r\n\r")), null);
});

Deno.test("parseResponseHead enforces the head size limit", () => {
  const head = "HTTP/1.1 200 OK\r\nX-Pad: " + "a".repeat(100) + "\r\n\r\n";
  const bytes = enc(head + "after");
  assert.equal(parseResponseHead(bytes, { maxHeadSize: head.length })?.headLength, head.length);
  assertHandshakeError(
    () => parseResponseHead(bytes, { maxHeadSize: head.length - 1 }),
    "HANDSHAKE_HEAD_TOO_LARGE",
    new RegExp(`${head.length - 1} bytes`),
  );
  // Under the limit and incomplete: wait for more.
  assert.equal(parseResponseHead(bytes.subarray(0, 50), { maxHeadSize: 51 }), null);
  assertHandshakeError(
    () => parseResponseHead(bytes.subarray(0, 51), { maxHeadSize: 51 }),
    "HANDSHAKE_HEAD_TOO_LARGE",
  );
});

Deno.test("parseResponseHead limits heads to 16 KiB by default", () => {
  assert.equal(DEFAULT_MAX_HEAD_SIZE, 16384);
  const start = "HTTP/1.1 200 OK\r\nX-Pad: ";
  const fits = enc(start + "a".repeat(16384 - start.length - 4) + "\r\n\r\n");
  assert.equal(fits.length, 16384);
  assert.equal(parseResponseHead(fits)?.headLength, 16384);
  const tooBig = enc(start + "a".repeat(16384 - start.length - 3) + "\r\n\r\n");
  assertHandshakeError(() => parseResponseHead(tooBig), "HANDSHAKE_HEAD_TOO_LARGE");
  assertHandshakeError(
    () => parseResponseHead(enc(start + "a".repeat(20000))),
    "HANDSHAKE_HEAD_TOO_LARGE",
  );
});

Deno.test("parseResponseHead rejects bad arguments", () => {
  assert.throws(() => parseResponseHead(enc(RESPONSE), { maxHeadSize: 0 }), RangeError);
  assert.throws(() => parseResponseHead(enc(RESPONSE), { maxHeadSize: 1.5 }), RangeError);
  assert.throws(() => parseResponseHead([1, 2] as unknown as Uint8Array), TypeError);
});

// ---------------------------------------------------------------------------------------------
// parseRequestHead

Deno.test("parseRequestHead parses the request line and headers", () => {
  const head = parseRequestHead(enc(REQUEST));
  assert.ok(head);
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/chat?room=1");
  assert.equal(head.version, "HTTP/1.1");
  assert.equal(head.versionMajor, 1);
  assert.equal(head.versionMinor, 1);
  assert.equal(head.headers.get("host"), "server.example.com");
  assert.equal(head.headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  assert.equal(head.headLength, REQUEST.length);
});

Deno.test("parseRequestHead keeps bytes after the head", () => {
  const bytes = new Uint8Array([...enc(REQUEST), 0x81, 0x80, 1, 2, 3, 4]);
  const head = parseRequestHead(bytes);
  assert.deepEqual(bytes.subarray(head!.headLength), new Uint8Array([0x81, 0x80, 1, 2, 3, 4]));
});

Deno.test("parseRequestHead returns null at every split point until complete", () => {
  const bytes = enc(REQUEST);
  for (let i = 0; i < bytes.length; i++) {
    assert.equal(parseRequestHead(bytes.subarray(0, i)), null, `prefix of ${i} bytes`);
  }
  assert.ok(parseRequestHead(bytes));
});

Deno.test("parseRequestHead reports the version as numbers", () => {
  for (
    const [version, major, minor] of [["HTTP/1.0", 1, 0], ["HTTP/0.9", 0, 9], [
      "HTTP/2.0",
      2,
      0,
    ]] as const
  ) {
    const head = parseRequestHead(enc(`GET / ${version}\r\nHost: a\r\n\r\n`));
    assert.equal(head?.version, version);
    assert.equal(head?.versionMajor, major);
    assert.equal(head?.versionMinor, minor);
  }
});

Deno.test("parseRequestHead keeps method case and odd but valid targets", () => {
  const head = parseRequestHead(enc("get * HTTP/1.1\r\n\r\n"));
  assert.equal(head?.method, "get");
  assert.equal(head?.target, "*");
  assert.equal(
    parseRequestHead(enc("GET http://a.example/x?y=%20#z HTTP/1.1\r\n\r\n"))?.target,
    "http://a.example/x?y=%20#z",
  );
});

const BAD_REQUESTS: [string, string][] = [
  ["a missing version", "GET /\r\n\r\n"],
  ["a missing target", "GET HTTP/1.1\r\n\r\n"],
  ["two spaces", "GET  / HTTP/1.1\r\n\r\n"],
  ["a trailing space", "GET / HTTP/1.1 \r\n\r\n"],
  ["a tab separator", "GET\t/ HTTP/1.1\r\n\r\n"],
  ["a space in the target", "GET /a b HTTP/1.1\r\n\r\n"],
  ["non-ASCII in the target", "GET /caf\xe9 HTTP/1.1\r\n\r\n"],
  ["a control character in the target", "GET /a\x01 HTTP/1.1\r\n\r\n"],
  ["a bad method", "G(T / HTTP/1.1\r\n\r\n"],
  ["an empty method", " / HTTP/1.1\r\n\r\n"],
  ["a two-digit version", "GET / HTTP/10.0\r\n\r\n"],
  ["a version without minor", "GET / HTTP/1\r\n\r\n"],
  ["a lower-case version", "GET / http/1.1\r\n\r\n"],
  ["an HTTP/2 preface", "PRI * HTTP/2\r\n\r\nSM\r\n\r\n"],
  ["an empty line before the request line", "\r\nGET / HTTP/1.1\r\n\r\n"],
  ["bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n"],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n"],
  ["obs-fold", "GET / HTTP/1.1\r\nX-A: a\r\n  b\r\n\r\n"],
  ["space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
  ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n"],
  ["TLS", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
];

for (const [what, text] of BAD_REQUESTS) {
  Deno.test(`parseRequestHead rejects ${what}`, () => {
    assertHandshakeError(() => parseRequestHead(enc(text)), "HANDSHAKE_INVALID");
  });
}

Deno.test("parseRequestHead tells too large (431) from malformed (400)", () => {
  const big = enc("GET / HTTP/1.1\r\nCookie: " + "x".repeat(300) + "\r\n\r\n");
  assertHandshakeError(
    () => parseRequestHead(big, { maxHeadSize: 256 }),
    "HANDSHAKE_HEAD_TOO_LARGE",
  );
  assertHandshakeError(
    () => parseRequestHead(big.subarray(0, 256), { maxHeadSize: 256 }),
    "HANDSHAKE_HEAD_TOO_LARGE",
  );
  assert.equal(parseRequestHead(big.subarray(0, 255), { maxHeadSize: 256 }), null);
  const bad = enc("GET / HTTP/1.1\r\nCookie: \x00" + "x".repeat(300));
  assertHandshakeError(() => parseRequestHead(bad, { maxHeadSize: 256 }), "HANDSHAKE_INVALID");
});

Deno.test("parseRequestHead accepts one Host among other repeated headers", () => {
  const head = parseRequestHead(
    enc(
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
    ),
  );
  assert.equal(head?.headers.get("x-a"), "1, 2");
  assert.deepEqual(head?.headers.getSetCookie(), ["a=1", "b=2"]);
});

// ---------------------------------------------------------------------------------------------
// Serializing

Deno.test("serializeRequestHead writes the request line and headers in order", () => {
  const bytes = serializeRequestHead("GET", "/chat", [
    ["Host", "example.com"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["X-Empty", ""],
  ]);
  assert.equal(
    dec(bytes),
    "GET /chat HTTP/1.1\r\nHost: example.com\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "X-Empty: \r\n\r\n",
  );
});

Deno.test("serializeRequestHead accepts Headers and latin1 values", () => {
  const headers = new Headers([["X-A", "1"], ["x-a", "2"], ["X-Name", "café"]]);
  assert.equal(
    dec(serializeRequestHead("GET", "/", headers)),
    "GET / HTTP/1.1\r\nx-a: 1, 2\r\nx-name: caf\xe9\r\n\r\n",
  );
});

Deno.test("serializeRequestHead trims optional whitespace of values", () => {
  assert.equal(
    dec(serializeRequestHead("GET", "/", [["X-A", " \ta b\t "]])),
    "GET / HTTP/1.1\r\nX-A: a b\r\n\r\n",
  );
});

Deno.test("serializeRequestHead rejects CR, LF and NUL in names and values", () => {
  for (const bad of ["a\rb", "a\nb", "a\x00b", "a\r\nX-Injected: 1"]) {
    assert.throws(() => serializeRequestHead("GET", "/", [["X-A", bad]]), TypeError);
    assert.throws(() => serializeRequestHead("GET", "/", [[bad, "1"]]), TypeError);
  }
  assert.throws(() => serializeRequestHead("GET", "/", [["X-A", "a\x01"]]), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/", [["X A", "1"]]), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/", [["", "1"]]), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/", [["X-A", "\u0100"]]), TypeError);
  assert.throws(
    () => serializeRequestHead("GET", "/", [["X-A"]] as unknown as [string, string][]),
    TypeError,
  );
  assert.throws(() => serializeRequestHead("GET", "/", {} as unknown as Headers), TypeError);
});

Deno.test("serializeRequestHead rejects a bad method or target", () => {
  assert.throws(() => serializeRequestHead("G T", "/", []), TypeError);
  assert.throws(() => serializeRequestHead("", "/", []), TypeError);
  assert.throws(() => serializeRequestHead("GET\r\n", "/", []), TypeError);
  assert.throws(() => serializeRequestHead("GET", "", []), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/a b", []), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/a\r\nX: 1", []), TypeError);
  assert.throws(() => serializeRequestHead("GET", "/é", []), TypeError);
});

Deno.test("serializeResponseHead writes the status line and headers", () => {
  assert.equal(
    dec(serializeResponseHead(101, "Switching Protocols", [["Upgrade", "websocket"]])),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
  );
  assert.equal(dec(serializeResponseHead(418, "", [])), "HTTP/1.1 418 \r\n\r\n");
});

Deno.test("serializeResponseHead rejects a bad status or reason", () => {
  assert.throws(() => serializeResponseHead(99, "x", []), RangeError);
  assert.throws(() => serializeResponseHead(1000, "x", []), RangeError);
  assert.throws(() => serializeResponseHead(101.5, "x", []), RangeError);
  assert.throws(() => serializeResponseHead(200, "O\r\nK", []), TypeError);
  assert.throws(() => serializeResponseHead(200, "O\x00K", []), TypeError);
  assert.throws(() => serializeResponseHead(200, "OK", [["X-A", "\n"]]), TypeError);
});

Deno.test("serializeResponseHead output parses back", () => {
  const bytes = serializeResponseHead(200, "OK", [["X-A", "1"]]);
  const head = parseResponseHead(bytes);
  assert.equal(head?.status, 200);
  assert.equal(head?.statusText, "OK");
  assert.equal(head?.headers.get("x-a"), "1");
  assert.equal(head?.headLength, bytes.length);
});

// ---------------------------------------------------------------------------------------------
// Properties

const onlyHandshakeErrors = (fn: () => unknown): void => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof HandshakeError)) throw err;
    assert.ok(err.code === "HANDSHAKE_INVALID" || err.code === "HANDSHAKE_HEAD_TOO_LARGE");
  }
};

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const fieldValue = fc.array(
  fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.integer({ min: 0x80, max: 0xff }),
    fc.constant(9),
  ),
  { maxLength: 20 },
).map((codes) => String.fromCharCode(...codes));
const fields = fc.array(fc.tuple(token, fieldValue), { maxLength: 8 })
  .filter((pairs) => pairs.every(([name]) => name.toLowerCase() !== "host"));
const trimmed = (v: string): string => v.replace(/^[ \t]+|[ \t]+$/g, "");

const requestTarget = fc.stringMatching(/^\/[\x21-\x7e]{0,20}$/);

// Valid heads with a few bytes inserted, replaced or deleted, then maybe frame bytes after them.
const mutatedHead = fc.tuple(
  fc.oneof(
    fc.tuple(token, requestTarget, fields).map(([m, t, f]) => serializeRequestHead(m, t, f)),
    fc.tuple(fc.integer({ min: 100, max: 999 }), fieldValue, fields).map(([c, t, f]) =>
      serializeResponseHead(c, t, f)
    ),
  ),
  fc.array(
    fc.tuple(
      fc.nat(),
      fc.constantFrom(0, 9, 10, 13, 32, 0x3a, 0x7f, 0xe9, 0x41, 0x2f, 0x31),
      fc.constantFrom("insert", "replace", "delete"),
    ),
    { maxLength: 3 },
  ),
  fc.uint8Array({ maxLength: 8 }),
).map(([head, edits, rest]) => {
  const bytes = [...head];
  for (const [at, byte, how] of edits) {
    const i = at % (bytes.length + 1);
    if (how === "insert") bytes.splice(i, 0, byte);
    else if (how === "replace") bytes[Math.min(i, bytes.length - 1)] = byte;
    else bytes.splice(i, 1);
  }
  return new Uint8Array([...bytes, ...rest]);
});

// Fragments that make random input look like a head often enough to reach the deep states.
const headLikeBytes = fc.oneof(
  mutatedHead,
  fc.array(
    fc.oneof(
      fc.constantFrom(
        "HTTP/1.1 ",
        "HTTP/1.0 101 ",
        "GET / HTTP/1.1",
        "GET ",
        " HTTP/1.",
        "101",
        " ",
        "\t",
        "\r\n",
        "\r",
        "\n",
        ":",
        "Host: a",
        "Upgrade: websocket",
        "x",
        "\x00",
        "\x7f",
        "\xe9",
      ),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 30 },
  ).map((parts) => enc(parts.join("").replace(/[\u0100-\uffff]/g, "?"))),
);

Deno.test("parseRequestHead and parseResponseHead throw only HandshakeError on arbitrary bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 200 }), headLikeBytes),
      fc.integer({ min: 1, max: 300 }),
      (bytes, max) => {
        onlyHandshakeErrors(() => parseRequestHead(bytes));
        onlyHandshakeErrors(() => parseResponseHead(bytes));
        onlyHandshakeErrors(() => parseRequestHead(bytes, { maxHeadSize: max }));
        onlyHandshakeErrors(() => parseResponseHead(bytes, { maxHeadSize: max }));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("parse results are consistent across prefixes of arbitrary bytes", () => {
  // A prefix of a valid head gives null; a prefix of an invalid head gives null or the same error.
  fc.assert(
    fc.property(headLikeBytes, (bytes) => {
      for (const parse of [parseRequestHead, parseResponseHead]) {
        let full: unknown;
        try {
          full = parse(bytes);
        } catch (err) {
          full = err;
        }
        const limit = full instanceof HandshakeError || full === null
          ? bytes.length
          : (full as { headLength: number }).headLength;
        for (let i = 0; i < limit; i++) {
          try {
            assert.equal(parse(bytes.subarray(0, i)), null);
          } catch (err) {
            assert.ok(full instanceof HandshakeError, `prefix ${i} threw but the whole parsed`);
            assert.ok(err instanceof HandshakeError);
          }
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("serializeRequestHead then parseRequestHead round-trips", () => {
  fc.assert(
    fc.property(
      token,
      requestTarget,
      fields,
      fc.uint8Array({ maxLength: 10 }),
      (method, path, pairs, rest) => {
        const head = serializeRequestHead(method, path, pairs);
        const bytes = new Uint8Array([...head, ...rest]);
        const parsed = parseRequestHead(bytes);
        assert.ok(parsed);
        assert.equal(parsed.method, method);
        assert.equal(parsed.target, path);
        assert.equal(parsed.version, "HTTP/1.1");
        assert.equal(parsed.headLength, head.length);
        const expected = new Headers(pairs.map(([n, v]) => [n, trimmed(v)]));
        assert.deepEqual([...parsed.headers], [...expected]);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("serializeResponseHead then parseResponseHead round-trips", () => {
  const status = fc.integer({ min: 100, max: 999 });
  fc.assert(
    fc.property(status, fieldValue, fields, (code, text, pairs) => {
      const head = serializeResponseHead(code, text, pairs);
      const parsed = parseResponseHead(head);
      assert.ok(parsed);
      assert.equal(parsed.status, code);
      assert.equal(parsed.statusText, text);
      assert.equal(parsed.headLength, head.length);
      const expected = new Headers(pairs.map(([n, v]) => [n, trimmed(v)]));
      assert.deepEqual([...parsed.headers], [...expected]);
      for (let i = 0; i < head.length; i += 7) {
        assert.equal(parseResponseHead(head.subarray(0, i)), null);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("serializers throw only TypeError or RangeError on arbitrary input", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.integer(), (a, b, c, status) => {
      for (
        const fn of [
          () => serializeRequestHead(a, b, [[c, a]]),
          () => serializeResponseHead(status, a, [[b, c]]),
        ]
      ) {
        try {
          fn();
        } catch (err) {
          assert.ok(err instanceof TypeError || err instanceof RangeError, String(err));
        }
      }
    }),
    { numRuns: 1000 },
  );
});

// ---------------------------------------------------------------------------------------------
// The server's lazily parsed request head

const NAMES = [
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "origin",
  "content-length",
  "transfer-encoding",
  "x-absent",
];

const handshakeName = fc.constantFrom(
  "Host",
  "host",
  "Upgrade",
  "UPGRADE",
  "Connection",
  "Sec-WebSocket-Key",
  "sec-websocket-version",
  "Origin",
  "Content-Length",
  "X-A",
);
const lazyFields = fc.array(
  fc.oneof(fc.tuple(token, fieldValue), fc.tuple(handshakeName, fieldValue)),
  { maxLength: 10 },
);

/** What a parse gives, comparable with deepEqual. */
function parseOutcome(parse: () => ParsedRequestHead | null): unknown {
  try {
    const head = parse();
    if (head === null) return null;
    const { method, target, version, versionMajor, versionMinor, headLength } = head;
    const headers = [...head.headers];
    return { method, target, version, versionMajor, versionMinor, headLength, headers };
  } catch (err) {
    assert.ok(err instanceof HandshakeError, String(err));
    return { code: err.code, message: err.message };
  }
}

Deno.test("parseRequestHeadLazily agrees with parseRequestHead, field by field", () => {
  const heads = fc.oneof(
    fc.tuple(fc.constantFrom("GET", "POST", "get"), requestTarget, lazyFields).map((
      [m, t, f],
    ) => serializeRequestHead(m, t, f)),
    mutatedHead,
    headLikeBytes,
  );
  fc.assert(
    fc.property(heads, (bytes) => {
      assert.deepEqual(
        parseOutcome(() => parseRequestHeadLazily(bytes)),
        parseOutcome(() => parseRequestHead(bytes)),
      );
      let eager: ParsedRequestHead | null;
      try {
        eager = parseRequestHead(bytes);
      } catch {
        return;
      }
      if (eager === null) return;
      const lazy = parseRequestHeadLazily(bytes)!;
      const names = [...NAMES, ...[...eager.headers.keys()]];
      for (const name of names) {
        assert.equal(lazy.field(name), eager.headers.get(name), name);
        assert.equal(lazy.sentField(name), eager.headers.get(name), name);
        assert.equal(requestField(lazy, name), eager.headers.get(name), name);
        assert.equal(requestField(eager, name), eager.headers.get(name), name);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("parseRequestHeadLazily: field follows the Headers once made, sentField the bytes", () => {
  const head = parseRequestHeadLazily(
    enc("GET /a HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\nx-a:  2 \r\n\r\n"),
  )!;
  assert.ok(head instanceof RequestHead);
  assert.equal(head.field("x-a"), "1, 2");
  const headers = head.headers;
  assert.equal(head.headers, headers, "made once");
  headers.set("x-a", "3");
  headers.delete("host");
  assert.equal(head.field("x-a"), "3");
  assert.equal(head.field("host"), null);
  assert.equal(head.sentField("x-a"), "1, 2");
  assert.equal(head.sentField("host"), "a.example");
  const replaced = new Headers({ "x-a": "4" });
  head.headers = replaced;
  assert.equal(head.headers, replaced);
  assert.equal(requestField(head, "x-a"), "4");
});

Deno.test("parseRequestHeadLazily: method and version as sent, obs-text as latin1", () => {
  const get = parseRequestHeadLazily(enc("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))!;
  assert.deepEqual([get.method, get.version, get.versionMajor, get.versionMinor], [
    "GET",
    "HTTP/1.1",
    1,
    1,
  ]);
  const other = parseRequestHeadLazily(
    enc("GETX /x?y HTTP/1.0\r\nX-Name: caf\xe9 \x80\xff\r\n\r\n"),
  )!;
  assert.deepEqual([other.method, other.target, other.version, other.versionMinor], [
    "GETX",
    "/x?y",
    "HTTP/1.0",
    0,
  ]);
  assert.equal(other.field("x-name"), "caf\xe9 \x80\xff");
  assert.equal(other.headers.get("x-name"), "caf\xe9 \x80\xff");
});

Deno.test("parseRequestHeadLazily: a second Host is refused at once", () => {
  assertHandshakeError(
    () => parseRequestHeadLazily(enc("GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n")),
    "HANDSHAKE_INVALID",
    /more than one Host/,
  );
});
