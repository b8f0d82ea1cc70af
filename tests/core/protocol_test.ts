/**
 * The sans-I/O protocol object, fed byte literals: no sockets, no timers. Grouped by concern,
 * with the RFC 6455 section each case checks.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { CloseReason } from "../../src/core/close.ts";
import { ConnectionClosedError, ProtocolError } from "../../src/core/errors.ts";
import type { WebSocketExtension } from "../../src/core/extension.ts";
import { Frame } from "../../src/core/frame.ts";
import { encodeFrame } from "../../src/core/frame_encoder.ts";
import { MAX_PONGS_IN_FLIGHT, Protocol, type ProtocolOptions } from "../../src/core/protocol.ts";

type Role = "client" | "server";
const ROLES: readonly Role[] = ["client", "server"];

const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);
/** The fixed mask key of every masked test frame (the one of RFC 6455 §5.7). */
const KEY = hex("37 fa 21 3d");

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The bytes the peer of `role` writes for `frames`: a client's frames (read by a server) are
 * masked with {@linkcode KEY}, a server's are not. A data frame that follows one without FIN
 * goes out as a continuation (opcode 0).
 */
function wire(role: Role, ...frames: Frame[]): Uint8Array {
  let inMessage = false;
  return concat(frames.map((frame) => {
    const continuation = !frame.isControl && inMessage;
    if (!frame.isControl) inMessage = !frame.fin;
    return encodeFrame(frame, { maskKey: role === "server" ? KEY : undefined, continuation });
  }));
}

/** Pushes each chunk (a copy: the decoder unmasks in place) and drains `next()` after each. */
function receive(p: Protocol, ...chunks: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    p.decoder.push(chunk.slice());
    for (let f = p.next(); f !== null; f = p.next()) frames.push(f);
  }
  return frames;
}

/** Like {@linkcode receive}, for bytes that break the protocol: the frames before, and the error. */
function receiveError(p: Protocol, bytes: Uint8Array): { frames: Frame[]; error: ProtocolError } {
  const frames: Frame[] = [];
  p.decoder.push(bytes.slice());
  try {
    for (let f = p.next(); f !== null; f = p.next()) frames.push(f);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    return { frames, error };
  }
  assert.fail(`expected a protocol error after ${frames.length} frames`);
}

/** A frame as the tests compare it: type, FIN, RSV bits and the payload as text. */
const seen = (f: Frame) => ({
  type: f.type,
  fin: f.fin,
  rsv: f.rsvBits,
  data: new TextDecoder().decode(f.data),
});
const text = (data: string, fin = true, rsv = 0) => ({ type: "text", fin, rsv, data });
const binary = (data: string, fin = true, rsv = 0) => ({ type: "binary", fin, rsv, data });
const ping = (data: string) => ({ type: "ping", fin: true, rsv: 0, data });
const pong = (data: string) => ({ type: "pong", fin: true, rsv: 0, data });

const raw = (role: Role, options?: Partial<ProtocolOptions>) => new Protocol({ role, ...options });
const managed = (role: Role, options?: Partial<ProtocolOptions>) =>
  new Protocol({ role, assemble: true, autoPong: true, ...options });

/** How the session ended: `[code, message]`, or `null` while it goes on. */
const reasonOf = (p: Protocol) => p.closeReason && [p.closeReason.code, p.closeReason.message];

