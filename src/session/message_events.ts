/**
 * The event form of a managed route: handlers called per message instead of a block that reads
 * `incoming`.
 *
 * @module
 */

import type { CloseReason } from "../core/close.ts";
import type { Frame } from "../core/frame.ts";

/**
 * The handlers of a managed route in event form (`server.webSocket(path, { message })`): the
 * session calls `message` for each complete message, instead of a handler reading
 * `session.incoming`. The session stays open until either side closes it (`session.close()`), a
 * handler throws, or the server shuts down.
 *
 * An idle session of this form holds no `incoming` stream and no suspended handler: about 1.7 KB
 * less resident memory per idle connection than a block handler in `for await` (W5 in
 * BENCHMARKS.md).
 *
 * Order and backpressure: messages are handed over one at a time, in order. When `open` or
 * `message` returns a promise, the next messages wait until it settles; they wait in the
 * session's incoming queue (`incomingQueue`), and once it is full the session stops reading the
 * socket, so a slow handler holds the peer back through TCP. `Deno.serve` cannot stop reading:
 * there, a backlog past the queue's bound closes the session with 1008, as a full `incoming`
 * does.
 *
 * Errors: when `open` or `message` throws (or its promise rejects), the error goes to the
 * server's `onError` (errors that only show the end of the session excepted, as for block
 * handlers), the session closes with 1011 "Internal error", and no more messages are handed
 * over. An error of `close` goes to `onError`.
 *
 * Session reads that wait for messages (`incoming`, `receive()`, `receiveDeserialized()`) do not
 * work in this form: the messages go to `message`.
 *
 * @example
 * ```ts
 * import { createServer, readText, type WebSocketEvents } from "@wirestream/ws/server";
 * import type { DefaultWebSocketServerSession } from "@wirestream/ws/server";
 *
 * const chat: WebSocketEvents<DefaultWebSocketServerSession> = {
 *   open: (session) => session.send("welcome"),
 *   message: (session, message) => session.send(`echo: ${readText(message)}`),
 *   close: (_session, reason) => console.log("closed", reason.code),
 * };
 * const server = createServer().webSocket("/chat", chat);
 * ```
 *
 * @typeParam S The session type.
 */
export interface WebSocketEvents<S> {
  /**
   * The session is open. A returned promise holds the first messages until it settles.
   * @default {undefined (nothing to do)}
   */
  open?(session: S): void | Promise<void>;
  /**
   * A complete text or binary message. A returned promise holds the next messages until it
   * settles.
   */
  message(session: S, message: Frame): void | Promise<void>;
  /**
   * The session ended (called once, after the last `message` settled), with the reason as
   * `session.closeReason` has it.
   * @default {undefined (nothing to do)}
   */
  close?(session: S, reason: CloseReason): void | Promise<void>;
}

/**
 * Whether `handler` is the event form ({@linkcode WebSocketEvents}) rather than a block handler.
 *
 * @param handler A route handler.
 * @returns Whether it is an object with a `message` function.
 * @throws {TypeError} When it is an object whose `message`, `open` or `close` is not a
 *   function.
 */
export function isEventHandlers(handler: unknown): handler is WebSocketEvents<unknown> {
  if (typeof handler !== "object" || handler === null) return false;
  const h = handler as Record<string, unknown>;
  if (typeof h.message !== "function") {
    throw new TypeError("Route events need a message function");
  }
  for (const name of ["open", "close"]) {
    if (h[name] !== undefined && typeof h[name] !== "function") {
      throw new TypeError(`Route events: ${name} must be a function`);
    }
  }
  return true;
}
