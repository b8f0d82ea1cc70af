import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { ConnectionClosedError, HandshakeError, ProtocolError } from "../../src/core/errors.ts";
import {
  type ExtensionOffer,
  formatExtensionHeader,
  parseExtensionHeader,
} from "../../src/core/extension_header.ts";
import { Frame } from "../../src/core/frame.ts";
import {
  acceptDeflateResponse,
  deflateClientOffer,
  parseDeflateParams,
  selectDeflateOffer,
} from "../../src/core/deflate_negotiation.ts";
import {
  checkDeflateNegotiationOptions,
  deflateDirections,
  type DeflateNegotiationOptions,
} from "../../src/core/deflate_params.ts";
import {
  type DeflateCompressor,
  type DeflateDecompressor,
  PerMessageDeflate,
  type PerMessageDeflateRuntime,
} from "../../src/core/permessage_deflate.ts";

const header = (value: string): ExtensionOffer[] => parseExtensionHeader(value);
const one = (value: string): ExtensionOffer => header(value)[0]!;
const offerText = (options: DeflateNegotiationOptions): string =>
  formatExtensionHeader([deflateClientOffer(options)]);

function assertMismatch(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HandshakeError, `expected HandshakeError, got ${err}`);
    assert.equal(err.code, "HANDSHAKE_EXTENSION_MISMATCH");
    assert.match(err.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Parameter parsing (RFC 7692 §7.1)

Deno.test("parseDeflateParams reads all four parameters", () => {
  const got = parseDeflateParams(
    one(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    ).params,
    "response",
  );
  assert.deepEqual(got, {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 9,
  });
});

Deno.test("parseDeflateParams accepts window bits 8 to 15, quoted or not", () => {
  for (let bits = 8; bits <= 15; bits++) {
    for (const form of [`${bits}`, `"${bits}"`]) {
      const got = parseDeflateParams(
        one(`permessage-deflate; server_max_window_bits=${form}; client_max_window_bits=${form}`)
          .params,
        "response",
      );
      assert.equal(got.serverMaxWindowBits, bits);
      assert.equal(got.clientMaxWindowBits, bits);
    }
  }
});

Deno.test("parseDeflateParams refuses bad window bits", () => {
  for (const value of ["7", "16", "0", "08", "010", "+9", "9.0", "1e1", "a", "-9", "015"]) {
    assertMismatch(
      () =>
        parseDeflateParams(
          one(`permessage-deflate; server_max_window_bits=${value}`).params,
          "offer",
        ),
      /server_max_window_bits must be an integer from 8 to 15/,
    );
    assertMismatch(
      () =>
        parseDeflateParams(
          one(`permessage-deflate; client_max_window_bits=${value}`).params,
          "offer",
        ),
      /client_max_window_bits must be an integer from 8 to 15/,
    );
  }
});

Deno.test("parseDeflateParams: value-less client_max_window_bits only in an offer", () => {
  const params = one("permessage-deflate; client_max_window_bits").params;
  assert.equal(parseDeflateParams(params, "offer").clientMaxWindowBits, true);
  assertMismatch(() => parseDeflateParams(params, "response"), /needs a value in a response/);
});

Deno.test("parseDeflateParams refuses values on flags, missing values, unknown parameters", () => {
  assertMismatch(
    () =>
      parseDeflateParams(one("permessage-deflate; server_no_context_takeover=1").params, "offer"),
    /server_no_context_takeover takes no value/,
  );
  assertMismatch(
    () =>
      parseDeflateParams(one("permessage-deflate; client_no_context_takeover=x").params, "offer"),
    /client_no_context_takeover takes no value/,
  );
  assertMismatch(
    () => parseDeflateParams(one("permessage-deflate; server_max_window_bits").params, "offer"),
    /server_max_window_bits needs a value/,
  );
  assertMismatch(
    () => parseDeflateParams(one("permessage-deflate; x_foo").params, "offer"),
    /unknown parameter x_foo/,
  );
});

Deno.test("a repeated parameter makes the whole header invalid", () => {
  assert.throws(
    () => header("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"),
    (err: unknown) => err instanceof HandshakeError && err.code === "HANDSHAKE_INVALID",
  );
});

Deno.test("checkDeflateNegotiationOptions checks types and ranges", () => {
  checkDeflateNegotiationOptions({});
  checkDeflateNegotiationOptions({ clientMaxWindowBits: true, serverMaxWindowBits: 8 });
  checkDeflateNegotiationOptions({ clientMaxWindowBits: false });
  assert.throws(() => checkDeflateNegotiationOptions({ serverMaxWindowBits: 7 }), RangeError);
  assert.throws(() => checkDeflateNegotiationOptions({ serverMaxWindowBits: 16 }), RangeError);
  assert.throws(() => checkDeflateNegotiationOptions({ clientMaxWindowBits: 9.5 }), RangeError);
  assert.throws(
    () => checkDeflateNegotiationOptions({ serverMaxWindowBits: true as unknown as number }),
    TypeError,
  );
  assert.throws(
    () => checkDeflateNegotiationOptions({ clientNoContextTakeover: 1 as unknown as boolean }),
    TypeError,
  );
  assert.throws(
    () => checkDeflateNegotiationOptions(null as unknown as DeflateNegotiationOptions),
    TypeError,
  );
});

// ---------------------------------------------------------------------------------------------
// Client offer and answer

Deno.test("client offer: defaults to a value-less client_max_window_bits, like browsers", () => {
  assert.equal(offerText({}), "permessage-deflate; client_max_window_bits");
  assert.equal(offerText({ clientMaxWindowBits: false }), "permessage-deflate");
  assert.equal(
    offerText({ clientMaxWindowBits: 10 }),
    "permessage-deflate; client_max_window_bits=10",
  );
  assert.equal(
    offerText({
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 8,
    }),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
  );
});

Deno.test("client answer: a bare answer means defaults", () => {
  assert.deepEqual(acceptDeflateResponse(one("permessage-deflate"), {}), {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  });
});

Deno.test("client answer: server_no_context_takeover", () => {
  // asked and answered
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; server_no_context_takeover"), {
      serverNoContextTakeover: true,
    }).serverNoContextTakeover,
    true,
  );
  // answered unasked (RFC 7692 §7.1.1.1 allows it)
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; server_no_context_takeover"), {})
      .serverNoContextTakeover,
    true,
  );
  // asked and ignored
  assertMismatch(
    () => acceptDeflateResponse(one("permessage-deflate"), { serverNoContextTakeover: true }),
    /ignored server_no_context_takeover/,
  );
});

