/**
 * Keeps the open sessions of a listener (or of the `Deno.serve` adapter) and their handler tasks,
 * so that shutdown can close every one of them with 1001, wait, abort the rest and wait for the
 * handlers.
 *
 * @module
 */

import { CloseReason } from "../core/close.ts";

/** @internal What the tracker needs of a session (every server session has it). */
export interface TrackedSession {
  /** Starts the close handshake with `reason`; may reject when a close was already sent. */
  close(reason: CloseReason): Promise<void>;
  /** Closes the socket at once. */
  abort(reason?: unknown): void;
  /** Resolves once the socket is released. */
  readonly closed: Promise<void>;
}

/** The close reason sent on shutdown. */
export const GOING_AWAY: CloseReason = new CloseReason(1001, "Server is going down");

const NOOP = (): void => {};

function goAway(session: TrackedSession): void {
  try {
    session.close(GOING_AWAY).catch(NOOP);
  } catch {
    // Closing already.
  }
}

/** @internal Open sessions and their handler tasks. */
export class SessionTracker {
  readonly #sessions = new Set<TrackedSession>();
  /** Handler tasks not yet settled (counted: no closure or set entry per session). */
  #running = 0;
  /** Resolved when `#running` drops to 0, while `closeAll` waits for it. */
  #idle: PromiseWithResolvers<void> | null = null;
  #closing = false;

  /** How many sessions are open. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Whether shutdown began. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Tracks a session until its socket is released, and its task until it settles. A session
   * added after shutdown began is sent the going-away close at once.
   *
   * @param session The session.
   * @param task The handler's lifecycle (never rejects).
   * @param onClosed Called too once the socket is released (one callback per session).
   */
  add(session: TrackedSession, task: Promise<void>, onClosed?: () => void): void {
    this.#sessions.add(session);
    this.#running++;
    session.closed.then(() => {
      this.#sessions.delete(session);
      onClosed?.();
    });
    task.then(this.#taskDone);
    if (this.#closing) goAway(session);
  }

  /**
   * Closes every session with 1001, waits up to `timeout` ms for their sockets to be released,
   * aborts the rest, then waits for every handler task.
   *
   * @param timeout The close handshake allowance.
   */
  async closeAll(timeout: number): Promise<void> {
    this.#closing = true;
    for (const session of this.#sessions) goAway(session);
    if (this.#sessions.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      try {
        await Promise.race([
          Promise.all([...this.#sessions].map((s) => s.closed)),
          expired,
        ]);
      } finally {
        clearTimeout(timer);
      }
      for (const session of this.#sessions) session.abort();
    }
    while (this.#running > 0) {
      this.#idle = Promise.withResolvers<void>();
      await this.#idle.promise;
    }
    this.#idle = null;
  }

  /** A handler task settled (shared by every task). */
  readonly #taskDone = (): void => {
    if (--this.#running === 0) this.#idle?.resolve();
  };
}
