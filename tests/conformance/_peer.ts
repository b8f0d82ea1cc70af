/**
 * The scripted test peer: it performs the opening handshake by hand (as a client against the
 * library's server, or as a server for the library's client), then plays a case's script on the
 * raw socket, answers pings, runs its side of the close handshake as Autobahn's peer does, and
 * records what it observed for the verdict.
 *
 * @module
 */

import type { ConformanceCase, Observation, ObservedEvent, Step } from "./_dsl.ts";
import type { PeerDeflate } from "./_peer_deflate.ts";
import {
  closePayload,
  concat,
  encodeWire,
  fingerprint,
  type FrameSpec,
  Op,
  toBytes,
  type WireFrame,
  WireParser,
} from "./_wire.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();
const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** `Sec-WebSocket-Accept` for a key, computed here (not with the library's helper). */
export async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", ascii.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** A parsed HTTP head: the first line and the header fields (names lower-cased). */
export interface Head {
  line: string;
  headers: Map<string, string>;
}

/** Reads an HTTP head (up to CRLF CRLF, at most 16 KiB); returns it and the bytes after it. */
export async function readHead(conn: Deno.Conn): Promise<{ head: Head; rest: Uint8Array }> {
  let got: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  while (true) {
    const end = findHeadEnd(got);
    if (end >= 0) {
      const lines = latin1.decode(got.subarray(0, end)).split("\r\n");
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const colon = l.indexOf(":");
        if (colon <= 0) continue;
        const name = l.slice(0, colon).trim().toLowerCase();
        const value = l.slice(colon + 1).trim();
        headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
      }
      return { head: { line: lines[0] ?? "", headers }, rest: got.slice(end + 4) };
    }
    if (got.length > 16384) throw new Error("HTTP head over 16 KiB");
    const n = await conn.read(buf);
    if (n === null) throw new Error("the connection ended before the HTTP head");
    got = concat([got, buf.subarray(0, n)]);
  }
}

function findHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * The peer as a client: sends an upgrade request, checks the 101 and its accept key.
 *
 * @returns The response head and the bytes read after it.
 */
export async function clientHandshake(
  conn: Deno.Conn,
  options: { port: number; path?: string; extensions?: string; protocols?: string },
): Promise<{ head: Head; rest: Uint8Array }> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  let request = `GET ${options.path ?? "/"} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${options.port}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (options.extensions) request += `Sec-WebSocket-Extensions: ${options.extensions}\r\n`;
  if (options.protocols) request += `Sec-WebSocket-Protocol: ${options.protocols}\r\n`;
  await writeAll(conn, ascii.encode(request + "\r\n"));
  const { head, rest } = await readHead(conn);
  if (!/^HTTP\/1\.1 101 /.test(head.line)) throw new Error(`no upgrade: ${head.line}`);
  if (head.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new Error("101 without Upgrade: websocket");
  }
  if (!/\bupgrade\b/i.test(head.headers.get("connection") ?? "")) {
    throw new Error("101 without Connection: Upgrade");
  }
  if (head.headers.get("sec-websocket-accept") !== await acceptFor(key)) {
    throw new Error("wrong Sec-WebSocket-Accept");
  }
  return { head, rest };
}

/**
 * The peer as a server: reads the upgrade request and answers 101.
 *
 * @param answer Extra header lines for the 101, decided from the request.
 */
export async function serverHandshake(
  conn: Deno.Conn,
  answer: (request: Head) => string[],
): Promise<{ request: Head; rest: Uint8Array }> {
  const { head, rest } = await readHead(conn);
  const key = head.headers.get("sec-websocket-key");
  if (!/^GET /.test(head.line) || key === undefined) throw new Error(`bad request: ${head.line}`);
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${await acceptFor(key)}`,
    ...answer(head),
  ];
  await writeAll(conn, ascii.encode(lines.join("\r\n") + "\r\n\r\n"));
  return { request: head, rest };
}

/** Options of {@linkcode playCase}. */
export interface PlayOptions {
  /** The peer's role: "client" when the library is the server. */
  role: "client" | "server";
  /** The peer's compression, when permessage-deflate was agreed. */
  deflate: PeerDeflate | null;
  /** How long the close handshake and the end of TCP may take, in ms. */
  closeWaitMs: number;
  /** The default wait for expected events / the library's failure, in ms. */
  waitMs: number;
  /** A hard limit for the whole case, in ms. */
  caseTimeoutMs: number;
}

