/**
 * A first-in first-out queue over an array: `shift()` moves a head index instead of moving the
 * items, and the array is compacted once its taken part is large, so that a queue that never
 * empties does not grow without end. It counts what it holds with a queuing strategy's `size`,
 * and is `full` at the strategy's high-water mark.
 *
 * @module
 */

/** Taken items at the front that trigger a compaction (once they are half the array, too). */
const COMPACT_AT = 256;

/** @internal A FIFO queue of items (see the module documentation). */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  /** What the items count for, with the strategy's `size` (1 each without one). */
  #size = 0;
  readonly #limit: number;
  readonly #sizeOf: ((item: T) => number) | undefined;

  /**
   * Makes an empty queue.
   *
   * @param strategy Its bound: `full` at the high-water mark, counted with `size`.
   */
  constructor(strategy?: QueuingStrategy<T>) {
    this.#limit = strategy?.highWaterMark ?? Infinity;
    this.#sizeOf = strategy?.size as ((item: T) => number) | undefined;
  }

  /** Whether the queue reached its high-water mark. */
  get full(): boolean {
    return this.#size >= this.#limit;
  }

  /** How many items wait. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Adds an item at the back.
   *
   * @param item The item.
   */
  push(item: T): void {
    this.#items.push(item);
    this.#size += this.#sizeOf === undefined ? 1 : this.#sizeOf(item);
  }

  /**
   * Takes the item at the front.
   *
   * @returns The item, or `undefined` when none waits.
   */
  shift(): T | undefined {
    const items = this.#items;
    const head = this.#head;
    if (head === items.length) return undefined;
    const item = items[head]!;
    items[head] = undefined;
    this.#size -= this.#sizeOf === undefined ? 1 : this.#sizeOf(item);
    if (head + 1 === items.length) {
      // Empty: start again at the front.
      items.length = 0;
      this.#head = 0;
      this.#size = 0;
    } else if (head + 1 >= COMPACT_AT && (head + 1) * 2 >= items.length) {
      items.copyWithin(0, head + 1);
      items.length -= head + 1;
      this.#head = 0;
    } else {
      this.#head = head + 1;
    }
    return item;
  }

  /** Drops every item. */
  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
    this.#size = 0;
  }
}
