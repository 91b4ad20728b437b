/** Lines above the list or the detail: the URL line and the status line (a project run's header has more, see headerLines). */
export const HEADER_LINES = 2;
/** A project run's header lists at most this many tunnels, one a line. */
export const MAX_HEADER_TUNNELS = 4;

/**
 * Lines of the header: two for one tunnel; for a project run, one per tunnel (at most MAX_HEADER_TUNNELS, the
 * last of them saying how many more), the status line and the line of routes and their modes.
 */
export function headerLines(tunnels: readonly unknown[] | undefined): number {
  if (!tunnels) return HEADER_LINES;
  return Math.min(Math.max(tunnels.length, 1), MAX_HEADER_TUNNELS) + 2;
}
/** Lines below: the notice line and the key hints. */
export const FOOTER_LINES = 2;
/** Smallest terminal the inspector lays out in; below it, it says so. */
export const MIN_COLUMNS = 40;
export const MIN_ROWS = 10;
/** A header value or body line takes at most this many rows in the detail view. */
export const MAX_WRAPPED_ROWS = 12;

/** Terminal size in character cells. */
export interface Size {
  readonly columns: number;
  readonly rows: number;
}

/**
 * Height of the inspector's frame: one line less than the terminal. Ink redraws a frame as tall as the screen by
 * clearing the whole screen on every update (flicker); one line shorter, it rewrites only what changed.
 */
export function frameHeight(size: Size): number {
  return Math.max(1, size.rows - 1);
}

/** Rows of the list (below its column header). */
export function listHeight(size: Size, header = HEADER_LINES): number {
  return Math.max(1, frameHeight(size) - header - FOOTER_LINES - 1);
}

/** Rows of a scrolling page: the detail, the help, the curl panel. */
export function pageHeight(size: Size, header = HEADER_LINES): number {
  return Math.max(1, frameHeight(size) - header - FOOTER_LINES);
}

/** True when the terminal is too small to lay the inspector out. */
export function tooSmall(size: Size): boolean {
  return size.columns < MIN_COLUMNS || size.rows < MIN_ROWS;
}
