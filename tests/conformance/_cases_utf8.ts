/**
 * Autobahn|Testsuite category 6 (UTF-8 handling), from the published case descriptions: empty
 * and fragmented text (6.1-6.3), fail-fast on the first invalid octet across frames and across
 * TCP chops (6.4), and Markus Kuhn's UTF-8 decoder stress test, one subcategory per section
 * (6.5-6.23), each vector sent as one text frame: valid ones must be echoed, invalid ones must
 * fail the connection with 1007.
 *
 * @module
 */

import { CLEAN_CLOSE, type ConformanceCase, echo, failWith, type Step, timedOut } from "./_dsl.ts";
import { concat, Op, toBytes } from "./_wire.ts";
import { KOSME } from "./_cases_basic.ts";

const INVALID = failWith(1007);
const b = (...bytes: number[]) => new Uint8Array(bytes);

function textCase(
  id: string,
  description: string,
  steps: Step[],
  payload: Uint8Array,
): ConformanceCase {
  return {
    id,
    category: "6",
    description,
    steps: () => steps,
    ok: [echo(payload)],
    close: CLEAN_CLOSE,
  };
}

/** Each octet of `payload` as its own frame of one text message. */
function octetFrames(payload: Uint8Array): Step {
  return {
    send: Array.from(payload, (byte, i) => ({
      opcode: i === 0 ? Op.TEXT : Op.CONTINUATION,
      fin: i === payload.length - 1,
      payload: b(byte),
    })),
  };
}

function basics(): ConformanceCase[] {
  const hello = toBytes("Hello-µ@ßöäüàá-UTF-8!!");
  const cut = toBytes("Hello-µ@ßöä").length;
  const bad = concat([KOSME, b(0xed, 0xa0, 0x80), toBytes("edited")]);
  const empty = new Uint8Array(0);
  const middle = toBytes("middle frame payload");
  return [
    textCase("6.1.1", "Send a text message of length 0.", [{ send: { opcode: Op.TEXT } }], empty),
    textCase(
      "6.1.2",
      "Send a text message in 3 fragments, each of length 0.",
      [{
        send: [
          { opcode: Op.TEXT, fin: false },
          { opcode: Op.CONTINUATION, fin: false },
          { opcode: Op.CONTINUATION },
        ],
      }],
      empty,
    ),
    textCase(
      "6.1.3",
      "Send a text message in 3 fragments, the first and last of length 0.",
      [{
        send: [
          { opcode: Op.TEXT, fin: false },
          { opcode: Op.CONTINUATION, fin: false, payload: middle },
          { opcode: Op.CONTINUATION },
        ],
      }],
      middle,
    ),
    textCase("6.2.1", "Send a valid UTF-8 text message in one fragment.", [{
      send: { opcode: Op.TEXT, payload: hello },
    }], hello),
    textCase(
      "6.2.2",
      "Send a valid UTF-8 text message in 2 fragments, cut on a code point boundary.",
      [{
        send: [
          { opcode: Op.TEXT, fin: false, payload: hello.subarray(0, cut) },
          { opcode: Op.CONTINUATION, payload: hello.subarray(cut) },
        ],
      }],
      hello,
    ),
    textCase(
      "6.2.3",
      "Send a valid UTF-8 text message in fragments of 1 octet (frames end inside code points).",
      [octetFrames(hello)],
      hello,
    ),
    textCase(
      "6.2.4",
      "Send the valid UTF-8 text κόσμε in fragments of 1 octet.",
      [octetFrames(KOSME)],
      KOSME,
    ),
    {
      id: "6.3.1",
      category: "6",
      description: "Send an invalid UTF-8 text message in one frame.",
      steps: () => [{ send: { opcode: Op.TEXT, payload: bad } }],
      ok: [],
      close: INVALID,
    },
    {
      id: "6.3.2",
      category: "6",
      description: "Send an invalid UTF-8 text message in fragments of 1 octet.",
      steps: () => [octetFrames(bad)],
      ok: [],
      close: INVALID,
    },
  ];
}

/**
 * 6.4: the library must fail at the first invalid octet, not at the end of the message. The
 * message is κόσμε, then F4 90 80 80 (a code point above U+10FFFF: invalid at 0x90), then
 * "edited"; it is sent in 3 parts with a pause after the first two. The first pause must run
 * out (the first part is valid), the second must not (the library fails at once).
 */