function assertClosedError(err: unknown, code: string): asserts err is ConnectionClosedError {
  assert.ok(err instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${err}`);
  assert.equal(err.code, code);
}

// ---------------------------------------------------------------------------------------------
// Raw mode (assemble: false)

Deno.test("Protocol §5.4 raw: every frame is returned as decoded, fragments included", () => {
  const p = raw("client");
  // RFC 6455 §5.7: "Hel" + "lo" in two fragments, with an unmasked ping between them.
  const frames = receive(p, hex("01 03 48 65 6c 89 00 80 02 6c 6f"));
  assert.deepEqual(frames.map(seen), [text("Hel", false), ping(""), text("lo")]);
  assert.equal(p.inMessage, false, "raw mode reassembles nothing");
  assert.equal(p.state, "open");
});

Deno.test("Protocol §5.7 raw server: a masked text frame is unmasked", () => {
  const p = raw("server");
  assert.deepEqual(receive(p, hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")).map(seen), [text("Hello")]);
});

Deno.test("Protocol §5.4 raw: a binary message in three fragments comes as three frames", () => {
  const p = raw("server");
  const bytes = wire(
    "server",
    Frame.binary(utf8("ab"), { fin: false }),
    Frame.binary(utf8("cd"), { fin: false }),
    Frame.binary(utf8("e")),
  );
  assert.deepEqual(receive(p, bytes).map(seen), [
    binary("ab", false),
    binary("cd", false),
    binary("e"),
  ]);
});

Deno.test("Protocol §5.5.2 raw: no pong is owed without autoPong", () => {
  const p = raw("client");
  assert.deepEqual(receive(p, hex("89 02 68 69")).map(seen), [ping("hi")]);
  assert.equal(p.takePong(), null);
});

Deno.test("Protocol §5.5.2 raw with autoPong: a pong is owed", () => {
  const p = raw("client", { autoPong: true });
  receive(p, hex("89 02 68 69"));
  assert.deepEqual(encodeFrame(p.takePong()!), hex("8a 02 68 69"));
});

Deno.test("Protocol §9 raw: extensions are not run on frames as received", () => {
  let calls = 0;
  const p = raw("client", {
    allowedRsv: 0x40,
    compressedRsv: 0x40,
    extensions: [fakeExtension((f) => (calls++, f))],
  });
  assert.deepEqual(receive(p, hex("c1 02 68 69")).map(seen), [text("hi", true, 0x40)]);
  assert.equal(calls, 0);
});

// ---------------------------------------------------------------------------------------------
// Reassembly (assemble: true)

Deno.test("Protocol §5.4: a fragmented text message is reassembled", () => {
  const p = managed("client");
  // RFC 6455 §5.7, "A fragmented unmasked text message".
  assert.deepEqual(receive(p, hex("01 03 48 65 6c 80 02 6c 6f")).map(seen), [text("Hello")]);
  assert.equal(p.inMessage, false);
});

Deno.test("Protocol §5.4: a fragmented binary message is reassembled, fragment by fragment", () => {
  const p = managed("server");
  const bytes = wire(
    "server",
    Frame.binary(hex("00 01"), { fin: false }),
    Frame.binary(hex("02"), { fin: false }),
    Frame.binary(hex("03 04")),
  );
  // Each frame: 2 bytes of header, 4 of mask key, the payload.
  const [first, middle, last] = [bytes.subarray(0, 8), bytes.subarray(8, 15), bytes.subarray(15)];
  assert.deepEqual(middle.subarray(0, 2), hex("00 81"), "a masked continuation");
  assert.deepEqual(receive(p, first), []);
  assert.equal(p.inMessage, true);
  assert.deepEqual(receive(p, middle), []);
  const [message, ...rest] = receive(p, last);
  assert.deepEqual(rest, []);
  assert.equal(message!.type, "binary");
  assert.equal(message!.fin, true);
  assert.deepEqual(message!.data, hex("00 01 02 03 04"));
  assert.equal(p.inMessage, false);
});

Deno.test("Protocol §5.4: a large fragmented message is reassembled whole", () => {
  const p = managed("client");
  // Fragments with 7-, 16- and 64-bit lengths, and an empty one, read in odd-sized chunks.
  const parts = [3000, 70000, 1, 0, 9000].map((n, i) => new Uint8Array(n).fill(i + 1));
  const frames = parts.map((data, i) => Frame.binary(data, { fin: i === parts.length - 1 }));
  const bytes = wire("client", ...frames);
  const chunks = Array.from(
    { length: Math.ceil(bytes.length / 4099) },
    (_, i) => bytes.subarray(i * 4099, (i + 1) * 4099),
  );
  const [message, ...rest] = receive(p, ...chunks);
  assert.deepEqual(rest, []);
  assert.deepEqual(message!.data, concat(parts));
});

Deno.test("Protocol §5.4: control frames within a fragmented message are returned in between", () => {
  const p = managed("client");
  // "Hel", ping "a", pong "b", "lo": the control frames come first, then the whole message.
  const bytes = hex("01 03 48 65 6c 89 01 61 8a 01 62 80 02 6c 6f");
  assert.deepEqual(receive(p, bytes.subarray(0, 8)).map(seen), [ping("a")]);
  assert.equal(p.inMessage, true);
  assert.deepEqual(receive(p, bytes.subarray(8)).map(seen), [pong("b"), text("Hello")]);
  assert.deepEqual(encodeFrame(p.takePong()!), hex("8a 01 61"));
});

Deno.test("Protocol §5.2: the RSV bits of a message's first fragment are kept", () => {
  const p = managed("client", { allowedRsv: 0x50 });
  // RSV1 and RSV3 on the first fragment (allowed, as by an extension), none on the continuation.
  assert.deepEqual(receive(p, hex("51 03 48 65 6c 80 02 6c 6f")).map(seen), [
    text("Hello", true, 0x50),
  ]);
  const [message] = receive(p, hex("c2 01 00"));
  assert.equal(message!.rsv1, true);
  assert.equal(message!.rsv2, false);
});

Deno.test("Protocol §5.2: RSV bits on a continuation fail with 1002", () => {
  const p = managed("client", { allowedRsv: 0x40 });
  const { error } = receiveError(p, hex("41 03 48 65 6c c0 02 6c 6f"));
  assert.equal(error.closeCode, 1002);
});

Deno.test("Protocol §10.4: maxMessageSize counts every fragment (1009)", () => {
  // 3 + 2 bytes fit in 5.
  assert.deepEqual(
    receive(managed("client", { maxMessageSize: 5 }), hex("01 03 48 65 6c 80 02 6c 6f")).map(seen),
    [text("Hello")],
  );
  // 3 + 3 bytes do not; the first fragment alone did.
  const p = managed("client", { maxMessageSize: 5 });
  const { frames, error } = receiveError(p, hex("89 00 01 03 48 65 6c 80 03 6c 6f 21"));
  assert.deepEqual(frames.map(seen), [ping("")]);
  assert.equal(error.code, "MESSAGE_TOO_BIG");
  assert.equal(error.closeCode, 1009);
});

Deno.test("Protocol §10.4: maxFrameSize is checked from the header (1009)", () => {
  const p = managed("client", { maxFrameSize: 125 });
  // A 126-byte frame announced, none of its payload sent.
  const { error } = receiveError(p, hex("82 7e 00 7e"));
  assert.equal(error.code, "FRAME_TOO_BIG");
  assert.equal(error.closeCode, 1009);
});

Deno.test("Protocol §8.1: text split inside a code point is valid UTF-8", () => {
  const p = managed("client");
  // "€" is E2 82 AC: two bytes in the first fragment, one in the second.
  const [message] = receive(p, hex("01 02 e2 82"), hex("80 01 ac"));
  assert.equal(new TextDecoder().decode(message!.data), "€");
});

Deno.test("Protocol §8.1: invalid UTF-8 across fragments fails with 1007", () => {
  // E2 82 then "(" : no continuation byte where one is needed.
  const bad = receiveError(managed("client"), hex("01 02 e2 82 80 01 28"));
  assert.equal(bad.error.code, "INVALID_UTF8");
  assert.equal(bad.error.closeCode, 1007);
  // E2 82 and nothing more: the message ends inside a code point.
  const cut = receiveError(managed("client"), hex("01 01 61 80 02 e2 82"));
  assert.equal(cut.error.closeCode, 1007);
  // ED A0 starts a surrogate: failed at the first fragment, before the message ends.
  const p = managed("client");
  const early = receiveError(p, hex("01 02 ed a0"));
  assert.equal(early.error.closeCode, 1007);
});

// ---------------------------------------------------------------------------------------------
// Pings and pongs

Deno.test("Protocol §5.5.2: a ping owes a pong with its payload", () => {
  for (const role of ROLES) {
    const p = managed(role);
    assert.deepEqual(receive(p, wire(role, Frame.ping(utf8("Hello")))).map(seen), [ping("Hello")]);
    const answer = p.takePong();
    // RFC 6455 §5.7: "Unmasked Ping request and masked Ping response" (the shell masks).
    assert.deepEqual(encodeFrame(answer!), hex("8a 05 48 65 6c 6c 6f"), role);
    assert.equal(p.takePong(), null, "a pong is taken once");
  }
});

Deno.test("Protocol §5.5.2: an empty ping owes an empty pong", () => {
  const p = managed("client");
  receive(p, hex("89 00"));
  assert.deepEqual(encodeFrame(p.takePong()!), hex("8a 00"));
});

Deno.test("Protocol §5.5.3: pings not yet answered owe one pong, for the latest", () => {
  const p = managed("client");
  receive(p, hex("89 01 31 89 01 32 89 01 33"));
  assert.deepEqual(encodeFrame(p.takePong()!), hex("8a 01 33"));
  assert.equal(p.takePong(), null);
});

Deno.test("Protocol §5.5.3: at most MAX_PONGS_IN_FLIGHT pongs wait for the socket", () => {
  const p = managed("server");
  const pings = 3 * MAX_PONGS_IN_FLIGHT;
  const payload = (i: number) => utf8(String(i));
  const bytes = wire("server", ...Array.from({ length: pings }, (_, i) => Frame.ping(payload(i))));
  // The shell's loop: after each frame, take the pong owed. Nothing is written.
  const taken: Frame[] = [];
  p.decoder.push(bytes);
  for (let f = p.next(); f !== null; f = p.next()) {
    const answer = p.takePong();
    if (answer !== null) taken.push(answer);
  }
  assert.equal(taken.length, MAX_PONGS_IN_FLIGHT);
  assert.deepEqual(taken.map((f) => f.data), Array.from({ length: 64 }, (_, i) => payload(i)));
  assert.equal(p.takePong(), null, "nothing more while the bound is reached");
  assert.ok(p.pongBlocked, "a pong is owed that must wait: the shell stops decoding");
  // One pong written frees one slot: the latest ping gets its pong, the others none.
  p.pongWritten();
  assert.ok(!p.pongBlocked);
  assert.deepEqual(p.takePong()?.data, payload(pings - 1));
  assert.equal(p.takePong(), null);
  assert.ok(!p.pongBlocked, "the bound is reached, but no pong is owed");
  // The bound is reached again; one more ping waits for a slot.
  receive(p, wire("server", Frame.ping(utf8("next"))));
  assert.equal(p.takePong(), null);
  assert.ok(p.pongBlocked);
  p.pongWritten();
  assert.ok(!p.pongBlocked);
  p.pongWritten();
  assert.deepEqual(p.takePong()?.data, utf8("next"));
  receive(p, wire("server", Frame.ping(utf8("free"))));
  assert.deepEqual(p.takePong()?.data, utf8("free"), "a slot was left");
});

Deno.test("Protocol §5.5.3: pongs taken and written one by one are never held back", () => {
  const p = managed("client");
  for (let i = 0; i < 4 * MAX_PONGS_IN_FLIGHT; i++) {
    receive(p, hex("89 01 7a"));
    assert.ok(p.takePong() !== null, `pong ${i}`);
    p.pongWritten();
  }
  p.pongWritten(); // one more than taken: no slot is made up
  for (let i = 0; i < MAX_PONGS_IN_FLIGHT; i++) {
    receive(p, hex("89 00"));
    assert.ok(p.takePong() !== null);
  }
  receive(p, hex("89 00"));
  assert.equal(p.takePong(), null);
});

Deno.test("Protocol §5.5.1: no pong after our close frame", () => {
  const p = managed("client");
  receive(p, hex("89 01 61"));
  p.send(Frame.close(new CloseReason(1000)));
  assert.equal(p.takePong(), null, "the ping before our close goes unanswered");
  assert.deepEqual(receive(p, hex("89 01 62")).map(seen), [ping("b")]);
  assert.equal(p.takePong(), null, "and so does a ping after it");
});

Deno.test("Protocol §5.5.1: a ping just before the peer's close is still answered", () => {
  const p = managed("client");
  receive(p, hex("89 01 61 88 02 03 e8"));
  assert.equal(p.state, "closing");
  assert.deepEqual(p.takePong()?.data, utf8("a"));
  assert.ok(p.answerClose() !== null);
  assert.equal(p.takePong(), null);
});

// ---------------------------------------------------------------------------------------------
// The close handshake

for (const role of ROLES) {
  Deno.test(`Protocol §5.5.1 ${role}: the peer closes first, its close is echoed`, () => {
    const p = managed(role);
    const bytes = wire(role, Frame.close(new CloseReason(1001, "bye")));
    assert.deepEqual(bytes.subarray(0, 2), hex(role === "client" ? "88 05" : "88 85"));
    assert.deepEqual(receive(p, bytes).map((f) => f.type), ["close"]);
    assert.equal(p.state, "closing");
    assert.equal(p.closeReceived, true);
    assert.equal(p.closeSent, false);
    assert.equal(p.closeOwed, true);
    assert.equal(p.receivedReason?.code, 1001);
    assert.equal(p.closeReason, null, "not ended yet");
    const echo = p.answerClose();
    assert.deepEqual(encodeFrame(echo!), hex("88 05 03 e9 62 79 65"));
    assert.equal(p.state, "closed");
    assert.equal(p.ended, true);
    assert.equal(p.closeOwed, false);
    assert.deepEqual(reasonOf(p), [1001, "bye"]);
    assert.equal(p.error, null);
    assert.equal(p.answerClose(), null, "echoed once");
    assert.equal(p.closesTcp, role === "server");
  });

  Deno.test(`Protocol §5.5.1 ${role}: an empty close is echoed empty, the reason is 1005`, () => {
    const p = managed(role);
    receive(p, wire(role, Frame.close()));
    assert.equal(p.state, "closing");
    assert.equal(p.receivedReason, null);
    assert.deepEqual(encodeFrame(p.answerClose()!), hex("88 00"));
    assert.equal(p.state, "closed");
    assert.equal(p.closeReason?.code, 1005);
  });

  Deno.test(`Protocol §7.1.2 ${role}: we close first, the peer's answer ends it`, () => {
    const p = managed(role);
    p.send(Frame.close(new CloseReason(4000, "done")));
    assert.equal(p.state, "closing");
    assert.equal(p.closeSent, true);
    assert.equal(p.closeOwed, false);
    assert.equal(p.answerClose(), null);
    // The peer may still send data before its close; it is still decoded.
    const frames = receive(p, wire(role, Frame.text("late"), Frame.close(new CloseReason(1000))));
    assert.deepEqual(frames.map((f) => f.type), ["text", "close"]);
    assert.equal(p.state, "closed");
    assert.deepEqual(reasonOf(p), [4000, "done"]);
    assert.equal(p.receivedReason?.code, 1000);
    assert.equal(p.error, null);
    assert.equal(p.answerClose(), null, "nothing is owed");
  });
}

