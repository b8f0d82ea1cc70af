/**
 * Content converters: how `sendSerialized` turns a value into a frame and `receiveDeserialized`
 * turns a message back into a value (Ktor's `WebsocketContentConverter`).
 *
 * @module
 */

import { ConnectionClosedError, SerializationError } from "../core/errors.ts";
import { Frame, readText } from "../core/frame.ts";
import { checkFunction } from "./options.ts";

/**
 * Turns values into frames and frames into values. A string format (JSON, XML) makes text
 * frames; a byte format (CBOR, MessagePack, protobuf) makes binary frames.
 *
 * @example A binary converter for `Uint32` numbers
 * ```ts
 * import { Frame, type WebSocketContentConverter } from "@wirestream/ws";
 *
 * const uint32: WebSocketContentConverter = {
 *   serialize(value) {
 *     const out = new Uint8Array(4);
 *     new DataView(out.buffer).setUint32(0, value as number);
 *     return Frame.binary(out);
 *   },
 *   deserialize(frame) {
 *     return new DataView(frame.data.buffer, frame.data.byteOffset, 4).getUint32(0);
 *   },
 *   isApplicable(frame) {
 *     return frame.type === "binary" && frame.data.length === 4;
 *   },
 * };
 * const frame = await uint32.serialize(4242);
 * console.log(uint32.isApplicable(frame), await uint32.deserialize(frame)); // true 4242
 * ```
 */
export interface WebSocketContentConverter {
  /**
   * Serializes a value into one complete frame.
   *
   * @param value The value.
   * @returns A text or binary frame with `fin` set.
   */
  serialize(value: unknown): Frame | Promise<Frame>;
  /**
   * Deserializes a complete message.
   *
   * @param frame A text or binary frame for which `isApplicable` returned `true`.
   * @returns The value.
   */
  deserialize(frame: Frame): unknown;
  /**
   * Whether this converter can read `frame` (a JSON converter reads text frames only).
   *
   * @param frame The received message.
   * @returns `true` when `deserialize` may be called with it.
   */
  isApplicable(frame: Frame): boolean;
}

/** Options of {@linkcode jsonConverter}. */
export interface JsonConverterOptions {
  /**
   * Passed to `JSON.parse` for every received message.
   * @default {undefined}
   */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
  /**
   * Passed to `JSON.stringify` for every sent value.
   * @default {undefined}
   */
  replacer?: (this: unknown, key: string, value: unknown) => unknown;
}

/**
 * The JSON converter: values go out as text frames holding `JSON.stringify(value)`, text
 * messages come back through `JSON.parse`. Binary messages are not applicable. `null`
 * serializes to `null`; `undefined`, functions and symbols have no JSON form and fail with a
 * {@linkcode SerializationError} (`SERIALIZATION_FAILED`), as do `BigInt`s and cycles.
 *
 * @example
 * ```ts
 * import { jsonConverter, readText } from "@wirestream/ws";
 *
 * const json = jsonConverter();
 * const frame = json.serialize({ name: "user", id: 123 }) as import("@wirestream/ws").Frame;
 * console.log(readText(frame)); // {"name":"user","id":123}
 * console.log(json.deserialize(frame)); // { name: "user", id: 123 }
 * ```
 *
 * @example Dates as ISO strings both ways
 * ```ts
 * import { Frame, jsonConverter } from "@wirestream/ws";
 *
 * const json = jsonConverter({
 *   reviver: (key, value) => key === "at" ? new Date(value as string) : value,
 * });
 * const value = json.deserialize(Frame.text('{"at":"2026-01-01T00:00:00.000Z"}'));
 * console.log((value as { at: Date }).at instanceof Date); // true
 * ```
 *
 * @param options A reviver for `JSON.parse`, a replacer for `JSON.stringify`.
 * @returns The converter.
 * @throws {TypeError} When the reviver or replacer is not a function.
 */
export function jsonConverter(options?: JsonConverterOptions): WebSocketContentConverter {
  const reviver = options?.reviver;
  const replacer = options?.replacer;
  checkFunction("jsonConverter: reviver", reviver);
  checkFunction("jsonConverter: replacer", replacer);
  return {
    serialize(value: unknown): Frame {
      let text: string | undefined;
      try {
        text = JSON.stringify(value, replacer);
      } catch (cause) {
        throw new SerializationError(
          "SERIALIZATION_FAILED",
          `Can't serialize value to JSON: ${cause instanceof Error ? cause.message : cause}`,
          { cause },
        );
      }
      if (text === undefined) {
        throw new SerializationError(
          "SERIALIZATION_FAILED",
          `Can't serialize value to JSON: ${typeof value} has no JSON form`,
        );
      }
      return Frame.text(text);
    },
    deserialize(frame: Frame): unknown {
      return JSON.parse(readText(frame), reviver);
    },
    isApplicable(frame: Frame): boolean {
      return frame.type === "text";
    },
  };
}

