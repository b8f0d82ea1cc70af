/**
 * The argument checks the request and response builders share: the subprotocol list, the
 * caller's extra headers and the extensions value.
 *
 * @module
 */

import { parseExtensionHeader } from "./extension_header.ts";
import { isFieldValue, isToken } from "./http1_syntax.ts";

/** Checks a subprotocol list: tokens, unique. Returns the problem, or `null`. */
export function protocolListProblem(protocols: readonly string[]): string | null {
  if (protocols.length === 0) return null;
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !isToken(protocol)) {
      return `Invalid subprotocol ${JSON.stringify(protocol)}: must be an RFC 7230 token`;
    }
    if (seen.has(protocol)) return `Duplicate subprotocol ${JSON.stringify(protocol)}`;
    seen.add(protocol);
  }
  return null;
}

/** `new Headers(init)`, refusing the names in `forbidden`. */
export function userHeaders(
  init: HeadersInit | undefined,
  forbidden: readonly string[],
  where: string,
): Headers {
  const headers = new Headers(init);
  for (const name of forbidden) {
    if (headers.has(name)) {
      throw new TypeError(`The ${name} header cannot be set in ${where}`);
    }
  }
  return headers;
}

function checkHeaderValue(name: string, value: string): void {
  if (typeof value !== "string" || !isFieldValue(value)) {
    throw new TypeError(`Invalid ${name}: ${JSON.stringify(value)}`);
  }
}

/** Checks an extensions header value given to a builder (a `TypeError` when it does not parse). */
export function checkExtensionsArgument(extensions: string): void {
  checkHeaderValue("extensions", extensions);
  try {
    parseExtensionHeader(extensions);
  } catch (cause) {
    throw new TypeError(`Invalid extensions header value: ${JSON.stringify(extensions)}`, {
      cause,
    });
  }
}
