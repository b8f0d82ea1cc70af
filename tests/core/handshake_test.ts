import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { HandshakeError } from "../../src/core/errors.ts";
import {
  type ParsedRequestHead,
  parseRequestHead,
  parseRequestHeadLazily,
} from "../../src/core/http1_request.ts";
import { type ParsedResponseHead, parseResponseHead } from "../../src/core/http1_response.ts";
import { serializeRequestHead } from "../../src/core/http1_serialize.ts";
import {
  buildClientRequest,
  type ClientRequestCheck,
  validateClientRequest,
} from "../../src/core/handshake_request.ts";
import {
  buildRejectResponse,
  buildServerResponse,
  plainServerResponse,
  validateServerResponse,
} from "../../src/core/handshake_response.ts";
import {
  computeAccept,
  generateKey,
  isValidKey,
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
} from "../../src/core/handshake_key.ts";

const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const enc = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const dec = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

function response(lines: string[], status = "101 Switching Protocols"): ParsedResponseHead {
  const head = parseResponseHead(
    enc(`HTTP/1.1 ${status}\r\n${lines.map((l) => l + "\r\n").join("")}\r\n`),
  );
  assert.ok(head);
  return head;
}

const GOOD_RESPONSE = [
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
];

function assertThrows(
  fn: () => unknown,
  code: string,
  message?: RegExp,
): HandshakeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HandshakeError, `expected HandshakeError, got ${caught}`);
  assert.equal(caught.code, code);
  if (message) assert.match(caught.message, message);
  return caught;
}

const REQUEST_LINES = [
  "Host: server.example.com",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${RFC_KEY}`,
  "Sec-WebSocket-Version: 13",
];

function request(
  lines: string[] = REQUEST_LINES,
  requestLine = "GET /chat HTTP/1.1",
): ParsedRequestHead {
  const head = parseRequestHead(
    enc(`${requestLine}\r\n${lines.map((l) => l + "\r\n").join("")}\r\n`),
  );
  assert.ok(head);
  return head;
}

/** The request lines with `name` removed, then `extra` added. */
function requestWith(name: string | null, ...extra: string[]): ParsedRequestHead {
  return request([
    ...REQUEST_LINES.filter((l) =>
      name === null || !l.toLowerCase().startsWith(name.toLowerCase() + ":")
    ),
    ...extra,
  ]);
}

function assertRejected(
  check: ClientRequestCheck,
  status: number,
  headers: Record<string, string> = {},
): void {
  assert.equal(check.ok, false, "expected a rejection");
  if (check.ok) return;
  assert.equal(check.status, status, check.reason);
  assert.ok(check.reason.length > 0);
  for (const [name, value] of Object.entries(headers)) {
    assert.equal(check.headers?.get(name), value, name);
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and accept values

Deno.test("computeAccept gives the RFC 6455 §1.3 value", () => {
  assert.equal(WEBSOCKET_GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  assert.equal(computeAccept(RFC_KEY), RFC_ACCEPT);
});

Deno.test("computeAccept throws on a non-string key", () => {
  assert.throws(() => computeAccept(1 as unknown as string), TypeError);
});

Deno.test("generateKey gives fresh 16-byte base64 keys", () => {
  const keys = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const key = generateKey();
    assert.equal(key.length, 24);
    assert.ok(isValidKey(key), key);
    assert.equal(atob(key).length, 16);
    keys.add(key);
  }
  assert.equal(keys.size, 100);
});

Deno.test("isValidKey accepts only canonical base64 of 16 bytes", () => {
  assert.ok(isValidKey(RFC_KEY));
  assert.ok(isValidKey("AAAAAAAAAAAAAAAAAAAAAA=="));
  assert.ok(isValidKey("/////////////////////w=="));
  for (
    const key of [
      "",
      "dGhlIHNhbXBsZSBub25jZQ", // no padding
      "dGhlIHNhbXBsZSBub25jZR==", // non-zero padding bits
      "dGhlIHNhbXBsZSBub25j", // 15 bytes
      "dGhlIHNhbXBsZSBub25jZXM=", // 17 bytes
      "dGhlIHNhbXBsZSBub25jZQ==\n",
      " dGhlIHNhbXBsZSBub25jZQ==",
      "dGhlIHNhbXBsZSBub25-ZQ==", // base64url
      "dGhlIHNhbXBsZSBub25jZQ=",
    ]
  ) {
    assert.equal(isValidKey(key), false, key);
  }
  assert.equal(isValidKey(undefined as unknown as string), false);
});

// ---------------------------------------------------------------------------------------------
// buildClientRequest

Deno.test("buildClientRequest writes the RFC 6455 upgrade request", () => {
  const { head, headers } = buildClientRequest({
    target: "/chat",
    host: "server.example.com",
    key: RFC_KEY,
    protocols: ["chat", "superchat"],
    extensions: "permessage-deflate; client_max_window_bits",
    headers: { Origin: "http://example.com" },
  });
  assert.equal(
    dec(head),
    "GET /chat HTTP/1.1\r\n" +
      "Host: server.example.com\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
      "Sec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: chat, superchat\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
      "origin: http://example.com\r\n" +
      "\r\n",
  );
  assert.equal(headers.get("sec-websocket-version"), WEBSOCKET_VERSION);
  assert.equal(headers.get("origin"), "http://example.com");
  assert.equal(headers.get("host"), "server.example.com");
});

Deno.test("buildClientRequest leaves out empty protocols and extensions", () => {
  const { head } = buildClientRequest({
    target: "",
    host: "a:8080",
    key: RFC_KEY,
    protocols: [],
    extensions: "",
  });
  assert.equal(
    dec(head),
    `GET / HTTP/1.1\r\nHost: a:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
});

