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

/** Something a session can send: a frame, text (a text frame) or bytes (a binary frame). */
export type Sendable = Frame | string | Uint8Array;

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

/** @internal Turns a string, bytes or frame into a frame. */
export function toFrame(data: Sendable): Frame {
  if (typeof data === "string") return Frame.text(data);
  if (data instanceof Frame) return data;
  if (data instanceof Uint8Array) return Frame.binary(data);
  throw new TypeError("Can only send a Frame, a string or a Uint8Array");
}

/**
 * @internal Marks a write's promise as handled: whoever awaits it still gets the error, but an
 * unawaited send on a broken connection is no unhandled rejection (`incoming` reports the fault).
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
