/**
 * The managed session's queue helpers: short strings encoded into one shared scratch buffer on
 * the send path, and the size strategy of the incoming message queue.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";

/** Strings up to this many UTF-16 units are encoded into a shared scratch buffer. */
export const SCRATCH_CHARS = 4096;
/** Up to 3 bytes per UTF-16 unit; below the writer's 16 KiB no-copy limit, so always copied. */
const scratch = new Uint8Array(SCRATCH_CHARS * 3);
const scratchEncoder = new TextEncoder();

/**
 * Encodes a short string into the shared scratch buffer and returns a view of it. The view is
 * only valid until the next call: it must be handed to the frame writer at once, which copies
 * (and masks) frames smaller than 16 KiB into its own buffer synchronously. It avoids a
 * `Uint8Array` allocation per message, the main cost of sending small text messages.
 */
export function encodeToScratch(text: string): Uint8Array {
  const n = text.length;
  if (n <= 64) {
    // ASCII fast path: no call into the runtime for short messages.
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      scratch[i] = c;
    }
    if (i === n) return scratch.subarray(0, n);
  }
  return scratch.subarray(0, scratchEncoder.encodeInto(text, scratch).written);
}

/**
 * The queuing strategy of `incoming`: a message costs its payload size, but at least
 * `bytes / messages`, so that the queue holds at most `messages` messages and about `bytes`
 * bytes with one size function (sizes are integers, so an empty queue has exactly
 * `desiredSize === highWaterMark`).
 */
export function incomingStrategy(messages: number, bytes: number): QueuingStrategy<Frame> {
  // Sessions of one client or server share their options: they share the strategy (and its
  // size function) too.
  const last = lastStrategy;
  if (last !== null && last.messages === messages && last.bytes === bytes) return last.strategy;
  const strategy = makeStrategy(messages, bytes);
  lastStrategy = { messages, bytes, strategy };
  return strategy;
}

let lastStrategy: { messages: number; bytes: number; strategy: QueuingStrategy<Frame> } | null =
  null;

function makeStrategy(messages: number, bytes: number): QueuingStrategy<Frame> {
  if (bytes === Infinity) {
    // A finite mark even when unbounded, so that an empty queue is still recognisable.
    return { highWaterMark: Math.min(messages, Number.MAX_SAFE_INTEGER), size: () => 1 };
  }
  if (messages === Infinity) {
    return { highWaterMark: bytes, size: (f) => f.data.length || 1 };
  }
  const unit = Math.max(1, Math.ceil(bytes / messages));
  return {
    highWaterMark: unit * messages,
    size: (f) => (f.data.length > unit ? f.data.length : unit),
  };
}
