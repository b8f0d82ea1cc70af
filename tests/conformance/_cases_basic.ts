/**
 * Autobahn|Testsuite categories 1 (framing), 2 (ping/pong), 3 (reserved bits), 4 (opcodes),
 * 5 (fragmentation), 7 (close handling) and 10 (auto-fragmentation), written from the published
 * case descriptions.
 *
 * @module
 */

import {
  CLEAN_CLOSE,
  type CloseExpectation,
  type ConformanceCase,
  echo,
  type Expected,
  failWith,
  pong,
  repeated,
  type Step,
} from "./_dsl.ts";
import { concat, type FrameSpec, Op, toBytes } from "./_wire.ts";

type Spec = Omit<FrameSpec, "opcode">;
const text = (payload: string | Uint8Array = "", o: Spec = {}): FrameSpec => ({
  opcode: Op.TEXT,
  payload,
  ...o,
});
const binary = (payload: Uint8Array, o: Spec = {}): FrameSpec => ({
  opcode: Op.BINARY,
  payload,
  ...o,
});
const cont = (payload: string | Uint8Array = "", o: Spec = {}): FrameSpec => ({
  opcode: Op.CONTINUATION,
  payload,
  ...o,
});
const ping = (payload: string | Uint8Array = "", o: Spec = {}): FrameSpec => ({
  opcode: Op.PING,
  payload,
  ...o,
});
const pongFrame = (payload: string | Uint8Array = "", o: Spec = {}): FrameSpec => ({
  opcode: Op.PONG,
  payload,
  ...o,
});

/** How the frames of a script go out: all in one write, one write per frame, or octet by octet. */
type Chopping = "whole" | "frames" | "octets";
function send(frames: FrameSpec[], how: Chopping = "whole"): Step {
  return { send: frames, sync: how === "frames", chop: how === "octets" ? 1 : undefined };
}

function make(
  id: string,
  description: string,
  steps: Step[] | (() => Iterable<Step>),
  ok: Expected[],
  close: CloseExpectation,
  extra: Partial<ConformanceCase> = {},
): ConformanceCase {
  return {
    id,
    category: id.split(".")[0]!,
    description,
    steps: typeof steps === "function" ? steps : () => steps,
    ok,
    close,
    ...extra,
  };
}

const PROTOCOL_ERROR = failWith(1002);
const HELLO = "Hello, world!";

