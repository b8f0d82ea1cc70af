/**
 * The bounded queue between a session's `send()` and its frame writer, shared by the raw and
 * the managed session.
 *
 * The contract (the session docs and the README state it to users): `send()` resolves once
 * the frame is accepted. Below the bound (bytes queued in the writer and not yet taken by the
 * socket) that is at once; above it, the frame waits here and its `send()` resolves when it
 * moves on to the writer, in order, once the writer has drained. A producer that awaits every
 * send is thereby held to the bound; one that does not keeps its frames (strings unencoded,
 * bytes uncopied) here until they fit. `flush()` on the session resolves when the socket has
 * taken everything queued so far. Frames queued together go to the socket in one write.
 *
 * @module
 */

import type { EncodedFrame } from "../core/encoded_frame.ts";
import { Frame } from "../core/frame.ts";
import type { FrameWriter } from "../transport/frame_writer.ts";
import { encodeToScratch, SCRATCH_CHARS } from "./_queues.ts";

/** What the queue needs from its session. */
export interface OutgoingHost {
  /**
   * Hands a frame to the writer (and notices a broken writer).
   *
   * @returns `null`, or the error that refused the frame.
   */
  write(frame: Frame | EncodedFrame): unknown;
  /** Whether the session ended: nothing more is written. */
  ended(): boolean;
  /** The error a send gets after the end. */
  sendError(): unknown;
}

/** Sends parked between two drains share one promise. */
interface ParkedGroup {
  /** Frames of the group still parked. */
  count: number;
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

const NOOP = (): void => {};
/** What an accepted send returns (shared: a send below the bound allocates no promise). */
const ACCEPTED: Promise<void> = Promise.resolve();

/** A rejected promise that does not count as an unhandled rejection when nobody awaits it. */
export function rejected<T>(err: unknown): Promise<T> {
  const p = Promise.reject(err);
  p.catch(NOOP);
  return p;
}

/** A text frame for `text`: short strings through the shared scratch buffer (no allocation). */
function textFrame(text: string): Frame {
  // The writer copies (and masks) a frame this small into its own buffer before returning.
  return text.length <= SCRATCH_CHARS ? new Frame("text", encodeToScratch(text)) : Frame.text(text);
}

/** What a parked item counts for. */
function sizeOf(item: Frame | EncodedFrame | string): number {
  return typeof item === "string"
    ? item.length
    : item instanceof Frame
    ? item.data.length
    : item.bytes.length;
}

/** Whether `item` is a control frame (an encoded frame is always a data frame). */
function isControl(item: Frame | EncodedFrame): boolean {
  return item instanceof Frame && item.isControl;
}

/**
 * The queue. Control frames are never held back by the bound, only by frames parked before
 * them (order is kept).
 */
export class OutgoingQueue {
  readonly #writer: FrameWriter;
  readonly #host: OutgoingHost;
  readonly #budget: number;
  #parked: (Frame | EncodedFrame | string)[] | null = null;
  /** The payload bytes (string: UTF-16 units) of the parked frames. */
  #parkedBytes = 0;
  #head = 0;
  readonly #groups: ParkedGroup[] = [];
  #groupOpen = false;
  #idle: PromiseWithResolvers<void> | null = null;
  // Callbacks, made at the first park.
  #drainCb: (() => void) | null = null;
  #rejectCb: ((err: unknown) => void) | null = null;

  /**
   * Creates the queue of a session.
   *
   * @param writer The session's frame writer.
   * @param host The session.
   * @param budget The bound, in bytes queued in the writer.
   */
  constructor(writer: FrameWriter, host: OutgoingHost, budget: number) {
    this.#writer = writer;
    this.#host = host;
    this.#budget = budget;
  }

  /** The payload size of the frames waiting for room (a string counts its UTF-16 units). */
  get parkedBytes(): number {
    return this.#parkedBytes;
  }

  /** Whether sends wait for room. */
  get parked(): boolean {
    return this.#parked !== null;
  }