Deno.test("Protocol §7.1.2: our empty close ends with 1005 when answered", () => {
  const p = managed("client");
  p.send(Frame.close());
  receive(p, hex("88 02 03 e8"));
  assert.equal(p.state, "closed");
  assert.equal(p.closeReason?.code, 1005);
});

Deno.test("Protocol §5.5.1: no data frame may be sent after our close frame", () => {
  const p = managed("client");
  p.send(Frame.text("before"));
  p.send(Frame.ping());
  p.send(Frame.close(new CloseReason(1000)));
  for (const frame of [Frame.text("x"), Frame.binary(hex("00")), Frame.ping(), Frame.close()]) {
    assert.throws(() => p.send(frame), (err) => {
      assertClosedError(err, "SESSION_CLOSED");
      return true;
    });
  }
  // Once the handshake completed the error carries the close reason.
  receive(p, hex("88 02 03 e8"));
  assert.throws(() => p.send(Frame.text("x")), (err) => {
    assertClosedError(err, "SESSION_CLOSED");
    assert.equal(err.closeReason?.code, 1000);
    return true;
  });
});

Deno.test("Protocol §5.5.1: after the peer's close, data may still be sent until ours", () => {
  const p = managed("server");
  receive(p, wire("server", Frame.close(new CloseReason(1000))));
  p.send(Frame.text("last words"));
  p.send(Frame.pong());
  // The application answers the close itself: the handshake is complete, with the peer's reason.
  p.send(Frame.close(new CloseReason(1001)));
  assert.equal(p.state, "closed");
  assert.equal(p.closeOwed, false);
  assert.equal(p.closeReason?.code, 1000);
  assert.equal(p.answerClose(), null);
});

