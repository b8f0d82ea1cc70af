/**
 * What every session is built from and exchanges: the HTTP upgrade that opened it, what it can
 * send, and how sent values become frames.
 *
 * @module
 */

import { Frame } from "../core/frame.ts";
import type { Transport } from "../transport/transport.ts";

/** The request side of the upgrade, as sent or received. */
export interface UpgradeRequest {
  /** The WebSocket URL. */
  readonly url: URL;
  /** The HTTP method (GET). */
  readonly method: string;
  /** The request headers. */
  readonly headers: Headers;
}

/** The response side of the upgrade. */
export interface UpgradeResponse {
  /** 101. */
  readonly status: number;
  /** The reason phrase. */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
}

/** The HTTP exchange that opened a session. */
export interface UpgradeCall {
  /** The request. */
  readonly request: UpgradeRequest;
  /** The 101 response. */
  readonly response: UpgradeResponse;
}

/**
 * Something a session can send: a frame, text (a text frame) or bytes (a binary frame). Bytes
 * may be a `Uint8Array`, an `ArrayBuffer`, any other typed array or `DataView` (sent as the bytes
 * it views, without a copy), or a `Blob` (read first; the send stays in order with the others).
 */
export type Sendable = Frame | string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob;

/** @internal What a session is built from. */
export interface SessionInit {
  conn: Transport;
  role: "client" | "server";
  call: UpgradeCall;
  protocol: string;
  leftover?: Uint8Array;
  maxFrameSize: number;
  masking: boolean;
  closeTimeout: number;
  /** RSV bits negotiated extensions use (raw routes with `negotiateExtensions`). */
  allowedRsv?: number;
  /** Names of negotiated extensions, for raw sessions that surface compressed frames. */
  extensions?: readonly unknown[];
}

/** @internal The message of the `TypeError` for something that cannot be sent. */
export const NOT_SENDABLE =
  "Can only send a Frame, a string, a Uint8Array, an ArrayBuffer, a typed array, a DataView or a Blob";

/**
 * @internal The bytes of an `ArrayBuffer` or of a typed array or `DataView`, as a `Uint8Array`
 * over the same memory (no copy); `null` for anything else.
 */
export function viewBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null;
}

/** @internal The bytes of a `Blob`. */
export async function blobBytes(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** @internal Turns a string, bytes or frame into a frame (a `Blob` must be read first). */
export function toFrame(data: Exclude<Sendable, Blob>): Frame {
  if (typeof data === "string") return Frame.text(data);
  if (data instanceof Frame) return data;
  if (data instanceof Uint8Array) return Frame.binary(data);
  const bytes = viewBytes(data);
  if (bytes !== null) return Frame.binary(bytes);
  throw new TypeError(NOT_SENDABLE);
}

/**
 * @internal Marks a write's promise as handled: whoever awaits it still gets the error, but an
 * unawaited send on a broken connection is no unhandled rejection (`incoming` reports the fault).
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
