/**
 * The `Origin` allow-list of a server: exact origins, regular expressions and `URLPattern`s.
 *
 * @module
 */

/**
 * One entry of an origin allow-list: an exact origin (`"https://example.com"`, compared
 * case-insensitively), a regular expression tested against the header, or a `URLPattern`
 * (`new URLPattern({ protocol: "https", hostname: "{*.}?example.com" })`).
 */
export type OriginPattern = string | RegExp | URLPattern;

/**
 * @internal Checks an allow-list and returns a predicate for `Origin` values.
 *
 * @param origins The allow-list, or `undefined` to allow any origin (and none).
 * @returns The predicate, or `undefined` when every origin is allowed.
 * @throws {TypeError} When the list is not an array or holds something else than the above.
 */
export function compileOrigins(
  origins: readonly OriginPattern[] | undefined,
): ((origin: string | null) => boolean) | undefined {
  if (origins === undefined) return undefined;
  if (!Array.isArray(origins)) {
    throw new TypeError("origins must be an array of strings, RegExps or URLPatterns");
  }
  const exact = new Set<string>();
  const tests: ((origin: string) => boolean)[] = [];
  for (const entry of origins) {
    if (typeof entry === "string") {
      if (entry === "" || entry !== entry.trim()) {
        throw new TypeError(`Invalid origin ${JSON.stringify(entry)} in origins`);
      }
      exact.add(entry.toLowerCase());
    } else if (entry instanceof RegExp) {
      // A global or sticky RegExp keeps state between tests; use a stateless copy.
      const re = entry.global || entry.sticky
        ? new RegExp(entry.source, entry.flags.replace(/[gy]/g, ""))
        : entry;
      tests.push((origin) => re.test(origin));
    } else if (entry instanceof URLPattern) {
      tests.push((origin) => {
        try {
          return entry.test(origin);
        } catch {
          return false;
        }
      });
    } else {
      throw new TypeError(
        `Invalid entry in origins: ${String(entry)} (expected a string, RegExp or URLPattern)`,
      );
    }
  }
  return (origin) => {
    if (origin === null) return false;
    if (exact.has(origin.toLowerCase())) return true;
    for (const test of tests) if (test(origin)) return true;
    return false;
  };
}
