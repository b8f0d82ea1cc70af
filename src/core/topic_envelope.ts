/**
 * The topic envelope: how a server tells a subscriber which topic, offset and epoch a message
 * has, so that a client that reconnects can ask for what it missed. A subscription asks for it
 * (`session.subscribe(topic, { envelope: true })`); without it, subscribers get the bare
 * payload.
 *
 * An envelope is a text message holding one JSON object, one of:
 * - `{"topic":T,"epoch":E,"offset":N,"text":S}`: a text message `S`;
 * - `{"topic":T,"epoch":E,"offset":N,"binary":B}`: a binary message, base64 `B`;
 * - `{"topic":T,"epoch":E,"offset":N,"reset":R}`: recovery was impossible (`R` says why:
 *   `epoch-changed`, `offset-too-old`, `offset-ahead`, `no-history`); the subscription goes on
 *   from offset `N` of epoch `E`, and the application should reload its state;
 * - `{"topic":T,"epoch":E,"offset":N,"gap":F}`: messages `F`…`N` of the topic were lost on
 *   their way to this server (the backplane was down); the next message is `N + 1`.
 *
 * Any language can read it; {@linkcode TopicCursor} reads it in TypeScript and keeps the last
 * position per topic.
 *
 * @module
 */

/** A decoded envelope. */
export type TopicEnvelope =
  | {
    readonly kind: "message";
    readonly topic: string;
    readonly epoch: string;
    readonly offset: number;
    /** The payload: a string for a text message, bytes for a binary one. */
    readonly data: string | Uint8Array;
  }
  | {
    readonly kind: "reset";
    readonly topic: string;
    readonly epoch: string;
    readonly offset: number;
    /** Why recovery was impossible. */
    readonly reason: string;
  }
  | {
    readonly kind: "gap";
    readonly topic: string;
    readonly epoch: string;
    readonly offset: number;
    /** The first lost offset (the last is `offset`). */
    readonly from: number;
  };

interface Base64Bytes {
  toBase64?: () => string;
}
interface Base64Ctor {
  fromBase64?: (text: string) => Uint8Array;
}

function toBase64(bytes: Uint8Array): string {
  const native = (bytes as unknown as Base64Bytes).toBase64;
  if (native !== undefined) return native.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as unknown as Base64Ctor).fromBase64;
  if (native !== undefined) return native(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Encodes an envelope (the server does this once per published message).
 *
 * @example
 * ```ts
 * import { encodeTopicEnvelope } from "@wirestream/ws";
 * import assert from "node:assert/strict";
 *
 * const text = encodeTopicEnvelope({
 *   kind: "message",
 *   topic: "news",
 *   epoch: "e1",
 *   offset: 7,
 *   data: "hello",
 * });
 * assert.equal(text, '{"topic":"news","epoch":"e1","offset":7,"text":"hello"}');
 * ```
 *
 * @param envelope The envelope.
 * @returns The JSON text to send as a text message.
 */
export function encodeTopicEnvelope(envelope: TopicEnvelope): string {
  const head = `{"topic":${JSON.stringify(envelope.topic)},"epoch":${
    JSON.stringify(envelope.epoch)
  },"offset":${envelope.offset},`;
  switch (envelope.kind) {
    case "message":
      return typeof envelope.data === "string"
        ? `${head}"text":${JSON.stringify(envelope.data)}}`
        : `${head}"binary":"${toBase64(envelope.data)}"}`;
    case "reset":
      return `${head}"reset":${JSON.stringify(envelope.reason)}}`;
    case "gap":
      return `${head}"gap":${envelope.from}}`;
  }
}

/**
 * Decodes an envelope.
 *
 * @example
 * ```ts
 * import { parseTopicEnvelope } from "@wirestream/ws";
 * import assert from "node:assert/strict";
 *
 * const envelope = parseTopicEnvelope('{"topic":"news","epoch":"e1","offset":7,"text":"hi"}');
 * assert.equal(envelope?.kind, "message");
 * assert.equal(parseTopicEnvelope("not json"), null);
 * ```
 *
 * @param text A text message.
 * @returns The envelope, or `null` when `text` is not one.
 */
export function parseTopicEnvelope(text: string): TopicEnvelope | null {
  if (text.length < 2 || text.charCodeAt(0) !== 0x7b /* { */) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const o = value as Record<string, unknown>;
  const { topic, epoch, offset } = o;
  if (typeof topic !== "string" || typeof epoch !== "string") return null;
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) return null;
  if (typeof o.text === "string") return { kind: "message", topic, epoch, offset, data: o.text };
  if (typeof o.binary === "string") {
    let data: Uint8Array;
    try {
      data = fromBase64(o.binary);
    } catch {
      return null;
    }
    return { kind: "message", topic, epoch, offset, data };
  }
  if (typeof o.reset === "string") return { kind: "reset", topic, epoch, offset, reason: o.reset };
  if (typeof o.gap === "number" && Number.isSafeInteger(o.gap) && o.gap <= offset) {
    return { kind: "gap", topic, epoch, offset, from: o.gap };
  }
  return null;
}

/** A position in a topic: the last offset seen and its epoch. */
export interface TopicCursorPosition {
  /** The offset of the last message seen. */
  readonly offset: number;
  /** The topic's epoch. */
  readonly epoch: string;
}

/**
 * Reads topic envelopes and remembers, per topic, the last position seen: what a client sends
 * when it reconnects so that the server can replay what it missed.
 *
 * @example Resume after a reconnect
 * ```ts
 * import { TopicCursor } from "@wirestream/ws";
 * import assert from "node:assert/strict";
 *
 * const cursor = new TopicCursor();
 * const envelope = cursor.read('{"topic":"news","epoch":"e1","offset":41,"text":"hello"}');
 * assert.equal(envelope?.kind === "message" && envelope.data, "hello");
 * assert.deepEqual(cursor.position("news"), { offset: 41, epoch: "e1" });
 * // On reconnect, send it, e.g. in the URL: ?since=41&epoch=e1
 * ```
 */
export class TopicCursor {
  readonly #positions = new Map<string, TopicCursorPosition>();

  /**
   * Reads a message: an envelope updates the topic's position and is returned; anything else
   * returns `null` and changes nothing.
   *
   * @param message A text message's content, or a frame-like object with `type` and `data`.
   * @returns The envelope, or `null`.
   */
  read(
    message: string | { readonly type: string; readonly data: Uint8Array },
  ): TopicEnvelope | null {
    let text: string;
    if (typeof message === "string") text = message;
    else if (message.type === "text") text = DECODER.decode(message.data);
    else return null;
    const envelope = parseTopicEnvelope(text);
    if (envelope !== null) {
      this.#positions.set(envelope.topic, { offset: envelope.offset, epoch: envelope.epoch });
    }
    return envelope;
  }

  /**
   * The last position seen on `topic`.
   *
   * @param topic The topic.
   * @returns The position, or `undefined` before the topic's first envelope.
   */
  position(topic: string): TopicCursorPosition | undefined {
    return this.#positions.get(topic);
  }

  /**
   * Every topic's last position.
   *
   * @returns A plain object (JSON-ready), topic → position.
   */
  positions(): Record<string, TopicCursorPosition> {
    return Object.fromEntries(this.#positions);
  }
}

const DECODER = new TextDecoder();
