/**
 * The options `server.fetch` (`Deno.serve`, Deno Deploy) cannot apply: Deno's `WebSocket` and
 * HTTP server do that work, and take none of them. Each one set is named once per server, with
 * the alternative, the first time `fetch` serves a request.
 *
 * @module
 */

import type { ServerOptions } from "./options.ts";

/** @internal One option `fetch` cannot apply, and what happens instead. */
export interface FetchLimitation {
  /** The option's name. */
  readonly option: string;
  /** Whether `options` sets it. */
  readonly isSet: (options: ServerOptions) => boolean;
  /** What `fetch` does instead. */
  readonly instead: string;
}

/** @internal Every server option that `fetch` cannot apply (see the table at `server.fetch`). */
export const FETCH_LIMITATIONS: readonly FetchLimitation[] = [
  {
    option: "extensions",
    isSet: (o) => (o.extensions?.length ?? 0) > 0,
    instead: "never negotiated (permessage-deflate included): Deno's WebSocket offers none",
  },
  {
    option: "maxFrameSize",
    isSet: (o) => o.maxFrameSize !== undefined,
    instead: "not applied: Deno's fixed 64 MiB",
  },
  {
    option: "timeout",
    isSet: (o) => o.timeout !== undefined,
    instead:
      "not used: Deno's idleTimeout (from pingInterval) decides when a silent peer is dropped",
  },
  {
    option: "handshakeTimeout",
    isSet: (o) => o.handshakeTimeout !== undefined,
    instead: "not applied: Deno reads the request",
  },
  {
    option: "maxHeaderSize",
    isSet: (o) => o.maxHeaderSize !== undefined,
    instead: "not applied: Deno's own limit",
  },
  {
    option: "masking",
    isSet: (o) => o.masking === true,
    instead: "ignored: Deno never masks",
  },
];

/**
 * @internal The warnings for the options of `options` that `fetch` cannot apply, one per
 * option; none when `fetchWarnings` is `false`.
 *
 * @param options The options given to `createServer`.
 * @returns The warning texts.
 */
export function fetchWarnings(options: ServerOptions | undefined): string[] {
  if (options === undefined || options.fetchWarnings === false) return [];
  return FETCH_LIMITATIONS.filter((l) => l.isSet(options)).map((l) =>
    `wirestream: server.fetch (Deno.serve) cannot apply the server option \`${l.option}\`: ` +
    `${l.instead}. server.listen() applies it; \`fetchWarnings: false\` silences this warning.`
  );
}
