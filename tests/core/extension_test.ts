import assert from "node:assert/strict";
import { HandshakeError } from "../../src/core/errors.ts";
import {
  checkExtensionFactories,
  clientExtensionOffers,
  negotiateClientExtensions,
  negotiateServerExtensions,
} from "../../src/core/extension_negotiation.ts";
import {
  disposeExtensions,
  extensionRsv,
  runIncomingExtensions,
  runOutgoingExtensions,
} from "../../src/core/extension_chain.ts";
import type { WebSocketExtension, WebSocketExtensionFactory } from "../../src/core/extension.ts";
import { Frame } from "../../src/core/frame.ts";
import { type ExtensionOffer, parseExtensionHeader } from "../../src/core/extension_header.ts";

/** What the fake factories did, in order. */
type Log = string[];

function offer(name: string, params: [string, string | true][] = []): ExtensionOffer {
  return { name, params: new Map(params) };
}

/**
 * A tiny factory: offers `offers`, accepts any response unless it has a `bad` parameter, and as a
 * server accepts the first offer without a `bad` parameter.
 */
function fake(
  name: string,
  rsv: number,
  log: Log,
  offers = [offer(name)],
): WebSocketExtensionFactory {
  const make = (params: ExtensionOffer): WebSocketExtension => ({
    name,
    rsv,
    params,
    processOutgoing: (f) => f,
    processIncoming: (f) => f,
    dispose: () => log.push(`dispose ${name}`),
  });
  return {
    name,
    rsv,
    clientOffers: () => offers,
    clientAccept(response, context) {
      if (response.params.has("bad")) {
        throw new HandshakeError("HANDSHAKE_EXTENSION_MISMATCH", `${name} refuses bad`);
      }
      log.push(`accept ${name}${context?.maxMessageSize ? ` max=${context.maxMessageSize}` : ""}`);
      return make(response);
    },
    serverAccept(candidates, context) {
      log.push(
        `server ${name} ${candidates.length}${
          context?.maxMessageSize ? ` max=${context.maxMessageSize}` : ""
        }`,
      );
      const ok = candidates.find((c) => !c.params.has("bad"));
      return ok ? { response: ok, extension: make(ok) } : null;
    },
  };
}

Deno.test("checkExtensionFactories: distinct RSV bits and names pass", () => {
  const log: Log = [];
  checkExtensionFactories([]);
  checkExtensionFactories([fake("a", 0x40, log), fake("b", 0x20, log), fake("c", 0x10, log)]);
  checkExtensionFactories([fake("a", 0x40, log), fake("b", 0, log), fake("c", 0, log)]);
});

Deno.test("checkExtensionFactories: two factories claiming RSV1 are a TypeError", () => {
  const log: Log = [];
  assert.throws(
    () =>
      checkExtensionFactories([fake("permessage-deflate", 0x40, log), fake("x-zip", 0x40, log)]),
    (err: unknown) => err instanceof TypeError && /x-zip claims RSV1/.test(err.message),
  );
  assert.throws(
    () => checkExtensionFactories([fake("a", 0x60, log), fake("b", 0x20, log)]),
    /RSV2/,
  );
});

Deno.test("checkExtensionFactories: malformed factories are TypeErrors", () => {
  const log: Log = [];
  assert.throws(() => checkExtensionFactories([fake("a", 0x80, log)]), TypeError);
  assert.throws(() => checkExtensionFactories([fake("a", 0x01, log)]), TypeError);
  assert.throws(() => checkExtensionFactories([fake("a", 0, log), fake("a", 0, log)]), /twice/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => checkExtensionFactories([null as any]), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => checkExtensionFactories([{ rsv: 0 } as any]), TypeError);
});

Deno.test("clientExtensionOffers: every factory's offers, in install order", () => {
  const log: Log = [];
  const offers = clientExtensionOffers([
    fake("a", 0x40, log, [offer("a", [["x", "1"]]), offer("a")]),
    fake("b", 0, log),
  ]);
  assert.deepEqual(offers.map((o) => o.name), ["a", "a", "b"]);
  assert.equal(offers[0]!.params.get("x"), "1");
});