Deno.test("Protocol §5.5.1: nothing is decoded after the peer's close", () => {
  for (const assemble of [false, true]) {
    const p = new Protocol({ role: "client", assemble });
    // close 1000, then a text frame and a ping in the same chunk.
    const frames = receive(p, hex("88 02 03 e8 81 01 61 89 00"));
    assert.deepEqual(frames.map((f) => f.type), ["close"]);
    assert.deepEqual(receive(p, hex("81 01 62")), []);
    assert.equal(p.next(), null);
    // Even bytes that break the protocol are not looked at.
    assert.deepEqual(receive(p, hex("ff ff ff")), []);
    assert.equal(p.takePong(), null);
  }
});

Deno.test("Protocol §5.5.1: the peer's close ends a half-received message", () => {
  const p = managed("client");
  receive(p, hex("01 03 48 65 6c"));
  assert.equal(p.inMessage, true);
  receive(p, hex("88 00"));
  assert.equal(p.inMessage, false);
});

Deno.test("Protocol §7.4: a close frame with a reserved code fails with 1002", () => {
  const p = managed("client");
  // 1005 may not be sent on the wire.
  const { error } = receiveError(p, hex("88 02 03 ed"));
  assert.equal(error.closeCode, 1002);
  assert.equal(p.closeReceived, false);
  const utf8Error = receiveError(managed("client"), hex("88 03 03 e8 ff"));
  assert.equal(utf8Error.error.closeCode, 1007);
});

