/**
 * Where a redirect of the upgrade leads, and what is refused.
 */

import assert from "node:assert/strict";
import { RedirectError } from "../../src/core/errors.ts";
import { redirectTarget, sameOrigin } from "../../src/core/redirect.ts";

const response = { status: 302, headers: new Headers({ location: "x" }) };

function target(from: string, location: string, chain: string[] = [from]): string {
  return redirectTarget(new URL(from), location, chain, response).href;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RedirectError, String(err));
    return err.code;
  }
  return "none";
}

Deno.test("redirectTarget: relative and absolute Locations, http(s) read as ws(s)", () => {
  assert.equal(target("ws://h:8080/a/b?q=1", "c"), "ws://h:8080/a/c");
  assert.equal(target("ws://h:8080/a/b", "/root?x=2"), "ws://h:8080/root?x=2");
  assert.equal(target("ws://h/a", "//other:9/p"), "ws://other:9/p");
  assert.equal(target("ws://h/a", "https://secure.example/p#frag"), "wss://secure.example/p");
  assert.equal(target("ws://h/a", "http://h:80/b"), "ws://h/b");
  assert.equal(target("ws://h/a", "wss://h/a"), "wss://h/a"); // an upgrade to TLS is fine
});

Deno.test("redirectTarget: downgrades, loops and unusable Locations are RedirectErrors", () => {
  assert.equal(code(() => target("wss://h/a", "ws://h/a")), "REDIRECT_DOWNGRADE");
  assert.equal(code(() => target("wss://h/a", "http://h/b")), "REDIRECT_DOWNGRADE");
  assert.equal(code(() => target("ws://h/a", "/a")), "REDIRECT_LOOP");
  assert.equal(code(() => target("ws://h/b", "/a", ["ws://h/a", "ws://h/b"])), "REDIRECT_LOOP");
  assert.equal(code(() => target("ws://h/a", "ftp://h/a")), "REDIRECT_INVALID");
  assert.equal(code(() => target("ws://h/a", "ws://user:pw@h/b")), "REDIRECT_INVALID");
  assert.throws(
    () => target("ws://h/a", "ws://user:pw@h/b"),
    (err: RedirectError) => err.location === "ws://h/b" && !err.message.includes("pw"),
  );
  assert.equal(code(() => target("ws://h/a", "http://[bad")), "REDIRECT_INVALID");
  try {
    target("wss://h/a", "ws://h/a");
  } catch (err) {
    assert.ok(err instanceof RedirectError);
    assert.equal(err.status, 302);
    assert.equal(err.location, "ws://h/a");
    assert.deepEqual(err.chain, ["wss://h/a"]);
  }
});

Deno.test("sameOrigin: scheme, host and port", () => {
  assert.equal(sameOrigin(new URL("ws://h/a"), new URL("ws://h:80/b")), true);
  assert.equal(sameOrigin(new URL("ws://h/a"), new URL("wss://h/a")), false);
  assert.equal(sameOrigin(new URL("ws://h/a"), new URL("ws://h:81/a")), false);
  assert.equal(sameOrigin(new URL("ws://h/a"), new URL("ws://g/a")), false);
});
