/**
 * The HTTP `CONNECT` request (RFC 9110 §9.3.6) that asks an HTTP proxy for a tunnel, with Basic
 * proxy authentication (RFC 7617). The reply is an ordinary response head
 * (`parseResponseHead`): any 2xx opens the tunnel.
 *
 * @module
 */

import { utf8Encoder } from "./_text.ts";

/**
 * @internal The `authority-form` of a target: `host:port`, with brackets around IPv6.
 *
 * @param host The host name or address (IPv6 with or without brackets).
 * @param port The port.
 * @returns `host:port`.
 */
export function authorityOf(host: string, port: number): string {
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${bracketed}:${port}`;
}

/**
 * @internal The value of a `Basic` authorization header for `username` and `password` (UTF-8).
 *
 * @param username The user name.
 * @param password The password.
 * @returns `Basic <base64>`.
 */
export function basicCredentials(username: string, password: string): string {
  const bytes = utf8Encoder.encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * @internal The bytes of a `CONNECT` request for `host:port`.
 *
 * @param host The target host (IPv6 with or without brackets).
 * @param port The target port.
 * @param credentials The proxy's user name and password, when it has them.
 * @returns The request head.
 */
export function connectRequest(
  host: string,
  port: number,
  credentials?: { username: string; password: string },
): Uint8Array {
  const authority = authorityOf(host, port);
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (credentials !== undefined) {
    head += `Proxy-Authorization: ${
      basicCredentials(credentials.username, credentials.password)
    }\r\n`;
  }
  return utf8Encoder.encode(`${head}\r\n`);
}