Deno.test("buildClientRequest lets extra headers replace Host", () => {
  const { head, headers } = buildClientRequest({
    target: "/",
    host: "a",
    key: RFC_KEY,
    headers: [["HOST", "b.example:81"], ["Authorization", "Bearer x"]],
  });
  const text = dec(head);
  assert.match(text, /^GET \/ HTTP\/1\.1\r\nHost: b\.example:81\r\n/);
  assert.equal(text.match(/host:/gi)?.length, 1);
  assert.equal(headers.get("host"), "b.example:81");
  assert.equal(headers.get("authorization"), "Bearer x");
});

Deno.test("buildClientRequest uses the method option", () => {
  const { head } = buildClientRequest({ target: "/", host: "a", key: RFC_KEY, method: "POST" });
  assert.match(dec(head), /^POST \/ HTTP\/1\.1\r\n/);
  assert.throws(
    () => buildClientRequest({ target: "/", host: "a", key: RFC_KEY, method: "G T" }),
    TypeError,
  );
});

Deno.test("buildClientRequest refuses reserved extra headers", () => {
  for (
    const name of [
      "Upgrade",
      "connection",
      "Sec-WebSocket-Key",
      "SEC-WEBSOCKET-VERSION",
      "Sec-WebSocket-Protocol",
      "Sec-WebSocket-Extensions",
    ]
  ) {
    assert.throws(
      () => buildClientRequest({ target: "/", host: "a", key: RFC_KEY, headers: { [name]: "x" } }),
      TypeError,
      name,
    );
  }
});

Deno.test("buildClientRequest refuses bad subprotocols", () => {
  const build = (protocols: string[]) => () =>
    buildClientRequest({ target: "/", host: "a", key: RFC_KEY, protocols });
  assert.throws(build(["chat", "chat"]), TypeError);
  assert.throws(build([""]), TypeError);
  assert.throws(build(["a b"]), TypeError);
  assert.throws(build(["a,b"]), TypeError);
  assert.throws(build(["é"]), TypeError);
  assert.throws(build("chat" as unknown as string[]), TypeError);
  // Case matters: these are different subprotocols.
  assert.doesNotThrow(build(["chat", "Chat"]));
});

Deno.test("buildClientRequest refuses a bad target, host, key or extensions", () => {
  const base = { target: "/", host: "a", key: RFC_KEY };
  for (const target of ["chat", "/a b", "/a#frag", "/é", "/a\r\nX: 1", "http://a/"]) {
    assert.throws(() => buildClientRequest({ ...base, target }), TypeError, target);
  }
  for (const host of ["", "a b", "a\r\nX: 1"]) {
    assert.throws(() => buildClientRequest({ ...base, host }), TypeError, host);
  }
  assert.throws(() => buildClientRequest({ ...base, key: "abc" }), TypeError);
  assert.throws(() => buildClientRequest({ ...base, extensions: 'a; b="x y"' }), TypeError);
  assert.throws(() => buildClientRequest({ ...base, extensions: "a\r\n" }), TypeError);
  assert.throws(() => buildClientRequest({ ...base, headers: { "x-a": "\x01" } }), TypeError);
  assert.throws(
    () => buildClientRequest(null as unknown as { target: string; host: string; key: string }),
    TypeError,
  );
});

// ---------------------------------------------------------------------------------------------
// validateServerResponse

Deno.test("validateServerResponse accepts a valid 101", () => {
  assert.deepEqual(validateServerResponse(response(GOOD_RESPONSE), { key: RFC_KEY }), {
    protocol: "",
    extensions: [],
  });
});

Deno.test("validateServerResponse reports a non-101 status with status and headers", () => {
  const head = response(["Content-Length: 9", "X-Reason: nope"], "404 Not Found");
  const err = assertThrows(
    () => validateServerResponse(head, { key: RFC_KEY }),
    "HANDSHAKE_STATUS",
  );
  assert.equal(err.message, "Handshake exception, expected status code 101 but was 404");
  assert.equal(err.status, 404);
  assert.equal(err.headers?.get("x-reason"), "nope");
});

