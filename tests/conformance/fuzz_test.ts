/**
 * Differential fuzzing with fast-check: the library's parsers against independent reference
 * models written from the RFCs, under arbitrary chunking, in both roles. (tests/core/ already
 * checks that arbitrary bytes raise only typed errors and that encode/decode round-trips; these
 * tests check that the decisions are the right ones.)
 *
 * - the frame decoder against a reference decoder (RFC 6455 §5), on mutated frame streams;
 * - fragmented text messages against a fatal `TextDecoder`: accepted exactly when valid, and
 *   failed at the fragment holding the first invalid octet;
 * - the close payload parser against RFC 6455 §5.5.1 / §7.4;
 * - the handshake request parser + validator against RFC 6455 §4.2.1 (in the documented order);
 * - the handshake response validator against RFC 6455 §4.1.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { FrameDecoder } from "../../src/core/frame_decoder.ts";
import type { Frame } from "../../src/core/frame.ts";
import { CloseReason, encodeClosePayload, parseClosePayload } from "../../src/core/close.ts";
import { ProtocolError, WebSocketError } from "../../src/core/errors.ts";
import { parseRequestHead } from "../../src/core/http1_request.ts";
import { parseResponseHead } from "../../src/core/http1_response.ts";
import { validateClientRequest } from "../../src/core/handshake_request.ts";
import { validateServerResponse } from "../../src/core/handshake_response.ts";
import { HandshakeError } from "../../src/core/errors.ts";
import { acceptFor } from "./_peer.ts";
import { concat, encodeWire, type FrameSpec, Op } from "./_wire.ts";

const utf8 = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Reference decoder (RFC 6455 §5), written from the RFC, not from the library.

interface RefFrame {
  type: string;
  fin: boolean;
  data: Uint8Array;
}

const TYPE: Record<number, string> = { 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

function isSendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Decodes a whole stream; returns the frames before the first violation and its close code. */
function referenceDecode(
  bytes: Uint8Array,
  server: boolean,
  maxFrameSize: number,
): { frames: RefFrame[]; error: number | null } {
  const frames: RefFrame[] = [];
  let pos = 0;
  let messageType = 0; // opcode of the unfinished data message, 0 when none
  let text: TextDecoder | null = null;
  const fail = (code: number) => ({ frames, error: code });
  while (bytes.length - pos >= 2) {
    const b0 = bytes[pos]!;
    const b1 = bytes[pos + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const headSize = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (bytes.length - pos < headSize) break;
    // §5.2: RSV must be 0 (no extension); reserved opcodes fail; §5.4: continuation only inside
    // a message, a new data message only outside one; §5.5: control frames are final and short.
    if (rsv !== 0) return fail(1002);
    if (opcode === 0) {
      if (messageType === 0) return fail(1002);
    } else if (TYPE[opcode] === undefined) {
      return fail(1002);
    } else if (opcode >= 8) {
      if (!fin || len7 > 125) return fail(1002);
    } else if (messageType !== 0) {
      return fail(1002);
    }
    // §5.1: a server fails unmasked frames, a client masked ones.
    if (masked !== server) return fail(1002);
    let length = len7;
    if (len7 === 126) length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    if (len7 === 127) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + pos + 2, 8);
      if (view.getUint32(0) >= 0x80000000) return fail(1002);
      length = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
    }
    if (length > maxFrameSize) return fail(1009);
    const start = pos + headSize;
    const available = Math.min(length, bytes.length - start);
    const payload = bytes.slice(start, start + available);
    if (masked) {
      const key = bytes.subarray(start - 4, start);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    }
    const type = opcode === 0 ? TYPE[messageType]! : TYPE[opcode]!;
    if (opcode === Op.TEXT) text = new TextDecoder("utf-8", { fatal: true });
    const isText = type === "text" && opcode < 8;
    // §8.1: text is UTF-8, checked as it arrives (fail fast), also in a partial frame.
    if (isText) {
      try {
        text!.decode(payload, { stream: true });
      } catch {
        return fail(1007);
      }
    }
    if (available < length) break;
    if (isText && fin) {
      try {
        text!.decode();
      } catch {
        return fail(1007);
      }
    }
    if (opcode === Op.CLOSE && payload.length > 0) {
      // §5.5.1, §7.4: a code of 2 bytes, sendable, then a UTF-8 reason.
      if (payload.length === 1) return fail(1002);
      if (!isSendableCode((payload[0]! << 8) | payload[1]!)) return fail(1002);
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2));
      } catch {
        return fail(1007);
      }
    }
    if (opcode < 8) messageType = fin ? 0 : (opcode === 0 ? messageType : opcode);
    frames.push({ type, fin, data: payload });
    pos = start + length;
  }
  return { frames, error: null };
}

