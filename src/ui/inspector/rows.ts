import type { ExchangeStart, MissedEvent, RequestEvent } from '../../agent/events.js';
import type { Capture } from '../../capture/queries.js';
import { missedOutcome, type Exchange } from '../../model/exchange.js';

/** One exchange as the inspector's list holds it: what the list shows and filters on, never a body. */
export interface ExchangeRow
  extends Pick<Exchange, 'id' | 'time' | 'method' | 'path' | 'status' | 'durationMs' | 'requestBytes' | 'responseBytes' | 'error' | 'message' | 'replayOf' | 'signature' | 'deliveryId' | 'redeliveryOf' | 'attempt'>,
    Partial<Pick<Exchange, 'missed' | 'tunnelName' | 'route' | 'mode' | 'ackAttempt' | 'upgrade'>> {
  /** Still in flight. */
  readonly pending?: boolean;
  /** Captured before this run (read from the store at start). */
  readonly earlier?: boolean;
}

/** True when the sender did not get a good answer from the target: a relay error, no answer, or a 5xx. */
export function isFailure(row: Pick<ExchangeRow, 'status' | 'error' | 'pending'>): boolean {
  return !row.pending && (row.error !== undefined || row.status === 0 || row.status >= 500);
}

/** A row for an exchange that has just started. */
export function startedRow(e: ExchangeStart): ExchangeRow {
  return {
    id: e.id, time: e.time, method: e.method, path: e.path, status: 0, durationMs: 0, requestBytes: 0, responseBytes: 0, replayOf: e.replayOf, pending: true,
    ...routing(e),
  };
}

/** A project run's fields of an exchange (tunnel name, route, mode, attempt), those it has. */
function routing(e: Pick<Exchange, 'tunnelName' | 'route' | 'mode' | 'ackAttempt'>): Pick<ExchangeRow, 'tunnelName' | 'route' | 'mode' | 'ackAttempt'> {
  return {
    ...(e.tunnelName !== undefined ? { tunnelName: e.tunnelName } : {}), ...(e.route !== undefined ? { route: e.route } : {}),
    ...(e.mode !== undefined ? { mode: e.mode } : {}), ...(e.ackAttempt !== undefined ? { ackAttempt: e.ackAttempt } : {}),
  };
}

/** The row of a completed exchange; `previous` is its row while it was in flight, when there was one. */
export function finishedRow(e: RequestEvent, previous: ExchangeRow | undefined, now: number): ExchangeRow {
  return {
    id: e.id, time: previous?.time ?? now - e.durationMs, method: e.method, path: e.path, status: e.status, durationMs: e.durationMs,
    requestBytes: e.requestBytes, responseBytes: e.responseBytes, error: e.error, message: e.message,
    replayOf: e.replayOf ?? previous?.replayOf, signature: e.signature, earlier: previous?.earlier,
    ...routing({ ...previous, ...e, tunnelName: previous?.tunnelName }),
    ...(e.upgrade ? { upgrade: e.upgrade } : {}),
    ...delivery(e),
  };
}

/** The delivery fields that are there (an exchange without a delivery id has none). */
function delivery(e: Pick<ExchangeRow, 'deliveryId' | 'redeliveryOf' | 'attempt'>): Pick<ExchangeRow, 'deliveryId' | 'redeliveryOf' | 'attempt'> {
  return {
    ...(e.deliveryId !== undefined ? { deliveryId: e.deliveryId } : {}),
    ...(e.redeliveryOf !== undefined ? { redeliveryOf: e.redeliveryOf } : {}),
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
  };
}

/** The row of a request that arrived while the agent was away. */
export function missedRow(e: MissedEvent): ExchangeRow {
  return { id: e.id, time: e.time, method: e.method, path: e.path, ...missedOutcome(e.status, e.body.length), missed: true, signature: e.signature, ...delivery(e) };
}

