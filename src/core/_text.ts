/** Shared UTF-8 encoder and (lossy) decoder instances. @module */

/** A shared `TextEncoder`. */
export const utf8Encoder: TextEncoder = new TextEncoder();
/** A shared lossy UTF-8 `TextDecoder` that keeps a leading BOM. */
export const utf8Decoder: TextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
