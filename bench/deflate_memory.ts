/**
 * Resident memory per idle permessage-deflate connection, with and without context takeover,
 * for several window bits and memLevels: the table in docs/permessage-deflate.md and in the
 * `perMessageDeflate()` doc comment.
 *
 * Each measurement runs in its own process: it negotiates N client/server extension pairs, sends
 * one 1 KiB JSON-like message each way on every pair (so every compressor and decompressor that
 * will ever exist does exist), collects garbage, and divides the growth of the resident set by
 * the number of endpoints (2N).
 *
 * Run: `deno run -A bench/deflate_memory.ts` (prints a Markdown table)
 */

import { Frame } from "../src/core/frame.ts";
import {
  negotiateClientExtensions,
  negotiateServerExtensions,
} from "../src/core/extension_negotiation.ts";
import type { WebSocketExtension } from "../src/core/extension.ts";
import { perMessageDeflate } from "../src/session/permessage_deflate.ts";

const PAIRS = 1000;

function message(i: number): Uint8Array {
  const items = [];
  for (let k = 0; k < 30; k++) items.push({ id: i * 100 + k, name: `user${(i * 7 + k) % 997}` });
  return new TextEncoder().encode(JSON.stringify(items).slice(0, 1024));
}

function measure(bits: number, memLevel: number, noContext: boolean): number {
  const options = {
    serverMaxWindowBits: bits,
    clientMaxWindowBits: bits,
    serverNoContextTakeover: noContext,
    clientNoContextTakeover: noContext,
    memLevel,
  };
  const keep: WebSocketExtension[] = [];
  // warm up the code paths (and any shared zlib streams) before the baseline
  for (let i = 0; i < 2; i++) run(i);
  (globalThis as { gc?: () => void }).gc?.();
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < PAIRS; i++) keep.push(...run(i));
  (globalThis as { gc?: () => void }).gc?.();
  const after = Deno.memoryUsage().rss;
  for (const ext of keep) ext.dispose();
  return (after - before) / (2 * PAIRS);

  function run(i: number): WebSocketExtension[] {
    const client = perMessageDeflate(options);
    const [agreement] = negotiateServerExtensions(
      [perMessageDeflate(options)],
      client.clientOffers(),
    );
    const [c] = negotiateClientExtensions([client], [agreement!.response]);
    const s = agreement!.extension;
    const m = message(i);
    s.processIncoming(c!.processOutgoing(Frame.text(m)) as Frame);
    c!.processIncoming(s.processOutgoing(Frame.text(m)) as Frame);
    return [c!, s];
  }
}

if (Deno.args.length === 3) {
  const [bits, memLevel, noContext] = Deno.args.map(Number) as [number, number, number];
  console.log(JSON.stringify(measure(bits, memLevel, noContext === 1)));
} else {
  const rows: string[] = [
    "| window bits | memLevel | context takeover | no context takeover |",
    "| ----------- | -------- | ---------------- | ------------------- |",
  ];
  for (const [bits, memLevel] of [[15, 8], [12, 8], [10, 8], [8, 8], [15, 5], [12, 5], [10, 5]]) {
    const cells: string[] = [];
    for (const noContext of [0, 1]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          new URL(import.meta.url).pathname,
          String(bits),
          String(memLevel),
          String(noContext),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const bytes = Number(new TextDecoder().decode(out.stdout).trim());
      cells.push(`${(bytes / 1024).toFixed(1)} KiB`);
    }
    rows.push(`| ${bits} | ${memLevel} | ${cells[0]} | ${cells[1]} |`);
  }
  console.log(rows.join("\n"));
}