Deno.test("validateServerResponse reads Upgrade and Connection token lists in any case", () => {
  for (
    const [upgrade, connection] of [
      ["WebSocket", "upgrade"],
      ["h2c, websocket", "keep-alive, Upgrade"],
      ["WEBSOCKET", "UPGRADE, keep-alive"],
      ["foo,\twebsocket ,", " ,Upgrade"],
    ]
  ) {
    const head = response([
      `Upgrade: ${upgrade}`,
      `Connection: ${connection}`,
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
    ]);
    validateServerResponse(head, { key: RFC_KEY });
  }
});

Deno.test("validateServerResponse rejects a missing or wrong Upgrade", () => {
  for (const lines of [[], ["Upgrade: h2c"], ["Upgrade: websocket2"], ["Upgrade: web socket"]]) {
    const head = response([...lines, "Connection: Upgrade", `Sec-WebSocket-Accept: ${RFC_ACCEPT}`]);
    const err = assertThrows(
      () => validateServerResponse(head, { key: RFC_KEY }),
      "HANDSHAKE_INVALID",
      /Upgrade/,
    );
    assert.equal(err.status, 101);
    assert.ok(err.headers);
  }
});

Deno.test("validateServerResponse rejects a missing or wrong Connection", () => {
  for (const lines of [[], ["Connection: keep-alive"], ["Connection: upgraded"]]) {
    const head = response(["Upgrade: websocket", ...lines, `Sec-WebSocket-Accept: ${RFC_ACCEPT}`]);
    assertThrows(
      () => validateServerResponse(head, { key: RFC_KEY }),
      "HANDSHAKE_INVALID",
      /Connection/,
    );
  }
});

Deno.test("validateServerResponse checks Sec-WebSocket-Accept", () => {
  const wrong = response([
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: AAAA",
  ]);
  const err = assertThrows(
    () => validateServerResponse(wrong, { key: RFC_KEY }),
    "HANDSHAKE_ACCEPT_MISMATCH",
  );
  assert.equal(
    err.message,
    `Failed to verify server accept header. Expected: ${RFC_ACCEPT}, received: AAAA`,
  );
  assert.equal(err.status, 101);
  const missing = response(["Upgrade: websocket", "Connection: Upgrade"]);
  assertThrows(
    () => validateServerResponse(missing, { key: RFC_KEY }),
    "HANDSHAKE_ACCEPT_MISMATCH",
    /Sec-WebSocket-Accept/,
  );
  const twice = response([...GOOD_RESPONSE, `Sec-WebSocket-Accept: ${RFC_ACCEPT}`]);
  assertThrows(() => validateServerResponse(twice, { key: RFC_KEY }), "HANDSHAKE_ACCEPT_MISMATCH");
  assertThrows(
    () => validateServerResponse(response(GOOD_RESPONSE), { key: generateKey() }),
    "HANDSHAKE_ACCEPT_MISMATCH",
  );
});

Deno.test("validateServerResponse returns the chosen subprotocol", () => {
  const head = response([...GOOD_RESPONSE, "Sec-WebSocket-Protocol: superchat"]);
  const result = validateServerResponse(head, {
    key: RFC_KEY,
    protocols: ["chat", "superchat"],
  });
  assert.equal(result.protocol, "superchat");
  const none = validateServerResponse(response(GOOD_RESPONSE), {
    key: RFC_KEY,
    protocols: ["chat"],
  });
  assert.equal(none.protocol, "");
});

Deno.test("validateServerResponse rejects a subprotocol that was not offered", () => {
  for (
    const [value, offered] of [
      ["chat", undefined],
      ["chat", []],
      ["other", ["chat"]],
      ["Chat", ["chat"]],
      ["chat, superchat", ["chat", "superchat"]],
      ["", ["chat"]],
    ] as const
  ) {
    const head = response([...GOOD_RESPONSE, `Sec-WebSocket-Protocol: ${value}`]);
    const err = assertThrows(
      () => validateServerResponse(head, { key: RFC_KEY, protocols: offered && [...offered] }),
      "HANDSHAKE_PROTOCOL_MISMATCH",
    );
    assert.equal(err.status, 101);
  }
});

Deno.test("validateServerResponse returns the accepted extensions", () => {
  const head = response([
    ...GOOD_RESPONSE,
    "Sec-WebSocket-Extensions: PerMessage-Deflate; server_no_context_takeover; client_max_window_bits=10",
  ]);
  const result = validateServerResponse(head, {
    key: RFC_KEY,
    extensions: ["permessage-deflate"],
  });
  assert.deepEqual(result.extensions, [{
    name: "permessage-deflate",
    params: new Map<string, string | true>([["server_no_context_takeover", true], [
      "client_max_window_bits",
      "10",
    ]]),
  }]);
});