function failFast(): ConformanceCase[] {
  const p1 = KOSME;
  const p2 = b(0xf4, 0x90, 0x80, 0x80);
  const p3 = toBytes("edited");
  const all = concat([p1, p2, p3]);
  const PAUSE = 300;
  const inFrames = (parts: Uint8Array[]): Step[] => [
    { send: { opcode: Op.TEXT, fin: false, payload: parts[0] } },
    { pause: PAUSE, label: "A" },
    { send: { opcode: Op.CONTINUATION, fin: false, payload: parts[1] } },
    { pause: PAUSE, label: "B" },
    { send: { opcode: Op.CONTINUATION, payload: parts[2] } },
  ];
  // One frame whose payload is written in 3 TCP chops.
  const chopped = (cuts: [number, number]): Step[] => {
    const frame = { opcode: Op.TEXT, payload: all };
    return [
      { partOf: frame, from: 0, to: cuts[0] },
      { pause: PAUSE, label: "A" },
      { partOf: frame, from: cuts[0], to: cuts[1] },
      { pause: PAUSE, label: "B" },
      { partOf: frame, from: cuts[1], to: all.length },
    ];
  };
  const expect = {
    ok: [timedOut("A")],
    nonStrict: [timedOut("A"), timedOut("B")],
    close: INVALID,
    category: "6",
  };
  return [
    {
      id: "6.4.1",
      description: "Invalid UTF-8 in 3 frames; the 2nd frame makes it invalid: fail fast on it.",
      steps: () => inFrames([p1, p2, p3]),
      ...expect,
    },
    {
      id: "6.4.2",
      description: "As 6.4.1, the 2nd frame holding only the octet that makes it invalid.",
      steps: () => inFrames([all.subarray(0, 12), all.subarray(12, 13), all.subarray(13)]),
      ...expect,
    },
    {
      id: "6.4.3",
      description: "As 6.4.1, in 3 TCP chops of one frame.",
      steps: () => chopped([p1.length, p1.length + p2.length]),
      ...expect,
    },
    {
      id: "6.4.4",
      description: "As 6.4.2, in 3 TCP chops of one frame.",
      steps: () => chopped([12, 13]),
      ...expect,
    },
  ];
}

