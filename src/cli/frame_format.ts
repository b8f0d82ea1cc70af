/**
 * The frame inspector's lines: the handshake heads, one line per frame (direction, time since
 * the previous frame, opcode, FIN, RSV bits, mask, length, a payload preview, close codes in
 * words, ping round trips), and the final summary.
 *
 * @module
 */

import { encodeBinary } from "./codec.ts";
import { readClosePayload, type WireEntry, type WireRecorder } from "./wire_recorder.ts";

const CLOSE_WORDS: Record<number, string> = {
  1000: "normal closure",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported data",
  1004: "reserved",
  1005: "no status code",
  1006: "abnormal closure",
  1007: "invalid payload data",
  1008: "policy violation",
  1009: "message too big",
  1010: "mandatory extension",
  1011: "internal error",
  1012: "service restart",
  1013: "try again later",
  1014: "bad gateway",
  1015: "TLS handshake failure",
};

/**
 * A close code in words.
 *
 * @example
 * ```ts
 * import { describeCloseCode } from "./frame_format.ts";
 *
 * console.log(describeCloseCode(1001)); // "going away"
 * console.log(describeCloseCode(4000)); // "private use"
 * ```
 *
 * @param code The code.
 * @returns What it means.
 */
export function describeCloseCode(code: number): string {
  const word = CLOSE_WORDS[code];
  if (word !== undefined) return word;
  if (code >= 3000 && code <= 3999) return "registered (library, framework)";
  if (code >= 4000 && code <= 4999) return "private use";
  if (code >= 1016 && code <= 2999) return "reserved for the protocol";
  return "invalid code";
}

/**
 * A close code and reason as one phrase: `1000 normal closure "bye"`.
 *
 * @example
 * ```ts
 * import { describeClose } from "./frame_format.ts";
 *
 * console.log(describeClose(4000, "bye")); // 4000 private use "bye"
 * ```
 *
 * @param code The code (1005: none; -1: a malformed 1-byte payload).
 * @param reason The reason.
 * @returns The phrase.
 */
export function describeClose(code: number, reason: string): string {
  if (code === -1) return "malformed (1-byte payload)";
  const words = `${code} ${describeCloseCode(code)}`;
  return reason === "" ? words : `${words} ${JSON.stringify(reason)}`;
}

const OPCODE_NAMES: Record<number, string> = {
  0: "continuation",
  1: "text",
  2: "binary",
  8: "close",
  9: "ping",
  10: "pong",
};

const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** Options of {@linkcode formatEntry}. */
export interface FormatOptions {
  /**
   * Characters of text (or bytes of binary) shown in a preview.
   * @default {48}
   */
  preview?: number;
  /**
   * Put before every line (the server's connection id).
   * @default {""}
   */
  label?: string;
}

/**
 * The lines for one entry: a head gives its lines (`> ` out, `< ` in, as `curl -v`), a frame one
 * line.
 *
 * @example
 * ```ts
 * import { formatEntry } from "./frame_format.ts";
 *
 * const frame = {
 *   fin: true, rsv: 0, opcode: 1, mask: null, length: 2, headerLength: 2,
 *   payload: new TextEncoder().encode("hi"),
 * };
 * const entry = { direction: "in" as const, at: 5, sincePrevious: 1.25, event: { kind: "frame" as const, frame } };
 * console.log(formatEntry(entry)[0]); // <<  +1.3ms  text  fin=1 rsv=000 mask=none len=2 "hi"
 * ```
 *
 * @param entry The entry.
 * @param options Preview size and label.
 * @returns The lines.
 */
export function formatEntry(entry: WireEntry, options?: FormatOptions): string[] {
  const label = options?.label ?? "";
  const event = entry.event;
  if (event.kind === "head") {
    const mark = entry.direction === "out" ? ">" : "<";
    return event.head.split("\r\n").map((line) => `${label}${mark} ${line}`);
  }
  const f = event.frame;
  const arrow = entry.direction === "out" ? ">>" : "<<";
  const name = OPCODE_NAMES[f.opcode] ?? `reserved(0x${f.opcode.toString(16)})`;
  const rsv = f.rsv.toString(2).padStart(3, "0");
  const mask = f.mask === null ? "none" : f.mask.toHex();
  const time = `+${formatMs(entry.sincePrevious)}`.padStart(9);
  let line = `${label}${arrow} ${time}  ${name.padEnd(12)} fin=${f.fin ? 1 : 0} rsv=${rsv} ` +
    `mask=${mask.padEnd(8)} len=${f.length}`;
  const preview = previewOf(entry, options?.preview ?? 48);
  if (preview !== "") line += ` ${preview}`;
  if (entry.rtt !== undefined) line += ` (round trip ${formatMs(entry.rtt)})`;
  return [line];
}

