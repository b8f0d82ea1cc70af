/**
 * The negotiated extensions of one connection, as a chain over its data frames (fragments in
 * order, control frames never): outgoing frames go through the extensions in negotiated order,
 * incoming frames in the reverse order (the last extension to touch a frame on the way out is
 * the first on the way in). {@linkcode runOutgoingExtensions} and
 * {@linkcode runIncomingExtensions} do exactly that, without a promise when every extension
 * answers synchronously; {@linkcode extensionRsv} gives the RSV bits the chain may use, and
 * {@linkcode disposeExtensions} releases it.
 *
 * @module
 */

import type { Frame } from "./frame.ts";
import type { OutgoingHints, WebSocketExtension } from "./extension.ts";

/**
 * The RSV bits a set of negotiated extensions may use: the decoder's `allowedRsv`, and (for a
 * compressing extension) its `compressedRsv`.
 *
 * @example
 * ```ts
 * import { extensionRsv } from "@wirestream/ws/raw";
 *
 * console.log(extensionRsv([])); // 0
 * ```
 *
 * @param extensions The negotiated extensions.
 * @returns The union of their bits.
 */
export function extensionRsv(extensions: readonly WebSocketExtension[]): number {
  let bits = 0;
  for (const ext of extensions) bits |= ext.rsv;
  return bits;
}

/**
 * Runs an outgoing data frame through the extensions in negotiated order. Returns the frame
 * itself when there are none, and a promise only when an extension answered with one.
 *
 * @example
 * ```ts
 * import { Frame, runOutgoingExtensions } from "@wirestream/ws/raw";
 *
 * const frame = Frame.text("hi");
 * console.log(runOutgoingExtensions([], frame) === frame); // true
 * ```
 *
 * @param extensions The negotiated extensions.
 * @param frame A data frame (whole message or fragment).
 * @param hints Per-message hints.
 * @returns The frame to write.
 */
export function runOutgoingExtensions(
  extensions: readonly WebSocketExtension[],
  frame: Frame,
  hints?: OutgoingHints,
): Frame | Promise<Frame> {
  for (let i = 0; i < extensions.length; i++) {
    const next = extensions[i]!.processOutgoing(frame, hints);
    if (next instanceof Promise) return outgoingAsync(extensions, next, i + 1, hints);
    frame = next;
  }
  return frame;
}

async function outgoingAsync(
  extensions: readonly WebSocketExtension[],
  pending: Promise<Frame>,
  from: number,
  hints: OutgoingHints | undefined,
): Promise<Frame> {
  let frame = await pending;
  for (let i = from; i < extensions.length; i++) {
    frame = await extensions[i]!.processOutgoing(frame, hints);
  }
  return frame;
}

/**
 * Runs an incoming data frame through the extensions in reverse negotiated order. Returns the
 * frame itself when there are none, and a promise only when an extension answered with one.
 *
 * @example
 * ```ts
 * import { Frame, runIncomingExtensions } from "@wirestream/ws/raw";
 *
 * const frame = Frame.binary(new Uint8Array([1, 2, 3]));
 * console.log(runIncomingExtensions([], frame) === frame); // true
 * ```
 *
 * @param extensions The negotiated extensions.
 * @param frame A data frame as received (whole message or fragment).
 * @returns The frame to deliver.
 * @throws {ProtocolError} When an extension finds the frame malformed (for example corrupt
 *   compressed data), with the close code to send.
 */
export function runIncomingExtensions(
  extensions: readonly WebSocketExtension[],
  frame: Frame,
): Frame | Promise<Frame> {
  for (let i = extensions.length - 1; i >= 0; i--) {
    const next = extensions[i]!.processIncoming(frame);
    if (next instanceof Promise) return incomingAsync(extensions, next, i - 1);
    frame = next;
  }
  return frame;
}

async function incomingAsync(
  extensions: readonly WebSocketExtension[],
  pending: Promise<Frame>,
  from: number,
): Promise<Frame> {
  let frame = await pending;
  for (let i = from; i >= 0; i--) frame = await extensions[i]!.processIncoming(frame);
  return frame;
}

/**
 * Disposes every extension once, even when one of them throws (the first error is rethrown
 * after all were disposed).
 *
 * @example
 * ```ts
 * import { disposeExtensions } from "@wirestream/ws/raw";
 *
 * disposeExtensions([]);
 * ```
 *
 * @param extensions The extensions to release.
 */
export function disposeExtensions(extensions: readonly WebSocketExtension[]): void {
  let failure: { error: unknown } | null = null;
  for (const ext of extensions) {
    try {
      ext.dispose();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