// ---------------------------------------------------------------------------------------------
// Failing the connection

Deno.test("Protocol §7.1.7: fail() answers a protocol error with its close code", () => {
  const p = managed("client");
  // Opcode 3 is reserved; the text frame before it is returned first.
  const { frames, error } = receiveError(p, hex("81 01 61 83 00"));
  assert.deepEqual(frames.map(seen), [text("a")]);
  assert.equal(error.closeCode, 1002);
  const frame = p.fail(error);
  assert.equal(frame?.type, "close");
  assert.deepEqual(frame!.data.subarray(0, 2), hex("03 ea"));
  assert.equal(new TextDecoder().decode(frame!.data.subarray(2)), error.message);
  assert.equal(p.state, "closed");
  assert.equal(p.closeSent, true);
  assert.equal(p.error, error);
  assert.equal(p.closeReason?.code, 1002);
  assert.equal(p.fail(error), null, "one close frame only");
  assert.equal(p.fail(new Error("again")), null);
  assert.equal(p.error, error, "the first failure stays");
  assert.equal(p.next(), null);
});

Deno.test("Protocol §5.5.1: fail() cuts a long message to 123 bytes, whole characters", () => {
  const ascii = new ProtocolError("PROTOCOL_ERROR", 1002, "a".repeat(200));
  const frame = managed("client").fail(ascii)!;
  assert.equal(frame.data.length, 125);
  // "é" is 2 bytes: 61 of them fit in 123 bytes, the 62nd would be cut.
  const wide = new ProtocolError("INVALID_UTF8", 1007, "é".repeat(100));
  const p = managed("server");
  const cut = p.fail(wide)!;
  assert.equal(cut.data.length, 2 + 122);
  assert.deepEqual(cut.data.subarray(0, 2), hex("03 ef"));
  assert.equal(p.closeReason?.message, "é".repeat(61));
});

Deno.test("Protocol §7.1.7: fail() with an explicit close reason, or 1011", () => {
  const p = managed("server");
  const err = new Error("not allowed");
  assert.deepEqual(
    encodeFrame(p.fail(err, new CloseReason(1008, "policy"))!),
    hex("88 08 03 f0 70 6f 6c 69 63 79"),
  );
  assert.equal(p.error, err);
  assert.equal(p.closeReason?.code, 1008);
  // Another failure than a protocol error, with no reason: 1011 and no message.
  const q = managed("client");
  assert.deepEqual(encodeFrame(q.fail(new Error("oops"))!), hex("88 02 03 f3"));
  assert.equal(q.closeReason?.code, 1011);
});

Deno.test("Protocol §7.1.7: fail() after our close frame sends nothing", () => {
  const p = managed("client");
  p.send(Frame.close(new CloseReason(1000, "bye")));
  const err = new ProtocolError("PROTOCOL_ERROR", 1002, "bad");
  assert.equal(p.fail(err), null);
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [1000, "bye"]);
  assert.equal(p.error, err);
});

Deno.test("Protocol §7.1.7: fail() while the peer's close is unanswered sends the failure's", () => {
  const p = managed("client");
  receive(p, hex("88 02 03 e8"));
  const frame = p.fail(new ProtocolError("PROTOCOL_ERROR", 1002, ""));
  assert.deepEqual(encodeFrame(frame!), hex("88 02 03 ea"));
  assert.equal(p.closeOwed, false);
  assert.equal(p.answerClose(), null);
});

// ---------------------------------------------------------------------------------------------
// End of stream, abort, close timeout

Deno.test("Protocol §7.1.5: end of stream without a close frame is 1006", () => {
  for (const role of ROLES) {
    const p = managed(role);
    receive(p, wire(role, Frame.text("a", { fin: false })));
    const err = p.receiveEof();
    assertClosedError(err, "CLOSED_ABNORMALLY");
    assert.equal(err.closeReason?.code, 1006);
    assert.equal(p.state, "closed");
    assert.equal(p.error, err);
    assert.equal(p.closeReason?.code, 1006);
    assert.equal(p.receiveEof(), err, "the same error again");
    assert.equal(p.next(), null);
    // Sending now throws that very failure.
    assert.throws(() => p.send(Frame.text("x")), (thrown) => thrown === err);
  }
});

Deno.test("Protocol §7.1.5: end of stream after our close ends with our reason", () => {
  const p = managed("client");
  p.send(Frame.close(new CloseReason(1001, "away")));
  assert.equal(p.receiveEof(), null);
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [1001, "away"]);
  assert.equal(p.error, null);
});

