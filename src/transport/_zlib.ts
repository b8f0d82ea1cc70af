/**
 * The zlib plumbing under `ZlibCompressor` and `ZlibDecompressor` (`deflate.ts`): loading
 * `node:zlib` on first use, driving a raw deflate or inflate handle synchronously
 * (`handle.writeSync` with `Z_SYNC_FLUSH`), collecting its output through one module-wide
 * scratch buffer, and the handles shared by connections that do not keep context.
 *
 * @module
 */

import type * as Zlib from "node:zlib";

/**
 * `node:zlib`, loaded at the first deflate stream (through `process.getBuiltinModule`, which is
 * synchronous): importing it costs about 16 ms at start-up, which an application that never
 * negotiates permessage-deflate should not pay.
 */
let zlibModule: typeof Zlib | null = null;
/** zlib's `Z_SYNC_FLUSH`, read from the module when it loads. */
let Z_SYNC_FLUSH = 2;

function zlib(): typeof Zlib {
  if (zlibModule === null) {
    const node = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
    const loaded = node?.getBuiltinModule?.("node:zlib") as typeof Zlib | undefined;
    if (loaded === undefined) {
      throw new TypeError(
        "permessage-deflate needs node:zlib (process.getBuiltinModule), which this runtime does not provide",
      );
    }
    zlibModule = loaded;
    Z_SYNC_FLUSH = loaded.constants.Z_SYNC_FLUSH;
  }
  return zlibModule;
}

/** RFC 7692 §7.2.1: what a sync flush ends with, stripped before sending. */
export const TAIL: Uint8Array = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
/** The module-wide output buffer (calls are synchronous, so one is enough). */
const SCRATCH_SIZE = 128 * 1024;
let scratch: Uint8Array | null = null;

/** The parts of Node's zlib binding handle used here. */
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  close(): void;
  onerror: ((message: string, errno: number) => void) | null;
}

/** One zlib stream: the handle, the `[availOut, availIn]` pair it reports into, its error. */
export class Native {
  readonly handle: NativeHandle;
  readonly state: Uint32Array;
  error: Error | null = null;
  /** The input ended with a final block (BFINAL); a reset is needed before more data. */
  ended = false;
  closed = false;

  constructor(inflate: boolean, windowBits: number, level: number, memLevel: number) {
    const z = zlib();
    const owner =
      (inflate
        ? z.createInflateRaw({ windowBits, chunkSize: 64 })
        : z.createDeflateRaw({ windowBits, level, memLevel, chunkSize: 64 })) as unknown as {
          _handle?: NativeHandle;
          _writeState?: Uint32Array;
        };
    const handle = owner._handle;
    const state = owner._writeState;
    if (typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array)) {
      throw new TypeError(
        "permessage-deflate needs the node:zlib binding handle (handle.writeSync), which this runtime does not expose",
      );
    }
    this.handle = handle;
    this.state = state;
    handle.onerror = (message: string, errno: number) => {
      this.error ??= Object.assign(new Error(message), { errno });
    };
  }

  /** Resets the stream (drops the LZ77 context). */
  reset(): void {
    this.handle.reset();
    this.ended = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}

/** Output collected from one or more `writeSync` calls through the scratch buffer. */
export class Output {
  parts: Uint8Array[] | null = null;
  used = 0;
  total = 0;

  /** The bytes, copied out of the scratch buffer, without the last `trim` bytes. */
  take(trim: number): Uint8Array {
    const buf = scratch!;
    if (this.parts === null) return buf.slice(0, this.used - trim);
    this.parts.push(buf.slice(0, this.used));
    const size = this.total - trim;
    const out = new Uint8Array(size);
    let offset = 0;
    for (const part of this.parts) {
      const n = Math.min(part.length, size - offset);
      out.set(n === part.length ? part : part.subarray(0, n), offset);
      offset += n;
    }
    return out;
  }

  /** Whether the output so far ends with `00 00 ff ff`. */
  endsWithTail(): boolean {
    if (this.total < 4) return false;
    for (let i = 1; i <= 4; i++) if (this.byteFromEnd(i) !== TAIL[4 - i]) return false;
    return true;
  }

  byteFromEnd(i: number): number {
    if (i <= this.used) return scratch![this.used - i]!;
    let rest = i - this.used;
    for (let p = this.parts!.length - 1; p >= 0; p--) {
      const part = this.parts![p]!;
      if (rest <= part.length) return part[part.length - rest]!;
      rest -= part.length;
    }
    return -1;
  }
}

/**
 * Feeds `input` to the stream with a sync flush, collecting the output. Returns `false` as soon
 * as more than `limit` bytes came out (the stream is then mid-message and must be dropped).
 */
export function pump(native: Native, input: Uint8Array, out: Output, limit: number): boolean {
  const buf = scratch ??= new Uint8Array(SCRATCH_SIZE);
  const { handle, state } = native;
  let inOff = 0;
  let inLen = input.length;
  for (;;) {
    const room = SCRATCH_SIZE - out.used;
    handle.writeSync(Z_SYNC_FLUSH, input, inOff, inLen, buf, out.used, room);
    if (native.error) throw native.error;
    const availOut = state[0]!;
    const availIn = state[1]!;
    const produced = room - availOut;
    out.used += produced;
    out.total += produced;
    if (out.total > limit) return false;
    if (availOut !== 0) {
      // Everything went in, or the stream ended (a final block) with input left over.
      if (availIn !== 0) native.ended = true;
      return true;
    }
    (out.parts ??= []).push(buf.slice(0, out.used));
    out.used = 0;
    inOff += inLen - availIn;
    inLen = availIn;
  }
}

/** Handles shared by connections that do not keep context, keyed by their settings. */
const shared = new Map<string, Native>();

/**
 * The shared stream for these settings (made on first use), and its key for
 * {@linkcode dropNative}.
 */
export function sharedNative(
  inflate: boolean,
  windowBits: number,
  level: number,
  memLevel: number,
): { key: string; native: Native } {
  const key = `${inflate ? "i" : "d"}${windowBits}:${level}:${memLevel}`;
  let native = shared.get(key);
  if (native === undefined) {
    native = new Native(inflate, windowBits, level, memLevel);
    shared.set(key, native);
  }
  return { key, native };
}

/**
 * Closes a stream that failed or went past its limit; a shared one (`key` not `null`) is
 * forgotten, so the next connection gets a fresh one.
 */
export function dropNative(native: Native, key: string | null): void {
  native.close();
  if (key !== null) shared.delete(key);
}
