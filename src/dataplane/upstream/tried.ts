/**
 * The set of upstreams a request already tried.
 *
 * @module
 */

/**
 * Upstream indexes tried for the current request: marks in a reused array,
 * so starting over allocates nothing (a Set's clear() makes a new table).
 */
export class TriedSet {
  #marks = new Uint8Array(16);
  #list: number[] = [];
  #size = 0;

  /** Whether upstream `j` was tried. */
  has(j: number): boolean {
    return j < this.#marks.length && this.#marks[j] === 1;
  }

  /** Marks upstream `j` tried. */
  add(j: number): void {
    if (j >= this.#marks.length) this.#grow(j);
    if (this.#marks[j] === 1) return;
    this.#marks[j] = 1;
    this.#list[this.#size++] = j;
  }

  /** Makes upstream `j` eligible again (a retry on a fresh connection). */
  delete(j: number): void {
    if (j < this.#marks.length) this.#marks[j] = 0;
  }

  /** Forgets every mark (a new request). */
  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#marks[this.#list[i]] = 0;
    this.#size = 0;
  }

  #grow(j: number): void {
    const marks = new Uint8Array(Math.max(j + 1, this.#marks.length * 2));
    marks.set(this.#marks);
    this.#marks = marks;
  }
}