Deno.test("client answer: client_no_context_takeover holds when offered or answered", () => {
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate"), { clientNoContextTakeover: true })
      .clientNoContextTakeover,
    true,
  );
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; client_no_context_takeover"), {})
      .clientNoContextTakeover,
    true,
  );
  assert.equal(acceptDeflateResponse(one("permessage-deflate"), {}).clientNoContextTakeover, false);
});

Deno.test("client answer: server_max_window_bits", () => {
  // not offered: the server may still limit itself
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; server_max_window_bits=11"), {})
      .serverMaxWindowBits,
    11,
  );
  // offered: same or smaller
  for (const answered of [8, 9, 10]) {
    assert.equal(
      acceptDeflateResponse(one(`permessage-deflate; server_max_window_bits=${answered}`), {
        serverMaxWindowBits: 10,
      }).serverMaxWindowBits,
      answered,
    );
  }
  assertMismatch(
    () =>
      acceptDeflateResponse(one("permessage-deflate; server_max_window_bits=11"), {
        serverMaxWindowBits: 10,
      }),
    /more than the 10 offered/,
  );
  assertMismatch(
    () => acceptDeflateResponse(one("permessage-deflate"), { serverMaxWindowBits: 10 }),
    /ignored server_max_window_bits/,
  );
});

