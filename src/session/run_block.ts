/**
 * The block form, shared by the raw and managed clients (`webSocket(url, handler)`,
 * `webSocketRaw(url, handler)`) and the server's routes: run a handler with a session, then end
 * the session.
 *
 * @module
 */

import { type IncomingGuard, incomingGuard } from "./_incoming_guard.ts";
import { CloseReason, MAX_CLOSE_REASON_BYTES, truncateUtf8 } from "../core/close.ts";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
  WebSocketError,
} from "../core/errors.ts";

/**
 * Whether `err` is the session's own account of its end or of its peer (a protocol error, a
 * broken or closed connection, a ping or close timeout), not a fault of the application's.
 */
function fromSession(err: unknown): boolean {
  return err instanceof ProtocolError || err instanceof ConnectionError ||
    err instanceof ConnectionClosedError || err instanceof TimeoutError;
}

/** @internal What the block form needs of a session (raw, managed and native sessions). */
export interface BlockSession {
  /**
   * Sends a close frame unless one was sent, waits up to `closeTimeout` for the peer's, then
   * releases the socket.
   */
  closeAndRelease(reason?: CloseReason): Promise<void>;
  /** Closes the socket at once. */
  abort(reason?: unknown): void;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  /** Resolves once the socket is released. */
  readonly closed: Promise<void>;
}

/** @internal How a block ends when its handler throws. */
export interface RunBlockOptions {
  /**
   * The close reason sent when the handler throws.
   * @default {1011 with the error's `name: message`, cut to 123 UTF-8 bytes}
   */
  failReason?: CloseReason;
  /**
   * Takes the handler's error instead of the caller (the block then resolves with `undefined`);
   * called before the session is closed, and must not throw. Errors that only show the end of
   * the session (see {@linkcode runBlock}) are not passed.
   * @default {undefined (the error is rethrown)}
   */
  onError?: (error: unknown) => void;
  /**
   * How long `closeReason`, read in the handler after it left its `incoming` loop early with the
   * session open, waits before it rejects with `CLOSE_REASON_DEADLOCK` (see `blockCloseReason`).
   * @default {5000 (the default closeTimeout)}
   */
  readonly closeTimeout?: number;
}

const DEFAULT_GRACE = 5_000;

const NORMAL = new CloseReason(1000, "");

/**
 * @internal Runs `handler` with `session`, then ends the session, as the clients' block form and
 * the server's routes do:
 *
 * - the handler returns: a close frame 1000 (unless one was sent); its result is returned;
 * - the handler throws: a close frame with `failReason`, and the error is rethrown, or given to
 *   `onError` (then the result is `undefined`);
 * - the handler throws a `WebSocketError` after the session ended by itself (the peer went away,
 *   a protocol error, a ping timeout): the session already told the peer, so nothing is sent and
 *   `onError` is not called (Ktor is silent about these too); a caller still gets the error.
 *
 * Either way the session waits up to `closeTimeout` for the peer's close frame, and the socket
 * is released before this settles (aborted if closing fails).
 *
 * @example
 * ```ts ignore
 * const answer = await runBlock(session, async (s) => {
 *   await s.send("question");
 *   for await (const message of s.incoming) return readText(message);
 *   return null;
 * });
 * ```
 *
 * @param session The session.
 * @param handler The block.
 * @param options The close reason on a throw, and who takes the error.
 * @returns The handler's result.
 */
export function runBlock<S extends BlockSession, T>(
  session: S,
  handler: (session: S) => T | Promise<T>,
): Promise<T>;
export function runBlock<S extends BlockSession, T>(
  session: S,
  handler: (session: S) => T | Promise<T>,
  options: RunBlockOptions,
): Promise<T | undefined>;
export function runBlock<S extends BlockSession, T>(
  session: S,
  handler: (session: S) => T | Promise<T>,
  options?: RunBlockOptions,
): Promise<T | undefined> {
  // A promise chain, not an async function: a session whose handler waits holds one reaction
  // here, not a suspended function frame.
  let result: T | Promise<T>;
  guard(session, options?.closeTimeout ?? DEFAULT_GRACE);
  try {
    result = handler(session);
  } catch (err) {
    guard(session, 0);
    return handlerFailed(session, err, options);
  }
  return Promise.resolve(result).then(
    (value) => {
      guard(session, 0);
      return end(session, NORMAL).then(() => value);
    },
    (err) => {
      guard(session, 0);
      return handlerFailed(session, err, options);
    },
  );
}