Deno.test("Protocol §7.1.5: end of stream after the peer's close ends with its reason", () => {
  const p = managed("server");
  receive(p, wire("server", Frame.close(new CloseReason(3000, "app"))));
  assert.equal(p.receiveEof(), null);
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [3000, "app"]);
  assert.equal(p.error, null);
  // The echo is not owed any more: the peer is gone.
  assert.equal(p.answerClose(), null);
});

Deno.test("Protocol §7.1.5: end of stream after an echoed close keeps the peer's reason", () => {
  const p = managed("client");
  receive(p, hex("88 02 0f a0"));
  p.answerClose();
  assert.equal(p.receiveEof(), null);
  assert.equal(p.closeReason?.code, 4000);
});

Deno.test("Protocol §7.1.5: end of stream after both closes, ours first, keeps ours", () => {
  const p = managed("client");
  p.send(Frame.close(new CloseReason(1000)));
  receive(p, hex("88 02 03 e9"));
  assert.equal(p.receiveEof(), null);
  assert.equal(p.closeReason?.code, 1000);
});

Deno.test("Protocol §7.1.7: abort() ends the session with 1006 and the error", () => {
  const p = managed("client");
  const err = new Error("reset");
  p.abort(err);
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [1006, ""]);
  assert.equal(p.error, err);
  assert.throws(() => p.send(Frame.text("x")), (thrown) => thrown === err);
  p.abort(new Error("later"), new CloseReason(1006, "later"));
  assert.equal(p.error, err, "a second abort changes nothing");
  assert.equal(p.fail(new Error("later")), null);

  const q = managed("server");
  q.abort(err, new CloseReason(1006, "broken pipe"));
  assert.deepEqual(reasonOf(q), [1006, "broken pipe"]);
});

Deno.test("Protocol §7.1.7: abort() after our close frame ends cleanly with our reason", () => {
  const p = managed("client");
  p.send(Frame.close(new CloseReason(1000, "ok")));
  p.abort(new Error("reset"));
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [1000, "ok"]);
  assert.equal(p.error, null);
});

Deno.test("Protocol §7.1.1: closeTimedOut() ends the session with our reason", () => {
  const p = managed("client");
  p.send(Frame.close(new CloseReason(1000, "bye")));
  p.closeTimedOut();
  assert.equal(p.state, "closed");
  assert.deepEqual(reasonOf(p), [1000, "bye"]);
  assert.equal(p.error, null);
  // The answer coming late is not decoded.
  assert.deepEqual(receive(p, hex("88 02 03 e8")), []);
  p.closeTimedOut();
  assert.equal(p.closeReason?.code, 1000);
  // An empty close of ours times out as 1005.
  const q = managed("server");
  q.send(Frame.close());
  q.closeTimedOut();
  assert.equal(q.closeReason?.code, 1005);
});

// ---------------------------------------------------------------------------------------------
// Masking (RFC 6455 §5.1, §5.3): the decoder's rules, checked once through the protocol

Deno.test("Protocol §5.1 server: an unmasked client frame fails with 1002", () => {
  const { error } = receiveError(managed("server"), hex("81 05 48 65 6c 6c 6f"));
  assert.equal(error.closeCode, 1002);
  assert.match(error.message, /must be masked/);
});

