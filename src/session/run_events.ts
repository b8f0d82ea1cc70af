/**
 * The event form of a managed route (`server.webSocket(path, { message })`): the session's
 * messages go to the route's handlers instead of `incoming`, and the session stays open until
 * either side closes it.
 *
 * @module
 */

import type { CloseReason } from "../core/close.ts";
import { isThenable, type MessageSink } from "./_message_sink.ts";
import { type BlockSession, handlerFailed, type RunBlockOptions } from "./run_block.ts";

/** @internal What the event form needs of a session (listener and `Deno.serve` sessions). */
export interface EventSession extends BlockSession {
  /** Why the session ended. */
  readonly closeReason: Promise<CloseReason>;
}

/**
 * @internal Starts handing `session`'s messages to the handlers of `sink` (`open` first), and
 * ends as a block handler's session does when one throws (see `runBlock`): `onError`, then a
 * close with `failReason`. Calls `close` once the session ended and the last `message` settled.
 *
 * @param session The session, made with `sink`.
 * @param sink The route's handlers, bound to the session's reader.
 * @param options The close reason of a failed handler, and who takes its error.
 * @returns Settles (never rejects) once `close` was called and the socket is released.
 */
export function runEvents<S extends EventSession>(
  session: S,
  sink: MessageSink<S>,
  options: RunBlockOptions,
): Promise<void> {
  sink.begin(session, (err) => {
    handlerFailed(session, err, options).catch(() => {});
  });
  // One reaction per session while it is open.
  return session.closeReason.then((reason) =>
    sink.idle.then(() => {
      const close = sink.events.close;
      if (close !== undefined) {
        try {
          const result = close.call(sink.events, session, reason);
          if (isThenable(result)) result.then(undefined, (err) => options.onError?.(err));
        } catch (err) {
          options.onError?.(err);
        }
      }
      return session.closed;
    })
  );
}
