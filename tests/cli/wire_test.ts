/**
 * The frame inspector's parts on byte literals: the wire parser (heads, masks, 16- and 64-bit
 * lengths, split reads, kept payload), the recorder (the switch to frames at the 101, message
 * types of continuations, ping round trips, close frames, totals) and the line format.
 */

import assert from "node:assert/strict";
import { describeClose, formatEntry, formatSummary } from "../../src/cli/frame_format.ts";
import { type WireFrame, WireParser } from "../../src/cli/wire_parser.ts";
import { type WireEntry, WireRecorder } from "../../src/cli/wire_recorder.ts";

const enc = new TextEncoder();
const REQUEST = enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
const RESPONSE = enc.encode(
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
);

function frames(entries: WireEntry[]) {
  return entries.flatMap((e) => e.event.kind === "frame" ? [e.event.frame] : []);
}

Deno.test("WireParser: a masked frame split over reads, 16- and 64-bit lengths, kept payload", () => {
  const parser = new WireParser({ keep: 4 });
  assert.deepEqual(parser.push(REQUEST).map((e) => e.kind), ["head"]);
  assert.equal(parser.state, "held");
  assert.deepEqual(parser.upgrade(), []);
  // "Hello" masked with 37 fa 21 3d (RFC 6455 §5.7), fed one byte at a time.
  const masked = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
  const events = masked.flatMap((b) => parser.push(new Uint8Array([b])));
  assert.equal(events.length, 1);
  const f = events[0]!.kind === "frame" ? events[0]!.frame : null;
  assert.ok(f);
  assert.equal(f.opcode, 1);
  assert.equal(f.fin, true);
  assert.deepEqual([...f.mask!], [0x37, 0xfa, 0x21, 0x3d]);
  assert.equal(f.length, 5);
  assert.equal(f.headerLength, 6);
  assert.equal(new TextDecoder().decode(f.payload), "Hell", "only `keep` bytes are kept");
  // 256 bytes (16-bit length) and 65536 bytes (64-bit length), unmasked, in one push.
  const big16 = new Uint8Array(4 + 256);
  big16.set([0x82, 126, 0x01, 0x00]);
  const big64 = new Uint8Array(10 + 65536);
  big64.set([0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  const joined = new Uint8Array(big16.length + big64.length);
  joined.set(big16);
  joined.set(big64, big16.length);
  const more = parser.push(joined).flatMap((e) => e.kind === "frame" ? [e.frame] : []);
  assert.deepEqual(more.map((m) => [m.opcode, m.fin, m.length, m.headerLength]), [
    [2, true, 256, 4],
    [2, false, 65536, 10],
  ]);
});

Deno.test("WireRecorder: frames after the 101 in the same read, ping round trips, closes, totals", () => {
  const entries: WireEntry[] = [];
  const r = new WireRecorder("client", { onEntry: (e) => entries.push(e) });
  r.feed("out", REQUEST, 0);
  // The 101 and a first text frame fragment in one read.
  const first = new Uint8Array(RESPONSE.length + 5);
  first.set(RESPONSE);
  first.set([0x01, 0x03, 0x68, 0x65, 0x6c], RESPONSE.length);
  r.feed("in", first, 10);
  r.feed("in", new Uint8Array([0x80, 0x02, 0x6c, 0x6f]), 12); // continuation "lo", fin
  r.feed("out", new Uint8Array([0x89, 0x82, 0, 0, 0, 0, 0x70, 0x31]), 20); // ping "p1" (mask 0)
  r.feed("in", new Uint8Array([0x8a, 0x02, 0x70, 0x31]), 23.5); // pong "p1"
  r.feed("in", new Uint8Array([0x88, 0x05, 0x03, 0xe9, 0x62, 0x79, 0x65]), 30); // close 1001 "bye"
  assert.equal(r.status, 101);
  const fs = frames(entries);
  assert.deepEqual(fs.map((f) => f.opcode), [1, 0, 9, 10, 8]);
  const cont = entries.filter((e) => e.event.kind === "frame")[1]!;
  assert.equal(cont.message, "text", "a continuation knows its message type");
  assert.equal(cont.sincePrevious, 2);
  const pong = entries.find((e) => e.event.kind === "frame" && e.event.frame.opcode === 10)!;
  assert.equal(pong.rtt, 3.5);
  assert.deepEqual(r.rtts, [3.5]);
  assert.deepEqual(r.closes, [{ code: 1001, reason: "bye", direction: "in" }]);
  assert.equal(r.totals.in.frames, 4);
  assert.equal(r.totals.in.frameBytes, 5 + 4 + 4 + 7);
  assert.equal(r.totals.in.bytes, RESPONSE.length + 5 + 4 + 4 + 7);
  assert.equal(r.totals.out.frames, 1);
  const summary = formatSummary(r);
  assert.match(
    summary[0]!,
    /^summary over 30\.0ms: sent 1 frame \(8 bytes, \+\d+ handshake\), received 4 frames \(20 bytes/,
  );
  assert.equal(summary[1], "pings: 1 sent, 1 answered; round trip min 3.5ms, avg 3.5ms, max 3.5ms");
  assert.equal(summary[2], 'close: received 1001 going away "bye", then none sent');
});

Deno.test("WireRecorder: a refused handshake stops parsing; the summary says so", () => {
  const r = new WireRecorder("client");
  r.feed("out", REQUEST, 0);
  r.feed("in", enc.encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"), 1);
  assert.equal(r.status, 403);
  assert.equal(r.totals.in.frames, 0);
  assert.deepEqual(formatSummary(r).slice(1), ["handshake refused: HTTP 403"]);
});

Deno.test("formatEntry: opcode, FIN, RSV, mask, length, previews, close words, reserved opcodes", () => {
  const line = (frame: WireFrame, extra: Partial<WireEntry> = {}) =>
    formatEntry({
      direction: "out",
      at: 0,
      sincePrevious: 1.25,
      event: { kind: "frame", frame },
      ...extra,
    })[0];
  const base = { fin: true, rsv: 0, mask: null as Uint8Array | null, headerLength: 2 };
  assert.equal(
    line({
      ...base,
      opcode: 1,
      length: 2,
      payload: enc.encode("hi"),
      mask: new Uint8Array([1, 2, 3, 4]),
    }),
    '>>    +1.3ms  text         fin=1 rsv=000 mask=01020304 len=2 "hi"',
  );
  assert.equal(
    line({
      ...base,
      opcode: 2,
      fin: false,
      rsv: 4,
      length: 300,
      payload: new Uint8Array(4).fill(0xab),
    }),
    ">>    +1.3ms  binary       fin=0 rsv=100 mask=none     len=300 abababab…",
  );
  assert.equal(
    line({ ...base, opcode: 8, length: 0, payload: new Uint8Array(0) }),
    ">>    +1.3ms  close        fin=1 rsv=000 mask=none     len=0 1005 no status code",
  );
  assert.equal(
    line({ ...base, opcode: 3, length: 1, payload: new Uint8Array([7]) }),
    ">>    +1.3ms  reserved(0x3) fin=1 rsv=000 mask=none     len=1 07",
  );
  assert.equal(
    line({ ...base, opcode: 0, length: 3, payload: new Uint8Array([1, 2, 3]) }, {
      message: "binary",
      compressed: true,
    }),
    ">>    +1.3ms  continuation fin=1 rsv=000 mask=none     len=3 [compressed] 010203",
  );
  assert.equal(describeClose(4000, "bye"), '4000 private use "bye"');
  assert.equal(describeClose(1012, ""), "1012 service restart");
  assert.equal(describeClose(3001, ""), "3001 registered (library, framework)");
});
