/**
 * Pings of a managed session: the pinger (a ping every `pingInterval`, the session failed when
 * its pong is late) and pings the application sends with `session.ping()`, matched to pongs by
 * payload.
 *
 * @module
 */

import { TimeoutError } from "../core/errors.ts";
import { Frame } from "../core/frame.ts";

/** What the keepalive needs from its session. */
export interface KeepaliveHost {
  /** Whether a ping may be sent now (the session is open and sent no close frame). */
  canPing(): boolean;
  /** Sends a control frame ahead of queued data. */
  sendUrgent(frame: Frame): Promise<void>;
  /** The pinger's pong did not come within `timeout` ms: fail the session. */
  pongTimedOut(timeout: number): void;
}

interface PendingPing {
  payload: Uint8Array;
  sentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(rtt: number): void;
  reject(err: unknown): void;
}

const NOOP = (): void => {};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The pinger and the pings waiting for their pong. */
export class Keepalive {
  readonly #host: KeepaliveHost;
  #interval: number;
  #timeout: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The pinger's ping waiting for its pong. */
  #auto: PendingPing | null = null;
  readonly #pings: PendingPing[] = [];
  /** Random bytes that start every generated payload (made at the first ping). */
  #prefix: Uint8Array | null = null;
  #counter = 0;
  /** `#tick` as a timer callback (made when the pinger starts). */
  #tickCb: (() => void) | null = null;

  /**
   * @param host The session.
   * @param interval Milliseconds between the pinger's pings; 0 = off.
   * @param timeout Milliseconds to wait for a pong (2 × interval when absent; 0 = for ever).
   */
  constructor(host: KeepaliveHost, interval: number, timeout: number | undefined) {
    this.#host = host;
    this.#interval = interval;
    this.#timeout = timeout;
  }

  /** Milliseconds between the pinger's pings; 0 = off. */
  get interval(): number {
    return this.#interval;
  }
  set interval(value: number) {
    this.#interval = value;
    this.restart();
  }

  /** Milliseconds to wait for a pong. */
  get timeout(): number {
    return this.#timeout ?? 2 * this.#interval;
  }
  set timeout(value: number) {
    this.#timeout = value;
    this.restart();
  }

  /** Whether any ping waits for its pong. */
  get waiting(): boolean {
    return this.#pings.length > 0;
  }

  /** A fresh 12-byte payload: the random prefix and a counter. */
  nextPayload(): Uint8Array {
    const payload = new Uint8Array(12);
    payload.set(this.#prefix ??= crypto.getRandomValues(new Uint8Array(8)));
    this.#counter = (this.#counter + 1) >>> 0;
    new DataView(payload.buffer).setUint32(8, this.#counter);
    return payload;
  }

  /**
   * Sends `frame` (a ping) and resolves with the round-trip time when its pong arrives.
   *
   * @param frame The ping.
   * @param timeout Milliseconds to wait (0 = for ever); then rejects with `PING_TIMEOUT`.
   * @returns The round-trip time in milliseconds.
   */
  ping(frame: Frame, timeout: number): Promise<number> {
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const entry: PendingPing = {
      payload: frame.data,
      sentAt: performance.now(),
      timer: undefined,
      resolve,
      reject,
    };
    if (timeout > 0) {
      entry.timer = setTimeout(() => {
        this.#remove(entry);
        reject(new TimeoutError("PING_TIMEOUT", `No pong within ${timeout} ms`));
      }, timeout);
    }
    this.#pings.push(entry);
    this.#host.sendUrgent(frame).catch((err) => {
      if (this.#remove(entry)) {
        clearTimeout(entry.timer);
        reject(err);
      }
    });
    return promise;
  }

  /**
   * Settles the ping whose payload `data` carries; a pong that matches none is ignored
   * (RFC 6455 §5.5.3).
   *
   * @param data The pong's payload.
   */
  onPong(data: Uint8Array): void {
    const pings = this.#pings;
    for (let i = 0; i < pings.length; i++) {
      const entry = pings[i]!;
      if (sameBytes(entry.payload, data)) {
        pings.splice(i, 1);
        clearTimeout(entry.timer);
        entry.resolve(performance.now() - entry.sentAt);
        return;
      }
    }
  }

  /** Stops the pinger (pings sent by the application keep waiting). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const auto = this.#auto;
    if (auto !== null) {
      this.#auto = null;
      this.#remove(auto);
    }
  }

  /** Starts the pinger again from now (when it is on and the session may ping). */
  restart(): void {
    this.stop();
    if (this.#interval <= 0 || !this.#host.canPing()) return;
    this.#timer = setTimeout(this.#tickFn, this.#interval);
  }

  /**
   * Stops the pinger and rejects every waiting ping with `err`.
   *
   * @param err The session's end.
   */
  end(err: unknown): void {
    this.stop();
    for (const entry of this.#pings.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(err);
    }
  }

  get #tickFn(): () => void {
    return this.#tickCb ??= () => this.#tick();
  }

  /** Sends the pinger's next ping and waits `timeout` for its pong. */
  #tick(): void {
    this.#timer = undefined;
    if (!this.#host.canPing()) return;
    const previous = this.#auto;
    if (previous !== null) this.#remove(previous);
    const timeout = this.timeout;
    const payload = this.nextPayload();
    const entry: PendingPing = {
      payload,
      sentAt: performance.now(),
      timer: undefined,
      resolve: () => {
        if (this.#auto !== entry) return;
        this.#auto = null;
        if (timeout > 0) {
          clearTimeout(this.#timer);
          this.#timer = setTimeout(this.#tickFn, this.#interval);
        }
      },
      reject: NOOP,
    };
    this.#auto = entry;
    this.#pings.push(entry);
    this.#host.sendUrgent(Frame.ping(payload)).catch(NOOP);
    this.#timer = timeout > 0
      ? setTimeout(() => this.#timedOut(timeout), timeout)
      : setTimeout(this.#tickFn, this.#interval);
  }

  #timedOut(timeout: number): void {
    this.#timer = undefined;
    const auto = this.#auto;
    if (auto !== null) {
      this.#auto = null;
      this.#remove(auto);
    }
    this.#host.pongTimedOut(timeout);
  }

  #remove(entry: PendingPing): boolean {
    const i = this.#pings.indexOf(entry);
    if (i < 0) return false;
    this.#pings.splice(i, 1);
    return true;
  }
}