function category1(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  for (const [k, isBinary] of [[1, false], [2, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    sizes.forEach((n, i) => {
      const payload = isBinary ? repeated(0xfe, n) : repeated("*", n);
      out.push(make(
        `1.${k}.${i + 1}`,
        `Send a ${kind} message with a payload of ${n} octets.`,
        [send([isBinary ? binary(payload) : text(payload)])],
        [echo(payload, isBinary)],
        CLEAN_CLOSE,
      ));
    });
    const payload = isBinary ? repeated(0xfe, 65536) : repeated("*", 65536);
    out.push(make(
      `1.${k}.8`,
      `Send a ${kind} message with a payload of 65536 octets, written in chops of 997 octets.`,
      [{ send: isBinary ? binary(payload) : text(payload), chop: 997 }],
      [echo(payload, isBinary)],
      CLEAN_CLOSE,
    ));
  }
  return out;
}

function category2(): ConformanceCase[] {
  const bin = new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
  const tenPings = (how: Chopping): Step[] =>
    Array.from({ length: 10 }, (_, i) => send([ping(`payload-${i}`)], how));
  const tenPongs = Array.from({ length: 10 }, (_, i) => pong(`payload-${i}`));
  return [
    make("2.1", "Send a ping without payload.", [send([ping()])], [pong()], CLEAN_CLOSE),
    make(
      "2.2",
      "Send a ping with a small text payload.",
      [send([ping(HELLO)])],
      [pong(HELLO)],
      CLEAN_CLOSE,
    ),
    make("2.3", "Send a ping with a small binary (non UTF-8) payload.", [send([ping(bin)])], [
      pong(bin),
    ], CLEAN_CLOSE),
    make(
      "2.4",
      "Send a ping with a binary payload of 125 octets.",
      [send([ping(repeated(0xfe, 125))])],
      [pong(repeated(0xfe, 125))],
      CLEAN_CLOSE,
    ),
    make(
      "2.5",
      "Send a ping with a binary payload of 126 octets: the connection is failed, no pong.",
      [send([ping(repeated(0xfe, 126))])],
      [],
      PROTOCOL_ERROR,
    ),
    make(
      "2.6",
      "Send a ping with a payload of 125 octets, octet by octet.",
      [send([ping(repeated(0xfe, 125))], "octets")],
      [pong(repeated(0xfe, 125))],
      CLEAN_CLOSE,
    ),
    make(
      "2.7",
      "Send an unsolicited pong without payload: nothing comes back.",
      [send([pongFrame()])],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "2.8",
      "Send an unsolicited pong with a payload: nothing comes back.",
      [send([pongFrame("unsolicited pong payload")])],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "2.9",
      "Send an unsolicited pong with a payload, then a ping: only the pong of the ping comes back.",
      [send([pongFrame("unsolicited pong payload"), ping("ping payload")])],
      [pong("ping payload")],
      CLEAN_CLOSE,
    ),
    make(
      "2.10",
      "Send 10 pings with payloads: 10 pongs in order.",
      tenPings("whole"),
      tenPongs,
      CLEAN_CLOSE,
    ),
    make(
      "2.11",
      "Send 10 pings with payloads, octet by octet: 10 pongs in order.",
      tenPings("octets"),
      tenPongs,
      CLEAN_CLOSE,
    ),
  ];
}

function category3(): ConformanceCase[] {
  const bin = new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
  const thenBad = (rsv: number, how: Chopping): Step[] => [
    send([text(HELLO)], how),
    send([text(HELLO, { rsv })], how),
    send([ping()], how),
  ];
  const echoFirst = { nonStrict: [] };
  return [
    make(
      "3.1",
      "Send a small text message with RSV = 1.",
      [send([text(HELLO, { rsv: 1 })])],
      [],
      PROTOCOL_ERROR,
    ),
    make(
      "3.2",
      "Send a small text message, then again with RSV = 2, then a ping.",
      thenBad(2, "whole"),
      [echo(HELLO)],
      PROTOCOL_ERROR,
      echoFirst,
    ),
    make(
      "3.3",
      "Send a small text message, then again with RSV = 3, then a ping, frame by frame.",
      thenBad(3, "frames"),
      [echo(HELLO)],
      PROTOCOL_ERROR,
      echoFirst,
    ),
    make(
      "3.4",
      "Send a small text message, then again with RSV = 4, then a ping, octet by octet.",
      thenBad(4, "octets"),
      [echo(HELLO)],
      PROTOCOL_ERROR,
      echoFirst,
    ),
    make(
      "3.5",
      "Send a small binary message with RSV = 5.",
      [send([binary(bin, { rsv: 5 })])],
      [],
      PROTOCOL_ERROR,
    ),
    make("3.6", "Send a ping with RSV = 6.", [send([ping(HELLO, { rsv: 6 })])], [], PROTOCOL_ERROR),
    make(
      "3.7",
      "Send a close frame with RSV = 7.",
      [send([{ opcode: Op.CLOSE, rsv: 7, payload: new Uint8Array([0x03, 0xe8]) }])],
      [],
      PROTOCOL_ERROR,
    ),
  ];
}

function category4(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const [group, first, kind] of [[1, 3, "non-control"], [2, 11, "control"]] as const) {
    for (let i = 0; i < 5; i++) {
      const opcode = first + i;
      const payload = i === 0 || i === 2 ? "" : "reserved opcode payload";
      const frame: FrameSpec = { opcode, payload };
      const id = `4.${group}.${i + 1}`;
      if (i < 2) {
        out.push(make(
          id,
          `Send a frame with the reserved ${kind} opcode ${opcode}${
            payload ? " and a payload" : ""
          }.`,
          [send([frame])],
          [],
          PROTOCOL_ERROR,
        ));
      } else {
        out.push(make(
          id,
          `Send a small text message, then a frame with the reserved ${kind} opcode ${opcode}, then a ping.`,
          [send([text(HELLO), frame, ping()])],
          [echo(HELLO)],
          PROTOCOL_ERROR,
          { nonStrict: [] },
        ));
      }
    }
  }
  return out;
}

function category5(): ConformanceCase[] {
  const two = [text("fragment1", { fin: false }), cont("fragment2")];
  const withPing = [text("fragment1", { fin: false }), ping("ping payload"), cont("fragment2")];
  const orphan = (fin: boolean) => [cont("non-continuation payload", { fin }), text(HELLO)];
  const out: ConformanceCase[] = [
    make(
      "5.1",
      "Send a ping in 2 fragments.",
      [send([ping("fragment1", { fin: false }), cont("fragment2")])],
      [],
      PROTOCOL_ERROR,
    ),
    make(
      "5.2",
      "Send a pong in 2 fragments.",
      [send([pongFrame("fragment1", { fin: false }), cont("fragment2")])],
      [],
      PROTOCOL_ERROR,
    ),
  ];
  const ways: [Chopping, string][] = [
    ["whole", ""],
    ["frames", ", one fragment at a time"],
    ["octets", ", octet by octet"],
  ];
  ways.forEach(([how, note], i) => {
    out.push(make(
      `5.${3 + i}`,
      `Send a text message in 2 fragments${note}.`,
      [send(two, how)],
      [echo("fragment1fragment2")],
      CLEAN_CLOSE,
    ));
  });
  ways.forEach(([how, note], i) => {
    out.push(make(
      `5.${6 + i}`,
      `Send a text message in 2 fragments with a ping in between${note}.`,
      [send(withPing, how)],
      [pong("ping payload"), echo("fragment1fragment2")],
      CLEAN_CLOSE,
    ));
  });
  ways.forEach(([how, note], i) => {
    out.push(make(
      `5.${9 + i}`,
      `Send a continuation frame with FIN = true where nothing is to be continued, then a text message${note}.`,
      [send(orphan(true), how)],
      [],
      PROTOCOL_ERROR,
    ));
  });
  ways.forEach(([how, note], i) => {
    out.push(make(
      `5.${12 + i}`,
      `Send a continuation frame with FIN = false where nothing is to be continued, then a text message${note}.`,
      [send(orphan(false), how)],
      [],
      PROTOCOL_ERROR,
    ));
  });
  out.push(
    make(
      "5.15",
      "Send a text message in 2 fragments, then a continuation frame with FIN = false where nothing is to be continued, then a text message.",
      [send([
        text("fragment1", { fin: false }),
        cont("fragment2"),
        cont("fragment3", { fin: false }),
        text("fragment4"),
      ])],
      [echo("fragment1fragment2")],
      PROTOCOL_ERROR,
      { nonStrict: [] },
    ),
    make(
      "5.16",
      "Twice: a continuation frame with FIN = false where nothing is to be continued, then a text message in 2 fragments.",
      [send([1, 2].flatMap(() => [
        cont("fragment1", { fin: false }),
        text("fragment2", { fin: false }),
        cont("fragment3"),
      ]))],
      [],
      PROTOCOL_ERROR,
    ),
    make(
      "5.17",
      "Twice: a continuation frame with FIN = true where nothing is to be continued, then a text message in 2 fragments.",
      [send([1, 2].flatMap(() => [
        cont("fragment1"),
        text("fragment2", { fin: false }),
        cont("fragment3"),
      ]))],
      [],
      PROTOCOL_ERROR,
    ),
    make(
      "5.18",
      "Send a text message in 2 fragments, both with the text opcode.",
      [send([text("fragment1", { fin: false }), text("fragment2")])],
      [],
      PROTOCOL_ERROR,
    ),
  );
  const frags = ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"];
  const interleaved = (how: Chopping): Step[] => [
    send([text(frags[0], { fin: false }), cont(frags[1], { fin: false }), ping("pongme 1!")], how),
    { pause: 300 },
    send([
      cont(frags[2], { fin: false }),
      cont(frags[3], { fin: false }),
      ping("pongme 2!"),
      cont(frags[4]),
    ], how),
  ];
  const expected = [pong("pongme 1!"), pong("pongme 2!"), echo(frags.join(""))];
  out.push(
    make(
      "5.19",
      "A text message in 5 fragments; after the first 2, a ping; a wait; 2 more fragments, a ping, the last fragment.",
      interleaved("frames"),
      expected,
      CLEAN_CLOSE,
    ),
    make("5.20", "As 5.19, octet by octet.", interleaved("octets"), expected, CLEAN_CLOSE),
  );
  return out;
}

/** κόσμε, the UTF-8 sample of Markus Kuhn's stress test. */
export const KOSME = new Uint8Array([
  0xce,
  0xba,
  0xe1,
  0xbd,
  0xb9,
  0xcf,
  0x83,
  0xce,
  0xbc,
  0xce,
  0xb5,
]);

function category7(): ConformanceCase[] {
  const closeStep = (code?: number, reason?: string | Uint8Array): Step => ({
    close: { code, reason },
  });
  const hello = "Hello World!";
  const closeThen = (then: FrameSpec[]): Step[] => [closeStep(1000), send(then)];
  const out: ConformanceCase[] = [
    make(
      "7.1.1",
      "Send a message followed by a close frame.",
      [send([text(hello)]), closeStep(1000)],
      [echo(hello)],
      CLEAN_CLOSE,
    ),
    make("7.1.2", "Send two close frames.", [closeStep(1000), closeStep(1000)], [], CLEAN_CLOSE),
    make("7.1.3", "Send a ping after the close frame.", closeThen([ping(hello)]), [], CLEAN_CLOSE),
    make(
      "7.1.4",
      "Send a text message after the close frame.",
      closeThen([text(hello)]),
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.1.5",
      "Send a message fragment, a close frame, then the last fragment.",
      [send([text("fragment1", { fin: false })]), closeStep(1000), send([cont("fragment2")])],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.1.6",
      "Send a 256 KiB message, a small message, a close frame and a ping, back to back.",
      [
        send([text(repeated("BAsd7&jh23", 256 * 1024)), text(hello)]),
        closeStep(1000),
        send([ping()]),
      ],
      [echo(repeated("BAsd7&jh23", 256 * 1024)), echo(hello)],
      CLEAN_CLOSE,
      { informational: true, nonStrict: [] },
    ),
    make(
      "7.3.1",
      "Send a close frame with an empty payload.",
      [{ close: { payload: new Uint8Array(0) } }],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.3.2",
      "Send a close frame with a payload of 1 octet.",
      [{ close: { payload: new Uint8Array([0x2a]) } }],
      [],
      { closedByMe: true, codes: [1002], requireClean: false },
    ),
    make(
      "7.3.3",
      "Send a close frame with a code and no reason.",
      [closeStep(1000)],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.3.4",
      "Send a close frame with a code and a reason.",
      [closeStep(1000, hello)],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.3.5",
      "Send a close frame with a code and a reason of 123 octets (the maximum).",
      [closeStep(1000, repeated("*", 123))],
      [],
      CLEAN_CLOSE,
    ),
    make(
      "7.3.6",
      "Send a close frame with a code and a reason of 124 octets (a 126-octet control frame).",
      [closeStep(1000, repeated("*", 124))],
      [],
      { closedByMe: true, codes: [1002], requireClean: false },
    ),
    make(
      "7.5.1",
      "Send a close frame whose reason is not valid UTF-8.",
      [closeStep(1000, concat([KOSME, new Uint8Array([0xed, 0xa0, 0x80]), toBytes("edited")]))],
      [],
      { closedByMe: true, codes: [1002, 1007], requireClean: false },
    ),
  ];
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((
    code,
    i,
  ) =>
    out.push(make(
      `7.7.${i + 1}`,
      `Send a close frame with the valid code ${code}.`,
      [closeStep(code)],
      [],
      { closedByMe: true, codes: [1000, code], requireClean: true },
    ))
  );
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) =>
    out.push(make(
      `7.9.${i + 1}`,
      `Send a close frame with the invalid code ${code}.`,
      [closeStep(code)],
      [],
      { closedByMe: true, codes: [1002], requireClean: false },
    ))
  );
  [5000, 65535].forEach((code, i) =>
    out.push(make(
      `7.13.${i + 1}`,
      `Send a close frame with the code ${code} (outcome undefined by the spec).`,
      [closeStep(code)],
      [],
      { closedByMe: true, codes: [1000, code, 1002], requireClean: false },
      { informational: true },
    ))
  );
  return out;
}

function category10(): ConformanceCase[] {
  const payload = repeated("*", 65536);
  return [make(
    "10.1.1",
    "Send a text message of 65536 octets, auto-fragmented into frames of 1300 octets.",
    [{ message: payload, fragment: 1300 }],
    [echo(payload)],
    CLEAN_CLOSE,
  )];
}

/** Categories 1, 2, 3, 4, 5, 7 and 10. */
export function basicCases(): ConformanceCase[] {
  return [
    ...category1(),
    ...category2(),
    ...category3(),
    ...category4(),
    ...category5(),
    ...category7(),
    ...category10(),
  ];
}
