/**
 * The case language of the conformance suite, and the verdicts.
 *
 * A case is what Autobahn|Testsuite describes for its case id: a script of steps the test peer
 * performs (frames and raw bytes, written whole, frame by frame or in chops of N bytes, pauses,
 * a close frame, messages that the peer compresses and fragments), and the outcomes it accepts:
 * the events the peer must receive (echoed messages, pongs, or a pause that ran out because the
 * library kept quiet) for an OK or a NON-STRICT verdict, and how the connection must end (who
 * closes, which close codes, whether the close handshake must be clean).
 *
 * The same case runs against the library as a server (the peer is a crafted client) and as a
 * client (the peer is a crafted server). The library side always echoes: every text and binary
 * message it receives goes back.
 *
 * @module
 */

import { type FrameSpec, toBytes } from "./_wire.ts";

/**
 * Autobahn's verdicts. `FAILED` fails the test; the others pass. `UNIMPLEMENTED` is what a
 * permessage-deflate case gives when no compression was negotiated.
 */
export type Verdict = "OK" | "NON-STRICT" | "INFORMATIONAL" | "UNIMPLEMENTED" | "FAILED";

/** One step of a case's script. */
export type Step =
  /** Frames; `chop` writes the bytes in pieces of that many octets; `sync` one write per frame. */
  | { send: FrameSpec | readonly FrameSpec[]; chop?: number; sync?: boolean }
  /** Raw bytes; `chop` as above. */
  | { raw: Uint8Array; chop?: number }
  /**
   * Part of one frame: its payload octets `[from, to)`, with the header first when `from` is
   * 0. The steps that write one frame share the same `partOf` object (and so one mask key).
   */
  | { partOf: FrameSpec; from: number; to: number }
  /**
   * Waits `pause` ms. With a `label`, records the event `["timeout", label]` when the connection
   * is still open afterwards (Autobahn's "we expect to time out"); if the connection is closing
   * or closed by then, the rest of the script is skipped.
   */
  | { pause: number; label?: string }
  /** Sends a close frame: a code and reason, or a raw `payload`. */
  | { close: { code?: number; reason?: string | Uint8Array; payload?: Uint8Array; rsv?: number } }
  /**
   * Sends a message: compressed when permessage-deflate was negotiated (unless `compress` is
   * false), then cut into frames of `fragment` payload octets, written in chops of `chop`.
   */
  | {
    message: string | Uint8Array;
    binary?: boolean;
    fragment?: number;
    chop?: number;
    compress?: boolean;
  }
  /** Waits until at least this many events were received (or the case's time runs out). */
  | { awaitEvents: number };

/** An event the peer records: what a case expects. */
export type Expected =
  | { kind: "message"; data: Uint8Array; binary: boolean }
  | { kind: "ping" | "pong"; data: Uint8Array }
  | { kind: "timeout"; label: string };

/** How the connection must end (Autobahn's `expectedClose`). */
export interface CloseExpectation {
  /** Whether the peer (the test) closes: `false` when the library must fail the connection. */
  closedByMe: boolean;
  /** The close codes the library may send (an absent code is always accepted, as in Autobahn). */
  codes: readonly number[];
  /** Whether the close handshake must complete (close frames both ways, then end of TCP). */
  requireClean: boolean;
}

/** permessage-deflate settings of a case (categories 12 and 13). */
export interface DeflateSetup {
  /** What the peer offers, as a `Sec-WebSocket-Extensions` value, when it is the client. */
  offer: string;
  /** The library client's `perMessageDeflate()` options when the peer is the server. */
  clientOptions: {
    serverNoContextTakeover?: boolean;
    serverMaxWindowBits?: number;
  };
  /** How the peer answers offers when it is the server (Autobahn's accept1 .. accept7). */
  accept: DeflateAccept;
}

/**
 * How the crafted server answers a permessage-deflate offer: `client_no_context_takeover`
 * (RFC 7692 lets a server send it even when not offered) and `client_max_window_bits` (only
 * when the client offered it); the server's own parameters follow the offer.
 */
