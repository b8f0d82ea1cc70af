/**
 * Helpers of the Deno KV backplane tests: a recording host and a bounded wait.
 *
 * @module
 */

import type { BackplaneEvent, BackplaneHost, TopicMessage } from "../../src/topics/backplane.ts";

/** A host that records every message and event. */
export class Recorder implements BackplaneHost {
  readonly messages: TopicMessage[] = [];
  readonly events: BackplaneEvent[] = [];
  deliver(message: TopicMessage): void {
    this.messages.push(message);
  }
  event(event: BackplaneEvent): void {
    this.events.push(event);
  }
}

/** Polls `condition` every 5 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A temporary directory's KV file path; the directory is removed by the returned function. */
export async function tempKvPath(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "wirestream_kv_" });
  return { path: `${dir}/topics.sqlite3`, remove: () => Deno.remove(dir, { recursive: true }) };
}
