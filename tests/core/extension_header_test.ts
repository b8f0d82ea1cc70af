import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { HandshakeError } from "../../src/core/errors.ts";
import {
  type ExtensionOffer,
  formatExtensionHeader,
  parseExtensionHeader,
} from "../../src/core/extension_header.ts";

const offer = (name: string, params: [string, string | true][] = []): ExtensionOffer => ({
  name,
  params: new Map(params),
});

function assertInvalid(value: string): void {
  assert.throws(() => parseExtensionHeader(value), (err: unknown) => {
    assert.ok(
      err instanceof HandshakeError,
      `expected HandshakeError for ${JSON.stringify(value)}`,
    );
    assert.equal(err.code, "HANDSHAKE_INVALID");
    assert.match(err.message, /Sec-WebSocket-Extensions/);
    return true;
  });
}

Deno.test("parseExtensionHeader parses a bare extension", () => {
  assert.deepEqual(parseExtensionHeader("permessage-deflate"), [offer("permessage-deflate")]);
});

Deno.test("parseExtensionHeader parses parameters with and without values", () => {
  assert.deepEqual(
    parseExtensionHeader("permessage-deflate; client_max_window_bits; server_max_window_bits=10"),
    [offer("permessage-deflate", [["client_max_window_bits", true], [
      "server_max_window_bits",
      "10",
    ]])],
  );
});

Deno.test("parseExtensionHeader parses several offers in order (RFC 7692 §5 example)", () => {
  assert.deepEqual(
    parseExtensionHeader(
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10, " +
        "permessage-deflate; client_max_window_bits",
    ),
    [
      offer("permessage-deflate", [["client_max_window_bits", true], [
        "server_max_window_bits",
        "10",
      ]]),
      offer("permessage-deflate", [["client_max_window_bits", true]]),
    ],
  );
});

Deno.test("parseExtensionHeader unquotes quoted values", () => {
  assert.deepEqual(parseExtensionHeader('x; a="10"; b="t\\ok"; c="x"'), [
    offer("x", [["a", "10"], ["b", "tok"], ["c", "x"]]),
  ]);
});

Deno.test("parseExtensionHeader lower-cases names and keeps values", () => {
  assert.deepEqual(parseExtensionHeader("PerMessage-Deflate; Server_Max_Window_Bits=AbC"), [
    offer("permessage-deflate", [["server_max_window_bits", "AbC"]]),
  ]);
});

Deno.test("parseExtensionHeader allows optional whitespace around separators", () => {
  assert.deepEqual(
    parseExtensionHeader(' \tfoo ;a = 1 ;\tb ,\tbar;c="2" \t'),
    [offer("foo", [["a", "1"], ["b", true]]), offer("bar", [["c", "2"]])],
  );
  assert.deepEqual(parseExtensionHeader("foo;a;b=1"), [offer("foo", [["a", true], ["b", "1"]])]);
});

Deno.test("parseExtensionHeader skips empty list elements", () => {
  assert.deepEqual(parseExtensionHeader(", foo,, ,bar ,"), [offer("foo"), offer("bar")]);
  assert.deepEqual(parseExtensionHeader(""), []);
  assert.deepEqual(parseExtensionHeader(" \t "), []);
  assert.deepEqual(parseExtensionHeader(" , ,"), []);
});

Deno.test("parseExtensionHeader keeps repeated extension names", () => {
  assert.deepEqual(parseExtensionHeader("a, a; x, A"), [
    offer("a"),
    offer("a", [["x", true]]),
    offer("a"),
  ]);
});

Deno.test("parseExtensionHeader rejects repeated parameter names", () => {
  assertInvalid("permessage-deflate; client_max_window_bits; client_max_window_bits=10");
  assertInvalid("x; a=1; A=2");
  // The same parameter in two different offers is fine.
  assert.equal(parseExtensionHeader("x; a=1, x; a=2").length, 2);
});

const MALFORMED = [
  ";",
  "; a",
  "foo;",
  "foo; ",
  "foo;;a",
  "foo; =1",
  "foo; a=",
  "foo; a= ;b",
  "foo; a=1=2",
  "foo bar",
  "foo; a b",
  "foo; a=1 2",
  'foo; a="x y"',
  'foo; a=""',
  'foo; a="1',
  'foo; a="1\\',
  'foo; a="1"x',
  'foo; a="a,b"',
  'foo; a=x"',
  '"foo"',
  "foo/1",
  "foo; a/b=1",
  "foo; a=(1)",
  "fo\u00e9",
  "foo\u0100",
  "foo\r\n",
  "foo\x00",
  "foo; a=\x7f",
  'foo; a="\x01"',
];