/** Converts expected events to the observed form for comparison. */
export function observedForm(list: ConformanceCase["ok"]): ObservedEvent[] {
  return list.map((e) =>
    e.kind === "timeout" ? { kind: "timeout", label: e.label } : {
      kind: e.kind,
      binary: e.kind === "message" ? e.binary : undefined,
      length: e.data.length,
      hash: fingerprint(e.data),
    }
  );
}

function sameAsExpected(got: ObservedEvent[], want: ObservedEvent[]): boolean {
  if (got.length !== want.length) return false;
  return got.every((a, i) => {
    const b = want[i]!;
    return a.kind === b.kind && a.binary === b.binary && a.length === b.length &&
      a.hash === b.hash && a.label === b.label;
  });
}

/**
 * Plays `c` on an upgraded connection and returns what was observed. Closes `conn` before it
 * returns, and leaves no timer or read behind.
 */
export async function playCase(
  c: ConformanceCase,
  conn: Deno.Conn,
  leftover: Uint8Array,
  options: PlayOptions,
): Promise<Observation> {
  const peer = new Peer(c, conn, options);
  return await peer.run(leftover);
}

class Peer {
  readonly c: ConformanceCase;
  readonly conn: Deno.Conn;
  readonly o: PlayOptions;
  readonly client: boolean;
  readonly parser = new WireParser();
  readonly events: ObservedEvent[] = [];
  readonly violations: string[] = [];
  readonly okForm: ObservedEvent[];
  readonly nonStrictForm: ObservedEvent[] | undefined;
  readonly start = performance.now();

  closeSent = false;
  initiatedByMe = false;
  closeReceived = false;
  eof = false;
  tcpClosed = false;
  droppedByMe = false;
  remoteCode: number | undefined;
  remoteReason: string | undefined;
  writeFailed = false;
  stopped = false;

  #waiters: (() => void)[] = [];
  #writes: Promise<void> = Promise.resolve();
  #msgOpcode = 0;
  #msgParts: Uint8Array[] = [];
  #msgCompressed = false;
  readonly #partial = new WeakMap<FrameSpec, Uint8Array>();

