/**
 * `NO_PROXY` matching, with curl's rules (lib/noproxy.c), plus ports:
 *
 * - the list is separated by commas and/or blanks; `*` bypasses the proxy for every host;
 * - a name matches itself and every name under it: `example.com` (or `.example.com`, the leading
 *   dot is ignored, as is a leading `*.`) matches `example.com` and `www.example.com`, never
 *   `notexample.com`; case and a trailing dot do not matter;
 * - an IP address matches that address only, and a CIDR block (`10.0.0.0/8`, `fd00::/8`) the
 *   addresses in it; IPv6 may be written with or without brackets. Names are never resolved: the
 *   name `localhost` does not match the address `127.0.0.1`;
 * - unlike curl, which ignores entries with a port, `host:port` (`[::1]:8080` for IPv6) matches
 *   that host on that port only, as Go's `net/http` does.
 *
 * @module
 */

/** Parses dotted-quad IPv4 into 4 bytes, or `null`. */
function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** Parses IPv6 (with `::`, an IPv4 tail, no zone) into 16 bytes, or `null`. */
function parseIPv6(text: string): number[] | null {
  if (!text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Whether the first `bits` bits of `a` and `b` are equal. */
function samePrefix(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

/** Splits `host:port`, `[v6]:port`, `[v6]` or a bare host into its parts. */
function splitEntry(entry: string): { host: string; port: number | undefined } {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close === -1) return { host: entry, port: undefined };
    const rest = entry.slice(close + 1);
    const port = /^:(\d{1,5})$/.exec(rest)?.[1];
    return { host: entry.slice(1, close), port: port === undefined ? undefined : Number(port) };
  }
  const m = /^([^:]*):(\d{1,5})$/.exec(entry);
  if (m !== null) return { host: m[1]!, port: Number(m[2]) };
  return { host: entry, port: undefined };
}

/**
 * @internal Whether `NO_PROXY`-style `list` says to connect to `hostname:port` directly.
 *
 * @param hostname The target's host name or address (IPv6 with or without brackets).
 * @param port The target's port.
 * @param list The `NO_PROXY` value.
 * @returns `true` when the proxy must be bypassed.
 */
export function matchesNoProxy(hostname: string, port: number, list: string): boolean {
  let host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const ip = parseIPv4(host) ?? parseIPv6(host);
  if (ip === null && host.endsWith(".")) host = host.slice(0, -1);
  if (host === "") return false;
  for (const raw of list.split(/[\s,]+/)) {
    if (raw === "") continue;
    if (raw === "*") return true;
    // A bare IPv6 address (several colons, no brackets) has no port.
    const bareV6 = !raw.startsWith("[") && raw.indexOf(":") !== raw.lastIndexOf(":");
    const entry = bareV6 ? { host: raw, port: undefined } : splitEntry(raw);
    if (entry.port !== undefined && entry.port !== port) continue;
    let pattern = entry.host.toLowerCase();
    if (ip !== null) {
      const slash = pattern.indexOf("/");
      const bitsText = slash === -1 ? undefined : pattern.slice(slash + 1);
      if (slash !== -1) pattern = pattern.slice(0, slash);
      const net = parseIPv4(pattern) ?? parseIPv6(pattern);
      if (net === null || net.length !== ip.length) continue;
      const bits = bitsText === undefined ? ip.length * 8 : Number(bitsText);
      if (!/^\d+$/.test(bitsText ?? "0") || bits > ip.length * 8) continue;
      if (samePrefix(ip, net, bits)) return true;
      continue;
    }
    if (pattern.endsWith(".")) pattern = pattern.slice(0, -1);
    if (pattern.startsWith("*.")) pattern = pattern.slice(2);
    else if (pattern.startsWith(".")) pattern = pattern.slice(1);
    if (pattern === "") continue;
    if (host === pattern || host.endsWith(`.${pattern}`)) return true;
  }
  return false;
}