Deno.test("client answer: client_max_window_bits", () => {
  // value-less offer: the server picks, or leaves 15
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; client_max_window_bits=9"), {})
      .clientMaxWindowBits,
    9,
  );
  assert.equal(acceptDeflateResponse(one("permessage-deflate"), {}).clientMaxWindowBits, 15);
  // offered with a value: no answer keeps it, a smaller answer wins, a larger one fails
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate"), { clientMaxWindowBits: 10 })
      .clientMaxWindowBits,
    10,
  );
  assert.equal(
    acceptDeflateResponse(one("permessage-deflate; client_max_window_bits=8"), {
      clientMaxWindowBits: 10,
    }).clientMaxWindowBits,
    8,
  );
  assertMismatch(
    () =>
      acceptDeflateResponse(one("permessage-deflate; client_max_window_bits=12"), {
        clientMaxWindowBits: 10,
      }),
    /more than the 10 offered/,
  );
  // not offered: answering it is an error (RFC 7692 §7.1.2.2)
  assertMismatch(
    () =>
      acceptDeflateResponse(one("permessage-deflate; client_max_window_bits=12"), {
        clientMaxWindowBits: false,
      }),
    /answered but not offered/,
  );
  // a value-less answer is malformed
  assertMismatch(
    () => acceptDeflateResponse(one("permessage-deflate; client_max_window_bits"), {}),
    /needs a value in a response/,
  );
});

Deno.test("client answer: unknown parameters and another extension's name fail", () => {
  assertMismatch(
    () => acceptDeflateResponse(one("permessage-deflate; mystery"), {}),
    /unknown parameter mystery/,
  );
  assertMismatch(() => acceptDeflateResponse(one("x-webkit-deflate-frame"), {}), /expected a/);
});

// ---------------------------------------------------------------------------------------------
// Server selection

function select(value: string, options: DeflateNegotiationOptions = {}) {
  const chosen = selectDeflateOffer(header(value), options);
  return chosen === null ? null : {
    index: chosen.index,
    response: formatExtensionHeader([chosen.response]),
    parameters: chosen.parameters,
  };
}

