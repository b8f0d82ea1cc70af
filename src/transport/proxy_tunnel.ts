/**
 * Opening a tunnel through a proxy over a connection to it: HTTP `CONNECT` (with Basic proxy
 * authentication) or SOCKS5 (with username/password authentication; `socks5h:` lets the proxy
 * resolve the target's name, `socks5:` resolves it here first). Refusals are
 * {@linkcode ProxyError}s that name the proxy without its credentials.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { ConnectionError, ProxyError } from "../core/errors.ts";
import { authorityOf, connectRequest } from "../core/http_connect.ts";
import { parseResponseHead } from "../core/http1_response.ts";
import type { ProxyEndpoint } from "../core/proxy_url.ts";
import {
  SOCKS_NO_ACCEPTABLE,
  SOCKS_NO_AUTH,
  SOCKS_REPLIES,
  SOCKS_USER_PASS,
  socksConnectRequest,
  socksCredentials,
  socksGreeting,
  socksReplyRest,
} from "../core/socks5.ts";
import { writeAll } from "./frame_writer.ts";

/** The largest `CONNECT` reply head read. */
const MAX_CONNECT_HEAD = 16 * 1024;

/**
 * @internal Asks the proxy behind `conn` for a tunnel to `host:port`; resolves once bytes written
 * to `conn` reach the target.
 *
 * @param conn The connection to the proxy.
 * @param proxy The proxy.
 * @param target The host (IPv6 without brackets) and port to reach.
 * @throws {ProxyError} When the proxy refuses, rejects the credentials, or speaks nonsense.
 * @throws {ConnectionError} `DNS_FAILED` when `socks5:` cannot resolve the target here.
 */
export async function openTunnel(
  conn: Deno.Conn,
  proxy: ProxyEndpoint,
  target: { hostname: string; port: number },
): Promise<void> {
  if (proxy.kind === "http") await httpConnect(conn, proxy, target);
  else await socks5Connect(conn, proxy, target);
}

function protocolError(proxy: ProxyEndpoint, what: string): ProxyError {
  return new ProxyError("PROXY_PROTOCOL_ERROR", `The proxy ${proxy.display} ${what}`, {
    proxy: proxy.display,
  });
}

async function httpConnect(
  conn: Deno.Conn,
  proxy: ProxyEndpoint,
  target: { hostname: string; port: number },
): Promise<void> {
  const credentials = proxy.username !== "" || proxy.password !== ""
    ? { username: proxy.username, password: proxy.password }
    : undefined;
  await writeAll(conn, connectRequest(target.hostname, target.port, credentials));
  let buf = new Uint8Array(1024);
  let len = 0;
  while (true) {
    if (len === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw protocolError(proxy, "closed the connection before answering CONNECT");
    len += n;
    let head;
    try {
      head = parseResponseHead(buf.subarray(0, len), { maxHeadSize: MAX_CONNECT_HEAD });
    } catch {
      throw protocolError(proxy, "answered CONNECT with something that is not HTTP");
    }
    if (head === null) continue;
    const authority = authorityOf(target.hostname, target.port);
    if (head.status >= 200 && head.status < 300) {
      // The tunnel is silent until the client speaks (TLS and the WebSocket upgrade both start
      // with the client), so bytes after the head mean the proxy is not a plain tunnel.
      if (head.headLength < len) throw protocolError(proxy, "sent data before the tunnel opened");
      return;
    }
    const status = `${head.status}${head.statusText ? ` ${head.statusText}` : ""}`;
    // 407 is the standard answer; some proxies (tinyproxy 1.11) answer bad credentials with 401.
    if (head.status === 407 || head.status === 401) {
      throw new ProxyError(
        "PROXY_AUTH_FAILED",
        `The proxy ${proxy.display} ${
          credentials ? "rejected the credentials" : "requires credentials"
        } (${status})`,
        { proxy: proxy.display, status: head.status },
      );
    }
    throw new ProxyError(
      "PROXY_REFUSED",
      `The proxy ${proxy.display} refused the tunnel to ${authority} (${status})`,
      { proxy: proxy.display, status: head.status },
    );
  }
}

/** Reads exactly `n` bytes. */
async function readExact(conn: Deno.Conn, n: number, proxy: ProxyEndpoint): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) throw protocolError(proxy, "closed the connection during the SOCKS5 exchange");
    got += r;
  }
  return out;
}

const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|.*:.*)$/;

async function socks5Connect(
  conn: Deno.Conn,
  proxy: ProxyEndpoint,
  target: { hostname: string; port: number },
): Promise<void> {
  const withCredentials = proxy.username !== "";
  await writeAll(conn, socksGreeting(withCredentials));
  const choice = await readExact(conn, 2, proxy);
  if (choice[0] !== 5) throw protocolError(proxy, "is not a SOCKS5 server");
  const method = choice[1]!;
  if (method === SOCKS_NO_ACCEPTABLE) {
    throw new ProxyError(
      "PROXY_AUTH_FAILED",
      `The SOCKS5 proxy ${proxy.display} accepts none of the offered methods (${
        withCredentials ? "none, username/password" : "none: it may require credentials"
      })`,
      { proxy: proxy.display, reply: method },
    );
  }
  if (method === SOCKS_USER_PASS && withCredentials) {
    await writeAll(conn, socksCredentials(proxy.username, proxy.password));
    const status = await readExact(conn, 2, proxy);
    if (status[1] !== 0) {
      throw new ProxyError(
        "PROXY_AUTH_FAILED",
        `The SOCKS5 proxy ${proxy.display} rejected the credentials`,
        { proxy: proxy.display, reply: status[1] },
      );
    }
  } else if (method !== SOCKS_NO_AUTH) {
    throw protocolError(proxy, `chose the SOCKS5 method ${method}, which was not offered`);
  }
  let host = target.hostname;
  if (!proxy.resolveAtProxy && !IP_LITERAL.test(host)) {
    try {
      host = (await lookup(host)).address;
    } catch (err) {
      throw new ConnectionError(
        "DNS_FAILED",
        `Could not resolve ${host} (socks5: resolves names here; socks5h: lets the proxy do it)`,
        { cause: err },
      );
    }
  }
  await writeAll(conn, socksConnectRequest(host, target.port));
  const start = await readExact(conn, 5, proxy);
  if (start[0] !== 5) throw protocolError(proxy, "answered CONNECT with a bad SOCKS version");
  const reply = start[1]!;
  if (reply !== 0) {
    const meaning = SOCKS_REPLIES[reply] ?? "unknown reply code";
    throw new ProxyError(
      "PROXY_REFUSED",
      `The SOCKS5 proxy ${proxy.display} refused the tunnel to ${
        authorityOf(target.hostname, target.port)
      }: ${meaning} (reply ${reply})`,
      { proxy: proxy.display, reply },
    );
  }
  const rest = socksReplyRest(start);
  if (rest < 0) throw protocolError(proxy, "answered with an unknown SOCKS5 address type");
  await readExact(conn, rest, proxy);
}
