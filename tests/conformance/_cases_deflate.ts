/**
 * Autobahn|Testsuite categories 12 and 13 (permessage-deflate), from the published case
 * descriptions: messages of 16 B to 128 KiB cut from a test data set, compressed, optionally
 * auto-fragmented (to 256 B to 32 KiB frames), each sent after the echo of the one before.
 * 12.x uses the default offer on five data sets; 13.x uses the JSON data set with seven
 * offer/answer combinations (context takeover, window sizes down to 8 bits).
 *
 * Autobahn ships real files (Faust, the Lena picture, a PDF, JSON, HTML); this suite generates
 * deterministic data of the same kinds and sizes. Autobahn sends 1000 messages per case; CI
 * sends `count` (see the test), `bench/conformance_bench.ts` all 1000.
 *
 * @module
 */

import {
  CLEAN_CLOSE,
  type ConformanceCase,
  type DeflateAccept,
  type DeflateSetup,
  echo,
} from "./_dsl.ts";

/** (message size, auto-fragment size; 0 = none), as Autobahn's list. */
const SIZES: [number, number][] = [
  [16, 0],
  [64, 0],
  [256, 0],
  [1024, 0],
  [4096, 0],
  [8192, 0],
  [16384, 0],
  [32768, 0],
  [65536, 0],
  [131072, 0],
  [8192, 256],
  [16384, 256],
  [32768, 256],
  [65536, 256],
  [131072, 256],
  [131072, 1024],
  [131072, 4096],
  [131072, 32768],
];

/** A deterministic pseudo-random sequence. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const ascii = new TextEncoder();

function fromWords(words: string[], size: number, seed: number, sep: () => string): Uint8Array {
  const rnd = lcg(seed);
  let s = "";
  while (s.length < size) s += words[rnd() % words.length] + sep();
  return ascii.encode(s.slice(0, size));
}

/** A test data set: name, whether it is sent as binary, and its bytes. */
interface DataSet {
  title: string;
  binary: boolean;
  data: () => Uint8Array;
}

function memo(make: () => Uint8Array): () => Uint8Array {
  let cached: Uint8Array | null = null;
  return () => cached ??= make();
}

const json = memo(() => {
  const rnd = lcg(7);
  const items: string[] = [];
  let size = 0;
  for (let i = 0; size < 194051; i++) {
    const item = JSON.stringify({
      id: i,
      guid: `${(rnd() >>> 0).toString(16)}-${(rnd() >>> 0).toString(16)}`,
      isActive: rnd() % 2 === 0,
      balance: `$${(rnd() % 400000) / 100}`,
      age: 20 + rnd() % 50,
      name: ["Kathy Ruiz", "Ola Buckner", "Dunn Kemp", "Rosa Meyer"][rnd() % 4],
      tags: ["irure", "labore", "velit", "esse", "minim"].slice(rnd() % 3),
    });
    items.push(item);
    size += item.length + 1;
  }
  return ascii.encode(`[${items.join(",")}]`).slice(0, 194051);
});

const SETS: DataSet[] = [
  { title: "Large JSON data file (text)", binary: false, data: json },
  {
    title: "Bitmap picture, 512x512 (binary)",
    binary: true,
    data: memo(() => {
      const out = new Uint8Array(263222);
      const rnd = lcg(3);
      out.set([0x42, 0x4d]); // "BM"
      for (let i = 1078; i < out.length; i++) {
        const p = i - 1078;
        const x = p % 512;
        const y = (p / 512) | 0;
        out[i] = ((x * y) >> 6) + ((x ^ y) & 0x1f) + (rnd() % 8) & 0xff;
      }
      return out;
    }),
  },
  {
    title: "Human readable text (binary)",
    binary: true,
    data: memo(() =>
      fromWords(
        [
          "Habe",
          "nun",
          "ach",
          "Philosophie",
          "Juristerei",
          "und",
          "Medizin",
          "leider",
          "auch",
          "Theologie",
          "durchaus",
          "studiert",
          "mit",
          "heissem",
          "Bemuehn",
          "Da",
          "steh",
          "ich",
          "nun",
          "ich",
          "armer",
          "Tor",
          "und",
          "bin",
          "so",
          "klug",
          "als",
          "wie",
          "zuvor",
        ],
        222218,
        11,
        (() => {
          const r = lcg(5);
          return () => (r() % 9 === 0 ? ",\n" : " ");
        })(),
      )
    ),
  },
  {
    title: "Large HTML file (text)",
    binary: false,
    data: memo(() =>
      fromWords(
        [
          '<div class="row">',
          "<p>",
          "</p>",
          "</div>",
          '<a href="/docs/index.html">',
          "</a>",
          "<li>",
          "</li>",
          "WebSocket",
          "compression",
          "frame",
          "message",
          "deflate",
        ],
        83522,
        13,
        () => "\n",
      )
    ),
  },
  {
    title: "A larger PDF (binary)",
    binary: true,
    data: memo(() => {
      const out = new Uint8Array(1042328);
      const rnd = lcg(17);
      const text = ascii.encode("%PDF-1.4\n1 0 obj << /Type /Page /Length 4096 >> stream\n");
      for (let i = 0; i < out.length; i++) {
        // Stretches of incompressible bytes between stretches of repeated object text.
        out[i] = (i >> 12) % 3 === 0 ? text[i % text.length]! : rnd() >>> 24;
      }
      return out;
    }),
  },
];