/** Runs the library's decoder over `bytes` in chunks of the given sizes (cycled). */
function libraryDecode(
  bytes: Uint8Array,
  server: boolean,
  maxFrameSize: number,
  cuts: number[],
): { frames: RefFrame[]; error: number | null } {
  const decoder = new FrameDecoder({ role: server ? "server" : "client", maxFrameSize });
  const frames: RefFrame[] = [];
  const take = (f: Frame) => frames.push({ type: f.type, fin: f.fin, data: f.data.slice() });
  let pos = 0;
  let i = 0;
  try {
    while (pos < bytes.length) {
      const n = cuts[i++ % cuts.length]!;
      decoder.push(bytes.slice(pos, pos + n));
      pos += n;
      for (let f = decoder.next(); f !== null; f = decoder.next()) take(f);
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { frames, error: err.closeCode };
  }
  return { frames, error: null };
}

/** A frame of a fuzzed stream: mostly valid, sometimes anything. */
const frameSpec: fc.Arbitrary<FrameSpec & { maskFlip: boolean }> = fc.record({
  opcode: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(0, 1, 1, 2, 2, 8, 9, 10) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
  ),
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, {
    weight: 1,
    arbitrary: fc.boolean(),
  }),
  rsv: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(7) }),
  payload: fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }).map((s) => utf8.encode(s)) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        new Uint8Array([0x03, 0xe8]),
        new Uint8Array([0x03, 0xe8, 0x6f, 0x6b]),
        new Uint8Array([0x03, 0xed]),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(125, 126, 127, 511, 512, 513, 65535, 65536),
        fc.integer({ min: 120, max: 700 }),
      ).map((n) => new Uint8Array(n).fill(0x61)),
    },
  ),
  maskFlip: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, {
    weight: 1,
    arbitrary: fc.constant(true),
  }),
});

const mutation = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ cut: fc.nat() }) },
);

Deno.test("fuzz: the frame decoder decides as a reference decoder does, both roles, any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(frameSpec, { maxLength: 8 }),
      fc.boolean(),
      mutation,
      fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      (specs, server, mutate, cuts, hugeLength) => {
        const parts = specs.map((s) =>
          encodeWire({ ...s, mask: s.maskFlip ? !server : server }, server === true)
        );
        // A 64-bit length with the top bit set, now and then.
        if (hugeLength) {
          parts.push(new Uint8Array([0x82, (server ? 0x80 : 0) | 127, 0x80, 0, 0, 0, 0, 0, 0, 5]));
        }
        let bytes = concat(parts);
        if (mutate && "xor" in mutate && bytes.length > 0) {
          bytes = bytes.slice();
          bytes[mutate.at % bytes.length]! ^= mutate.xor;
        } else if (mutate && "cut" in mutate && bytes.length > 0) {
          bytes = bytes.slice(0, mutate.cut % bytes.length);
        }
        const maxFrameSize = 512;
        const want = referenceDecode(bytes, server, maxFrameSize);
        const got = libraryDecode(bytes, server, maxFrameSize, cuts);
        assert.equal(got.error, want.error, "close code");
        assert.deepEqual(got.frames, want.frames);
      },
    ),
    { numRuns: 4000 },
  );
});

