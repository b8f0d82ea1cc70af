/**
 * The default classification of the reconnecting client: transient or fatal, for every error.
 */

import assert from "node:assert/strict";
import { CloseReason } from "../../src/core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  HandshakeError,
  ProtocolError,
  ProxyError,
  RedirectError,
  TimeoutError,
  WebSocketError,
} from "../../src/core/errors.ts";
import { isTransientCloseCode, isTransientError } from "../../src/core/transient.ts";

const status = (s: number) => new HandshakeError("HANDSHAKE_STATUS", `${s}`, { status: s });
const closed = (code: number) =>
  new ConnectionClosedError("SESSION_CLOSED", `${code}`, {
    closeReason: new CloseReason(code, ""),
  });
const proxy = { proxy: "http://p:1" };

Deno.test("isTransientError: retried", () => {
  const transient = [
    new ConnectionError("CONNECTION_REFUSED", "x"),
    new ConnectionError("CONNECTION_RESET", "x"),
    new ConnectionError("CONNECTION_FAILED", "x"),
    new ConnectionError("DNS_FAILED", "x"),
    new TimeoutError("CONNECT_TIMEOUT", "x"),
    new TimeoutError("HANDSHAKE_TIMEOUT", "x"),
    new TimeoutError("PING_TIMEOUT", "x"),
    new HandshakeError("HANDSHAKE_EOF", "x"),
    status(500),
    status(502),
    status(503),
    status(429),
    status(408),
    new ProxyError("PROXY_REFUSED", "x", { ...proxy, status: 502 }),
    new ProxyError("PROXY_REFUSED", "x", { ...proxy, reply: 5 }),
    new ProxyError("PROXY_REFUSED", "x", { ...proxy, reply: 4 }),
    new ConnectionClosedError("CLOSED_ABNORMALLY", "x"),
    closed(1001),
    closed(1006),
    closed(1011),
    closed(1012),
    closed(1013),
    closed(1014),
  ];
  for (const err of transient) assert.equal(isTransientError(err), true, err.message);
});

Deno.test("isTransientError: not retried", () => {
  const fatal: unknown[] = [
    new ConnectionError("TLS_FAILED", "certificate"),
    status(400),
    status(401),
    status(403),
    status(404),
    new HandshakeError("HANDSHAKE_ACCEPT_MISMATCH", "x"),
    new RedirectError("TOO_MANY_REDIRECTS", "x", { status: 302, chain: [] }),
    new ProxyError("PROXY_AUTH_FAILED", "x", { ...proxy, status: 407 }),
    new ProxyError("PROXY_REFUSED", "x", { ...proxy, status: 403 }),
    new ProxyError("PROXY_REFUSED", "x", { ...proxy, reply: 2 }),
    new ProxyError("PROXY_PROTOCOL_ERROR", "x", proxy),
    new ProtocolError("PROTOCOL_ERROR", 1002, "x"),
    closed(1000),
    closed(1008),
    closed(1002),
    closed(4000),
    new WebSocketError("ABORTED", "x"),
    new TypeError("bad"),
    "not an error",
  ];
  for (const err of fatal) assert.equal(isTransientError(err), false, String(err));
  assert.equal(isTransientCloseCode(1013), true);
  assert.equal(isTransientCloseCode(1000), false);
});
