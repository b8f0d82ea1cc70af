/**
 * What Deno's `WebSocket.send` gets for each kind of data a session's `send` accepts.
 *
 * @module
 */

import type { CloseReason } from "../core/close.ts";
import { Frame, readReason, readText } from "../core/frame.ts";
import type { Sendable } from "../session/raw_session.ts";
import { NOT_SENDABLE } from "../session/session_types.ts";
import { unsupported } from "./_native_errors.ts";

/** A payload for Deno's socket, or the close a close frame asks for. */
export type NativeSend =
  | { readonly payload: string | ArrayBuffer | ArrayBufferView | Blob }
  | { readonly close: CloseReason | null };

/**
 * Turns what `send` was given into what Deno's socket takes: strings, bytes and `Blob`s as
 * they are, a final text or binary frame as its payload, a close frame as its reason.
 *
 * @param data What to send.
 * @returns The payload, or the close.
 * @throws {TypeError} For pings, pongs, fragments, and what cannot be sent at all.
 * @throws {ProtocolError} For a close frame whose payload is not a close reason.
 */
export function nativePayload(data: Sendable): NativeSend {
  if (typeof data === "string" || data instanceof Uint8Array) return { payload: data };
  if (data instanceof Frame) {
    if (data.type === "close") return { close: readReason(data) };
    if (data.type === "ping" || data.type === "pong") {
      throw unsupported(`Sending a ${data.type} frame`);
    }
    if (!data.fin) throw unsupported("Sending a fragment");
    return { payload: data.type === "text" ? readText(data) : data.data };
  }
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data) || data instanceof Blob) {
    // Deno's WebSocket takes these as they are (a Blob in order with the other sends).
    return { payload: data };
  }
  throw new TypeError(NOT_SENDABLE);
}