/** The sections of Markus Kuhn's UTF-8 stress test, as Autobahn groups them (6.5-6.23). */
function stressSections(): [string, [boolean, Uint8Array][]][] {
  const sections: [string, [boolean, Uint8Array][]][] = [];
  const ok = (bytes: Uint8Array): [boolean, Uint8Array] => [true, bytes];
  const bad = (bytes: Uint8Array): [boolean, Uint8Array] => [false, bytes];
  const around = (mid: Uint8Array) => concat([toBytes("hello"), mid, toBytes("world")]);
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const valid = (x: Uint8Array) => {
    try {
      fatal.decode(x);
      return true;
    } catch {
      return false;
    }
  };

  sections.push(["Some valid UTF-8 sequences", [
    ok(around(b(0x24))),
    ok(around(b(0xc2, 0xa2))),
    ok(around(b(0xe2, 0x82, 0xac))),
    ok(around(b(0xf0, 0xa4, 0xad, 0xa2))),
    ok(KOSME),
  ]]);
  sections.push([
    "All prefixes of a valid UTF-8 string with multi-octet code points",
    Array.from({ length: KOSME.length }, (_, i) => {
      const prefix = KOSME.slice(0, i + 1);
      return [valid(prefix), prefix] as [boolean, Uint8Array];
    }),
  ]);
  sections.push(["First possible sequence of a certain length", [
    ok(b(0x00)),
    ok(b(0xc2, 0x80)),
    ok(b(0xe0, 0xa0, 0x80)),
    ok(b(0xf0, 0x90, 0x80, 0x80)),
  ]]);
  sections.push(["First possible sequence of length 5 and 6 (invalid code points)", [
    bad(b(0xf8, 0x88, 0x80, 0x80, 0x80)),
    bad(b(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)),
  ]]);
  sections.push(["Last possible sequence of a certain length", [
    ok(b(0x7f)),
    ok(b(0xdf, 0xbf)),
    ok(b(0xef, 0xbf, 0xbf)),
    ok(b(0xf4, 0x8f, 0xbf, 0xbf)),
  ]]);
  sections.push(["Last possible sequence of length 4, 5, 6 (invalid code points)", [
    bad(b(0xf7, 0xbf, 0xbf, 0xbf)),
    bad(b(0xfb, 0xbf, 0xbf, 0xbf, 0xbf)),
    bad(b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf)),
  ]]);
  sections.push(["Other boundary conditions", [
    ok(b(0xed, 0x9f, 0xbf)),
    ok(b(0xee, 0x80, 0x80)),
    ok(b(0xef, 0xbf, 0xbd)),
    ok(b(0xf4, 0x8f, 0xbf, 0xbf)),
    bad(b(0xf4, 0x90, 0x80, 0x80)),
  ]]);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  sections.push(["Unexpected continuation octets", [
    bad(b(0x80)),
    bad(b(0xbf)),
    bad(b(0x80, 0xbf)),
    bad(b(0x80, 0xbf, 0x80)),
    bad(b(0x80, 0xbf, 0x80, 0xbf)),
    bad(b(0x80, 0xbf, 0x80, 0xbf, 0x80)),
    bad(b(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf)),
    bad(b(...range(0x80, 0xbf))),
  ]]);
  sections.push([
    "Lonely start characters (each followed by a space)",
    [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]].map(([lo, hi]) =>
      bad(b(...range(lo!, hi!).flatMap((x) => [x, 0x20])))
    ),
  ]);
  const incomplete = [
    b(0xc0),
    b(0xe0, 0x80),
    b(0xf0, 0x80, 0x80),
    b(0xf8, 0x80, 0x80, 0x80),
    b(0xfc, 0x80, 0x80, 0x80, 0x80),
    b(0xdf),
    b(0xef, 0xbf),
    b(0xf7, 0xbf, 0xbf),
    b(0xfb, 0xbf, 0xbf, 0xbf),
    b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf),
  ];
  sections.push(["Sequences with the last continuation octet missing", incomplete.map(bad)]);
  sections.push(["Concatenation of incomplete sequences", [bad(concat(incomplete))]]);
  sections.push(["Impossible octets", [
    bad(b(0xfe)),
    bad(b(0xff)),
    bad(b(0xfe, 0xfe, 0xff, 0xff)),
  ]]);
  sections.push(["Overlong forms of an ASCII character", [
    bad(b(0xc0, 0xaf)),
    bad(b(0xe0, 0x80, 0xaf)),
    bad(b(0xf0, 0x80, 0x80, 0xaf)),
    bad(b(0xf8, 0x80, 0x80, 0x80, 0xaf)),
    bad(b(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf)),
  ]]);
  sections.push(["Maximum overlong sequences", [
    bad(b(0xc1, 0xbf)),
    bad(b(0xe0, 0x9f, 0xbf)),
    bad(b(0xf0, 0x8f, 0xbf, 0xbf)),
    bad(b(0xf8, 0x87, 0xbf, 0xbf, 0xbf)),
    bad(b(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf)),
  ]]);
  sections.push(["Overlong forms of the NUL character", [
    bad(b(0xc0, 0x80)),
    bad(b(0xe0, 0x80, 0x80)),
    bad(b(0xf0, 0x80, 0x80, 0x80)),
    bad(b(0xf8, 0x80, 0x80, 0x80, 0x80)),
    bad(b(0xfc, 0x80, 0x80, 0x80, 0x80, 0x80)),
  ]]);
  const surrogates = [[0xa0, 0x80], [0xad, 0xbf], [0xae, 0x80], [0xaf, 0xbf], [0xb0, 0x80], [
    0xbe,
    0x80,
  ], [0xbf, 0xbf]].map(([x, y]) => b(0xed, x!, y!));
  sections.push(["Single UTF-16 surrogates", surrogates.map(bad)]);
  const high = surrogates.slice(0, 4);
  const low = [b(0xed, 0xb0, 0x80), b(0xed, 0xbf, 0xbf)];
  sections.push([
    "Paired UTF-16 surrogates",
    high.flatMap((h) => low.map((l) => bad(concat([h, l])))),
  ]);
  const nonChars: Uint8Array[] = [b(0xef, 0xbf, 0xbe), b(0xef, 0xbf, 0xbf)];
  for (const lead of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const second of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (lead === 0xf4 && second !== 0x8f) continue; // above U+10FFFF
      if (lead === 0xf0 && second === 0x8f) continue; // overlong
      for (const last of [0xbe, 0xbf]) nonChars.push(b(lead, second, 0xbf, last));
    }
  }
  sections.push(["Non-character code points (valid UTF-8)", nonChars.map(ok)]);
  sections.push([
    "Unicode specials (the replacement character and its neighbours)",
    [0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf].map((x) => ok(b(0xef, 0xbf, x))),
  ]);
  return sections;
}

function stressCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  stressSections().forEach(([title, vectors], s) => {
    vectors.forEach(([isValid, payload], v) => {
      const id = `6.${s + 5}.${v + 1}`;
      const hex = Array.from(payload, (x) => x.toString(16).padStart(2, "0")).join("");
      out.push({
        id,
        category: "6",
        description: `${title}: a text message that is ${
          isValid ? "" : "not "
        }valid UTF-8, 0x${hex}.`,
        steps: () => [{ send: { opcode: Op.TEXT, payload } }],
        ok: isValid ? [echo(payload)] : [],
        close: isValid ? CLEAN_CLOSE : INVALID,
        waitMs: isValid ? undefined : 1000,
      });
    });
  });
  return out;
}

/** Category 6. */
export function utf8Cases(): ConformanceCase[] {
  return [...basics(), ...failFast(), ...stressCases()];
}