/** The row of a stored capture (shown at start, so that a restart keeps the history). */
export function captureRow(c: Capture): ExchangeRow {
  return {
    id: c.id, time: c.time, method: c.method, path: c.path, status: c.status, durationMs: c.durationMs, requestBytes: c.requestBytes,
    responseBytes: c.responseBytes, error: c.error, message: c.message, replayOf: c.replayOf, missed: c.missed || undefined,
    signature: c.signature, earlier: true, ...routing(c), ...(c.upgrade ? { upgrade: c.upgrade } : {}), ...delivery(c),
  };
}

/** The filter word that keeps only redeliveries. */
export const REDELIVERY_FILTER = 'is:redelivery';

/** A filter as typed, taken apart: `tunnel:NAME` and `route:NAME` words, and the rest (text, status, status class). */
export interface ParsedFilter {
  readonly tunnel?: string;
  readonly route?: string;
  /** The rest, lower-cased and trimmed: what is matched against the row and searched for in bodies. */
  readonly text: string;
}

/** Takes `tunnel:NAME` / `route:NAME` words out of a filter (any case; the last of each kind wins). */
export function parseFilter(filter: string): ParsedFilter {
  let tunnel: string | undefined;
  let route: string | undefined;
  const rest: string[] = [];
  for (const word of filter.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(tunnel|route):(.*)$/i.exec(word);
    if (m && m[1]!.toLowerCase() === 'tunnel') tunnel = m[2]!.toLowerCase();
    else if (m) route = m[2]!.toLowerCase();
    else rest.push(word);
  }
  // Without those words the text is as typed (inner spaces kept).
  if (tunnel === undefined && route === undefined) return { text: filter.trim().toLowerCase() };
  return { ...(tunnel !== undefined ? { tunnel } : {}), ...(route !== undefined ? { route } : {}), text: rest.join(' ').toLowerCase() };
}

/**
 * Whether a row matches the filter: its tunnel and route when the filter names them (exactly, any case), and the
 * text as a substring of `METHOD path status`, a status class (`4xx`), `is:redelivery`, or a body match found by the store (`bodyMatch`).
 */
export function matchesFilter(row: ExchangeRow, typed: ParsedFilter | string, bodyMatch: boolean): boolean {
  const filter = typeof typed === 'string' ? parseFilter(typed) : typed;
  if (filter.tunnel !== undefined && (row.tunnelName ?? '').toLowerCase() !== filter.tunnel) return false;
  if (filter.route !== undefined && (row.route ?? '').toLowerCase() !== filter.route) return false;
  const needle = filter.text;
  if (needle === '') return true;
  if (needle === REDELIVERY_FILTER) return row.redeliveryOf !== undefined;
  if (bodyMatch) return true;
  const cls = /^([1-5])xx$/.exec(needle);
  if (cls) return Math.floor(row.status / 100) === Number(cls[1]);
  return `${row.method} ${row.path} ${row.status || ''}`.toLowerCase().includes(needle);
}

/** An agent event waiting to be applied to the list. */
export type RowEvent =
  | { readonly kind: 'start'; readonly e: ExchangeStart }
  | { readonly kind: 'end'; readonly e: RequestEvent; readonly at: number }
  | { readonly kind: 'missed'; readonly e: MissedEvent };

/**
 * Applies a batch of events to the rows (oldest first): a start adds a row, the end of an exchange replaces its
 * row in place (or adds one), the oldest rows go beyond `maxRows`. Returns the new rows and the rows completed.
 */
export function applyEvents(rows: readonly ExchangeRow[], events: readonly RowEvent[], maxRows: number): { rows: ExchangeRow[]; completed: ExchangeRow[] } {
  const out = [...rows];
  const index = new Map(out.map((r, i) => [r.id, i]));
  const completed: ExchangeRow[] = [];
  for (const ev of events) {
    const at = index.get(ev.e.id);
    const previous = at === undefined ? undefined : out[at];
    const row = ev.kind === 'start' ? startedRow(ev.e) : ev.kind === 'end' ? finishedRow(ev.e, previous, ev.at) : missedRow(ev.e);
    if (ev.kind !== 'start') completed.push(row);
    if (at !== undefined) out[at] = row;
    else {
      index.set(row.id, out.length);
      out.push(row);
    }
  }
  return { rows: out.length > maxRows ? out.slice(out.length - maxRows) : out, completed };
}