/** A type guard, or an assertion function, that checks a deserialized value. */
export type Validator<T> =
  | ((value: unknown) => value is T)
  | ((value: unknown) => asserts value is T);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** @internal The session's converter, or a `CONVERTER_NOT_FOUND` error. */
export function requireConverter(
  converter: WebSocketContentConverter | undefined,
): WebSocketContentConverter {
  if (converter === undefined) {
    throw new SerializationError(
      "CONVERTER_NOT_FOUND",
      "No converter was found for websocket: pass the converter option (e.g. jsonConverter())",
    );
  }
  return converter;
}

/** @internal Checks the `validate` argument of `receiveDeserialized`. */
export function checkValidator(validate: unknown): void {
  checkFunction("receiveDeserialized: validate", validate);
}

/** @internal `sendSerialized`'s conversion: a complete text or binary frame, or a typed error. */
export async function serializeValue(
  converter: WebSocketContentConverter,
  value: unknown,
): Promise<Frame> {
  let frame: unknown;
  try {
    frame = await converter.serialize(value);
  } catch (cause) {
    if (cause instanceof SerializationError) throw cause;
    throw new SerializationError(
      "SERIALIZATION_FAILED",
      `Can't serialize value: ${errorText(cause)}`,
      {
        cause,
      },
    );
  }
  if (!(frame instanceof Frame) || frame.isControl || !frame.fin) {
    throw new SerializationError(
      "SERIALIZATION_FAILED",
      "The converter must return a complete text or binary Frame",
    );
  }
  return frame;
}

/**
 * @internal `receiveDeserialized`'s conversion of a received message: the converter must apply
 * to it, deserialize it, and the value must pass `validate`; every failure is a
 * `DESERIALIZATION_FAILED` error carrying the frame.
 */
export async function deserializeFrame<T>(
  converter: WebSocketContentConverter,
  frame: Frame,
  validate?: Validator<T>,
): Promise<T> {
  if (!converter.isApplicable(frame)) {
    throw new SerializationError(
      "DESERIALIZATION_FAILED",
      `Converter doesn't support frame type ${frame.type.toUpperCase()}`,
      { frame },
    );
  }
  let value: unknown;
  try {
    value = await converter.deserialize(frame);
  } catch (cause) {
    if (cause instanceof SerializationError && cause.frame !== undefined) throw cause;
    throw new SerializationError(
      "DESERIALIZATION_FAILED",
      `Can't deserialize the message: ${errorText(cause)}`,
      { frame, cause },
    );
  }
  if (validate !== undefined) {
    let ok: unknown;
    try {
      ok = validate(value);
    } catch (cause) {
      throw new SerializationError(
        "DESERIALIZATION_FAILED",
        `The message failed validation: ${errorText(cause)}`,
        { frame, cause },
      );
    }
    if (ok === false) {
      throw new SerializationError("DESERIALIZATION_FAILED", "The message failed validation", {
        frame,
      });
    }
  }
  return value as T;
}

/**
 * @internal The values of the messages `receive` gives, deserialized and validated, until the
 * session ends cleanly (`receive` rejects with `SESSION_CLOSED`); a failure is thrown. The
 * `deserialized()` of every managed session.
 *
 * @param converter The session's converter (checked at the first value).
 * @param receive The session's `receive`.
 * @param validate A type guard or an assertion function.
 * @returns An async iterator of values.
 */
export async function* deserializeAll<T>(
  converter: WebSocketContentConverter | undefined,
  receive: () => Promise<Frame>,
  validate?: Validator<T>,
): AsyncGenerator<T, void, undefined> {
  const checked = requireConverter(converter);
  checkValidator(validate);
  while (true) {
    let frame: Frame;
    try {
      frame = await receive();
    } catch (err) {
      if (err instanceof ConnectionClosedError && err.code === "SESSION_CLOSED") return;
      throw err;
    }
    yield await deserializeFrame(checked, frame, validate);
  }
}
