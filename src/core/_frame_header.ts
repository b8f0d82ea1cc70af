/**
 * Header helpers of the frame decoder (RFC 6455 §5.2): the frame type of each opcode, the 64-bit
 * payload length, and the errors a bad header or payload fails with. Apart from the opcode
 * table, they run only on a 64-bit length or a failure: decoding an ordinary frame calls none.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { FrameType } from "./frame.ts";

/** The frame type of each opcode; `undefined` for a reserved one. */
export const OPCODE_TYPES: readonly (FrameType | undefined)[] = [
  undefined,
  "text",
  "binary",
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  "close",
  "ping",
  "pong",
];

/**
 * A `PROTOCOL_ERROR` (close code 1002).
 *
 * @param message What the peer did wrong.
 * @returns The error.
 */
export function violation(message: string): ProtocolError {
  return new ProtocolError("PROTOCOL_ERROR", 1002, message);
}

/**
 * The error of a text message that is not valid UTF-8 (close code 1007).
 *
 * @returns The error.
 */
export function invalidUtf8(): ProtocolError {
  return new ProtocolError("INVALID_UTF8", 1007, "Invalid UTF-8 in text message");
}

/**
 * The error of a frame masked the wrong way: a server receives masked frames only, a client
 * unmasked ones.
 *
 * @param server Whether the server decodes.
 * @returns The `PROTOCOL_ERROR`.
 */
export function maskingError(server: boolean): ProtocolError {
  return violation(server ? "Client frames must be masked" : "Server frames must not be masked");
}

/**
 * Reads a 64-bit payload length (big-endian) at `buf[p]`.
 *
 * @param buf The header bytes.
 * @param p Where the length starts.
 * @returns The length.
 * @throws {ProtocolError} `PROTOCOL_ERROR` when the most significant bit is set.
 */
export function readLength64(buf: Uint8Array, p: number): number {
  const hi = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
  if (hi & 0x80000000) throw violation("64-bit payload length with the most significant bit set");
  const lo = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
  return hi * 0x100000000 + lo;
}

/**
 * The error of a frame whose payload is over the limit.
 *
 * @param length The frame's payload length.
 * @param max The largest accepted.
 * @returns The `FRAME_TOO_BIG` error (close code 1009).
 */
export function frameTooBig(length: number, max: number): ProtocolError {
  return new ProtocolError(
    "FRAME_TOO_BIG",
    1009,
    `Frame is too big: ${length}. Max size is ${max}`,
  );
}

/**
 * The error of a data message whose size so far is over the limit.
 *
 * @param size The sum of its fragments' payloads so far.
 * @param max The largest accepted.
 * @returns The `MESSAGE_TOO_BIG` error (close code 1009).
 */
export function messageTooBig(size: number, max: number): ProtocolError {
  return new ProtocolError(
    "MESSAGE_TOO_BIG",
    1009,
    `Message is too big: ${size}. Max size is ${max}`,
  );
}
