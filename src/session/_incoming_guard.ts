/**
 * What a block's `closeReason` guard needs to know of a session's `incoming` (see
 * `blockCloseReason` in `run_block.ts`), and where sessions keep it.
 *
 * @module
 */

/**
 * What `runBlock` notes about a session's `incoming` while a block's handler runs (see
 * `blockCloseReason`). Kept by the session's reader, not by the stream: the stream may not be
 * made yet when a block starts (sessions make `incoming` when it is first read).
 */
export interface IncomingGuard {
  /**
   * While a block's handler runs: how long `closeReason`, read after the handler left its loop
   * over `incoming` early, waits for a close before it rejects; 0 when no block runs.
   */
  blockGrace: number;
  /** Whether the last `for await` loop over `incoming` was left early (tracked in blocks). */
  leftEarly: boolean;
  /** Whether `incoming` is made and locked to a reader. */
  readonly locked: boolean;
}

/**
 * Where a session keeps its {@linkcode IncomingGuard} (a property keyed by this symbol), so that
 * `runBlock` reaches it without making `incoming`.
 */
export const INCOMING_GUARD: unique symbol = Symbol("wirestream.incomingGuard");

/** A session whose `incoming` has a guard. */
export interface GuardedSession {
  /** The guard of the session's `incoming`. */
  readonly [INCOMING_GUARD]: IncomingGuard;
}

/**
 * The guard of `session`, if it has one.
 *
 * @param session A session.
 * @returns Its guard, or `null`.
 */
export function incomingGuard(session: object): IncomingGuard | null {
  return (session as Partial<GuardedSession>)[INCOMING_GUARD] ?? null;
}