  constructor(c: ConformanceCase, conn: Deno.Conn, options: PlayOptions) {
    this.c = c;
    this.conn = conn;
    this.o = options;
    this.client = options.role === "client";
    this.okForm = observedForm(c.ok);
    this.nonStrictForm = c.nonStrict ? observedForm(c.nonStrict) : undefined;
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // not a TCP connection
    }
  }

  get open(): boolean {
    return !this.closeSent && !this.closeReceived && !this.eof && !this.tcpClosed;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `pred` holds, or at `deadline` (performance.now() ms). */
  async waitUntil(pred: () => boolean, deadline: number): Promise<boolean> {
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }

  async sleep(ms: number): Promise<void> {
    await this.waitUntil(() => this.tcpClosed, performance.now() + ms);
  }

  /** Queues a write (in chops of `chop` bytes); writes never interleave. */
  write(data: Uint8Array, chop?: number): Promise<void> {
    const run = async () => {
      if (this.tcpClosed || this.writeFailed) return;
      try {
        if (!chop || chop >= data.length) {
          await writeAll(this.conn, data);
        } else {
          for (let i = 0; i < data.length; i += chop) {
            await writeAll(this.conn, data.subarray(i, Math.min(i + chop, data.length)));
          }
        }
      } catch {
        this.writeFailed = true;
      }
    };
    this.#writes = this.#writes.then(run);
    return this.#writes;
  }

  encode(spec: FrameSpec): Uint8Array {
    return encodeWire(spec, this.client);
  }

  async sendClose(payload: Uint8Array, rsv = 0): Promise<void> {
    if (this.closeReceived && this.closeSent) return;
    const first = !this.closeSent;
    if (first && !this.closeReceived && !this.eof) this.initiatedByMe = true;
    await this.write(this.encode({ opcode: Op.CLOSE, payload, rsv }));
    if (first && !this.writeFailed) this.closeSent = true;
    this.#notify();
    if (this.closeSent && this.closeReceived && !this.client) this.closeTcp();
  }

  closeTcp(): void {
    if (this.tcpClosed) return;
    this.tcpClosed = true;
    try {
      this.conn.close();
    } catch {
      // closed
    }
    this.#notify();
  }

  async readLoop(leftover: Uint8Array): Promise<void> {
    if (leftover.length > 0) {
      this.parser.push(leftover);
      await this.drainParser();
    }
    const buf = new Uint8Array(256 * 1024);
    while (!this.tcpClosed) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        this.eof = true;
        this.#notify();
        return;
      }
      this.parser.push(buf.subarray(0, n));
      await this.drainParser();
    }
  }

  async drainParser(): Promise<void> {
    for (let f = this.parser.next(); f !== null; f = this.parser.next()) {
      await this.onFrame(f);
      this.#notify();
    }
    if (this.parser.error !== null && !this.violations.includes(this.parser.error)) {
      this.violations.push(this.parser.error);
    }
  }

  violation(text: string): void {
    if (this.violations.length < 5) this.violations.push(text);
  }

  async onFrame(f: WireFrame): Promise<void> {
    if (this.closeReceived) {
      this.violation(`frame (opcode ${f.opcode}) after the close frame`);
      return;
    }
    if (f.masked !== !this.client) {
      this.violation(
        this.client ? "the server masked a frame" : "the client sent an unmasked frame",
      );
    }
    const control = f.opcode >= 8;
    if ((f.rsv & 3) !== 0 || (f.rsv & 4 && (control || f.opcode === Op.CONTINUATION))) {
      this.violation(`RSV bits ${f.rsv} on opcode ${f.opcode}`);
    } else if (f.rsv & 4 && this.o.deflate === null) {
      this.violation("RSV1 without permessage-deflate");
    }
    if (control) {
      if (!f.fin || f.payload.length > 125) this.violation("bad control frame");
      if (f.opcode === Op.PING) {
        this.events.push(this.record("ping", f.payload));
        if (this.open) await this.write(this.encode({ opcode: Op.PONG, payload: f.payload }));
      } else if (f.opcode === Op.PONG) {
        this.events.push(this.record("pong", f.payload));
      } else if (f.opcode === Op.CLOSE) {
        await this.onClose(f.payload);
      } else {
        this.violation(`reserved opcode ${f.opcode}`);
      }
      return;
    }
    if (f.opcode === Op.CONTINUATION) {
      if (this.#msgOpcode === 0) return this.violation("continuation without a message");
    } else if (f.opcode === Op.TEXT || f.opcode === Op.BINARY) {
      if (this.#msgOpcode !== 0) return this.violation("a new message inside a fragmented one");
      this.#msgOpcode = f.opcode;
      this.#msgCompressed = (f.rsv & 4) !== 0;
    } else {
      return this.violation(`reserved opcode ${f.opcode}`);
    }
    this.#msgParts.push(f.payload);
    if (!f.fin) return;
    let data = this.#msgParts.length === 1 ? this.#msgParts[0]! : concat(this.#msgParts);
    const binary = this.#msgOpcode === Op.BINARY;
    this.#msgParts = [];
    this.#msgOpcode = 0;
    if (this.#msgCompressed) {
      try {
        data = await this.o.deflate!.decompress(data);
      } catch (err) {
        return this.violation(`compressed message does not inflate: ${err}`);
      }
    }
    if (!binary) {
      try {
        fatalUtf8.decode(data);
      } catch {
        this.violation("a text message with invalid UTF-8");
      }
    }
    const event = this.record("message", data);
    event.binary = binary;
    this.events.push(event);
  }

  record(kind: "message" | "ping" | "pong", data: Uint8Array): ObservedEvent {
    return {
      kind,
      binary: undefined,
      length: data.length,
      hash: fingerprint(data),
      head: data.subarray(0, 16),
    };
  }

  async onClose(payload: Uint8Array): Promise<void> {
    this.closeReceived = true;
    if (payload.length === 1) this.violation("close payload of 1 byte");
    if (payload.length >= 2) {
      this.remoteCode = (payload[0]! << 8) | payload[1]!;
      try {
        this.remoteReason = fatalUtf8.decode(payload.subarray(2));
      } catch {
        this.violation("close reason is not UTF-8");
      }
    }
    if (!this.closeSent) {
      // Echo the code, as Autobahn's peer does.
      await this.sendClose(
        this.remoteCode === undefined ? new Uint8Array(0) : closePayload(this.remoteCode),
      );
    } else if (!this.client) {
      // Our close was answered: a server ends TCP.
      this.closeTcp();
    }
  }

  async runStep(step: Step): Promise<void> {
    if ("send" in step) {
      const frames = Array.isArray(step.send) ? step.send : [step.send as FrameSpec];
      if (step.sync) {
        for (const f of frames) await this.write(this.encode(f), step.chop);
      } else {
        await this.write(concat(frames.map((f) => this.encode(f))), step.chop);
      }
    } else if ("raw" in step) {
      await this.write(step.raw, step.chop);
    } else if ("partOf" in step) {
      let encoded = this.#partial.get(step.partOf);
      if (!encoded) this.#partial.set(step.partOf, encoded = this.encode(step.partOf));
      const header = encoded.length - toBytes(step.partOf.payload).length;
      const from = step.from === 0 ? 0 : header + step.from;
      await this.write(encoded.subarray(from, header + step.to));
    } else if ("pause" in step) {
      await this.sleep(step.pause);
      if (step.label !== undefined) {
        if (this.open) this.events.push({ kind: "timeout", label: step.label });
        else this.stopped = true;
      }
    } else if ("close" in step) {
      if (this.closeReceived) return;
      const cl = step.close;
      await this.sendClose(cl.payload ?? closePayload(cl.code, cl.reason), cl.rsv);
    } else if ("message" in step) {
      await this.sendMessage(step);
    } else if ("awaitEvents" in step) {
      await this.waitUntil(
        () => this.events.length >= step.awaitEvents || !this.open,
        this.start + this.o.caseTimeoutMs,
      );
    }
  }

  async sendMessage(step: Extract<Step, { message: unknown }>): Promise<void> {
    let data = toBytes(step.message);
    let rsv = 0;
    if (this.o.deflate !== null && step.compress !== false) {
      data = await this.o.deflate.compress(data);
      rsv = 4;
    }
    const opcode = step.binary ? Op.BINARY : Op.TEXT;
    const size = step.fragment && step.fragment > 0 ? step.fragment : data.length || 1;
    const parts: Uint8Array[] = [];
    let i = 0;
    do {
      const end = Math.min(i + size, data.length);
      parts.push(this.encode({
        opcode: i === 0 ? opcode : Op.CONTINUATION,
        rsv: i === 0 ? rsv : 0,
        fin: end === data.length,
        payload: data.subarray(i, end),
      }));
      i = end;
    } while (i < data.length);
    await this.write(parts.length === 1 ? parts[0]! : concat(parts), step.chop);
  }

  matches(): boolean {
    return sameAsExpected(this.events, this.okForm) ||
      (this.nonStrictForm !== undefined && sameAsExpected(this.events, this.nonStrictForm));
  }

  async run(leftover: Uint8Array): Promise<Observation> {
    const reading = this.readLoop(leftover);
    const hardLimit = this.start + this.o.caseTimeoutMs;
    let timedOut = false;
    try {
      for (const step of this.c.steps()) {
        if (this.stopped || this.tcpClosed || this.writeFailed) break;
        if (performance.now() > hardLimit) {
          timedOut = true;
          break;
        }
        await this.runStep(step);
      }
      await this.#writes;
      const wait = this.c.waitMs ?? this.o.waitMs;
      const deadline = Math.min(performance.now() + wait, hardLimit);
      if (this.c.close.closedByMe && !this.c.suppressClose) {
        await this.waitUntil(() => this.matches() || !this.open, deadline);
        // Nothing is expected: give a wrong answer (a pong, an echo) the time to show.
        if (this.okForm.length === 0 && this.open) await this.sleep(100);
        if (this.open) await this.sendClose(closePayload(1000));
      } else {
        await this.waitUntil(() => !this.open, deadline);
      }
      if (this.open) {
        // The library should have closed or failed the connection by now.
        this.initiatedByMe = true;
        this.droppedByMe = true;
        this.closeTcp();
      }
      // The close handshake, then the end of TCP (a library server must end it).
      const closeDeadline = performance.now() + this.o.closeWaitMs;
      await this.waitUntil(
        () => this.eof || this.tcpClosed || (this.closeSent && this.closeReceived && !this.client),
        closeDeadline,
      );
      if (!this.eof && !this.tcpClosed) {
        if (this.client) this.droppedByMe = true;
        this.closeTcp();
      }
    } catch (err) {
      this.violation(`peer error: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.closeTcp();
      await reading;
      await this.#writes;
    }
    if (timedOut) this.violation("the case did not finish in time");
    return {
      events: this.events,
      closedByMe: this.initiatedByMe,
      clean: this.closeSent && this.closeReceived && !this.droppedByMe,
      remoteCode: this.remoteCode,
      remoteReason: this.remoteReason,
      droppedByMe: this.droppedByMe,
      violations: this.violations,
      deflate: this.o.deflate !== null,
      ms: performance.now() - this.start,
    };
  }
}
