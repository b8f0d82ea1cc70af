/**
 * The reconnecting client's delays: the first reconnect after a random delay (RFC 6455 §7.2.3:
 * "a random amount of time", so that clients dropped together do not return together), then a
 * jittered exponential backoff up to a cap, reset once a session has stayed up long enough.
 *
 * @module
 */

/** The delays between reconnection attempts, in milliseconds. */
export interface BackoffOptions {
  /**
   * The first reconnect waits a uniformly random time in [0, `initialDelay`] (RFC 6455 §7.2.3
   * suggests 0 to 5 seconds).
   * @default {5000}
   */
  initialDelay?: number;
  /**
   * The delay before the second attempt; each later one is `factor` times longer.
   * @default {1000}
   */
  minDelay?: number;
  /**
   * The growth of the delay per failed attempt.
   * @default {2}
   */
  factor?: number;
  /**
   * The cap on the delay.
   * @default {60000}
   */
  maxDelay?: number;
  /**
   * How much of each exponential delay is random: the delay is `d × (1 − jitter × r)` for a
   * random `r` in [0, 1), so 0.5 waits between half and all of `d`. 0 for none.
   * @default {0.5}
   */
  jitter?: number;
  /**
   * A session that stayed open this long resets the backoff: its end is met with a fresh
   * random first delay. Shorter sessions keep the backoff growing, so a server that accepts and
   * drops at once is not hammered.
   * @default {10000}
   */
  minUptime?: number;
}

/** The defaults of {@linkcode BackoffOptions}. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = {
  initialDelay: 5_000,
  minDelay: 1_000,
  factor: 2,
  maxDelay: 60_000,
  jitter: 0.5,
  minUptime: 10_000,
};

/** @internal The delays of one reconnecting client. */
export class Backoff {
  readonly #o: Required<BackoffOptions>;
  readonly #random: () => number;
  /** Attempts since the last reset. */
  #attempt = 0;

  /**
   * @param options The delays (checked).
   * @param random The source of randomness, `Math.random` by default.
   */
  constructor(options?: BackoffOptions, random: () => number = Math.random) {
    this.#o = { ...BACKOFF_DEFAULTS, ...options };
    this.#random = random;
  }

  /** The minimum uptime that resets the backoff. */
  get minUptime(): number {
    return this.#o.minUptime;
  }

  /** Starts over: the next delay is the random first one. */
  reset(): void {
    this.#attempt = 0;
  }

  /**
   * The delay before the next attempt.
   *
   * @returns Milliseconds.
   */
  next(): number {
    const o = this.#o;
    const attempt = ++this.#attempt;
    if (attempt === 1) return Math.floor(this.#random() * o.initialDelay);
    const exponential = Math.min(o.maxDelay, o.minDelay * o.factor ** (attempt - 2));
    return Math.floor(exponential * (1 - o.jitter * this.#random()));
  }
}