Deno.test("validateServerResponse rejects extensions that were not offered", () => {
  const head = response([
    ...GOOD_RESPONSE,
    "Sec-WebSocket-Extensions: permessage-deflate, x-other",
  ]);
  const err = assertThrows(
    () => validateServerResponse(head, { key: RFC_KEY, extensions: ["permessage-deflate"] }),
    "HANDSHAKE_EXTENSION_MISMATCH",
    /x-other/,
  );
  assert.equal(err.status, 101);
  assertThrows(
    () =>
      validateServerResponse(
        response([...GOOD_RESPONSE, "Sec-WebSocket-Extensions: permessage-deflate"]),
        {
          key: RFC_KEY,
        },
      ),
    "HANDSHAKE_EXTENSION_MISMATCH",
  );
});

Deno.test("validateServerResponse rejects a malformed extensions header", () => {
  const head = response([
    ...GOOD_RESPONSE,
    "Sec-WebSocket-Extensions: permessage-deflate; a=1; a=2",
  ]);
  const err = assertThrows(
    () => validateServerResponse(head, { key: RFC_KEY, extensions: ["permessage-deflate"] }),
    "HANDSHAKE_INVALID",
    /Sec-WebSocket-Extensions/,
  );
  assert.equal(err.status, 101);
  assert.ok(err.cause instanceof HandshakeError);
});

Deno.test("validateServerResponse accepts an empty extensions header", () => {
  const head = response([...GOOD_RESPONSE, "Sec-WebSocket-Extensions: "]);
  assert.deepEqual((validateServerResponse(head, { key: RFC_KEY })).extensions, []);
});

// ---------------------------------------------------------------------------------------------
// validateClientRequest

Deno.test("validateClientRequest accepts the RFC 6455 request", () => {
  const check = validateClientRequest(
    requestWith(
      null,
      "Origin: http://example.com",
      "Sec-WebSocket-Protocol: chat, superchat",
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    ),
  );
  assert.deepEqual(check, {
    ok: true,
    key: RFC_KEY,
    protocols: ["chat", "superchat"],
    extensions: [{
      name: "permessage-deflate",
      params: new Map([["client_max_window_bits", true]]),
    }],
    origin: "http://example.com",
  });
});

Deno.test("validateClientRequest answers 405 with Allow: GET to other methods", () => {
  for (const method of ["POST", "get", "HEAD", "CONNECT"]) {
    assertRejected(validateClientRequest(request(REQUEST_LINES, `${method} /chat HTTP/1.1`)), 405, {
      Allow: "GET",
    });
  }
});

Deno.test("validateClientRequest answers 400 below HTTP/1.1 and 505 above HTTP/1.x", () => {
  assertRejected(validateClientRequest(request(REQUEST_LINES, "GET /chat HTTP/1.0")), 400);
  assertRejected(validateClientRequest(request(REQUEST_LINES, "GET /chat HTTP/0.9")), 400);
  assertRejected(validateClientRequest(request(REQUEST_LINES, "GET /chat HTTP/2.0")), 505);
  assert.equal(validateClientRequest(request(REQUEST_LINES, "GET /chat HTTP/1.2")).ok, true);
});

Deno.test("validateClientRequest answers 400 without Host", () => {
  assertRejected(validateClientRequest(requestWith("Host")), 400);
  assert.equal(validateClientRequest(requestWith("Host", "Host:")).ok, true);
});

Deno.test("validateClientRequest answers 400 to a request with a body", () => {
  assertRejected(validateClientRequest(requestWith(null, "Content-Length: 5")), 400);
  assertRejected(validateClientRequest(requestWith(null, "Transfer-Encoding: chunked")), 400);
  assert.equal(validateClientRequest(requestWith(null, "Content-Length: 0")).ok, true);
});

Deno.test("validateClientRequest answers 426 to a plain HTTP request", () => {
  const plain = request(["Host: server.example.com", "Accept: text/html"]);
  assertRejected(validateClientRequest(plain), 426, {
    Upgrade: "websocket",
    Connection: "Upgrade",
  });
  assertRejected(validateClientRequest(requestWith("Upgrade")), 426, { Upgrade: "websocket" });
});

Deno.test("validateClientRequest answers 400 to a wrong Upgrade", () => {
  for (const value of ["h2c", "websocket/13", "", "web socket"]) {
    const check = validateClientRequest(requestWith("Upgrade", `Upgrade: ${value}`));
    assertRejected(check, 400);
    assert.equal(check.ok === false && check.headers, undefined);
  }
});

Deno.test("validateClientRequest answers 400 when Connection lacks upgrade", () => {
  assertRejected(validateClientRequest(requestWith("Connection")), 400);
  assertRejected(validateClientRequest(requestWith("Connection", "Connection: keep-alive")), 400);
  assertRejected(
    validateClientRequest(requestWith("Connection", "Connection: upgrade-insecure")),
    400,
  );
});

