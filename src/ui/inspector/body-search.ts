import type { InspectorActions } from './state.js';

/** Wait after the last key of a filter before the store is asked. */
const SEARCH_DELAY_MS = 150;

/**
 * The body-text half of the filter: asks the store (through the injected action) which exchanges have the needle
 * in a body, one query at a time, and again for exchanges that complete while the filter is on. Bodies never come
 * into the UI; only ids do.
 */
export class BodySearch {
  private needle = '';
  private matches = new Set<string>();
  private queue: string[] = [];
  private searching = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly search: InspectorActions['searchBodies'],
    /** Called when more ids match. */
    private readonly found: () => void,
    /** Called when the store could not be asked. */
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Whether exchange `id` has the current needle in a body (as far as known yet). */
  has(id: string): boolean {
    return this.matches.has(id);
  }

  /** A new filter text: forgets earlier matches and searches `ids` shortly (a status class like `5xx` is not searched). */
  setNeedle(text: string, ids: () => readonly string[]): void {
    const needle = /^[1-5]xx$/i.test(text) ? '' : text;
    if (needle === this.needle) return;
    this.needle = needle;
    this.matches = new Set();
    this.queue = [];
    clearTimeout(this.timer);
    if (needle === '') return;
    this.timer = setTimeout(() => this.add(ids()), SEARCH_DELAY_MS);
    this.timer.unref();
  }

  /** Exchanges that completed: searched too while a needle is set. */
  add(ids: readonly string[]): void {
    if (this.needle === '' || this.stopped) return;
    this.queue.push(...ids);
    if (this.searching || this.queue.length === 0) return;
    const needle = this.needle;
    const batch = this.queue.splice(0);
    this.searching = true;
    this.search(needle, batch)
      .then(
        (found) => {
          if (needle !== this.needle || found.size === 0) return;
          for (const id of found) this.matches.add(id);
          this.found();
        },
        (err: unknown) => this.failed(err),
      )
      .finally(() => {
        this.searching = false;
        if (this.queue.length > 0) this.add([]);
      });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
