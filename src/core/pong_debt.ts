/**
 * The pongs a connection owes (RFC 6455 §5.5.2, §5.5.3): the payload of the latest unanswered
 * ping, and how many pongs wait for the socket. Every ping is answered while fewer than
 * {@linkcode MAX_PONGS_IN_FLIGHT} pongs wait; past that, the pings that arrive owe one pong, for
 * the latest, so a ping flood from a peer that does not read costs a few KiB, not a pong per ping.
 *
 * @module
 */

/**
 * The most pongs taken and not yet taken by the socket (at most 131 bytes each): enough for a
 * burst of pings (Autobahn sends ten at once) to get a pong each, small enough that a flood
 * holds at most about 8 KiB of pongs.
 */
export const MAX_PONGS_IN_FLIGHT = 64;

/**
 * The pong owed for the latest ping, and the count of pongs in flight.
 *
 * @example
 * ```ts
 * import { PongDebt } from "./pong_debt.ts";
 *
 * const debt = new PongDebt();
 * debt.owe(new Uint8Array([0x61]));
 * debt.owe(new Uint8Array([0x62]));
 * console.log(debt.take(true)); // Uint8Array(1) [ 98 ]: one pong, for the latest ping
 * debt.written();
 * ```
 */
export class PongDebt {
  /** The payload of the latest unanswered ping. */
  #payload: Uint8Array | null = null;
  /** Pongs taken and not yet taken by the socket. */
  #inFlight = 0;

  /**
   * A ping arrived: the pong owed now echoes `payload` (replacing any older one not taken).
   *
   * @param payload The ping's payload.
   */
  owe(payload: Uint8Array): void {
    this.#payload = payload;
  }

  /**
   * Takes the payload of the pong owed, once. `null` when none is owed or while
   * {@linkcode MAX_PONGS_IN_FLIGHT} pongs are in flight (then the debt stays). When `send` is
   * false (our close frame went out), the debt is dropped and `null` returned.
   *
   * @param send Whether a pong may still be sent.
   * @returns The payload to echo in a pong, or `null`.
   */
  take(send: boolean): Uint8Array | null {
    const payload = this.#payload;
    if (payload === null || this.#inFlight >= MAX_PONGS_IN_FLIGHT) return null;
    this.#payload = null;
    if (!send) return null;
    this.#inFlight++;
    return payload;
  }

  /** Whether a pong is owed that cannot be taken: {@linkcode MAX_PONGS_IN_FLIGHT} are in flight. */
  get blocked(): boolean {
    return this.#payload !== null && this.#inFlight >= MAX_PONGS_IN_FLIGHT;
  }

  /** A pong taken with {@linkcode PongDebt.take} was taken by the socket. */
  written(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** Forgets the pong owed (the session ended). */
  clear(): void {
    this.#payload = null;
  }
}
