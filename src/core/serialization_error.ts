/**
 * {@linkcode SerializationError}: a content converter is missing or failed.
 *
 * @module
 */

import type { Frame } from "./frame.ts";
import {
  WebSocketError,
  type WebSocketErrorCode,
  type WebSocketErrorOptions,
} from "./websocket_error.ts";

/** What a {@linkcode SerializationError} knows. */
export interface SerializationErrorOptions extends WebSocketErrorOptions {
  /** The received frame that could not be deserialized. */
  frame?: Frame;
}

/**
 * A content converter is missing (`CONVERTER_NOT_FOUND`), could not serialize a value
 * (`SERIALIZATION_FAILED`), or could not deserialize or validate a received message
 * (`DESERIALIZATION_FAILED`, with the offending {@linkcode SerializationError.frame}).
 *
 * @example
 * ```ts
 * import { Frame, SerializationError } from "@wirestream/ws";
 *
 * const err = new SerializationError("DESERIALIZATION_FAILED", "Not JSON", {
 *   frame: Frame.text("{oops"),
 * });
 * console.log(err.code, err.frame?.type); // DESERIALIZATION_FAILED text
 * ```
 */
export class SerializationError extends WebSocketError {
  /** The received frame that could not be deserialized, if that is what failed. */
  readonly frame: Frame | undefined;

  /**
   * Creates a serialization error.
   *
   * @param code `CONVERTER_NOT_FOUND`, `SERIALIZATION_FAILED` or `DESERIALIZATION_FAILED`.
   * @param message The human-readable message.
   * @param options The frame and cause.
   */
  constructor(
    code: WebSocketErrorCode,
    message: string,
    options?: SerializationErrorOptions,
  ) {
    super(code, message, options);
    this.frame = options?.frame;
  }
}