Deno.test("validateClientRequest reads token lists in any case", () => {
  for (
    const [upgrade, connection] of [
      ["WebSocket", "keep-alive, Upgrade"],
      ["h2c, WEBSOCKET", "upgrade"],
      ["websocket", "Keep-Alive,UPGRADE"],
    ]
  ) {
    const head = request([
      "Host: a",
      `Upgrade: ${upgrade}`,
      `Connection: ${connection}`,
      `Sec-WebSocket-Key: ${RFC_KEY}`,
      "Sec-WebSocket-Version: 13",
    ]);
    assert.equal(validateClientRequest(head).ok, true, `${upgrade} / ${connection}`);
  }
});

Deno.test("validateClientRequest answers 426 with Sec-WebSocket-Version: 13 to other versions", () => {
  for (
    const extra of [[], ["Sec-WebSocket-Version: 8"], ["Sec-WebSocket-Version: 13, 8"], [
      "Sec-WebSocket-Version: 013",
    ]]
  ) {
    assertRejected(validateClientRequest(requestWith("Sec-WebSocket-Version", ...extra)), 426, {
      "Sec-WebSocket-Version": "13",
      Upgrade: "websocket",
    });
  }
});

Deno.test("validateClientRequest answers 400 to a bad Sec-WebSocket-Key", () => {
  for (
    const extra of [
      [],
      ["Sec-WebSocket-Key: abc"],
      ["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"],
      ["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXM="],
      [`Sec-WebSocket-Key: ${RFC_KEY}`, `Sec-WebSocket-Key: ${RFC_KEY}`],
    ]
  ) {
    assertRejected(validateClientRequest(requestWith("Sec-WebSocket-Key", ...extra)), 400);
  }
});

Deno.test("validateClientRequest answers 400 to a malformed Sec-WebSocket-Protocol", () => {
  for (const value of ["a b", "chat, chat", "chat; q=1", "", "é", '"chat"']) {
    assertRejected(
      validateClientRequest(requestWith(null, `Sec-WebSocket-Protocol: ${value}`)),
      400,
    );
  }
  const check = validateClientRequest(
    requestWith(null, "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b ,, c"),
  );
  assert.deepEqual(check.ok && check.protocols, ["a", "b", "c"]);
});

Deno.test("validateClientRequest answers 400 to a malformed Sec-WebSocket-Extensions", () => {
  for (const value of ["permessage-deflate;", "a b", "x; a=1; a=2", 'x; a="1 2"']) {
    assertRejected(
      validateClientRequest(requestWith(null, `Sec-WebSocket-Extensions: ${value}`)),
      400,
    );
  }
});

Deno.test("validateClientRequest answers 403 to an origin not allowed", () => {
  const origins = ["https://app.example.com", /^https:\/\/[a-z]+\.example\.org$/g];
  const withOrigin = (origin: string) => requestWith(null, `Origin: ${origin}`);
  assert.equal(validateClientRequest(withOrigin("https://app.example.com"), { origins }).ok, true);
  assert.equal(validateClientRequest(withOrigin("HTTPS://APP.example.com"), { origins }).ok, true);
  // The global flag must not make the pattern stateful.
  for (let i = 0; i < 3; i++) {
    assert.equal(validateClientRequest(withOrigin("https://b.example.org"), { origins }).ok, true);
  }
  assertRejected(validateClientRequest(withOrigin("https://evil.example.com"), { origins }), 403);
  assertRejected(validateClientRequest(withOrigin("null"), { origins }), 403);
  assertRejected(validateClientRequest(requestWith(null), { origins }), 403);
  assertRejected(validateClientRequest(requestWith(null), { origins: [] }), 403);
  const anyOrigin = validateClientRequest(withOrigin("https://evil.example.com"));
  assert.equal(anyOrigin.ok && anyOrigin.origin, "https://evil.example.com");
  const noOrigin = validateClientRequest(requestWith(null));
  assert.equal(noOrigin.ok && noOrigin.origin, null);
});

