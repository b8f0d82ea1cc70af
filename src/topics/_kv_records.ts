/**
 * The Deno KV backplane's records, keys, limits and errors (private to `kv_backplane.ts`).
 *
 * Layout under the prefix, per topic:
 * - `[...prefix, topic, "h"]`: the head, {@linkcode HeadRecord} (the last offset and the epoch);
 * - `[...prefix, topic, "m", offset]`: one message, {@linkcode EntryRecord}.
 *
 * @module
 */

import type { TopicData } from "./backplane.ts";

/** The stable codes carried by {@linkcode KvBackplaneError.code}. */
export type KvBackplaneErrorCode =
  /** A publish lost the race for the topic's head too many times in a row. */
  | "PUBLISH_CONFLICT"
  /** The backplane is closed (or closing). */
  | "BACKPLANE_CLOSED"
  /** A method was called before `start()`. */
  | "BACKPLANE_NOT_STARTED"
  /** Deno KV failed (the cause says why). */
  | "BACKPLANE_FAILED";

/**
 * A fault of the Deno KV backplane, with a stable {@linkcode KvBackplaneError.code}. Bad
 * arguments throw `TypeError` or `RangeError` instead.
 *
 * @example Branch on the stable code
 * ```ts
 * import { KvBackplaneError } from "@wirestream/ws/kv";
 *
 * function retryable(err: unknown): boolean {
 *   return err instanceof KvBackplaneError && err.code === "PUBLISH_CONFLICT";
 * }
 * console.log(retryable(new KvBackplaneError("PUBLISH_CONFLICT", "busy topic"))); // true
 * ```
 */
export class KvBackplaneError extends Error {
  /** A stable, machine-readable code; the message may change, the code does not. */
  readonly code: KvBackplaneErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code The stable code.
   * @param message The human-readable message.
   * @param options The cause, if any.
   */
  constructor(code: KvBackplaneErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** The class name, `"KvBackplaneError"`. */
  override get name(): string {
    return "KvBackplaneError";
  }
}

/** A topic's head: the offset of its last message and its epoch. */
export interface HeadRecord {
  /** The last offset (0 before the first message). */
  o: number;
  /** The epoch. */
  e: string;
}

/** A head as read, with its versionstamp (versionstamps only grow, so they order reads). */
export interface SeenHead extends HeadRecord {
  /** The head's versionstamp. */
  stamp: string;
}

/** One stored message. */
export interface EntryRecord {
  /** The epoch it was published in (entries of an older epoch are ignored). */
  e: string;
  /** The payload (Deno KV keeps strings and `Uint8Array`s apart). */
  d: TopicData;
  /** The publishing backplane's node id. */
  n: string;
  /** The publisher's `ref`. */
  r: number;
  /** When it was published (`Date.now()`), for the history's ttl. */
  t: number;
}

/** The most payload bytes a message may carry: a Deno KV value is at most 64 KiB. */
export const MAX_DATA_BYTES = 63 * 1024;

/** The longest topic, in UTF-8 bytes (a Deno KV key is at most 2 KiB). */
export const MAX_TOPIC_BYTES = 1024;

/** The fewest entries a topic with history keeps, so that other processes can read them. */
export const DELIVERY_WINDOW = 10_000;

/** The shortest time an entry is kept, so that other processes can read it. */
export const DELIVERY_TTL = 60_000;

/** The most messages (and payload bytes) one atomic operation writes. */
export const BATCH_MESSAGES = 100;
/** See {@linkcode BATCH_MESSAGES}. */
export const BATCH_BYTES = 400 * 1024;

/** How many keys one `getMany` or `watch` takes (a Deno KV limit). */
export const KEYS_PER_READ = 10;

const encoder = new TextEncoder();

/** The payload's size in bytes (an upper bound for long strings, exact otherwise). */
export function dataBytes(data: TopicData): number {
  if (typeof data !== "string") return data.byteLength;
  return data.length * 3 <= MAX_DATA_BYTES ? data.length * 3 : encoder.encode(data).byteLength;
}

/** Checks a topic name; throws `TypeError` or `RangeError`. */
export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string") throw new TypeError("A topic must be a string");
  if (topic.length === 0) throw new RangeError("A topic must not be empty");
  if (topic.length > MAX_TOPIC_BYTES / 3 && encoder.encode(topic).byteLength > MAX_TOPIC_BYTES) {
    throw new RangeError(`A topic must be at most ${MAX_TOPIC_BYTES} bytes of UTF-8`);
  }
}

/** Checks a payload; throws `TypeError` or `RangeError`. */
export function checkData(data: unknown): asserts data is TopicData {
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new TypeError("A topic message must be a string or a Uint8Array");
  }
  if (dataBytes(data) > MAX_DATA_BYTES) {
    throw new RangeError(
      `A topic message carried by Deno KV must be at most ${MAX_DATA_BYTES} bytes`,
    );
  }
}

/** A random epoch: 16 hex digits. */
export function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether `value` looks like a {@linkcode HeadRecord}. */
export function isHead(value: unknown): value is HeadRecord {
  const v = value as HeadRecord | null;
  return typeof v === "object" && v !== null && Number.isSafeInteger(v.o) && v.o >= 0 &&
    typeof v.e === "string";
}

/** Whether `value` looks like an {@linkcode EntryRecord}. */
export function isEntry(value: unknown): value is EntryRecord {
  const v = value as EntryRecord | null;
  return typeof v === "object" && v !== null && typeof v.e === "string" &&
    (typeof v.d === "string" || v.d instanceof Uint8Array) && typeof v.n === "string";
}

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (never rejects).
 *
 * @param ms How long.
 * @param signal Cuts the wait short.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