export interface DeflateAccept {
  requestNoContextTakeover: boolean;
  requestMaxWindowBits: number;
}

/** A conformance case. */
export interface ConformanceCase {
  /** The Autobahn case id, e.g. "6.4.1". */
  id: string;
  /** The category, e.g. "6". */
  category: string;
  /** What the peer does. */
  description: string;
  /** The script; a function so that large cases are generated lazily. */
  steps: () => Iterable<Step>;
  /** The events of an OK outcome. */
  ok: readonly Expected[];
  /** The events of a NON-STRICT outcome, if one exists. */
  nonStrict?: readonly Expected[];
  /** How the connection must end. */
  close: CloseExpectation;
  /** Do not start the closing handshake after the script (the script sent its own close). */
  suppressClose?: boolean;
  /** Outcome undefined by the spec: the verdict is INFORMATIONAL whatever happens. */
  informational?: boolean;
  /**
   * How long the peer waits for the expected events after the script, and for the library to
   * fail the connection when it must (Autobahn's killAfter / closeAfter), in ms.
   */
  waitMs?: number;
  /** permessage-deflate settings (categories 12 and 13). */
  deflate?: DeflateSetup;
}

/** What the peer observed on one connection. */
export interface Observation {
  /** Events in the order received (payloads fingerprinted). */
  events: ObservedEvent[];
  /** The peer sent a close frame, or dropped TCP, before the library closed anything. */
  closedByMe: boolean;
  /** Close frames went both ways and TCP then ended. */
  clean: boolean;
  /** The code of the library's close frame, if it had one. */
  remoteCode: number | undefined;
  /** The reason of the library's close frame. */
  remoteReason: string | undefined;
  /** The library neither closed nor dropped the connection when it had to; the peer dropped it. */
  droppedByMe: boolean;
  /** Things the library did that RFC 6455 forbids (unmasked client frames, data after close…). */
  violations: string[];
  /** Whether permessage-deflate was agreed. */
  deflate: boolean;
  /** Milliseconds from the upgrade to the end of the connection. */
  ms: number;
}

/** A received event, with the payload reduced to a length and a fingerprint. */
export interface ObservedEvent {
  kind: "message" | "ping" | "pong" | "timeout";
  binary?: boolean;
  length?: number;
  hash?: number;
  label?: string;
  /** The first bytes, for reports. */
  head?: Uint8Array;
}