Deno.test("Protocol §5.1 client: a masked server frame fails with 1002", () => {
  const { error } = receiveError(managed("client"), hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
  assert.equal(error.closeCode, 1002);
  assert.match(error.message, /must not be masked/);
});

// ---------------------------------------------------------------------------------------------
// Extensions (RFC 6455 §9)

function fakeExtension(
  processIncoming: (frame: Frame) => Frame | Promise<Frame>,
  name = "x-fake",
  rsv = 0x40,
): WebSocketExtension {
  return {
    name,
    rsv,
    params: { name, params: new Map() },
    processOutgoing: (frame) => frame,
    processIncoming,
    dispose: () => {},
  };
}

/** Flips the case of ASCII letters and clears RSV1, as a decompressor would. */
function flipCase(frame: Frame): Frame {
  const data = frame.data.map((b) =>
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? b ^ 0x20 : b
  );
  return new Frame(frame.type, data, { fin: frame.fin });
}

const withExtensions = (...extensions: WebSocketExtension[]) =>
  managed("client", { allowedRsv: 0x40, compressedRsv: 0x40, extensions });

Deno.test("Protocol §9: a synchronous extension transforms each fragment of a message", () => {
  const log: string[] = [];
  const p = withExtensions(fakeExtension((f) => {
    log.push(`${f.fin ? "fin" : "more"} rsv=${f.rsvBits.toString(16)}`);
    return flipCase(f);
  }));
  // "hEL" with RSV1, ping, "Lo": the extension sees both fragments, never the ping.
  const frames = receive(p, hex("41 03 68 45 4c 89 00 80 02 4c 6f"));
  assert.deepEqual(frames.map(seen), [ping(""), text("HellO")]);
  assert.deepEqual(log, ["more rsv=40", "fin rsv=0"]);
  // A single-frame message goes through it too.
  assert.deepEqual(receive(p, hex("c2 02 61 42")).map(seen), [binary("Ab")]);
});

Deno.test("Protocol §9.1: incoming frames go through the extensions in reverse order", () => {
  const log: string[] = [];
  const step = (name: string) =>
    fakeExtension((f) => {
      log.push(name);
      return new Frame(f.type, concat([f.data, utf8(name)]), { fin: f.fin });
    }, name);
  const p = withExtensions(step("a"), step("b"));
  assert.deepEqual(receive(p, hex("c1 01 3e")).map(seen), [text(">ba")]);
  assert.deepEqual(log, ["b", "a"]);
});

Deno.test("Protocol §8.1: a text message is checked as UTF-8 after the extensions (1007)", () => {
  // The decoder skips the check of an RSV1 message; the extension's output is checked.
  const p = withExtensions(fakeExtension((f) => new Frame(f.type, hex("ff"), { fin: f.fin })));
  const { error } = receiveError(p, hex("c1 01 61"));
  assert.equal(error.code, "INVALID_UTF8");
  assert.equal(error.closeCode, 1007);
  // A code point split across two transformed fragments is fine.
  const split = [hex("e2 82"), hex("ac")];
  const q = withExtensions(fakeExtension((f) => new Frame(f.type, split.shift()!, { fin: f.fin })));
  const [message] = receive(q, hex("41 01 00 80 01 00"));
  assert.equal(new TextDecoder().decode(message!.data), "€");
});

Deno.test("Protocol §10.4: an extension's output is held to maxMessageSize (1009)", () => {
  const grow = fakeExtension((f) => new Frame(f.type, new Uint8Array(8), { fin: f.fin }));
  const p = managed("client", {
    allowedRsv: 0x40,
    compressedRsv: 0x40,
    maxMessageSize: 12,
    extensions: [grow],
  });
  // One fragment grows to 8 bytes: fine; the second makes 16.
  const { error } = receiveError(p, hex("42 01 00 80 01 00"));
  assert.equal(error.code, "MESSAGE_TOO_BIG");
  assert.equal(error.closeCode, 1009);
});

Deno.test("Protocol §9: an asynchronous extension holds next() until its promise settles", async () => {
  const p = withExtensions(fakeExtension((f) => Promise.resolve(flipCase(f))));
  p.decoder.push(hex("c1 02 68 69 89 01 70"));
  assert.equal(p.next(), null);
  const pending = p.pending;
  assert.ok(pending instanceof Promise);
  assert.equal(p.next(), null, "still waiting");
  assert.equal(p.takePong(), null, "the ping after the message is not decoded yet");
  await pending;
  assert.equal(p.pending, null);
  assert.deepEqual(seen(p.next()!), text("HI"));
  assert.deepEqual(seen(p.next()!), ping("p"));
  assert.equal(p.next(), null);
  assert.equal(p.pending, null);
});

Deno.test("Protocol §9: an asynchronous extension on fragments reassembles in order", async () => {
  const p = withExtensions(fakeExtension((f) => Promise.resolve(flipCase(f))));
  p.decoder.push(hex("41 02 61 62 80 02 63 64"));
  const frames: Frame[] = [];
  for (;;) {
    const f = p.next();
    if (f !== null) frames.push(f);
    else if (p.pending !== null) await p.pending;
    else break;
  }
  assert.deepEqual(frames.map(seen), [text("ABCD")]);
});

Deno.test("Protocol §9: an extension that throws fails with EXTENSION_ERROR 1011", async () => {
  const boom = new Error("boom");
  const p = withExtensions(fakeExtension(() => {
    throw boom;
  }));
  const { error } = receiveError(p, hex("c1 01 61"));
  assert.equal(error.code, "EXTENSION_ERROR");
  assert.equal(error.closeCode, 1011);
  assert.equal(error.cause, boom);
  assert.deepEqual(p.fail(error)!.data.subarray(0, 2), hex("03 f3"));

  // A ProtocolError of the extension's own is kept as it is.
  const own = new ProtocolError("PROTOCOL_ERROR", 1002, "bad deflate block");
  const q = withExtensions(fakeExtension(() => {
    throw own;
  }));
  assert.equal(receiveError(q, hex("c1 01 61")).error, own);

  // A promise that rejects: the pending promise rejects with the same error.
  const r = withExtensions(fakeExtension(() => Promise.reject(boom)));
  r.decoder.push(hex("c1 01 61"));
  assert.equal(r.next(), null);
  await assert.rejects(r.pending!, (err) => {
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, "EXTENSION_ERROR");
    assert.equal(err.closeCode, 1011);
    return true;
  });
  assert.equal(r.pending, null);
});

// ---------------------------------------------------------------------------------------------
// Properties: the chunking of the byte stream changes nothing

/** A peer's frame sequence: data messages in fragments, control frames between fragments. */
const streamArb = fc.array(
  fc.record({
    binary: fc.boolean(),
    text: fc.string({ unit: "binary", maxLength: 60 }),
    // Short payloads, and payloads with a 16-bit length (126 and more).
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 20 }),
      fc.uint8Array({ minLength: 120, maxLength: 300 }),
    ),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    controls: fc.array(
      fc.record({
        at: fc.nat(),
        ping: fc.boolean(),
        data: fc.uint8Array({ maxLength: 125 }),
      }),
      { maxLength: 3 },
    ),
  }),
  { maxLength: 8 },
).map((messages) => {
  const frames: Frame[] = [];
  const expected: Frame[] = [];
  for (const m of messages) {
    const data = m.binary ? m.bytes : utf8(m.text);
    const type = m.binary ? "binary" : "text";
    // Fragment boundaries anywhere, inside a code point included.
    const bounds = [...new Set([0, ...m.cuts.map((c) => c % (data.length + 1)), data.length])]
      .sort((a, b) => a - b);
    if (bounds.length === 1) bounds.push(data.length); // an empty message: one empty frame
    const fragments: Frame[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const fin = i + 2 === bounds.length;
      fragments.push(new Frame(type, data.slice(bounds[i], bounds[i + 1]), { fin }));
    }
    const before = new Map<number, Frame[]>();
    for (const c of m.controls) {
      const at = c.at % fragments.length; // before a fragment other than the first
      const control = c.ping ? Frame.ping(c.data) : Frame.pong(c.data);
      if (at === 0) {
        frames.push(control);
        expected.push(control);
      } else {
        before.set(at, [...before.get(at) ?? [], control]);
      }
    }
    fragments.forEach((fragment, i) => {
      for (const control of before.get(i) ?? []) {
        frames.push(control);
        expected.push(control);
      }
      frames.push(fragment);
    });
    expected.push(new Frame(type, data));
  }
  return { frames, expected };
});

