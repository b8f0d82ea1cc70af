/**
 * The handshake timeouts of a listener: every handshake gets the same `handshakeTimeout`, so
 * the handshakes kept in the order they were armed are in deadline order, and one timer, set
 * for the first deadline, serves them all.
 *
 * @module
 */

/** @internal A handshake that can time out. */
export interface Deadlined {
  /** When `handshakeTimeout` runs out (`performance.now()` time), while armed. */
  deadline: number;
  /** Whether `handshakeTimeout` ran out. */
  timedOut: boolean;
}

/** @internal The handshake timeouts of one listener, with one timer. */
export class HandshakeDeadlines<T extends Deadlined> {
  readonly #timeout: number;
  readonly #expire: (entry: T) => void;
  /** Handshakes with a deadline, in the order their deadlines come. */
  readonly #entries = new Set<T>();
  /** The timer that fires at the first deadline. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param timeout The `handshakeTimeout` in milliseconds; 0 or less for none.
   * @param expire Abandons a handshake whose deadline has come (marked `timedOut` first).
   */
  constructor(timeout: number, expire: (entry: T) => void) {
    this.#timeout = timeout;
    this.#expire = expire;
  }

  /**
   * Starts (or restarts) the timeout of a handshake.
   *
   * @param entry The handshake.
   */
  arm(entry: T): void {
    const timeout = this.#timeout;
    if (timeout <= 0) return;
    entry.deadline = performance.now() + timeout;
    // Every deadline is `timeout` after its start: appending keeps the set in deadline order.
    this.#entries.delete(entry);
    this.#entries.add(entry);
    this.#timer ??= setTimeout(this.#onDeadline, timeout);
  }

  /**
   * Stops the timeout of a handshake.
   *
   * @param entry The handshake.
   */
  disarm(entry: T): void {
    if (!this.#entries.delete(entry) || this.#entries.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Abandons the handshakes whose deadline has come, and waits for the next deadline. */
  readonly #onDeadline = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const entry of this.#entries) {
      if (entry.deadline > now) {
        this.#timer = setTimeout(this.#onDeadline, Math.max(1, Math.ceil(entry.deadline - now)));
        return;
      }
      this.#entries.delete(entry);
      entry.timedOut = true;
      this.#expire(entry);
    }
  };
}
