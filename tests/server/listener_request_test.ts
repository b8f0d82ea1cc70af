import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { plainPathname } from "../../src/server/listener_request.ts";

Deno.test("plainPathname: the pathname the URL parser gives, or undefined", () => {
  const cases: [string, string | undefined][] = [
    ["/", "/"],
    ["/chat", "/chat"],
    ["/chat?room=1", "/chat"],
    ["/a#b?c", "/a"],
    ["/a.b/c..d/.e", "/a.b/c..d/.e"],
    ["/v1/:id@x,y;z=1!$&'()*+~_-", "/v1/:id@x,y;z=1!$&'()*+~_-"],
    ["/a/../b", undefined],
    ["/a/./b", undefined],
    ["/a/..", undefined],
    ["/.", undefined],
    ["/%41", undefined],
    ["/a\\b", undefined],
    ["/a{b}", undefined],
    ["/a|b", undefined],
  ];
  for (const [target, pathname] of cases) {
    assert.equal(plainPathname(target), pathname, target);
    if (pathname !== undefined) assert.equal(new URL(`http://h${target}`).pathname, pathname);
  }
  const piece = fc.constantFrom(
    ..."abzAZ09-._~!$&'()*+,;=:@/%?#[]{}|\\^`\"<>",
    "/.",
    "/..",
    "%2e",
    "%2E",
    "..",
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), fc.constantFrom("http", "https"), (p, s) => {
      const target = `/${p.join("")}`;
      const pathname = plainPathname(target);
      if (pathname !== undefined) assert.equal(pathname, new URL(`${s}://h${target}`).pathname);
    }),
    { numRuns: 3000 },
  );
});