Deno.test("negotiateClientExtensions: extensions come in the order the server listed them", () => {
  const log: Log = [];
  const factories = [fake("a", 0x40, log), fake("b", 0x20, log)];
  const accepted = parseExtensionHeader("b; level=3, a");
  const exts = negotiateClientExtensions(factories, accepted);
  assert.deepEqual(exts.map((e) => e.name), ["b", "a"]);
  assert.equal(exts[0]!.params.params.get("level"), "3");
  assert.deepEqual(log, ["accept b", "accept a"]);
  assert.equal(extensionRsv(exts), 0x60);
  assert.deepEqual(negotiateClientExtensions(factories, []), []);
});

Deno.test("negotiateClientExtensions: an extension not offered, or twice, is HANDSHAKE_EXTENSION_MISMATCH", () => {
  const log: Log = [];
  const factories = [fake("a", 0x40, log)];
  for (const header of ["zzz", "a, a"]) {
    assert.throws(
      () => negotiateClientExtensions(factories, parseExtensionHeader(header)),
      (err: unknown) =>
        err instanceof HandshakeError && err.code === "HANDSHAKE_EXTENSION_MISMATCH",
      header,
    );
  }
  // The `a` accepted before the duplicate was released.
  assert.deepEqual(log, ["accept a", "dispose a"]);
});

Deno.test("negotiateClientExtensions: a refused response disposes what was already accepted", () => {
  const log: Log = [];
  const factories = [fake("a", 0x40, log), fake("b", 0x20, log)];
  assert.throws(
    () => negotiateClientExtensions(factories, parseExtensionHeader("a, b; bad")),
    /b refuses bad/,
  );
  assert.deepEqual(log, ["accept a", "dispose a"]);
});

Deno.test("negotiateServerExtensions: factories pick in install order from their own offers", () => {
  const log: Log = [];
  const factories = [fake("b", 0x20, log), fake("a", 0x40, log), fake("unused", 0x10, log)];
  const offers = parseExtensionHeader("a; bad, a; level=1, b, c");
  const agreements = negotiateServerExtensions(factories, offers);
  assert.deepEqual(agreements.map((a) => a.response.name), ["b", "a"]);
  assert.equal(agreements[1]!.response.params.get("level"), "1");
  assert.deepEqual(agreements.map((a) => a.extension.name), ["b", "a"]);
  // "unused" was offered nothing and not asked; "a" saw both of its offers, in order.
  assert.deepEqual(log, ["server b 1", "server a 2"]);
});

Deno.test("negotiateServerExtensions: a factory that declines is left out", () => {
  const log: Log = [];
  const agreements = negotiateServerExtensions(
    [fake("a", 0x40, log), fake("b", 0x20, log)],
    parseExtensionHeader("a; bad, b"),
  );
  assert.deepEqual(agreements.map((a) => a.response.name), ["b"]);
  assert.deepEqual(negotiateServerExtensions([fake("a", 0x40, log)], []), []);
});

Deno.test("extensionRsv: the union of the negotiated extensions' bits", () => {
  const log: Log = [];
  assert.equal(extensionRsv([]), 0);
  const exts = negotiateClientExtensions(
    [fake("a", 0x40, log), fake("b", 0x10, log)],
    parseExtensionHeader("a, b"),
  );
  assert.equal(extensionRsv(exts), 0x50);
});

Deno.test("checkExtensionFactories: names are tokens, compared case-insensitively; methods required", () => {
  const log: Log = [];
  assert.throws(() => checkExtensionFactories([fake("has space", 0, log)]), TypeError);
  assert.throws(() => checkExtensionFactories([fake("", 0, log)]), TypeError);
  assert.throws(
    () => checkExtensionFactories([fake("X-Ext", 0, log), fake("x-ext", 0, log)]),
    /twice/,
  );
  const noServer = { ...fake("a", 0, log), serverAccept: undefined };
  // deno-lint-ignore no-explicit-any
  assert.throws(() => checkExtensionFactories([noServer as any]), /serverAccept/);
  assert.throws(() => checkExtensionFactories([fake("a", 0.5, log)]), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => checkExtensionFactories("a" as any), TypeError);
  // The conflict message names the extension already using the bit.
  assert.throws(
    () => checkExtensionFactories([fake("first", 0x10, log), fake("second", 0x10, log)]),
    /second claims RSV3, which first already uses/,
  );
});

Deno.test("clientExtensionOffers: an offer under another name is a TypeError", () => {
  const log: Log = [];
  assert.throws(
    () => clientExtensionOffers([fake("a", 0, log, [offer("b")])]),
    /offers must carry the factory's name/,
  );
});

