/**
 * permessage-deflate throughput: one message compressed by one end and inflated by the other,
 * per iteration, for wirestream's extension against npm:ws's `PerMessageDeflate` under the same
 * settings (zlib level 6, memLevel 8, window 15, threshold 0), with and without context
 * takeover. Workloads: 1 KiB JSON-like messages (64 different ones, in turn) and 64 KiB text.
 * The compression ratio of each side is printed before the run.
 *
 * Run: `deno bench -A bench/deflate_bench.ts`
 */

import { createRequire } from "node:module";
import { Frame } from "../src/core/frame.ts";
import {
  negotiateClientExtensions,
  negotiateServerExtensions,
} from "../src/core/extension_negotiation.ts";
import type { PerMessageDeflate } from "../src/core/permessage_deflate.ts";
import { perMessageDeflate } from "../src/session/permessage_deflate.ts";
// The graph imports ws, so that node_modules/ws (read below) is installed.
import "npm:ws@8.23.0";

interface WsDeflate {
  accept(offers: Record<string, (string | true)[]>[]): Record<string, unknown>;
  compress(data: Uint8Array, fin: boolean, cb: (err: Error | null, out: Uint8Array) => void): void;
  decompress(
    data: Uint8Array,
    fin: boolean,
    cb: (err: Error | null, out: Uint8Array) => void,
  ): void;
  cleanup(): void;
}

// ws does not export its lib/ files: load the file itself.
const require = createRequire(import.meta.url);
const WsPerMessageDeflate = require(
  new URL("../node_modules/ws/lib/permessage-deflate.js", import.meta.url).pathname,
) as new (options: object, isServer: boolean, maxPayload: number) => WsDeflate;

function jsonMessages(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 42;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let m = 0; m < 64; m++) {
    const items = [];
    for (let i = 0; items.length < 40; i++) {
      items.push({
        id: Math.floor(rnd() * 1e6),
        user: `user${Math.floor(rnd() * 500)}`,
        active: rnd() < 0.5,
        score: Math.round(rnd() * 1e4) / 100,
        tags: ["red", "green", "blue", "admin", "guest"].filter(() => rnd() < 0.4),
      });
    }
    out.push(new TextEncoder().encode(JSON.stringify(items).slice(0, 1024)));
  }
  return out;
}

function text64k(): Uint8Array[] {
  const words = (
    "the quick brown fox jumps over the lazy dog while websocket frames carry compressed " +
    "messages across the wire and every endpoint keeps its own sliding window of history"
  ).split(" ");
  let s = 7;
  const out: Uint8Array[] = [];
  for (let m = 0; m < 4; m++) {
    let t = "";
    while (t.length < 65536) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      t += words[s % words.length] + (s % 13 === 0 ? ".\n" : " ");
    }
    out.push(new TextEncoder().encode(t.slice(0, 65536)));
  }
  return out;
}

function ours(noContext: boolean): { client: PerMessageDeflate; server: PerMessageDeflate } {
  const options = {
    serverNoContextTakeover: noContext,
    clientNoContextTakeover: noContext,
    level: 6,
    memLevel: 8,
  };
  const factory = perMessageDeflate(options);
  const [agreement] = negotiateServerExtensions(
    [perMessageDeflate(options)],
    factory.clientOffers(),
  );
  const [client] = negotiateClientExtensions([factory], [agreement!.response]);
  return { client: client as PerMessageDeflate, server: agreement!.extension as PerMessageDeflate };
}

function theirs(noContext: boolean): { client: WsDeflate; server: WsDeflate } {
  const options = {
    threshold: 0,
    serverNoContextTakeover: noContext,
    clientNoContextTakeover: noContext,
    zlibDeflateOptions: { level: 6, memLevel: 8 },
  };
  const server = new WsPerMessageDeflate(options, true, 0);
  const client = new WsPerMessageDeflate(options, false, 0);
  const offer: Record<string, (string | true)[]> = {};
  if (noContext) {
    offer.server_no_context_takeover = [true];
    offer.client_no_context_takeover = [true];
  }
  const accepted = server.accept([offer]);
  const answer: Record<string, (string | true)[]> = {};
  for (const [k, v] of Object.entries(accepted)) answer[k] = [v === true ? true : String(v)];
  client.accept([answer]);
  return { client, server };
}

function call(
  fn: (data: Uint8Array, fin: boolean, cb: (err: Error | null, out: Uint8Array) => void) => void,
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    fn(data, true, (err, out) => err ? reject(err) : resolve(out))
  );
}

async function ratio(messages: Uint8Array[], noContext: boolean): Promise<[number, number]> {
  const a = ours(noContext);
  const b = theirs(noContext);
  let raw = 0;
  let mine = 0;
  let ws = 0;
  for (let round = 0; round < 4; round++) {
    for (const m of messages) {
      raw += m.length;
      const out = a.client.processOutgoing(Frame.binary(m));
      a.server.processIncoming(out);
      mine += out.data.length;
      const theirsOut = await call(b.client.compress.bind(b.client), m);
      await call(b.server.decompress.bind(b.server), theirsOut);
      ws += theirsOut.length;
    }
  }
  a.client.dispose();
  a.server.dispose();
  b.client.cleanup();
  b.server.cleanup();
  return [mine / raw, ws / raw];
}

const WORKLOADS: [string, Uint8Array[]][] = [["1 KiB JSON", jsonMessages()], [
  "64 KiB text",
  text64k(),
]];

for (const [label, messages] of WORKLOADS) {
  for (const noContext of [false, true]) {
    const mode = noContext ? "no context takeover" : "context takeover";
    const group = `${label}, ${mode}`;
    const [mine, ws] = await ratio(messages, noContext);
    console.log(
      `${group}: compressed size / original — wirestream ${mine.toFixed(3)}, ws ${ws.toFixed(3)}`,
    );

    const a = ours(noContext);
    let i = 0;
    Deno.bench({
      name: `wirestream ${group}`,
      group,
      baseline: true,
      fn() {
        const m = messages[i++ % messages.length]!;
        const out = a.client.processOutgoing(Frame.binary(m));
        const back = a.server.processIncoming(out);
        if (back.data.length !== m.length) throw new Error("round trip failed");
      },
    });

    const b = theirs(noContext);
    let j = 0;
    Deno.bench({
      name: `ws ${group}`,
      group,
      async fn() {
        const m = messages[j++ % messages.length]!;
        const out = await call(b.client.compress.bind(b.client), m);
        const back = await call(b.server.decompress.bind(b.server), out);
        if (back.length !== m.length) throw new Error("round trip failed");
      },
    });
  }
}
