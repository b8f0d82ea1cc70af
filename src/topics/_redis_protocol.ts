/**
 * What the Redis backplane stores and sends: key and channel names, the two Lua scripts and the
 * pub/sub payload. No I/O here; `redis_backplane.ts` runs the scripts.
 *
 * Per topic `T` under the prefix `P`:
 *
 * - `P:{T}:n`: the offset counter (a string integer, `INCR`ed by the publish script);
 * - `P:{T}:e`: the epoch (random hex, created by either script when it or the counter is absent,
 *   with the counter at 0 and no history: a Redis that lost its data starts a new epoch);
 * - `P:{T}:h`: the history, a stream whose entry IDs are `<offset>-0`, with the fields `t` (the
 *   Redis time in ms), `k` (`t` text, `b` binary), `o` (origin node), `r` (ref) and `d` (data);
 * - `P:m:D:T`: the pub/sub channel, `D` being the database number: Redis's channels are
 *   server-wide, not per database, so two applications that share a prefix but not a database
 *   must not hear each other.
 *
 * The braces make the three keys of a topic one Redis Cluster hash slot, so the scripts would
 * stay single-slot; the backplane itself speaks to one Redis server (no Cluster client).
 *
 * @module
 */

/** Key and channel names of one topic. */
export interface TopicKeys {
  readonly counter: string;
  readonly epoch: string;
  readonly history: string;
  readonly channel: string;
}

/** The names of `topic`'s keys and channel under `prefix`, in database `db`. */
export function topicKeys(prefix: string, topic: string, db = 0): TopicKeys {
  return {
    counter: `${prefix}:{${topic}}:n`,
    epoch: `${prefix}:{${topic}}:e`,
    history: `${prefix}:{${topic}}:h`,
    channel: `${prefix}:m:${db}:${topic}`,
  };
}

/**
 * Shared by both scripts: reads the epoch; when it or the counter is missing (a Redis that lost
 * its data, or evicted a key), starts a new epoch: a random one (ARGV[1]), the counter at 0, no
 * history. So an (epoch, offset) pair never names two messages.
 */
const ENSURE_EPOCH = `
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('SET', KEYS[1], 0)
  redis.call('DEL', KEYS[3])
end
`;

/**
 * Publishes one message atomically: epoch, `INCR`, `XADD` (+ trimming by size and age), `PUBLISH`.
 *
 * KEYS: counter, epoch, history. ARGV: candidate epoch, channel, origin, ref, kind, data, history
 * size, history ttl (ms). Returns `{offset, epoch}`. Since the `PUBLISH` runs inside the script,
 * the channel carries a topic's messages in offset order.
 */
export const PUBLISH_SCRIPT = ENSURE_EPOCH + `
local offset = redis.call('INCR', KEYS[1])
local id = string.format('%d-0', offset)
local size = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
if size > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('XADD', KEYS[3], 'MAXLEN', size, id,
    't', now, 'k', ARGV[5], 'o', ARGV[3], 'r', ARGV[4], 'd', ARGV[6])
  if ttl > 0 then
    local cutoff = now - ttl
    while true do
      local batch = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 64)
      local keep = nil
      for _, e in ipairs(batch) do
        if tonumber(e[2][2]) >= cutoff then keep = e[1] break end
      end
      if keep then
        redis.call('XTRIM', KEYS[3], 'MINID', keep)
        break
      end
      local last = batch[#batch][1]
      local ms = tonumber(string.match(last, '^(%d+)'))
      redis.call('XTRIM', KEYS[3], 'MINID', string.format('%d-0', ms + 1))
    end
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
redis.call('PUBLISH', ARGV[2], string.format('%d', offset) .. '\\n' .. epoch .. '\\n' ..
  ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[6])
return {offset, epoch}
`;

/**
 * Reads a topic's head and, optionally, its history from an offset, atomically.
 *
 * KEYS: counter, epoch, history. ARGV: candidate epoch, first offset, most entries (0: none).
 * Returns `{epoch, head, now (Redis ms), entries}`.
 */
export const READ_SCRIPT = ENSURE_EPOCH + `
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local from = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local entries = {}
if count > 0 and from <= head then
  entries = redis.call('XRANGE', KEYS[3], string.format('%d-0', from),
    string.format('%d-0', head), 'COUNT', count)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {epoch, head, now, entries}
`;

/** A message as it travels on the channel or sits in the history. */
export interface WireMessage {
  readonly offset: number;
  readonly epoch: string;
  readonly origin: string;
  readonly ref: number;
  readonly data: string | Uint8Array;
  /** For history entries: the Redis time it was stored, in ms. */
  readonly time?: number;
}

const decoder = new TextDecoder();

/** The payload's `data` for a `k` (kind) field: text is decoded, binary copied out of the Buffer. */
function decodeData(kind: string, bytes: Uint8Array): string | Uint8Array {
  return kind === "t" ? decoder.decode(bytes) : new Uint8Array(bytes);
}

/**
 * Parses a channel payload: `offset \n epoch \n origin \n ref \n kind \n data` (the data is last,
 * so it may hold any byte). Returns `undefined` for anything else.
 */
export function decodePayload(payload: Uint8Array): WireMessage | undefined {
  const fields: string[] = [];
  let start = 0;
  while (fields.length < 5) {
    const nl = payload.indexOf(10, start);
    if (nl === -1) return undefined;
    fields.push(decoder.decode(payload.subarray(start, nl)));
    start = nl + 1;
  }
  const [offset, epoch, origin, ref, kind] = fields as [string, string, string, string, string];
  const n = Number(offset);
  if (!Number.isSafeInteger(n) || n < 1) return undefined;
  return {
    offset: n,
    epoch,
    origin,
    ref: Number(ref),
    data: decodeData(kind, payload.subarray(start)),
  };
}

/** One `XRANGE` entry as the client returns it with Buffer replies: `[id, [f, v, f, v…]]`. */
export type RawEntry = [Uint8Array, Uint8Array[]];

/** Parses a history entry (its ID is `<offset>-0`). */
export function decodeEntry(entry: RawEntry, epoch: string): WireMessage {
  const [id, flat] = entry;
  const fields = new Map<string, Uint8Array>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    fields.set(decoder.decode(flat[i]), flat[i + 1]!);
  }
  const text = (name: string) => decoder.decode(fields.get(name) ?? new Uint8Array());
  return {
    offset: Number(decoder.decode(id).split("-")[0]),
    epoch,
    origin: text("o"),
    ref: Number(text("r")),
    time: Number(text("t")),
    data: decodeData(text("k"), fields.get("d") ?? new Uint8Array()),
  };
}

/**
 * The URL without its credentials, for messages: `redis://host:port/db`.
 *
 * @param url A parsed `redis:` or `rediss:` URL.
 */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}