/** The result of one case on one target. */
export interface CaseResult {
  id: string;
  category: string;
  target: string;
  verdict: Verdict;
  /** Why (for a FAILED verdict: what differed). */
  reason: string;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Helpers to write cases.

/** An expected echoed message. */
export function echo(data: string | Uint8Array, binary = false): Expected {
  return { kind: "message", data: toBytes(data), binary };
}

/** An expected pong. */
export function pong(data: string | Uint8Array = ""): Expected {
  return { kind: "pong", data: toBytes(data) };
}

/** An expected pause that ran out while the connection stayed open. */
export function timedOut(label: string): Expected {
  return { kind: "timeout", label };
}

/** A clean close the peer starts, with the normal code. */
export const CLEAN_CLOSE: CloseExpectation = {
  closedByMe: true,
  codes: [1000],
  requireClean: true,
};

/** The library must fail the connection with one of `codes` (or just drop it). */
export function failWith(...codes: number[]): CloseExpectation {
  return { closedByMe: false, codes, requireClean: false };
}

/** `n` copies of a string's bytes, cut to `n` octets (Autobahn's repeated payload pattern). */
export function repeated(pattern: string | number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (typeof pattern === "number") return out.fill(pattern);
  const p = toBytes(pattern);
  for (let i = 0; i < n; i += p.length) out.set(p.subarray(0, Math.min(p.length, n - i)), i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The verdict.

function sameEvents(got: readonly ObservedEvent[], want: readonly ObservedEvent[]): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (
      a.kind !== b.kind || a.binary !== b.binary || a.length !== b.length || a.hash !== b.hash ||
      a.label !== b.label
    ) return false;
  }
  return true;
}

/** Describes events for a report line. */
export function describeEvents(events: readonly ObservedEvent[], max = 4): string {
  const parts = events.slice(0, max).map((e) => {
    if (e.kind === "timeout") return `timeout ${e.label}`;
    const what = e.kind === "message" ? (e.binary ? "binary" : "text") : e.kind;
    return `${what}(${e.length})`;
  });
  if (events.length > max) parts.push(`… ${events.length} in all`);
  return `[${parts.join(", ")}]`;
}

/**
 * Judges an observation against a case, as Autobahn does: the events must equal the OK list
 * (or the NON-STRICT list); then the close: the right endpoint closed, cleanly when required,
 * with an allowed code, and (stricter than Autobahn, which accepts a library that neither
 * answers nor closes) a library that had to fail the connection did so by itself.
 *
 * @param c The case.
 * @param obs What the peer observed.
 * @param expectedEvents The case's OK and NON-STRICT lists, observed-form.
 * @param libraryIsServer Whether the library was the server (it must then end TCP itself).
 */
export function judge(
  c: ConformanceCase,
  obs: Observation,
  expectedEvents: { ok: ObservedEvent[]; nonStrict?: ObservedEvent[] },
  libraryIsServer: boolean,
): { verdict: Verdict; reason: string } {
  if (c.deflate && !obs.deflate) {
    return { verdict: "UNIMPLEMENTED", reason: "permessage-deflate was not negotiated" };
  }
  let verdict: Verdict;
  let reason: string;
  if (sameEvents(obs.events, expectedEvents.ok)) {
    verdict = "OK";
    reason = "events as expected";
  } else if (expectedEvents.nonStrict && sameEvents(obs.events, expectedEvents.nonStrict)) {
    verdict = "NON-STRICT";
    reason = "events match the non-strict outcome";
  } else {
    verdict = "FAILED";
    reason = `events ${describeEvents(obs.events)} differ from the expected ${
      describeEvents(expectedEvents.ok)
    }`;
  }
  const closeText = `close: ${obs.closedByMe ? "by peer" : "by library"}, code ${
    obs.remoteCode ?? "none"
  }, ${obs.clean ? "clean" : "unclean"}`;
  if (c.informational) {
    return {
      verdict: "INFORMATIONAL",
      reason: `${verdict === "FAILED" ? describeEvents(obs.events) : verdict}; ${closeText}`,
    };
  }
  if (obs.violations.length > 0) {
    return { verdict: "FAILED", reason: `protocol violation: ${obs.violations.join("; ")}` };
  }
  if (verdict === "FAILED") return { verdict, reason: `${reason}; ${closeText}` };
  const expect = c.close;
  if (obs.droppedByMe && !expect.closedByMe) {
    return { verdict: "FAILED", reason: "the library did not fail the connection" };
  }
  if (expect.closedByMe !== obs.closedByMe) {
    return {
      verdict: "FAILED",
      reason: `the connection was failed by the wrong endpoint (${closeText})`,
    };
  }
  if (expect.requireClean && !obs.clean) {
    return {
      verdict: "FAILED",
      reason: `UNCLEAN: the close handshake did not complete (${closeText})`,
    };
  }
  if (obs.remoteCode !== undefined && !expect.codes.includes(obs.remoteCode)) {
    return {
      verdict: "FAILED",
      reason: `WRONG CODE: ${obs.remoteCode} "${obs.remoteReason ?? ""}", expected ${
        expect.codes.join(" or ")
      } or none`,
    };
  }
  if (libraryIsServer && obs.droppedByMe) {
    return {
      verdict: "FAILED",
      reason: "FAILED BY CLIENT: the server did not end the TCP connection",
    };
  }
  return { verdict, reason: `${reason}; ${closeText}` };
}