/** Milliseconds, short: `0.4ms`, `12.3ms`, `1.250s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${ms.toFixed(1)}ms`;
}

function previewOf(entry: WireEntry, max: number): string {
  if (entry.event.kind !== "frame") return "";
  const f = entry.event.frame;
  const cut = f.payload.length < f.length;
  if (f.opcode === 8) return describeCloseFrame(f.payload);
  if (f.length === 0) return "";
  if (entry.compressed) return `[compressed] ${hexPreview(f.payload, max / 2, cut)}`;
  const asText = f.opcode === 1 || (f.opcode === 0 && entry.message === "text");
  if (asText) return textPreview(lossy.decode(f.payload), max, cut);
  if (f.opcode === 9 || f.opcode === 10) {
    const text = printable(f.payload);
    return text !== null ? textPreview(text, max, cut) : hexPreview(f.payload, max / 2, cut);
  }
  return hexPreview(f.payload, max / 2, cut);
}

function describeCloseFrame(payload: Uint8Array): string {
  const { code, reason } = readClosePayload(payload);
  return describeClose(code, reason);
}

function textPreview(text: string, max: number, cut: boolean): string {
  const chars = [...text];
  const shown = chars.length > max ? chars.slice(0, max).join("") : text;
  return JSON.stringify(shown) + (cut || chars.length > max ? "…" : "");
}

function hexPreview(data: Uint8Array, max: number, cut: boolean): string {
  const n = Math.floor(max);
  return encodeBinary(data.subarray(0, n), "hex") + (cut || data.length > n ? "…" : "");
}

/** The payload as text when it is valid UTF-8 without control characters. */
function printable(data: Uint8Array): string | null {
  try {
    const text = strict.decode(data);
    // deno-lint-ignore no-control-regex
    return /[\x00-\x1f\x7f]/.test(text) ? null : text;
  } catch {
    return null;
  }
}

/**
 * The final summary of a connection: time, frames and bytes each way, ping round trips, the
 * close frames.
 *
 * @example
 * ```ts
 * import { formatSummary } from "./frame_format.ts";
 * import { WireRecorder } from "./wire_recorder.ts";
 *
 * console.log(formatSummary(new WireRecorder("client")).join("\n"));
 * ```
 *
 * @param recorder The connection's recorder.
 * @param label Put before every line.
 * @returns The lines.
 */
export function formatSummary(recorder: WireRecorder, label = ""): string[] {
  const { in: got, out: sent } = recorder.totals;
  const span = recorder.first === null || recorder.last === null
    ? ""
    : ` over ${formatMs(recorder.last - recorder.first)}`;
  const side = (t: typeof sent) =>
    `${t.frames} frame${t.frames === 1 ? "" : "s"} (${t.frameBytes} bytes` +
    (t.bytes > t.frameBytes ? `, +${t.bytes - t.frameBytes} handshake` : "") + ")";
  const lines = [`summary${span}: sent ${side(sent)}, received ${side(got)}`];
  const rtts = recorder.rtts;
  const unanswered = recorder.unansweredPings;
  if (rtts.length > 0 || unanswered > 0) {
    let line = `pings: ${rtts.length + unanswered} sent, ${rtts.length} answered`;
    if (rtts.length > 0) {
      const min = Math.min(...rtts);
      const max = Math.max(...rtts);
      const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
      line += `; round trip min ${formatMs(min)}, avg ${formatMs(avg)}, max ${formatMs(max)}`;
    }
    lines.push(line);
  }
  if (recorder.status !== null && recorder.status !== 101) {
    lines.push(`handshake refused: HTTP ${recorder.status}`);
  }
  const closes = recorder.closes;
  if (closes.length === 0) {
    if (recorder.status === 101) lines.push("close: no close frame either way (abnormal closure)");
  } else {
    const parts = closes.slice(0, 2).map((c) =>
      `${c.direction === "out" ? "sent" : "received"} ${describeClose(c.code, c.reason)}`
    );
    if (closes.length === 1) {
      parts.push(`none ${closes[0]!.direction === "out" ? "received" : "sent"}`);
    }
    lines.push(`close: ${parts.join(", then ")}`);
  }
  return lines.map((l) => label + l);
}
