/**
 * The SOCKS5 client messages (RFC 1928) and username/password authentication (RFC 1929), as
 * bytes in and out: the transport writes them and reads exactly the lengths asked for.
 *
 * The exchange: the greeting (methods offered) → the method chosen (2 bytes) → for method 2,
 * the credentials → their status (2 bytes) → the `CONNECT` request → the reply (4 bytes, then
 * the bound address, whose length the 4th byte gives, and 2 bytes of port).
 *
 * @module
 */

import { utf8Encoder } from "./_text.ts";

/** @internal Method 0: no authentication. */
export const SOCKS_NO_AUTH = 0x00;
/** @internal Method 2: username and password (RFC 1929). */
export const SOCKS_USER_PASS = 0x02;
/** @internal The method byte of "none of the offered methods is acceptable". */
export const SOCKS_NO_ACCEPTABLE = 0xff;

/** @internal The reply codes of RFC 1928 §6, by number. */
export const SOCKS_REPLIES: Readonly<Record<number, string>> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

/**
 * @internal The greeting: version 5 and the methods offered (no authentication, and
 * username/password when there are credentials).
 *
 * @param withCredentials Whether username/password is offered too.
 * @returns The bytes.
 */
export function socksGreeting(withCredentials: boolean): Uint8Array {
  return withCredentials
    ? Uint8Array.of(5, 2, SOCKS_NO_AUTH, SOCKS_USER_PASS)
    : Uint8Array.of(5, 1, SOCKS_NO_AUTH);
}

/**
 * @internal The username/password request (RFC 1929 §2).
 *
 * @param username The user name (1-255 bytes of UTF-8).
 * @param password The password (0-255 bytes of UTF-8).
 * @returns The bytes.
 * @throws {RangeError} When either is too long, or the user name is empty.
 */
export function socksCredentials(username: string, password: string): Uint8Array {
  const user = utf8Encoder.encode(username);
  const pass = utf8Encoder.encode(password);
  if (user.length < 1 || user.length > 255 || pass.length > 255) {
    throw new RangeError(
      "SOCKS5 credentials: the user name must be 1-255 bytes, the password 0-255",
    );
  }
  const out = new Uint8Array(3 + user.length + pass.length);
  out[0] = 1;
  out[1] = user.length;
  out.set(user, 2);
  out[2 + user.length] = pass.length;
  out.set(pass, 3 + user.length);
  return out;
}

/**
 * @internal The `CONNECT` request for `host:port`: an IPv4 or IPv6 address as such, a name as a
 * domain name (which the proxy resolves).
 *
 * @param host A host name, or an address (IPv6 without brackets).
 * @param port The port.
 * @returns The bytes.
 * @throws {RangeError} When a name is longer than 255 bytes.
 */
export function socksConnectRequest(host: string, port: number): Uint8Array {
  let address: number[];
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 !== null && v4.slice(1).every((b) => Number(b) <= 255)) {
    address = [1, ...v4.slice(1).map(Number)];
  } else if (host.includes(":")) {
    address = [4, ...ipv6Bytes(host)];
  } else {
    const name = utf8Encoder.encode(host);
    if (name.length < 1 || name.length > 255) {
      throw new RangeError("A SOCKS5 domain name must be 1-255 bytes");
    }
    address = [3, name.length, ...name];
  }
  return Uint8Array.of(5, 1, 0, ...address, port >> 8, port & 0xff);
}

/** The 16 bytes of an IPv6 address (the URL parser has already checked it). */
function ipv6Bytes(text: string): number[] {
  const [head = "", tail] = text.split("::");
  const groups = (part: string) => part === "" ? [] : part.split(":");
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const expand = (parts: string[]): number[] =>
    parts.flatMap((p) => {
      if (p.includes(".")) {
        const b = p.split(".").map(Number);
        return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
      }
      return [parseInt(p, 16)];
    });
  const hv = expand(h);
  const tv = expand(t);
  const words = [...hv, ...new Array<number>(8 - hv.length - tv.length).fill(0), ...tv];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/**
 * @internal How many bytes of the `CONNECT` reply remain after its first 5, which give the
 * address type and the first byte of the address.
 *
 * @param start The first 5 bytes of the reply.
 * @returns The remaining length, or `-1` for an unknown address type.
 */
export function socksReplyRest(start: Uint8Array): number {
  switch (start[3]) {
    case 1:
      return 3 + 2; // IPv4: 4 bytes, one already read
    case 4:
      return 15 + 2; // IPv6: 16 bytes
    case 3:
      return start[4]! + 2; // the name's length byte was the 5th
    default:
      return -1;
  }
}