Deno.test("negotiation passes the session's limits to the factories", () => {
  const log: Log = [];
  const exts = negotiateClientExtensions([fake("a", 0x40, log)], parseExtensionHeader("a"), {
    maxMessageSize: 1234,
  });
  negotiateServerExtensions([fake("b", 0, log)], parseExtensionHeader("b"), {
    maxMessageSize: 99,
  });
  assert.deepEqual(log, ["accept a max=1234", "server b 1 max=99"]);
  disposeExtensions(exts);
});

Deno.test("negotiateClientExtensions: a mixed-case factory name matches the lower-cased entry", () => {
  const log: Log = [];
  const exts = negotiateClientExtensions([fake("X-Ext", 0, log)], parseExtensionHeader("x-ext"));
  assert.equal(exts.length, 1);
});

Deno.test("negotiateClientExtensions: an extension using RSV bits it did not claim is refused", () => {
  const log: Log = [];
  // The factory claims RSV2, but its extension uses RSV1.
  const liar: WebSocketExtensionFactory = {
    ...fake("liar", 0x20, log),
    clientAccept: (response) => ({ ...fake("liar", 0x40, log).clientAccept(response) }),
  };
  assert.throws(
    () => negotiateClientExtensions([fake("a", 0x40, log), liar], parseExtensionHeader("a, liar")),
    (err: unknown) => err instanceof HandshakeError && err.code === "HANDSHAKE_EXTENSION_MISMATCH",
  );
  assert.ok(log.includes("dispose a"));
  assert.ok(log.includes("dispose liar"));
});

Deno.test("negotiateServerExtensions: an answer under another name is a TypeError; agreements are disposed", () => {
  const log: Log = [];
  const wrong: WebSocketExtensionFactory = {
    ...fake("w", 0x20, log),
    serverAccept: () => ({
      response: offer("other"),
      extension: fake("w", 0x20, log).clientAccept(offer("w")),
    }),
  };
  assert.throws(
    () => negotiateServerExtensions([fake("a", 0x40, log), wrong], parseExtensionHeader("a, w")),
    /must carry the factory's name/,
  );
  assert.ok(log.includes("dispose a"));
  assert.ok(log.includes("dispose w"));
});

/** An extension that appends its tag to text payloads, synchronously or not. */
function tagger(tag: string, async: boolean, seen: string[]): WebSocketExtension {
  const step = (way: string) => (frame: Frame): Frame | Promise<Frame> => {
    seen.push(`${way} ${tag}`);
    const out = Frame.text(new TextDecoder().decode(frame.data) + tag);
    return async ? Promise.resolve(out) : out;
  };
  return {
    name: tag,
    rsv: 0,
    params: offer(tag),
    processOutgoing: step("out"),
    processIncoming: step("in"),
    dispose: () => seen.push(`dispose ${tag}`),
  };
}

Deno.test("runOutgoingExtensions / runIncomingExtensions: negotiated order out, reverse order in", async () => {
  const plain = Frame.text("x");
  assert.equal(runOutgoingExtensions([], plain), plain);
  assert.equal(runIncomingExtensions([], plain), plain);
  for (const asyncAt of [-1, 0, 1]) {
    const seen: string[] = [];
    const exts = [tagger("A", asyncAt === 0, seen), tagger("B", asyncAt === 1, seen)];
    const out = runOutgoingExtensions(exts, Frame.text("m"));
    assert.equal(out instanceof Promise, asyncAt !== -1);
    assert.equal(new TextDecoder().decode((await out).data), "mAB");
    const inn = runIncomingExtensions(exts, Frame.text("m"));
    assert.equal(inn instanceof Promise, asyncAt !== -1);
    assert.equal(new TextDecoder().decode((await inn).data), "mBA");
    assert.deepEqual(seen, ["out A", "out B", "in B", "in A"]);
  }
});

Deno.test("disposeExtensions: every extension is disposed, the first error rethrown", () => {
  const seen: string[] = [];
  const boom = new Error("first");
  const failing = (msg: Error): WebSocketExtension => ({
    ...tagger("f", false, seen),
    dispose: () => {
      seen.push(`dispose ${msg.message}`);
      throw msg;
    },
  });
  assert.throws(
    () =>
      disposeExtensions([failing(boom), tagger("ok", false, seen), failing(new Error("second"))]),
    (err) => err === boom,
  );
  assert.deepEqual(seen, ["dispose first", "dispose ok", "dispose second"]);
});
