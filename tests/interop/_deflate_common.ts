/**
 * Shared pieces of the permessage-deflate interop tests: a factory that counts compressed frames
 * on the wire, and the message workload every peer gets.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ExtensionContext, WebSocketExtension } from "../../src/core/extension.ts";
import type { ExtensionOffer } from "../../src/core/extension_header.ts";
import type { Frame } from "../../src/core/frame.ts";
import type { PerMessageDeflate } from "../../src/core/permessage_deflate.ts";
import {
  PerMessageDeflateFactory,
  type PerMessageDeflateOptions,
} from "../../src/session/permessage_deflate.ts";

/** How many frames crossed the wire compressed, per direction. */
export interface WireCounts {
  /** Frames sent with RSV1. */
  sentCompressed: number;
  /** Frames received with RSV1. */
  receivedCompressed: number;
  /** The extensions made (one per connection). */
  made: PerMessageDeflate[];
}

/**
 * A `perMessageDeflate()` factory whose extensions count the RSV1 frames they send and receive,
 * so a test can tell that compression really happened on the wire.
 */
export function countingDeflate(
  options?: PerMessageDeflateOptions,
): { factory: PerMessageDeflateFactory; counts: WireCounts } {
  const counts: WireCounts = { sentCompressed: 0, receivedCompressed: 0, made: [] };
  const wrap = (ext: PerMessageDeflate): PerMessageDeflate => {
    counts.made.push(ext);
    const out = ext.processOutgoing.bind(ext);
    const inc = ext.processIncoming.bind(ext);
    ext.processOutgoing = (frame, hints) => {
      const result = out(frame, hints);
      if (result.rsv1) counts.sentCompressed++;
      return result;
    };
    ext.processIncoming = (frame: Frame) => {
      if (frame.rsv1) counts.receivedCompressed++;
      return inc(frame);
    };
    return ext;
  };
  class Counting extends PerMessageDeflateFactory {
    override clientAccept(response: ExtensionOffer, context?: ExtensionContext): PerMessageDeflate {
      return wrap(super.clientAccept(response, context));
    }
    override serverAccept(offers: readonly ExtensionOffer[], context?: ExtensionContext) {
      const agreement = super.serverAccept(offers, context);
      if (agreement) wrap(agreement.extension as PerMessageDeflate);
      return agreement;
    }
  }
  return { factory: new Counting(options), counts };
}

/** A deterministic, compressible text of `n` characters. */
export function sampleText(n: number, seed = 1): string {
  const words = ["alpha", "beta", "gamma", "delta", '{"id":', "true", "null", "0.5", " ", ","];
  let s = seed;
  let text = "";
  while (text.length < n) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    text += words[s % words.length];
  }
  return text.slice(0, n);
}

/** A deterministic binary payload of `n` bytes, partly compressible. */
export function sampleBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 7 === 0 ? s & 0xff : i % 31;
  }
  return out;
}

/** One message of the workload. */
export type Message = string | Uint8Array;

/**
 * The messages every interop test sends and expects back: text, binary, an empty message,
 * 1 MiB text and binary, and 200 small JSON-like messages.
 */
export function workload(): Message[] {
  const out: Message[] = [
    "Hello",
    sampleText(3000, 2),
    sampleBytes(5000, 3),
    "",
    new Uint8Array(0),
    sampleText(1 << 20, 4),
    sampleBytes(1 << 20, 5),
    "héllo wörld ✓ 𝄞",
  ];
  for (let i = 0; i < 200; i++) out.push(`{"seq":${i},"kind":"tick","ok":${i % 2 === 0}}`);
  return out;
}

/** Asserts that a received message equals the one sent (type and content). */
export function assertSameMessage(got: Message, expected: Message, index: number): void {
  if (typeof expected === "string") {
    assert.equal(typeof got, "string", `message ${index} should be text`);
    assert.equal(got, expected, `message ${index}`);
  } else {
    assert.ok(got instanceof Uint8Array, `message ${index} should be binary`);
    assert.equal(got.length, expected.length, `message ${index} length`);
    assert.ok(Buffer.compare(got, expected) === 0, `message ${index} content`);
  }
}

/** A frame as a message (text or bytes). */
export function frameMessage(frame: Frame): Message {
  return frame.type === "text" ? new TextDecoder().decode(frame.data) : frame.data;
}

/** The negotiated permessage-deflate extension of a session. */
export function deflateOf(extensions: readonly WebSocketExtension[]): PerMessageDeflate {
  const ext = extensions.find((e) => e.name === "permessage-deflate");
  assert.ok(ext, "permessage-deflate was negotiated");
  return ext as PerMessageDeflate;
}