  /**
   * Queues a frame, or a string as a text frame (encoded when it goes to the writer), or a
   * frame encoded already (a topic's message, shared by its subscribers).
   *
   * @param item What to send.
   * @returns Resolves once the writer accepted it: at once below the bound.
   */
  send(item: Frame | EncodedFrame | string): Promise<void> {
    if (this.#parked === null) {
      const writer = this.#writer;
      if (typeof item === "string") {
        if (writer.bufferedAmount < this.#budget) return this.#accept(textFrame(item));
      } else if (writer.bufferedAmount < this.#budget || isControl(item)) {
        return this.#accept(item);
      }
    }
    return this.#park(item);
  }

  /**
   * Resolves once nothing is parked (every send accepted), or the queue was emptied by the
   * end of the session.
   *
   * @returns A promise.
   */
  idle(): Promise<void> {
    if (this.#parked === null) return ACCEPTED;
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  /**
   * Fails every parked send with `err` (the session ended).
   *
   * @param err The error.
   */
  rejectAll(err: unknown): void {
    if (this.#parked === null) return;
    this.#parked = null;
    this.#parkedBytes = 0;
    this.#head = 0;
    this.#groupOpen = false;
    for (const group of this.#groups.splice(0)) group.reject(err);
    this.#idle?.resolve();
    this.#idle = null;
  }

  #accept(frame: Frame | EncodedFrame): Promise<void> {
    const host = this.#host;
    const refused = host.write(frame);
    if (refused !== null) return rejected(host.ended() ? host.sendError() : refused);
    return ACCEPTED;
  }

  #park(item: Frame | EncodedFrame | string): Promise<void> {
    let parked = this.#parked;
    const first = parked === null;
    if (parked === null) {
      parked = this.#parked = [];
      this.#head = 0;
      this.#groupOpen = false;
    }
    parked.push(item);
    this.#parkedBytes += sizeOf(item);
    let group = this.#groupOpen ? this.#groups[this.#groups.length - 1] : undefined;
    if (group === undefined) {
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      promise.catch(NOOP);
      group = { count: 0, promise, resolve, reject };
      this.#groups.push(group);
      this.#groupOpen = true;
    }
    group.count++;
    const promise = group.promise;
    if (first) this.#waitForRoom();
    return promise;
  }

  /**
   * Drains the parked frames once the writer holds less than half the bound: the socket then
   * still has work while the next frames move up, and each wait covers half the bound's bytes.
   */
  #waitForRoom(): void {
    this.#drainCb ??= () => this.#drain();
    this.#rejectCb ??= (err) => this.rejectAll(err);
    this.#writer.whenBelow(this.#budget / 2, this.#drainCb, this.#rejectCb);
  }

  /** Moves parked frames to the writer, in order, while under the bound. */
  #drain(): void {
    const parked = this.#parked;
    if (parked === null) return;
    this.#groupOpen = false;
    const writer = this.#writer;
    const host = this.#host;
    const groups = this.#groups;
    let head = this.#head;
    while (head < parked.length && !host.ended()) {
      const item = parked[head]!;
      let frame: Frame | EncodedFrame;
      if (typeof item === "string") {
        if (writer.bufferedAmount >= this.#budget) break;
        frame = textFrame(item);
      } else {
        if (writer.bufferedAmount >= this.#budget && !isControl(item)) break;
        frame = item;
      }
      // A frame refused here (a fragment the encoder refuses) is dropped: its send was
      // parked, so its promise is shared with others; the refusal is rare and local.
      host.write(frame);
      this.#parkedBytes -= sizeOf(item);
      head++;
      const group = groups[0]!;
      if (--group.count === 0) {
        groups.shift();
        group.resolve();
      }
    }
    if (head === parked.length) {
      this.#parked = null;
      this.#parkedBytes = 0;
      this.#head = 0;
      this.#idle?.resolve();
      this.#idle = null;
    } else if (host.ended()) {
      this.rejectAll(host.sendError());
    } else {
      if (head > 1024 && head * 2 > parked.length) {
        parked.splice(0, head);
        head = 0;
      }
      this.#head = head;
      this.#waitForRoom();
    }
  }
}
