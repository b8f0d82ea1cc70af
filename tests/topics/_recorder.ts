/**
 * A {@linkcode BackplaneHost} that records what a backplane delivers and reports, with a bounded
 * wait for a condition (re-checked on every delivery and event, no polling).
 *
 * @module
 */

import type { BackplaneEvent, BackplaneHost, TopicMessage } from "../../src/topics/backplane.ts";

export class Recorder implements BackplaneHost {
  readonly messages: TopicMessage[] = [];
  readonly events: BackplaneEvent[] = [];
  #waiters = new Set<() => void>();

  deliver(message: TopicMessage): void {
    this.messages.push(message);
    this.#wake();
  }

  event(event: BackplaneEvent): void {
    this.events.push(event);
    this.#wake();
  }

  /** The delivered messages of `topic`. */
  of(topic: string): TopicMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** The events of one type. */
  eventsOf<T extends BackplaneEvent["type"]>(type: T): Extract<BackplaneEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<BackplaneEvent, { type: T }>[];
  }

  /** Resolves once `condition()` holds; rejects after `ms` with `what` in the message. */
  until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.#waiters.add(check);
    });
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}