Deno.test("validateClientRequest checks in the documented order", () => {
  // Every line is wrong; fixing them one at a time shows which check comes next.
  const steps: [bad: string, fixed: string, status: number, reason: RegExp][] = [
    ["Content-Length: 3", "Content-Length: 0", 400, /body/],
    ["Upgrade: h2c", "Upgrade: websocket", 400, /Upgrade/],
    ["Connection: close", "Connection: Upgrade", 400, /Connection/],
    ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 13", 426, /Sec-WebSocket-Version/],
    ["Sec-WebSocket-Key: x", `Sec-WebSocket-Key: ${RFC_KEY}`, 400, /Sec-WebSocket-Key/],
    ["Sec-WebSocket-Protocol: a b", "Sec-WebSocket-Protocol: a", 400, /subprotocol/],
    ["Sec-WebSocket-Extensions: ;", "Sec-WebSocket-Extensions: x", 400, /Extensions/],
    ["Origin: https://evil", "Origin: https://good", 403, /Origin/],
  ];
  const origins = ["https://good"];
  const check = (lines: string[], requestLine?: string) =>
    validateClientRequest(request(lines, requestLine), { origins });
  let lines = steps.map(([bad]) => bad);
  assertRejected(check(lines, "POST / HTTP/1.0"), 405);
  assertRejected(check(lines, "GET / HTTP/1.0"), 400);
  assertRejected(check(lines, "GET / HTTP/3.0"), 505);
  const noHost = check(lines);
  assertRejected(noHost, 400);
  assert.match(noHost.ok ? "" : noHost.reason, /Host/);
  lines = ["Host: a", ...lines];
  for (const [bad, fixed, status, reason] of steps) {
    const result = check(lines);
    assertRejected(result, status);
    assert.match(result.ok ? "" : result.reason, reason);
    lines = lines.map((l) => l === bad ? fixed : l);
  }
  assert.equal(check(lines).ok, true);
});

// ---------------------------------------------------------------------------------------------
// buildServerResponse and buildRejectResponse

Deno.test("buildServerResponse writes the RFC 6455 101 response", () => {
  const head = buildServerResponse(RFC_KEY, {
    protocol: "chat",
    extensions: "permessage-deflate; server_no_context_takeover",
    headers: { "X-Server": "wirestream" },
  });
  assert.equal(
    dec(head),
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
      "Sec-WebSocket-Protocol: chat\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
      "x-server: wirestream\r\n" +
      "\r\n",
  );
  assert.equal(
    dec(buildServerResponse(RFC_KEY)),
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
  );
});

Deno.test("buildServerResponse refuses reserved headers and bad arguments", () => {
  for (
    const name of [
      "Upgrade",
      "Connection",
      "Sec-WebSocket-Accept",
      "Sec-WebSocket-Protocol",
      "Sec-WebSocket-Extensions",
      "Content-Length",
      "Transfer-Encoding",
    ]
  ) {
    assert.throws(
      () => buildServerResponse(RFC_KEY, { headers: { [name]: "1" } }),
      TypeError,
      name,
    );
  }
  assert.throws(() => buildServerResponse("abc"), TypeError);
  assert.throws(() => buildServerResponse(RFC_KEY, { protocol: "a b" }), TypeError);
  assert.throws(() => buildServerResponse(RFC_KEY, { extensions: "a;" }), TypeError);
});

