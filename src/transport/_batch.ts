/**
 * The batch of a `FrameWriter`: frames queued together, written in one go.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import { type FrameEncoder, MAX_HEADER_SIZE } from "../core/frame_encoder.ts";

/**
 * Unmasked payloads at least this large are written as they are, not copied. Smaller ones are
 * copied into the batch buffer: a 64 KiB copy costs less than the second write (and the
 * separate header segment the peer wakes up for) that writing header and payload apart needs.
 */
const COPY_LIMIT = 65 * 1024;
/** The first batch buffer, allocated at the first write (idle connections hold none). */
const FIRST_BUFFER = 4096;
const NO_BUFFER = new Uint8Array(0);
/** Placeholder settlers of a batch nobody awaits yet (shared: an idle writer holds no closure). */
export const NOOP = (): void => {};

/** A group of frames written together; every writer of the group awaits the same promise. */
export interface Batch {
  /** Byte ranges in order: views of the batch buffer and whole payloads. */
  parts: Uint8Array[];
  buf: Uint8Array;
  /** Start of the bytes in `buf` not yet closed off into `parts`. */
  mark: number;
  len: number;
  bytes: number;
  /**
   * How many of `parts` are small encoded frames kept by reference (shared by the sessions of
   * a topic), copied together into one buffer when the batch is written.
   */
  refs: number;
  promise: Promise<void> | null;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function newBatch(): Batch {
  return {
    parts: [],
    buf: NO_BUFFER,
    mark: 0,
    len: 0,
    bytes: 0,
    refs: 0,
    promise: null,
    resolve: NOOP,
    reject: NOOP,
  };
}

/**
 * Encodes `frame` into `batch`.
 *
 * @returns The bytes it counts for (header bound plus payload).
 */
export function appendFrame(batch: Batch, encoder: FrameEncoder, frame: Frame): number {
  const length = frame.data.length;
  if (!encoder.mask && length >= COPY_LIMIT) {
    // Header into the buffer, payload as its own part.
    reserve(batch, MAX_HEADER_SIZE);
    batch.len = encoder.encodeHeaderInto(frame, batch.buf, batch.len);
    batch.parts.push(batch.buf.subarray(batch.mark, batch.len), frame.data);
    batch.mark = batch.len;
  } else {
    const size = encoder.encodedSize(frame);
    if (size >= COPY_LIMIT) {
      const own = new Uint8Array(size);
      encoder.encodeInto(frame, own, 0);
      if (batch.len > batch.mark) batch.parts.push(batch.buf.subarray(batch.mark, batch.len));
      batch.parts.push(own);
      batch.mark = batch.len;
    } else {
      reserve(batch, size);
      batch.len = encoder.encodeInto(frame, batch.buf, batch.len);
    }
  }
  const added = MAX_HEADER_SIZE + length;
  batch.bytes += added;
  return added;
}

/**
 * Adds an encoded frame's bytes to `batch` by reference (they are never modified: a topic's
 * message shared by its subscribers): no copy per session while they wait; small ones are
 * copied together when the batch is written ({@linkcode coalesce}).
 *
 * @returns The bytes added.
 */
export function appendBytes(batch: Batch, bytes: Uint8Array): number {
  const length = bytes.length;
  if (batch.len > batch.mark) batch.parts.push(batch.buf.subarray(batch.mark, batch.len));
  batch.mark = batch.len;
  batch.parts.push(bytes);
  if (length < COPY_LIMIT) batch.refs++;
  batch.bytes += length;
  return length;
}

/**
 * Before `batch` is written: copies each run of small parts that holds a reference into one
 * buffer of its exact size, so that the socket gets one write per run (as many small frames
 * encoded into the batch buffer do). A lone part is written as it is.
 */
export function coalesce(batch: Batch): void {
  if (batch.refs === 0) return;
  batch.refs = 0;
  const parts = batch.parts;
  if (parts.length < 2) return;
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < parts.length) {
    const first = parts[i]!;
    if (first.length >= COPY_LIMIT) {
      out.push(first);
      i++;
      continue;
    }
    let end = i + 1;
    let size = first.length;
    while (end < parts.length && parts[end]!.length < COPY_LIMIT) size += parts[end++]!.length;
    if (end - i === 1) out.push(first);
    else {
      // When the batch holds only references, its own buffer (kept from batch to batch) takes
      // them: a session that gets topic messages all along allocates no buffer per write.
      const joined = batch.len === 0 && i === 0 && end === parts.length
        ? ownBuffer(batch, size)
        : new Uint8Array(size);
      let at = 0;
      for (let k = i; k < end; k++) {
        joined.set(parts[k]!, at);
        at += parts[k]!.length;
      }
      out.push(joined);
    }
    i = end;
  }
  parts.length = 0;
  for (let k = 0; k < out.length; k++) parts.push(out[k]!);
}

/** The first `size` bytes of the batch buffer (grown when smaller), which holds nothing yet. */
function ownBuffer(batch: Batch, size: number): Uint8Array {
  if (batch.buf.length < size) {
    let capacity = Math.max(FIRST_BUFFER, batch.buf.length * 2);
    while (capacity < size) capacity *= 2;
    batch.buf = new Uint8Array(capacity);
  }
  return batch.buf.subarray(0, size);
}

/** Makes room for `size` more bytes in the batch buffer. */
function reserve(batch: Batch, size: number): void {
  if (batch.len + size <= batch.buf.length) return;
  let capacity = Math.max(FIRST_BUFFER, batch.buf.length * 2);
  while (capacity < batch.len + size) capacity *= 2;
  const grown = new Uint8Array(capacity);
  // Earlier parts keep viewing the old buffer; copy only what is not closed off yet.
  grown.set(batch.buf.subarray(batch.mark, batch.len), 0);
  batch.len -= batch.mark;
  batch.mark = 0;
  batch.buf = grown;
}