Deno.test("server: answers a bare offer with a bare answer", () => {
  assert.deepEqual(select("permessage-deflate"), {
    index: 0,
    response: "permessage-deflate",
    parameters: {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
  });
});

Deno.test("server: answers Chromium's and Firefox's offers", () => {
  assert.equal(
    select("permessage-deflate; client_max_window_bits")?.response,
    "permessage-deflate",
  );
  assert.equal(
    select("permessage-deflate; client_max_window_bits", { clientMaxWindowBits: 10 })?.response,
    "permessage-deflate; client_max_window_bits=10",
  );
});

Deno.test("server: server_no_context_takeover when asked or configured", () => {
  const asked = select("permessage-deflate; server_no_context_takeover");
  assert.equal(asked?.response, "permessage-deflate; server_no_context_takeover");
  assert.equal(asked?.parameters.serverNoContextTakeover, true);
  const configured = select("permessage-deflate", { serverNoContextTakeover: true });
  assert.equal(configured?.response, "permessage-deflate; server_no_context_takeover");
});

Deno.test("server: client_no_context_takeover when announced or required", () => {
  const announced = select("permessage-deflate; client_no_context_takeover");
  assert.equal(announced?.response, "permessage-deflate; client_no_context_takeover");
  assert.equal(announced?.parameters.clientNoContextTakeover, true);
  const required = select("permessage-deflate", { clientNoContextTakeover: true });
  assert.equal(required?.response, "permessage-deflate; client_no_context_takeover");
  assert.equal(required?.parameters.clientNoContextTakeover, true);
});

Deno.test("server: server_max_window_bits is the smaller of offer and setting", () => {
  assert.equal(
    select("permessage-deflate; server_max_window_bits=10")?.response,
    "permessage-deflate; server_max_window_bits=10",
  );
  assert.equal(
    select("permessage-deflate; server_max_window_bits=10", { serverMaxWindowBits: 12 })?.response,
    "permessage-deflate; server_max_window_bits=10",
  );
  assert.equal(
    select("permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 9 })?.response,
    "permessage-deflate; server_max_window_bits=9",
  );
  assert.equal(
    select("permessage-deflate", { serverMaxWindowBits: 11 })?.response,
    "permessage-deflate; server_max_window_bits=11",
  );
  // window 8 is honoured (compressed with zlib's 9, which stays within 256 bytes)
  const eight = select("permessage-deflate; server_max_window_bits=8");
  assert.equal(eight?.response, "permessage-deflate; server_max_window_bits=8");
  assert.equal(eight?.parameters.serverMaxWindowBits, 8);
});

Deno.test("server: client_max_window_bits only when offered", () => {
  // not offered: never answered, even when the server would like a limit (RFC 7692 §7.1.2.2)
  const unoffered = select("permessage-deflate", { clientMaxWindowBits: 10 });
  assert.equal(unoffered?.response, "permessage-deflate");
  assert.equal(unoffered?.parameters.clientMaxWindowBits, 15);
  // value-less offer: the server's limit or nothing
  assert.equal(
    select("permessage-deflate; client_max_window_bits")?.response,
    "permessage-deflate",
  );
  assert.equal(
    select("permessage-deflate; client_max_window_bits", { clientMaxWindowBits: 8 })?.response,
    "permessage-deflate; client_max_window_bits=8",
  );
  // offered with a value: echoed, or lowered to the server's limit
  assert.equal(
    select("permessage-deflate; client_max_window_bits=11")?.response,
    "permessage-deflate; client_max_window_bits=11",
  );
  assert.equal(
    select("permessage-deflate; client_max_window_bits=11", { clientMaxWindowBits: 9 })?.response,
    "permessage-deflate; client_max_window_bits=9",
  );
  assert.equal(
    select("permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: 12 })?.response,
    "permessage-deflate; client_max_window_bits=9",
  );
  assert.equal(
    select("permessage-deflate; client_max_window_bits=11", { clientMaxWindowBits: true })
      ?.response,
    "permessage-deflate; client_max_window_bits=11",
  );
});

Deno.test("server: declines bad offers and answers the first acceptable one", () => {
  const chosen = select(
    [
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; client_max_window_bits=16",
      "permessage-deflate; unknown_param",
      "permessage-deflate; server_no_context_takeover=yes",
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_max_window_bits=10",
      "permessage-deflate",
    ].join(", "),
  );
  assert.equal(chosen?.index, 5);
  assert.equal(chosen?.response, "permessage-deflate; server_max_window_bits=10");
  assert.equal(select("permessage-deflate; bogus"), null);
  assert.equal(select(""), null);
  assert.equal(select("x-webkit-deflate-frame"), null);
});

Deno.test("negotiation round trip: whatever the server answers, the client accepts", () => {
  const bits = fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined });
  const options = fc.record({
    serverNoContextTakeover: fc.option(fc.boolean(), { nil: undefined }),
    clientNoContextTakeover: fc.option(fc.boolean(), { nil: undefined }),
    serverMaxWindowBits: bits,
    clientMaxWindowBits: fc.oneof(bits, fc.boolean()),
  });
  fc.assert(
    fc.property(options, options, (client, server) => {
      const offer = deflateClientOffer(client);
      // through the wire format, as a real handshake would
      const offers = parseExtensionHeader(formatExtensionHeader([offer]));
      const chosen = selectDeflateOffer(offers, server);
      assert.ok(chosen, "a well-formed offer is always accepted");
      const answer = parseExtensionHeader(formatExtensionHeader([chosen.response]))[0]!;
      const agreed = acceptDeflateResponse(answer, client);
      assert.deepEqual(agreed, chosen.parameters, "both ends agree");
      if (client.serverNoContextTakeover || server.serverNoContextTakeover) {
        assert.equal(agreed.serverNoContextTakeover, true);
      }
      if (client.clientNoContextTakeover || server.clientNoContextTakeover) {
        assert.equal(agreed.clientNoContextTakeover, true);
      }
      for (const limit of [client.serverMaxWindowBits, server.serverMaxWindowBits]) {
        if (limit !== undefined) assert.ok(agreed.serverMaxWindowBits <= limit);
      }
      if (typeof client.clientMaxWindowBits === "number") {
        assert.ok(agreed.clientMaxWindowBits <= client.clientMaxWindowBits);
      }
      if (typeof server.clientMaxWindowBits === "number" && client.clientMaxWindowBits !== false) {
        assert.ok(agreed.clientMaxWindowBits <= server.clientMaxWindowBits);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("deflateDirections maps the parameters to own and peer's windows", () => {
  const parameters = {
    serverNoContextTakeover: true,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 9,
    clientMaxWindowBits: 12,
  };
  assert.deepEqual(deflateDirections(parameters, "client"), {
    outgoing: { windowBits: 12, noContextTakeover: false },
    incoming: { windowBits: 9, noContextTakeover: true },
  });
  assert.deepEqual(deflateDirections(parameters, "server"), {
    outgoing: { windowBits: 9, noContextTakeover: true },
    incoming: { windowBits: 12, noContextTakeover: false },
  });
});

// ---------------------------------------------------------------------------------------------
// Frame rules, with a fake codec: "compression" upper-cases ASCII, and every call is recorded.

interface Call {
  op: "compress" | "decompress";
  data: string;
  first: boolean;
  last: boolean;
  limit?: number;
}

class FakeCodec implements DeflateCompressor, DeflateDecompressor {
  calls: Call[] = [];
  disposed = 0;
  failWith: Error | null = null;
  compress(data: Uint8Array, first: boolean, last: boolean): Uint8Array {
    this.calls.push({ op: "compress", data: text(data), first, last });
    return new TextEncoder().encode(text(data).toUpperCase());
  }
  decompress(data: Uint8Array, first: boolean, last: boolean, limit: number): Uint8Array | null {
    this.calls.push({ op: "decompress", data: text(data), first, last, limit });
    if (this.failWith) throw this.failWith;
    const out = new TextEncoder().encode(text(data).toLowerCase() + text(data).toLowerCase());
    return out.length > limit ? null : out;
  }
  dispose(): void {
    this.disposed++;
  }
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

function extension(runtime: PerMessageDeflateRuntime = {}) {
  const codec = new FakeCodec();
  const ext = new PerMessageDeflate({
    role: "client",
    response: one("permessage-deflate"),
    parameters: acceptDeflateResponse(one("permessage-deflate"), {}),
    compressor: codec,
    decompressor: codec,
    ...runtime,
  });
  return { ext, codec };
}

function assertProtocolError(fn: () => unknown, closeCode: number, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${err}`);
    assert.equal(err.closeCode, closeCode);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("PerMessageDeflate is an RSV1 extension named permessage-deflate", () => {
  const { ext } = extension();
  assert.equal(ext.name, "permessage-deflate");
  assert.equal(ext.rsv, 0x40);
  assert.equal(formatExtensionHeader([ext.params]), "permessage-deflate");
});

Deno.test("outgoing: a whole message is compressed with RSV1 set", () => {
  const { ext, codec } = extension();
  const out = ext.processOutgoing(Frame.text("hello"));
  assert.equal(out.type, "text");
  assert.equal(out.fin, true);
  assert.equal(out.rsv1, true);
  assert.equal(text(out.data), "HELLO");
  assert.deepEqual(codec.calls, [{ op: "compress", data: "hello", first: true, last: true }]);
});

Deno.test("outgoing: RSV1 on the first fragment only, every fragment compressed in order", () => {
  const { ext, codec } = extension();
  const a = ext.processOutgoing(Frame.binary(new TextEncoder().encode("ab"), { fin: false }));
  const b = ext.processOutgoing(Frame.binary(new TextEncoder().encode("cd"), { fin: false }));
  const c = ext.processOutgoing(Frame.binary(new TextEncoder().encode("ef")));
  assert.deepEqual([a.rsv1, b.rsv1, c.rsv1], [true, false, false]);
  assert.deepEqual([a.fin, b.fin, c.fin], [false, false, true]);
  assert.deepEqual([text(a.data), text(b.data), text(c.data)], ["AB", "CD", "EF"]);
  assert.deepEqual(codec.calls.map((x) => [x.first, x.last]), [[true, false], [false, false], [
    false,
    true,
  ]]);
  // the next message starts afresh
  assert.equal(ext.processOutgoing(Frame.text("x")).rsv1, true);
});

Deno.test("outgoing: control frames are never touched", () => {
  const { ext, codec } = extension();
  ext.processOutgoing(Frame.text("a", { fin: false }));
  const ping = Frame.ping(new Uint8Array([1]));
  assert.equal(ext.processOutgoing(ping), ping);
  const close = Frame.close();
  assert.equal(ext.processOutgoing(close), close);
  assert.equal(ext.processOutgoing(Frame.text("b")).rsv1, false);
  assert.equal(codec.calls.length, 2);
});

Deno.test("outgoing: per-message opt-out with compress: false, for the whole message", () => {
  const { ext, codec } = extension();
  const a = ext.processOutgoing(Frame.text("a", { fin: false }), { compress: false });
  const b = ext.processOutgoing(Frame.text("b"));
  assert.deepEqual([a.rsv1, text(a.data), b.rsv1, text(b.data)], [false, "a", false, "b"]);
  assert.equal(codec.calls.length, 0);
  assert.equal(ext.processOutgoing(Frame.text("c"), { compress: true }).rsv1, true);
});

Deno.test("outgoing: threshold and compressIf both decide on the first frame", () => {
  const seen: Frame[] = [];
  const { ext } = extension({
    threshold: 3,
    compressIf: (frame) => {
      seen.push(frame);
      return frame.type === "text";
    },
  });
  assert.equal(ext.processOutgoing(Frame.text("ab")).rsv1, false); // under the threshold
  assert.equal(ext.processOutgoing(Frame.text("abc")).rsv1, true); // at it
  assert.equal(ext.processOutgoing(Frame.binary(new Uint8Array(10))).rsv1, false); // compressIf
  const first = ext.processOutgoing(Frame.text("abcd", { fin: false }));
  const rest = ext.processOutgoing(Frame.text("x")); // short, but part of a compressed message
  assert.deepEqual([first.rsv1, text(rest.data)], [true, "X"]);
  assert.equal(seen.length, 3, "compressIf is asked only about first frames over the threshold");
});

Deno.test("outgoing: a frame with RSV1 already set passes through with its message", () => {
  const { ext, codec } = extension();
  const pre = Frame.binary(new Uint8Array([1, 2]), { rsv1: true, fin: false });
  assert.equal(ext.processOutgoing(pre), pre);
  const tail = Frame.binary(new Uint8Array([3]));
  assert.equal(ext.processOutgoing(tail), tail);
  assert.equal(codec.calls.length, 0);
  assert.throws(
    () => {
      ext.processOutgoing(Frame.text("a", { fin: false }));
      ext.processOutgoing(Frame.text("b", { rsv1: true }));
    },
    TypeError,
  );
});

Deno.test("outgoing: RSV2 and RSV3 of other extensions are kept", () => {
  const { ext } = extension();
  const out = ext.processOutgoing(Frame.text("a", { rsv2: true, rsv3: true }));
  assert.deepEqual([out.rsv1, out.rsv2, out.rsv3], [true, true, true]);
});

Deno.test("incoming: a compressed message is decompressed fragment by fragment", () => {
  const { ext, codec } = extension();
  const a = ext.processIncoming(Frame.text("AB", { rsv1: true, fin: false }));
  const b = ext.processIncoming(Frame.text("C", { fin: false }));
  const c = ext.processIncoming(Frame.text("D"));
  assert.deepEqual([a.rsv1, b.rsv1, c.rsv1], [false, false, false]);
  assert.deepEqual([a.fin, b.fin, c.fin], [false, false, true]);
  assert.deepEqual([text(a.data), text(b.data), text(c.data)], ["abab", "cc", "dd"]);
  assert.deepEqual(codec.calls.map((x) => [x.first, x.last]), [[true, false], [false, false], [
    false,
    true,
  ]]);
});

Deno.test("incoming: uncompressed messages and control frames pass through untouched", () => {
  const { ext, codec } = extension();
  const frames = [
    Frame.text("a", { fin: false }),
    Frame.ping(),
    Frame.text("b"),
    Frame.binary(new Uint8Array([1])),
    Frame.pong(),
  ];
  for (const frame of frames) assert.equal(ext.processIncoming(frame), frame);
  assert.equal(codec.calls.length, 0);
  // a control frame in the middle of a compressed message is not decompressed
  ext.processIncoming(Frame.text("A", { rsv1: true, fin: false }));
  const ping = Frame.ping();
  assert.equal(ext.processIncoming(ping), ping);
  assert.equal(text(ext.processIncoming(Frame.text("B")).data), "bb");
});

Deno.test("incoming: RSV1 on a continuation frame is a 1002", () => {
  const { ext } = extension();
  ext.processIncoming(Frame.text("A", { rsv1: true, fin: false }));
  assertProtocolError(
    () => ext.processIncoming(Frame.text("B", { rsv1: true })),
    1002,
    /RSV1 set on a continuation frame/,
  );
  // and the extension stays failed
  assertProtocolError(() => ext.processIncoming(Frame.text("C")), 1002, /continuation/);
});

Deno.test("incoming: the size limit counts across the fragments of a message", () => {
  const { ext, codec } = extension({ maxInflatedSize: 10 });
  ext.processIncoming(Frame.binary(new TextEncoder().encode("AB"), { rsv1: true, fin: false })); // 4
  ext.processIncoming(Frame.binary(new TextEncoder().encode("CD"), { fin: false })); // 8
  assertProtocolError(
    () => ext.processIncoming(Frame.binary(new TextEncoder().encode("EF"))), // 12
    1009,
    /exceeds 10 bytes/,
  );
  assert.deepEqual(codec.calls.map((c) => c.limit), [10, 6, 2]);
  assert.equal(ext.maxInflatedSize, 10);
});

Deno.test("incoming: the limit restarts with every message", () => {
  const { ext } = extension({ maxInflatedSize: 6 });
  for (let i = 0; i < 5; i++) {
    assert.equal(text(ext.processIncoming(Frame.text("ABC", { rsv1: true })).data), "abcabc");
  }
});

Deno.test("incoming: corrupt data is 1007 in a text message and 1002 in a binary one", () => {
  for (
    const [frame, code] of [[Frame.text("x", { rsv1: true }), 1007], [
      Frame.binary(new Uint8Array([1]), { rsv1: true }),
      1002,
    ]] as const
  ) {
    const { ext, codec } = extension();
    codec.failWith = new Error("invalid block type");
    assert.throws(() => ext.processIncoming(frame), (err: unknown) => {
      assert.ok(err instanceof ProtocolError);
      assert.equal(err.closeCode, code);
      assert.equal(err.code, "EXTENSION_ERROR");
      assert.match(err.message, /Invalid compressed data: invalid block type/);
      assert.equal((err.cause as Error).message, "invalid block type");
      return true;
    });
  }
});

Deno.test("dispose releases the codec once; later use fails with SESSION_CLOSED", () => {
  const { ext, codec } = extension();
  ext.dispose();
  ext.dispose();
  assert.equal(codec.disposed, 2, "compressor and decompressor once each");
  assert.throws(
    () => ext.processOutgoing(Frame.text("a")),
    (err: unknown) => err instanceof ConnectionClosedError && err.code === "SESSION_CLOSED",
  );
  assert.throws(() => ext.processIncoming(Frame.text("a")), ConnectionClosedError);
});
