/**
 * The handshake's key and accept value (RFC 6455 §1.3, §4.1): the protocol GUID and version,
 * making and checking a `Sec-WebSocket-Key`, and computing the `Sec-WebSocket-Accept` that
 * proves the server read it (SHA-1 computed synchronously, without WebCrypto).
 *
 * @module
 */

import { utf8Encoder } from "./_text.ts";
import { sha1 } from "./sha1.ts";

/** The GUID appended to the key before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The only protocol version spoken, sent in `Sec-WebSocket-Version`. */
export const WEBSOCKET_VERSION = "13";

// base64 of exactly 16 bytes, canonical: 21 free characters, one whose low 4 bits are 0 (A, Q,
// g or w), then "==".
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const IS_BASE64 = new Uint8Array(128);
for (let i = 0; i < 64; i++) IS_BASE64[BASE64_ALPHABET.charCodeAt(i)] = 1;

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode.apply(null, bytes as unknown as number[]));
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: the canonical base64 encoding of exactly 16 bytes.
 *
 * @example
 * ```ts
 * import { isValidKey } from "@wirestream/ws/raw";
 *
 * console.log(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="), isValidKey("abc")); // true false
 * ```
 *
 * @param key The header value.
 * @returns `true` when the key is well-formed.
 */
export function isValidKey(key: string): boolean {
  if (typeof key !== "string" || key.length !== 24) return false;
  for (let i = 0; i < 21; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f || IS_BASE64[c] === 0) return false;
  }
  const last = key.charCodeAt(21);
  return (last === 0x41 || last === 0x51 || last === 0x67 || last === 0x77) &&
    key.charCodeAt(22) === 0x3d && key.charCodeAt(23) === 0x3d;
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 bytes from `crypto.getRandomValues`, base64-encoded.
 *
 * @example
 * ```ts
 * import { generateKey } from "@wirestream/ws/raw";
 *
 * console.log(generateKey().length); // 24
 * ```
 *
 * @returns A 24-character key.
 */
export function generateKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(16)));
}

const GUID_LENGTH = WEBSOCKET_GUID.length;
const GUID_BYTES = utf8Encoder.encode(WEBSOCKET_GUID);
/** The hashed message when it is ASCII: key then GUID (grown for long keys). */
let acceptInput = new Uint8Array(64);
/** The digest of the last accept value. */
const acceptDigest = new Uint8Array(20);
const BASE64_CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) BASE64_CODES[i] = BASE64_ALPHABET.charCodeAt(i);
/** @internal The length of an accept value: base64 of 20 bytes. */
export const ACCEPT_LENGTH = 28;
/** The last accept value, as bytes. */
const acceptBytes = new Uint8Array(ACCEPT_LENGTH);

/**
 * @internal Writes the accept value of `key` as {@linkcode ACCEPT_LENGTH} ASCII bytes at
 * `offset` of `out`.
 *
 * @param key The `Sec-WebSocket-Key` (taken as is; it is not validated).
 * @param out Where to write.
 * @param offset Where the value starts in `out`.
 * @throws {TypeError} When `key` is not a string.
 */
export function writeAccept(key: string, out: Uint8Array, offset: number): void {
  if (typeof key !== "string") throw new TypeError("The key must be a string");
  const length = key.length + GUID_LENGTH;
  let input: Uint8Array | null = acceptInput.length >= length ? acceptInput : null;
  if (input !== null) {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) {
        input = null;
        break;
      }
      input[i] = c;
    }
  }
  if (input !== null) {
    input.set(GUID_BYTES, key.length);
    input = input.subarray(0, length);
  } else {
    // Not ASCII, or longer than any valid key: UTF-8, as WebCrypto would have hashed it.
    input = utf8Encoder.encode(key + WEBSOCKET_GUID);
    if (length <= 1024 && acceptInput.length < length) acceptInput = new Uint8Array(length);
  }
  const d = sha1(input, acceptDigest);
  let j = offset;
  // 20 bytes: six groups of three, then two bytes and one "=".
  for (let i = 0; i < 18; i += 3) {
    const n = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
    out[j++] = BASE64_CODES[n >>> 18]!;
    out[j++] = BASE64_CODES[(n >>> 12) & 63]!;
    out[j++] = BASE64_CODES[(n >>> 6) & 63]!;
    out[j++] = BASE64_CODES[n & 63]!;
  }
  const n = (d[18]! << 16) | (d[19]! << 8);
  out[j++] = BASE64_CODES[n >>> 18]!;
  out[j++] = BASE64_CODES[(n >>> 12) & 63]!;
  out[j++] = BASE64_CODES[(n >>> 6) & 63]!;
  out[j] = 0x3d;
}

/**
 * The `Sec-WebSocket-Accept` value for a key: base64(SHA-1(key + {@linkcode WEBSOCKET_GUID})).
 *
 * @example
 * ```ts
 * import { computeAccept } from "@wirestream/ws/raw";
 *
 * console.log(computeAccept("dGhlIHNhbXBsZSBub25jZQ==")); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 *
 * @param key The `Sec-WebSocket-Key` (taken as is; it is not validated).
 * @returns The accept value.
 * @throws {TypeError} When `key` is not a string.
 */
export function computeAccept(key: string): string {
  writeAccept(key, acceptBytes, 0);
  return String.fromCharCode.apply(null, acceptBytes as unknown as number[]);
}