/** A split of `length` bytes into chunks: sorted cut points, or one byte at a time. */
const splitArb = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  fc.constant("bytes" as const),
);

function split(bytes: Uint8Array, how: number[] | "bytes"): Uint8Array[] {
  const cuts = how === "bytes"
    ? Array.from({ length: bytes.length }, (_, i) => i)
    : how.map((x) => Math.floor(x * bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(from, cut));
    from = Math.max(from, cut);
  }
  return chunks;
}

const roleArb = fc.constantFrom<Role>("client", "server");

Deno.test("Protocol property §5.4: any split of the bytes gives the same frames (raw)", () => {
  fc.assert(
    fc.property(roleArb, streamArb, splitArb, (role, { frames }, how) => {
      const bytes = wire(role, ...frames);
      const p = raw(role);
      const got = receive(p, ...split(bytes, how));
      assert.deepEqual(got.map(seen), frames.map(seen));
      assert.equal(p.decoder.buffered, 0);
    }),
    { numRuns: 300 },
  );
});

Deno.test("Protocol property §5.4: any split of the bytes gives the same messages and pongs", () => {
  fc.assert(
    fc.property(roleArb, streamArb, splitArb, fc.boolean(), (role, stream, how, closeAtEnd) => {
      const close = Frame.close(new CloseReason(1000, "end"));
      const frames = closeAtEnd ? [...stream.frames, close, Frame.text("never")] : stream.frames;
      const p = managed(role);
      const got: Frame[] = [];
      const pongs: Frame[] = [];
      for (const chunk of split(wire(role, ...frames), how)) {
        p.decoder.push(chunk);
        for (let f = p.next(); f !== null; f = p.next()) {
          got.push(f);
          const answer = p.takePong();
          if (answer !== null) {
            pongs.push(answer);
            p.pongWritten();
          }
        }
      }
      const expected = closeAtEnd ? [...stream.expected, close] : stream.expected;
      assert.deepEqual(got.map(seen), expected.map(seen));
      const pings = expected.filter((f) => f.type === "ping");
      assert.deepEqual(pongs.map((f) => f.data), pings.map((f) => f.data));
      assert.equal(p.state, closeAtEnd ? "closing" : "open");
      assert.equal(p.inMessage, false);
    }),
    { numRuns: 300 },
  );
});

Deno.test("Protocol property §5.5.3: pongs in flight stay bounded, a pong answers the latest ping", () => {
  let boundReached = 0;
  // Fewer writes than takes, so that the bound is reached in most runs.
  const op = fc.oneof(
    { arbitrary: fc.record({ ping: fc.uint8Array({ maxLength: 4 }) }), weight: 4 },
    { arbitrary: fc.constant("take" as const), weight: 4 },
    { arbitrary: fc.constant("written" as const), weight: 1 },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 600, size: "max" }), (ops) => {
      const p = managed("client");
      let latest: Uint8Array | null = null; // the latest ping not answered by a pong taken
      let inFlight = 0; // pongs taken, not written
      for (const o of ops) {
        if (o === "written") {
          p.pongWritten();
          inFlight = Math.max(0, inFlight - 1);
        } else if (o === "take") {
          const answer = p.takePong();
          if (latest !== null && inFlight < MAX_PONGS_IN_FLIGHT) {
            assert.deepEqual(answer?.data, latest);
            latest = null;
            inFlight++;
          } else {
            assert.equal(answer, null);
          }
        } else {
          assert.equal(receive(p, wire("client", Frame.ping(o.ping))).length, 1);
          latest = o.ping;
        }
        assert.ok(inFlight <= MAX_PONGS_IN_FLIGHT);
      }
      if (inFlight === MAX_PONGS_IN_FLIGHT) boundReached++;
    }),
    { numRuns: 200 },
  );
  assert.ok(boundReached > 0, "some runs reach the bound");
});

Deno.test("Protocol §7.4.1: an extension error with a code that must not be sent goes out as 1011", () => {
  const p = withExtensions(fakeExtension(() => {
    throw new ProtocolError("PROTOCOL_ERROR", 1006, "inflate stream ended");
  }));
  const { error } = receiveError(p, hex("c1 01 61"));
  assert.equal(error.closeCode, 1006);
  const frame = p.fail(error);
  assert.ok(frame !== null);
  assert.deepEqual([...encodeFrame(frame)].slice(0, 4), [0x88, 22, 0x03, 0xf3]);
  assert.deepEqual(reasonOf(p), [1011, "inflate stream ended"]);
  assert.equal(p.state, "closed");
  assert.equal(p.closeOwed, false);
});