Deno.test("fuzz: a fragmented text message is accepted exactly when a fatal TextDecoder accepts it", () => {
  const textBytes = fc.oneof(
    fc.string({ maxLength: 60, unit: "binary" }).map((s) => utf8.encode(s)),
    fc.uint8Array({ maxLength: 40 }),
    fc.tuple(fc.string({ maxLength: 20, unit: "binary" }), fc.uint8Array({ maxLength: 4 })).map((
      [s, b],
    ) => concat([utf8.encode(s), b])),
  );
  fc.assert(
    fc.property(
      textBytes,
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
      (message, rawCuts, server, chunks) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (message.length + 1)))].sort((a, b) =>
          a - b
        );
        const bounds = [0, ...cuts, message.length];
        const fragments: [number, number][] = [];
        for (let i = 0; i + 1 < bounds.length; i++) fragments.push([bounds[i]!, bounds[i + 1]!]);
        const stream = concat(fragments.map(([a, b], i) =>
          encodeWire({
            opcode: i === 0 ? Op.TEXT : Op.CONTINUATION,
            fin: i === fragments.length - 1,
            payload: message.subarray(a, b),
          }, server)
        ));
        // Where a streaming fatal decoder first throws: an octet index, or the end.
        const stepper = new TextDecoder("utf-8", { fatal: true });
        let bad = -1;
        for (let i = 0; i < message.length && bad < 0; i++) {
          try {
            stepper.decode(message.subarray(i, i + 1), { stream: true });
          } catch {
            bad = i;
          }
        }
        if (bad < 0) {
          try {
            stepper.decode();
          } catch {
            bad = message.length;
          }
        }
        const got = libraryDecode(stream, server, 1 << 20, chunks);
        if (bad < 0) {
          assert.equal(got.error, null);
          assert.deepEqual(concat(got.frames.map((f) => f.data)), message);
          return;
        }
        assert.equal(got.error, 1007);
        const failing = bad === message.length
          ? fragments.length - 1
          : fragments.findIndex(([a, b]) => a <= bad && bad < b);
        assert.equal(got.frames.length, failing, "fragments delivered before the failing one");
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("fuzz: the close payload parser follows RFC 6455 §5.5.1 and §7.4", () => {
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 130 }),
    fc.tuple(
      fc.oneof(
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom(999, 1000, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000),
      ),
      fc.oneof(
        fc.string({ maxLength: 50 }).map((s) => utf8.encode(s)),
        fc.uint8Array({ maxLength: 10 }),
      ),
    ).map(([code, reason]) => concat([new Uint8Array([code >> 8, code & 0xff]), reason])),
  );
  fc.assert(
    fc.property(payload, (bytes) => {
      let expected: { code: number; message: string } | null | number;
      if (bytes.length === 0) expected = null;
      else if (bytes.length === 1 || bytes.length > 125) expected = 1002;
      else if (!isSendableCode((bytes[0]! << 8) | bytes[1]!)) expected = 1002;
      else {
        try {
          expected = {
            code: (bytes[0]! << 8) | bytes[1]!,
            message: new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(2)),
          };
        } catch {
          expected = 1007;
        }
      }
      let got: typeof expected;
      try {
        const r = parseClosePayload(bytes);
        got = r === null ? null : { code: r.code, message: r.message };
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${err}`);
        got = err.closeCode;
      }
      assert.deepEqual(got, expected);
      // What parses re-encodes to the same bytes.
      if (got !== null && typeof got === "object") {
        assert.deepEqual(encodeClosePayload(new CloseReason(got.code, got.message)), bytes);
      }
    }),
    { numRuns: 3000 },
  );
});

// ---------------------------------------------------------------------------------------------
// Handshakes

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

interface RequestModel {
  method: string;
  version: string;
  host: boolean;
  upgrade: string | null;
  connection: string | null;
  wsVersion: string | null;
  key: string | null;
  protocol: string | null;
  contentLength: string | null;
  extra: [string, string][];
}

const requestModel: fc.Arbitrary<RequestModel> = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constant("GET") }, {
    weight: 1,
    arbitrary: fc.constantFrom("POST", "get", "HEAD"),
  }),
  version: fc.oneof({ weight: 8, arbitrary: fc.constant("HTTP/1.1") }, {
    weight: 1,
    arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.2"),
  }),
  host: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, {
    weight: 1,
    arbitrary: fc.constant(false),
  }),
  upgrade: fc.constantFrom(
    "websocket",
    "WebSocket",
    "h2c, websocket",
    "websocket/13",
    "foo",
    null,
    "websocket",
  ),
  connection: fc.constantFrom(
    "Upgrade",
    "upgrade",
    "keep-alive, Upgrade",
    "keep-alive",
    "Upgrade,close",
    null,
    "Upgrade",
  ),
  wsVersion: fc.constantFrom("13", "13", "13", "8", " 13 ", null, "13, 8"),
  key: fc.constantFrom(KEY, KEY, KEY, "AQIDBAUGBwgJCgsMDQ4PEA==", "short==", "", null, `${KEY}x`),
  protocol: fc.constantFrom(null, null, "chat", "chat, superchat", "chat, chat", "a b", ""),
  contentLength: fc.constantFrom(null, null, null, "0", "5"),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom("X-Test", "Accept", "Cookie", "User-Agent"),
      fc.string({ maxLength: 10, unit: fc.constantFrom(..."abc123 ;=/") }),
    ),
    { maxLength: 3 },
  ),
});

/** RFC 6455 §4.2.1 in the library's documented order: the status of the answer. */
function expectedStatus(m: RequestModel): number {
  const tokens = (v: string | null) => (v ?? "").split(",").map((s) => s.trim().toLowerCase());
  if (m.method !== "GET") return 405;
  const [major, minor] = m.version.slice(5).split(".").map(Number);
  if (major! < 1 || (major === 1 && minor! < 1)) return 400;
  if (major! > 1) return 505;
  if (!m.host) return 400;
  if (m.contentLength !== null && m.contentLength !== "0") return 400;
  if (m.upgrade === null) return 426;
  if (!tokens(m.upgrade).includes("websocket")) return 400;
  if (!tokens(m.connection).includes("upgrade")) return 400;
  if (m.wsVersion?.trim() !== "13") return 426;
  if (m.key === null || !/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(m.key)) return 400;
  if (m.protocol !== null) {
    const list = m.protocol.split(",").map((s) => s.trim());
    if (list.some((p) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p))) return 400;
    if (new Set(list).size !== list.length) return 400;
  }
  return 101;
}

function serializeRequest(m: RequestModel, caseBits: number, ows: boolean): string {
  const name = (n: string, i: number) => ((caseBits >> i) & 1 ? n.toLowerCase() : n);
  const sp = ows ? "  " : " ";
  const lines = [`${m.method} /chat?x=1 ${m.version}`];
  const add = (n: string, v: string | null, i: number) => {
    if (v !== null) lines.push(`${name(n, i)}:${sp}${v}${ows ? " " : ""}`);
  };
  if (m.host) add("Host", "example.com:8080", 0);
  add("Upgrade", m.upgrade, 1);
  add("Connection", m.connection, 2);
  add("Sec-WebSocket-Version", m.wsVersion, 3);
  add("Sec-WebSocket-Key", m.key, 4);
  add("Sec-WebSocket-Protocol", m.protocol, 5);
  add("Content-Length", m.contentLength, 6);
  for (const [n, v] of m.extra) add(n, v.trim(), 7);
  return lines.join("\r\n") + "\r\n\r\n";
}

Deno.test("fuzz: upgrade requests, parsed from any chunking, are answered per RFC 6455 §4.2.1", () => {
  fc.assert(
    fc.property(
      requestModel,
      fc.nat(255),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
      (model, caseBits, ows, cuts) => {
        const bytes = utf8.encode(serializeRequest(model, caseBits, ows));
        // Feed the parser a growing buffer, as a server reading the socket does.
        let head = null;
        let have = 0;
        for (let i = 0; head === null && have < bytes.length; i++) {
          have = Math.min(bytes.length, have + cuts[i % cuts.length]!);
          head = parseRequestHead(bytes.subarray(0, have));
          if (head !== null) assert.equal(have, bytes.length, "the head ends at its blank line");
        }
        assert.ok(head !== null);
        const check = validateClientRequest(head);
        const status = expectedStatus(model);
        assert.equal(check.ok ? 101 : check.status, status, check.ok ? "accepted" : check.reason);
        if (check.ok) {
          assert.equal(check.key, model.key);
          assert.deepEqual(
            check.protocols,
            model.protocol === null ? [] : model.protocol.split(",").map((s) => s.trim()),
          );
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("fuzz: upgrade responses are accepted exactly when RFC 6455 §4.1 allows", async () => {
  const expectedAccept = await acceptFor(KEY);
  fc.assert(
    fc.property(
      fc.record({
        status: fc.constantFrom(101, 101, 101, 200, 400),
        upgrade: fc.constantFrom("websocket", "WebSocket", "h2c", null),
        connection: fc.constantFrom("Upgrade", "upgrade, keep-alive", "close", null),
        accept: fc.constantFrom("right", "right", "wrong", "missing"),
        protocol: fc.constantFrom(null, null, "chat", "other"),
        extensions: fc.constantFrom(
          null,
          null,
          "permessage-deflate",
          "x-unknown",
          "permessage-deflate; =",
        ),
      }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
      (m, cuts) => {
        const lines = [`HTTP/1.1 ${m.status} Whatever`];
        if (m.upgrade) lines.push(`Upgrade: ${m.upgrade}`);
        if (m.connection) lines.push(`Connection: ${m.connection}`);
        if (m.accept !== "missing") {
          lines.push(
            `Sec-WebSocket-Accept: ${
              m.accept === "right" ? expectedAccept : "x3JJHMbDL1EzLkh9GBhXDw=="
            }`,
          );
        }
        if (m.protocol) lines.push(`Sec-WebSocket-Protocol: ${m.protocol}`);
        if (m.extensions) lines.push(`Sec-WebSocket-Extensions: ${m.extensions}`);
        const bytes = utf8.encode(lines.join("\r\n") + "\r\n\r\n");
        let head = null;
        for (let have = 0, i = 0; head === null && have < bytes.length; i++) {
          have = Math.min(bytes.length, have + cuts[i % cuts.length]!);
          head = parseResponseHead(bytes.subarray(0, have));
        }
        assert.ok(head !== null);
        const ok = m.status === 101 && m.upgrade?.toLowerCase() === "websocket" &&
          /\bupgrade\b/i.test(m.connection ?? "") && m.accept === "right" &&
          (m.protocol === null || m.protocol === "chat") &&
          (m.extensions === null || m.extensions === "permessage-deflate");
        try {
          const accepted = validateServerResponse(head, {
            key: KEY,
            protocols: ["chat"],
            extensions: ["permessage-deflate"],
          });
          assert.ok(ok, `accepted ${JSON.stringify(m)}`);
          assert.equal(accepted.protocol, m.protocol ?? "");
        } catch (err) {
          if (!(err instanceof HandshakeError)) throw err;
          assert.ok(!ok, `refused ${JSON.stringify(m)}: ${err.message}`);
        }
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("fuzz: garbage after a valid stream never crashes the decoder, only WebSocketErrors", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 9 }), (tail, cut) => {
      const head = encodeWire({ opcode: Op.TEXT, payload: "ok" }, true);
      const decoder = new FrameDecoder({ role: "server" });
      const bytes = concat([head, tail]);
      try {
        for (let i = 0; i < bytes.length; i += cut) {
          decoder.push(bytes.slice(i, i + cut));
          while (decoder.next() !== null) { /* drain */ }
        }
      } catch (err) {
        assert.ok(err instanceof WebSocketError);
      }
    }),
    { numRuns: 1000 },
  );
});