/** The message of the `CLOSE_REASON_DEADLOCK` error. */
const deadlockMessage = (grace: number) =>
  `closeReason awaited by the session's own handler after it left its \`incoming\` loop early ` +
  `(a throw, break or return), and the session still open ${grace} ms later: nothing would ` +
  "close it, as the block closes the session only once the handler returns. Close it first " +
  "(`await session.close(reason)`), rethrow, or return.";

/**
 * A session's `closeReason`, bounded against the one certain deadlock of the block form: a
 * handler that leaves its `incoming` loop early (most often an exception caught around the
 * loop, as in Ktor's `catch (e) { closeReason.await() }`) and then awaits `closeReason` while
 * the session is still open waits for a close that only its own return would start, while the
 * peer, waiting for an answer, may send none. In that state (a block running, its loop over
 * `incoming` left early, nobody reading `incoming` now, the session `"open"`), the peer gets
 * `grace` (the close timeout) to close (its close frame may be on its way, or read and not yet
 * handled); if the session is still open and unread then, the promise rejects with a
 * `WebSocketError` `CLOSE_REASON_DEADLOCK`, so the handler ends with it and the block closes
 * the session (1011). A close under way (either side's close frame) always gets to finish.
 * Outside that state it is `reason` itself.
 *
 * @param reason The session's close reason.
 * @param incoming The guard of the session's `incoming`.
 * @param session The session (its `state`).
 * @returns `reason`, or the bounded promise.
 */
export function blockCloseReason(
  reason: Promise<CloseReason>,
  incoming: IncomingGuard,
  session: { readonly state: string },
): Promise<CloseReason> {
  const grace = incoming.blockGrace;
  if (grace === 0 || !incoming.leftEarly || incoming.locked || session.state !== "open") {
    return reason;
  }
  const { promise, resolve, reject } = Promise.withResolvers<CloseReason>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    if (session.state !== "open") return; // a close under way ends it within closeTimeout
    if (incoming.locked) timer = setTimeout(check, grace);
    else reject(new WebSocketError("CLOSE_REASON_DEADLOCK", deadlockMessage(grace)));
  };
  timer = setTimeout(check, grace);
  reason.then((value) => {
    clearTimeout(timer);
    resolve(value);
  });
  // Handled here, so a read that nobody awaits leaves no unhandled rejection; awaiting code
  // still gets it.
  promise.catch(() => {});
  return promise;
}

/**
 * Arms (`grace` > 0) or disarms (0) the guard of {@linkcode blockCloseReason} for a handler's
 * run.
 */
function guard(session: object, grace: number): void {
  const incoming = incomingGuard(session);
  if (incoming === null) return;
  incoming.blockGrace = grace;
  incoming.leftEarly = false;
}

/**
 * @internal The handler threw `err`: the session ends as `runBlock` describes (also used by the
 * event form, `runEvents`).
 */
export async function handlerFailed<T>(
  session: BlockSession,
  err: unknown,
  options: RunBlockOptions | undefined,
): Promise<T | undefined> {
  const onError = options?.onError;
  if (session.signal.aborted && err instanceof WebSocketError) {
    await session.closed;
  } else if (fromSession(err)) {
    // The peer or the connection ended the session (a protocol error, a reset, the 1001 of a
    // shutdown that a send ran into): nothing for `onError`; close if still open.
    await end(session, options?.failReason ?? failReason(err));
  } else {
    // Called as a method: the options may be an object whose `onError` uses `this`.
    options?.onError?.(err);
    await end(session, options?.failReason ?? failReason(err));
  }
  if (onError === undefined) throw err;
  return undefined;
}

function failReason(err: unknown): CloseReason {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new CloseReason(1011, truncateUtf8(text, MAX_CLOSE_REASON_BYTES));
}

async function end(session: BlockSession, reason: CloseReason): Promise<void> {
  try {
    await session.closeAndRelease(reason);
  } catch {
    session.abort();
  }
}