for (const value of MALFORMED) {
  Deno.test(`parseExtensionHeader rejects ${JSON.stringify(value)}`, () => {
    assertInvalid(value);
  });
}

Deno.test("parseExtensionHeader reports where the syntax error is", () => {
  assert.throws(() => parseExtensionHeader("foo; a=1 2"), /offset 9/);
});

Deno.test("parseExtensionHeader rejects a non-string", () => {
  assert.throws(() => parseExtensionHeader(null as unknown as string), TypeError);
});

Deno.test("formatExtensionHeader writes parameters without trailing spaces", () => {
  assert.equal(
    formatExtensionHeader([
      offer("permessage-deflate", [["client_max_window_bits", true], [
        "server_max_window_bits",
        "10",
      ]]),
    ]),
    "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
  );
  assert.equal(formatExtensionHeader([offer("permessage-deflate")]), "permessage-deflate");
});

Deno.test("formatExtensionHeader joins several extensions", () => {
  assert.equal(
    formatExtensionHeader([
      offer("permessage-deflate", [["client_no_context_takeover", true]]),
      offer("x-foo"),
    ]),
    "permessage-deflate; client_no_context_takeover, x-foo",
  );
  assert.equal(formatExtensionHeader([]), "");
});

Deno.test("formatExtensionHeader rejects what cannot be sent", () => {
  assert.throws(() => formatExtensionHeader([offer("")]), TypeError);
  assert.throws(() => formatExtensionHeader([offer("a b")]), TypeError);
  assert.throws(() => formatExtensionHeader([offer("a", [["b c", true]])]), TypeError);
  assert.throws(() => formatExtensionHeader([offer("a", [["b", "x y"]])]), TypeError);
  assert.throws(() => formatExtensionHeader([offer("a", [["b", ""]])]), TypeError);
  assert.throws(
    () => formatExtensionHeader([offer("a", [["b", 10 as unknown as string]])]),
    TypeError,
  );
  assert.throws(
    () => formatExtensionHeader([offer("a", [["b", false as unknown as true]])]),
    TypeError,
  );
  assert.throws(
    () => formatExtensionHeader([{ name: "a", params: {} } as unknown as ExtensionOffer]),
    TypeError,
  );
  assert.throws(() => formatExtensionHeader("a" as unknown as ExtensionOffer[]), TypeError);
});

// ---------------------------------------------------------------------------------------------
// Properties

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9a-z]{1,10}$/);
const offers = fc.array(
  fc.record({
    name: token,
    params: fc.uniqueArray(fc.tuple(token, fc.oneof(fc.constant(true as const), token)), {
      selector: ([name]) => name,
      maxLength: 4,
    }).map((pairs) => new Map<string, string | true>(pairs)),
  }).map(({ name, params }): ExtensionOffer => ({ name, params })),
  { maxLength: 4 },
);

Deno.test("parseExtensionHeader throws only HandshakeError on arbitrary strings", () => {
  const pieces = fc.array(
    fc.oneof(
      fc.constantFrom(",", ";", "=", '"', "\\", " ", "\t", "a", "permessage-deflate", "10", "é"),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 20 },
  ).map((parts) => parts.join(""));
  fc.assert(
    fc.property(fc.oneof(fc.string(), pieces), (value) => {
      try {
        const result = parseExtensionHeader(value);
        for (const { name, params } of result) {
          assert.equal(name, name.toLowerCase());
          for (const key of params.keys()) assert.equal(key, key.toLowerCase());
        }
      } catch (err) {
        assert.ok(err instanceof HandshakeError, String(err));
        assert.equal(err.code, "HANDSHAKE_INVALID");
      }
    }),
    { numRuns: 3000 },
  );
});

Deno.test("formatExtensionHeader then parseExtensionHeader round-trips", () => {
  fc.assert(
    fc.property(offers, (list) => {
      const value = formatExtensionHeader(list);
      assert.equal(value, value.trim());
      assert.deepEqual(parseExtensionHeader(value), list);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("parseExtensionHeader reads any spacing and quoting of a valid header", () => {
  const ows = fc.constantFrom("", " ", "\t", "  ");
  fc.assert(
    fc.property(
      offers,
      fc.infiniteStream(ows),
      fc.infiniteStream(fc.boolean()),
      (list, ws, quote) => {
        const w = () => ws.next().value;
        const value = list.map(({ name, params }) =>
          w() + name + [...params].map(([k, v]) =>
            w() + ";" + w() + k +
            (v === true
              ? ""
              : w() + "=" + w() + (quote.next().value ? `"${v.replace(/[\\"]/g, "\\$&")}"` : v))
          ).join("") + w()
        ).join(",");
        assert.deepEqual(parseExtensionHeader(value), list);
      },
    ),
    { numRuns: 1000 },
  );
});
