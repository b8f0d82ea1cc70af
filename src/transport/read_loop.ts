/**
 * The one read loop of every session: socket reads into the frame reader's window until the
 * protocol yields a frame.
 *
 * @module
 */

import type { Frame } from "../core/frame.ts";
import type { Protocol } from "../core/protocol.ts";
import type { FrameReader } from "./frame_reader.ts";

/**
 * Reads the reader's connection until `protocol` yields its next frame (a whole message when it
 * assembles), waiting for an extension that works asynchronously. Call it only when
 * `protocol.next()` has returned `null`; after it returns a frame, take the rest of what the
 * read delivered with `protocol.next()` (no promise per frame, one per socket read).
 *
 * @example
 * ```ts ignore
 * let frame = protocol.next() ?? await readFrame(reader, protocol);
 * for (; frame !== null; frame = protocol.next()) handle(frame);
 * ```
 *
 * @param reader The frame reader over the connection and `protocol.decoder`.
 * @param protocol The protocol.
 * @returns The next frame, or `null` at end of stream.
 * @throws {ProtocolError} When the peer broke the protocol.
 */
export function readFrame(reader: FrameReader, protocol: Protocol): Promise<Frame | null> {
  // A promise chain, not an async function: an idle session waiting here holds one pending
  // read and one reaction, not a suspended function frame (about 450 bytes less per idle
  // connection, measured with bench/session_memory.ts).
  const pending = protocol.pending;
  if (pending !== null) return pending.then(() => protocol.next() ?? readFrame(reader, protocol));
  if (reader.eof) return NO_FRAME;
  return reader.source.read(reader.window()).then((n) =>
    reader.commit(n) ? protocol.next() ?? readFrame(reader, protocol) : null
  );
}

const NO_FRAME: Promise<null> = Promise.resolve(null);