Deno.test("buildRejectResponse writes a complete response that closes", () => {
  const bytes = buildRejectResponse(400, "Bad key: é");
  assert.equal(
    dec(bytes),
    "HTTP/1.1 400 Bad Request\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 11\r\n" +
      "Connection: close\r\n" +
      "\r\n" +
      "Bad key: \xc3\xa9",
  );
  const head = parseResponseHead(bytes)!;
  assert.equal(new TextDecoder().decode(bytes.subarray(head.headLength)), "Bad key: é");
  assert.equal(
    dec(buildRejectResponse(404)),
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("buildRejectResponse carries the check's headers", () => {
  const check = validateClientRequest(
    requestWith("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
  );
  assert.equal(check.ok, false);
  if (check.ok) return;
  const head = parseResponseHead(buildRejectResponse(check.status, check.reason, check.headers))!;
  assert.equal(head.status, 426);
  assert.equal(head.statusText, "Upgrade Required");
  assert.equal(head.headers.get("connection"), "Upgrade, close");
  assert.equal(head.headers.get("upgrade"), "websocket");
  assert.equal(head.headers.get("sec-websocket-version"), "13");
  const allow = parseResponseHead(buildRejectResponse(405, "", { Allow: "GET" }))!;
  assert.equal(allow.headers.get("allow"), "GET");
  assert.equal(
    parseResponseHead(buildRejectResponse(400, "", { Connection: "Close" }))!.headers.get(
      "connection",
    ),
    "Close",
  );
});

Deno.test("buildRejectResponse accepts bytes and a content type", () => {
  const bytes = buildRejectResponse(431, new Uint8Array([1, 2, 3]), {
    "Content-Type": "application/octet-stream",
  });
  const head = parseResponseHead(bytes)!;
  assert.equal(head.statusText, "Request Header Fields Too Large");
  assert.equal(head.headers.get("content-type"), "application/octet-stream");
  assert.equal(head.headers.get("content-length"), "3");
  assert.deepEqual(bytes.subarray(head.headLength), new Uint8Array([1, 2, 3]));
  assert.match(dec(buildRejectResponse(499)), /^HTTP\/1\.1 499 \r\n/);
});

Deno.test("buildRejectResponse refuses bad arguments", () => {
  for (const status of [101, 199, 204, 304, 600, 400.5]) {
    assert.throws(() => buildRejectResponse(status), RangeError, String(status));
  }
  assert.throws(() => buildRejectResponse(400, "", { "Content-Length": "1" }), TypeError);
  assert.throws(() => buildRejectResponse(400, "", { "Transfer-Encoding": "chunked" }), TypeError);
  assert.throws(() => buildRejectResponse(400, 1 as unknown as string), TypeError);
});

// ---------------------------------------------------------------------------------------------
// End to end, and properties

Deno.test("client and server handshake helpers agree", () => {
  const key = generateKey();
  const { head: requestBytes } = buildClientRequest({
    target: "/ws?x=1",
    host: "localhost:8080",
    key,
    protocols: ["v2", "v1"],
    extensions: "permessage-deflate; client_max_window_bits",
    headers: { origin: "http://localhost:8080" },
  });
  const parsedRequest = parseRequestHead(new Uint8Array([...requestBytes, 0x81]))!;
  assert.equal(parsedRequest.headLength, requestBytes.length);
  const check = validateClientRequest(parsedRequest, { origins: ["http://localhost:8080"] });
  assert.ok(check.ok);
  assert.equal(check.key, key);
  const responseBytes = buildServerResponse(check.key, {
    protocol: check.protocols[1],
    extensions: "permessage-deflate",
  });
  const result = validateServerResponse(parseResponseHead(responseBytes)!, {
    key,
    protocols: ["v2", "v1"],
    extensions: ["permessage-deflate"],
  });
  assert.equal(result.protocol, "v1");
  assert.deepEqual(result.extensions, [{ name: "permessage-deflate", params: new Map() }]);
});

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,10}$/);

Deno.test("buildClientRequest subprotocols survive validateClientRequest", () => {
  fc.assert(
    fc.property(fc.uniqueArray(token, { maxLength: 6 }), (protocols) => {
      const { head } = buildClientRequest({ target: "/", host: "h", key: RFC_KEY, protocols });
      const check = validateClientRequest(parseRequestHead(head)!);
      assert.ok(check.ok);
      assert.deepEqual(check.protocols, protocols);
    }),
    { numRuns: 500 },
  );
});

Deno.test("validateClientRequest never throws on parsed heads", () => {
  const line = fc.oneof(
    fc.constantFrom(...REQUEST_LINES, "Connection: keep-alive", "Origin: x", "Content-Length: 0"),
    fc.tuple(
      fc.constantFrom(
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
        "Origin",
        "Host",
        "Content-Length",
      ),
      fc.stringMatching(/^[\x20-\x7e]{0,12}$/),
    ).map(([n, v]) => `${n}: ${v}`),
  );
  fc.assert(
    fc.property(
      fc.constantFrom("GET / HTTP/1.1", "GET / HTTP/1.0", "POST / HTTP/1.1", "GET / HTTP/2.0"),
      fc.array(line, { maxLength: 10 }),
      fc.option(fc.array(fc.oneof(fc.string(), fc.constant(/x/)), { maxLength: 3 }), {
        nil: undefined,
      }),
      (requestLine, lines, origins) => {
        let head: ParsedRequestHead | null;
        try {
          head = parseRequestHead(
            enc(`${requestLine}\r\n${lines.map((l) => l + "\r\n").join("")}\r\n`),
          );
        } catch (err) {
          assert.ok(err instanceof HandshakeError);
          return;
        }
        const check = validateClientRequest(head!, { origins });
        if (!check.ok) assert.ok([400, 403, 405, 426, 505].includes(check.status));
        else assert.ok(isValidKey(check.key));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("validateServerResponse throws only HandshakeError on parsed heads", () => {
  const line = fc.oneof(
    fc.constantFrom(...GOOD_RESPONSE, "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Extensions: x"),
    fc.tuple(
      fc.constantFrom(
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Accept",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
      ),
      fc.stringMatching(/^[\x20-\x7e]{0,12}$/),
    ).map(([n, v]) => `${n}: ${v}`),
  );
  fc.assert(
    fc.property(
      fc.constantFrom("101 Switching Protocols", "200 OK", "101"),
      fc.array(line, { maxLength: 8 }),
      fc.array(token, { maxLength: 3 }),
      (status, lines, offered) => {
        let head: ParsedResponseHead | null;
        try {
          head = parseResponseHead(
            enc(`HTTP/1.1 ${status}\r\n${lines.map((l) => l + "\r\n").join("")}\r\n`),
          );
        } catch (err) {
          assert.ok(err instanceof HandshakeError);
          return;
        }
        try {
          const result = validateServerResponse(head!, {
            key: RFC_KEY,
            protocols: offered,
            extensions: offered,
          });
          assert.ok(result.protocol === "" || offered.includes(result.protocol));
        } catch (err) {
          assert.ok(err instanceof HandshakeError, String(err));
          assert.equal(err.status, head!.status);
        }
      },
    ),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------
// The server's fast paths

Deno.test("isValidKey agrees with its definition on arbitrary strings", () => {
  const pattern = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.stringMatching(/^[A-Za-z0-9+/=\u00e9]{22,26}$/),
        fc.stringMatching(/^[A-Za-z0-9+/]{21}[A-Za-z0-9+/=]==?\n?$/),
      ),
      (key) => assert.equal(isValidKey(key), pattern.test(key), JSON.stringify(key)),
    ),
    { numRuns: 5000 },
  );
});

Deno.test("plainServerResponse gives what buildServerResponse gives, in the room when it fits", () => {
  for (let i = 0; i < 50; i++) {
    const key = i === 0 ? RFC_KEY : generateKey();
    const expected = buildServerResponse(key);
    assert.deepEqual(plainServerResponse(key), expected);
    const room = new Uint8Array(expected.length + 10).fill(7);
    const head = plainServerResponse(key, room);
    assert.deepEqual(head, expected);
    assert.equal(head.buffer, room.buffer);
    assert.equal(head.byteOffset, 0);
    assert.deepEqual([...room.subarray(expected.length)], new Array(10).fill(7));
    const small = plainServerResponse(key, new Uint8Array(expected.length - 1));
    assert.deepEqual(small, expected);
  }
});

Deno.test("accept values do not wait for WebCrypto", () => {
  const subtle = crypto.subtle;
  Object.defineProperty(subtle, "digest", {
    configurable: true,
    value: () => Promise.reject(new Error("crypto.subtle.digest was called")),
  });
  try {
    assert.equal(computeAccept(RFC_KEY), RFC_ACCEPT);
    validateServerResponse(response(GOOD_RESPONSE), { key: RFC_KEY });
    assert.match(
      dec(buildServerResponse(RFC_KEY)),
      new RegExp(RFC_ACCEPT.replace("+", "\\+")),
    );
  } finally {
    delete (subtle as unknown as Record<string, unknown>).digest;
  }
  assert.equal(typeof crypto.subtle.digest, "function");
});

Deno.test("validateClientRequest gives the same verdict for lazily and eagerly parsed heads", () => {
  const valid: [string, string][] = [
    ["Host", "a.example"],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", RFC_KEY],
    ["Sec-WebSocket-Version", "13"],
    ["Origin", "https://a.example"],
    ["Sec-WebSocket-Protocol", "chat, superchat"],
    ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"],
  ];
  const value = fc.constantFrom(
    "websocket",
    "WebSocket",
    " websocket\t",
    "websocket\xa0",
    "foo, websocket",
    "keep-alive,Upgrade ,x",
    "",
    " 13",
    "8",
    "dGhlIHNhbXBsZSBub25jZR==",
    "chat, chat",
    "chat,",
    "x; y=",
    "https://b.example",
    "0",
    "1",
    "chunked",
  );
  const edit = fc.tuple(
    fc.nat(7),
    fc.constantFrom("drop", "repeat", "replace", "upper", "lower", "add"),
    value,
    fc.constantFrom("Content-Length", "Transfer-Encoding", "X-A", "upgrade", "CONNECTION"),
  );
  const verdict = (head: ParsedRequestHead, origins?: (string | RegExp)[]) => {
    const check = validateClientRequest(head, { origins });
    return check.ok ? check : { ...check, headers: check.headers && [...check.headers] };
  };
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 4 }), fc.constantFrom("GET", "POST"), (edits, m) => {
      const fields = valid.map(([n, v]): [string, string] => [n, v]);
      for (const [i, how, v, name] of edits) {
        const at = i % Math.max(1, fields.length);
        const field = fields[at];
        if (how === "add") fields.push([name, v]);
        else if (field === undefined) continue;
        else if (how === "drop") fields.splice(at, 1);
        else if (how === "repeat" && field[0].toLowerCase() !== "host") fields.push([field[0], v]);
        else if (how === "replace") fields[at] = [field[0], v];
        else if (how === "upper") fields[at] = [field[0].toUpperCase(), field[1]];
        else if (how === "lower") fields[at] = [field[0].toLowerCase(), field[1]];
      }
      const bytes = serializeRequestHead(m, "/chat", fields);
      const lazy = parseRequestHeadLazily(bytes)!;
      // The check makes no Headers.
      Object.defineProperty(lazy, "headers", {
        get: () => assert.fail("the check made the Headers"),
      });
      const eager = parseRequestHead(bytes)!;
      for (const origins of [undefined, ["https://a.example"], [/a\.example$/]]) {
        assert.deepEqual(verdict(lazy, origins), verdict(eager, origins));
      }
    }),
    { numRuns: 2000 },
  );
});
