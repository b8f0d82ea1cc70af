/**
 * Binary payloads as text, both ways: received binary messages are printed as hex or base64,
 * and binary input (piped, `-x`, `/binary`) is read from hex, base64 or a file.
 *
 * @module
 */

/** How binary data is written as text. */
export type BinaryEncoding = "hex" | "base64";

/**
 * Writes bytes as hex (lower case, no separators) or base64 (padded).
 *
 * @example
 * ```ts
 * import { encodeBinary } from "./codec.ts";
 *
 * console.log(encodeBinary(new Uint8Array([0xca, 0xfe]), "hex")); // "cafe"
 * ```
 *
 * @param data The bytes.
 * @param encoding Hex or base64.
 * @returns The text.
 */
export function encodeBinary(data: Uint8Array, encoding: BinaryEncoding): string {
  return encoding === "hex" ? data.toHex() : data.toBase64();
}

/**
 * Reads hex or base64 text into bytes. White space is ignored; hex may also be written with
 * `:` between bytes (`ca:fe`).
 *
 * @example
 * ```ts
 * import { decodeBinary } from "./codec.ts";
 *
 * console.log(decodeBinary("ca fe", "hex")); // Uint8Array(2) [ 202, 254 ]
 * ```
 *
 * @param text The text.
 * @param encoding Hex or base64.
 * @returns The bytes.
 * @throws {TypeError} When the text is not valid in that encoding.
 */
export function decodeBinary(text: string, encoding: BinaryEncoding): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  try {
    if (encoding === "hex") return Uint8Array.fromHex(compact.replaceAll(":", ""));
    return Uint8Array.fromBase64(compact);
  } catch {
    const shown = compact.length > 40 ? `${compact.slice(0, 40)}…` : compact;
    throw new TypeError(`not valid ${encoding}: "${shown}"`);
  }
}

/** What a `/binary` argument names: bytes given inline, or a file to read. */
export type BinarySource = { readonly data: Uint8Array } | { readonly file: string };

/**
 * Reads the argument of `/binary`: `@PATH` names a file; `hex:…` and `base64:…` say the encoding;
 * otherwise text made only of hex digits (an even count) is hex, and anything else base64.
 *
 * @example
 * ```ts
 * import { parseBinaryArgument } from "./codec.ts";
 *
 * console.log(parseBinaryArgument("cafe")); // { data: Uint8Array(2) [ 202, 254 ] }
 * console.log(parseBinaryArgument("@photo.png")); // { file: "photo.png" }
 * ```
 *
 * @param arg The argument.
 * @returns The bytes, or the file's path.
 * @throws {TypeError} When the argument is empty or not valid hex or base64.
 */
export function parseBinaryArgument(arg: string): BinarySource {
  const text = arg.trim();
  if (text === "") throw new TypeError("/binary needs hex, base64 or @FILE");
  if (text.startsWith("@")) {
    if (text.length === 1) throw new TypeError("/binary @ needs a file name");
    return { file: text.slice(1) };
  }
  const prefixed = /^(hex|base64|b64):/i.exec(text);
  if (prefixed) {
    const encoding = prefixed[1]!.toLowerCase() === "hex" ? "hex" : "base64";
    return { data: decodeBinary(text.slice(prefixed[0].length), encoding) };
  }
  const compact = text.replace(/[\s:]+/g, "");
  if (/^(?:[0-9a-f]{2})+$/i.test(compact)) return { data: decodeBinary(compact, "hex") };
  return { data: decodeBinary(text, "base64") };
}
