/**
 * Piped input as messages: the byte stream cut at newlines, at NUL bytes, or not at all, and
 * each piece taken as text, as hex or base64 of binary data, or as binary data.
 *
 * @module
 */

import type { Framing, InputKind } from "./settings.ts";
import { decodeBinary } from "./codec.ts";

/** One piece of input: a message, or why a piece could not be one. */
export type InputMessage =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly data: Uint8Array }
  | { readonly kind: "invalid"; readonly error: string };

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Cuts a byte stream into pieces: at `\n` (a `\r` before it is dropped too), at NUL bytes, or
 * not at all (`whole`: one piece, none for an empty stream). A last piece without its
 * delimiter is kept unless empty.
 *
 * @example
 * ```ts
 * import { splitStream } from "./input.ts";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("a\nb")]);
 * for await (const piece of splitStream(stream, "line")) console.log(piece); // "a", then "b" (as bytes)
 * ```
 *
 * @param stream The bytes.
 * @param framing Where to cut.
 * @returns The pieces, without delimiters.
 */
export async function* splitStream(
  stream: ReadableStream<Uint8Array>,
  framing: Framing,
): AsyncGenerator<Uint8Array> {
  const delimiter = framing === "line" ? 10 : framing === "null" ? 0 : -1;
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    let data = chunk;
    if (pending.length > 0) {
      data = new Uint8Array(pending.length + chunk.length);
      data.set(pending);
      data.set(chunk, pending.length);
    }
    let start = 0;
    if (delimiter !== -1) {
      for (let i = data.indexOf(delimiter); i !== -1; i = data.indexOf(delimiter, start)) {
        yield trimCr(data.subarray(start, i), framing);
        start = i + 1;
      }
    }
    pending = data.slice(start);
  }
  if (pending.length > 0) yield trimCr(pending, framing);
}

function trimCr(piece: Uint8Array, framing: Framing): Uint8Array {
  return framing === "line" && piece.at(-1) === 13 ? piece.subarray(0, -1) : piece;
}

/**
 * Takes a piece of input as a message of the kind asked for.
 *
 * @example
 * ```ts
 * import { toMessage } from "./input.ts";
 *
 * console.log(toMessage(new TextEncoder().encode("cafe"), "hex")); // { kind: "binary", data: … }
 * ```
 *
 * @param piece The bytes.
 * @param kind Text, hex, base64 or binary.
 * @returns The message, or why it is not one.
 */
export function toMessage(piece: Uint8Array, kind: InputKind): InputMessage {
  if (kind === "binary") return { kind: "binary", data: piece.slice() };
  const text = utf8.decode(piece);
  if (kind === "text") return { kind: "text", text };
  try {
    return { kind: "binary", data: decodeBinary(text, kind) };
  } catch (err) {
    return { kind: "invalid", error: (err as Error).message };
  }
}
