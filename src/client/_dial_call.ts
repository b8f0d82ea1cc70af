/**
 * The upgrade exchange of a client session (`session.call`), kept as it was sent and received:
 * the request's fields and the response's head text, made into `Headers` only when the
 * application asks for them.
 *
 * @module
 */

import type { ParsedResponseHead } from "../core/http1_response.ts";
import type { UpgradeCall, UpgradeRequest, UpgradeResponse } from "../session/session_types.ts";

/** The request of a client's upgrade; its `Headers` are made on first use. */
class DialRequest implements UpgradeRequest {
  readonly url: URL;
  readonly method: string;
  /** Names and values in turn: one array per session rather than one per field. */
  #fields: string[] | null;
  #headers: Headers | null = null;

  constructor(url: URL, method: string, fields: [string, string][]) {
    this.url = url;
    this.method = method;
    const flat = new Array<string>(fields.length * 2);
    for (let i = 0; i < fields.length; i++) {
      flat[2 * i] = fields[i]![0];
      flat[2 * i + 1] = fields[i]![1];
    }
    this.#fields = flat;
  }

  /** The request headers sent. */
  get headers(): Headers {
    if (this.#headers === null) {
      const headers = this.#headers = new Headers();
      const fields = this.#fields!;
      for (let i = 0; i < fields.length; i += 2) headers.append(fields[i]!, fields[i + 1]!);
      this.#fields = null;
    }
    return this.#headers;
  }
}

/** The 101 response of a client's upgrade; its `Headers` are the head's (made on first use). */
class DialResponse implements UpgradeResponse {
  readonly #head: ParsedResponseHead;

  constructor(head: ParsedResponseHead) {
    this.#head = head;
  }

  /** The status code. */
  get status(): number {
    return this.#head.status;
  }

  /** The reason phrase. */
  get statusText(): string {
    return this.#head.statusText;
  }

  /** The response headers. */
  get headers(): Headers {
    return this.#head.headers;
  }
}

/**
 * @internal The `call` of a client session.
 *
 * @param url The URL of the last request (after redirects).
 * @param method The request method.
 * @param fields The request's fields, as sent.
 * @param response The 101 response head.
 * @returns The exchange.
 */
export function dialCall(
  url: URL,
  method: string,
  fields: [string, string][],
  response: ParsedResponseHead,
): UpgradeCall {
  return { request: new DialRequest(url, method, fields), response: new DialResponse(response) };
}