/** Autobahn's client offer: (server_no_context_takeover, server_max_window_bits; 0 = none). */
function offer(noContext: boolean, maxBits: number): string {
  let s = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
  if (noContext) s += "; server_no_context_takeover";
  if (maxBits) s += `; server_max_window_bits=${maxBits}`;
  return s;
}

function accept(requestNoContextTakeover: boolean, requestMaxWindowBits: number): DeflateAccept {
  return { requestNoContextTakeover, requestMaxWindowBits };
}

/** The seven combinations of 13.x (the client's offers, the server's answer). */
const PARAMS: { title: string; setup: DeflateSetup }[] = [
  {
    title: "default offer / plain accept",
    setup: { offer: offer(false, 0), clientOptions: {}, accept: accept(false, 0) },
  },
  {
    title: "server_no_context_takeover / client_no_context_takeover",
    setup: {
      offer: offer(true, 0),
      clientOptions: { serverNoContextTakeover: true },
      accept: accept(true, 0),
    },
  },
  {
    title: "server_max_window_bits=8 / client_max_window_bits=8",
    setup: {
      offer: offer(false, 8),
      clientOptions: { serverMaxWindowBits: 8 },
      accept: accept(false, 8),
    },
  },
  {
    title: "server_max_window_bits=15 / client_max_window_bits=15",
    setup: {
      offer: offer(false, 15),
      clientOptions: { serverMaxWindowBits: 15 },
      accept: accept(false, 15),
    },
  },
  {
    title: "no context takeover, 8 bits, both ways",
    setup: {
      offer: offer(true, 8),
      clientOptions: { serverNoContextTakeover: true, serverMaxWindowBits: 8 },
      accept: accept(true, 8),
    },
  },
  {
    title: "no context takeover, 15 bits, both ways",
    setup: {
      offer: offer(true, 15),
      clientOptions: { serverNoContextTakeover: true, serverMaxWindowBits: 15 },
      accept: accept(true, 15),
    },
  },
  {
    title: "three offers (8 bits no takeover, no takeover, default) / first acceptable",
    setup: {
      offer: [offer(true, 8), offer(true, 0), offer(false, 0)].join(", "),
      clientOptions: { serverNoContextTakeover: true, serverMaxWindowBits: 8 },
      accept: accept(true, 8),
    },
  },
];

function deflateCase(
  id: string,
  title: string,
  set: DataSet,
  size: number,
  fragment: number,
  count: number,
  setup: DeflateSetup,
): ConformanceCase {
  // Messages are cut one after the other from the data set, wrapping around.
  const messages = (): Uint8Array[] => {
    const data = set.data();
    const out: Uint8Array[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = at + size;
      out.push(
        end <= data.length ? data.subarray(at, end) : new Uint8Array([
          ...data.subarray(at),
          ...data.subarray(0, end - data.length),
        ]),
      );
      at = end % data.length;
    }
    return out;
  };
  let cached: Uint8Array[] | null = null;
  const get = () => cached ??= messages();
  return {
    id,
    category: id.split(".")[0]!,
    description: `${title}: ${count} compressed messages of ${size} B${
      fragment ? `, auto-fragmented to ${fragment} B` : ""
    }.`,
    get ok() {
      return get().map((m) => echo(m, set.binary));
    },
    steps: function* () {
      const list = get();
      for (let i = 0; i < list.length; i++) {
        yield { message: list[i]!, binary: set.binary, fragment: fragment || undefined };
        yield { awaitEvents: i + 1 };
      }
    },
    close: CLEAN_CLOSE,
    waitMs: 10_000 + count * 30,
    deflate: setup,
  };
}

/** Categories 12 and 13, `count` messages per case (Autobahn: 1000). */
export function deflateCases(count: number): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  SETS.forEach((set, j) => {
    SIZES.forEach(([size, fragment], i) => {
      out.push(
        deflateCase(
          `12.${j + 1}.${i + 1}`,
          set.title,
          set,
          size,
          fragment,
          count,
          PARAMS[0]!.setup,
        ),
      );
    });
  });
  PARAMS.forEach(({ title, setup }, j) => {
    SIZES.forEach(([size, fragment], i) => {
      out.push(deflateCase(`13.${j + 1}.${i + 1}`, title, SETS[0]!, size, fragment, count, setup));
    });
  });
  return out;
}
