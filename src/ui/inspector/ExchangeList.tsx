import { deliveryState } from '../../model/exchange.js';
import { formatClock, formatDuration, sanitize } from '../format.js';
import { displayWidth, pad, type Span, type StyledLine } from '../text.js';
import type { InspectorState } from './state.js';
import { signatureMark } from './detail-lines.js';
import { headerLines, listHeight } from './layout.js';
import { isFailure, type ExchangeRow } from './rows.js';
import { StyledText } from './StyledText.js';

/** `512B`, `7.2K`, `31K`, `3.4M`: sizes in at most five columns. */
export function shortBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

function statusSpan(row: ExchangeRow): Span {
  if (row.pending) return { text: '···', dim: true };
  const text = row.status ? String(row.status) : '---';
  // Relay errors (502 unreachable, 504 timeout, 503 missed) stand out: reversed red.
  if (row.error) return { text, color: 'red', bold: true, inverse: true };
  if (row.status >= 500 || row.status === 0) return { text, color: 'red', bold: true };
  if (row.status >= 400) return { text, color: 'yellow' };
  if (row.status >= 300) return { text, color: 'cyan' };
  return { text, color: 'green' };
}

/** The widths of the fixed columns at a terminal width; the path takes the rest. `tunnel`: the tunnel column's, 0 for none. */
function columns(width: number, tunnel: number): { size: number; path: number; tunnel: number } {
  const size = width >= 64 ? 12 : 0;
  // marker 2, time 9, method 8, space after the path 1, status 4, duration 8, marks 3; one column spare.
  return { size, tunnel, path: Math.max(4, width - 2 - 9 - 8 - 1 - 4 - 8 - 3 - size - 1 - (tunnel > 0 ? tunnel + 1 : 0)) };
}

/**
 * Width of the tunnel column: shown for a project run with more than one tunnel, as wide as the longest name
 * (at most 12 columns, and at least the heading's 6).
 */
export function tunnelColumnWidth(state: Pick<InspectorState, 'info'>): number {
  const tunnels = state.info.tunnels;
  if (!tunnels || tunnels.length < 2) return 0;
  return Math.max(6, Math.min(12, Math.max(...tunnels.map((t) => displayWidth(sanitize(t.name))))));
}

/** An ack delivery's attempt after the path: `  try 2/5`, and `failed` when it was the last and failed too. */
function deliveryNote(row: ExchangeRow): string {
  if (!row.ackAttempt) return '';
  const failed = !row.pending && deliveryState({ ...row, complete: true }) === 'failed';
  return `  try ${row.ackAttempt.n}/${row.ackAttempt.of}${failed ? ' failed' : ''}`;
}

/** One row of the list, exactly `width` columns wide. */
export function rowLine(row: ExchangeRow, width: number, selected: boolean, marked = false, tunnelWidth = 0): StyledLine {
  const col = columns(width, tunnelWidth);
  const failed = isFailure(row);
  const status = statusSpan(row);
  const marks: Span[] = [];
  if (row.replayOf) marks.push({ text: '↻', color: 'magenta' });
  // A replay is a redelivery too: its ↻ says so already.
  else if (row.redeliveryOf) marks.push({ text: '↺', color: 'magenta' });
  if (row.missed) marks.push({ text: '⏸', color: 'magenta' });
  if (row.signature) marks.push(signatureMark(row.signature));
  if (row.upgrade) marks.push({ text: '⇅', color: 'cyan' });
  const markWidth = marks.reduce((w, s) => w + displayWidth(s.text), 0);
  // Escaped before measuring: an escape takes several columns, and the columns must line up.
  const path = sanitize(`${row.error && !row.missed ? `${row.path}  ${row.error}` : row.path}${deliveryNote(row)}`);
  const spans: Span[] = [
    // Rows are printable ASCII unless the exchange or a mark is not: measuring ASCII is what keeps redraws cheap.
    // The second column marks the row that `d` compares with (marked with `m`).
    { text: `${selected ? '>' : ' '}${marked ? '•' : ' '}`, bold: true, color: 'cyan' },
    { text: `${formatClock(row.time)} `, dim: true },
    ...(col.tunnel > 0 ? [{ text: `${pad(sanitize(row.tunnelName ?? ''), col.tunnel)} `, color: 'cyan' as const }] : []),
    { text: `${pad(sanitize(row.method), 7)} `, bold: true },
    { text: `${pad(path, col.path)} `, color: failed ? 'red' : undefined },
    { ...status, text: pad(status.text, 3) },
    { text: ` ${pad(row.pending ? '…' : formatDuration(row.durationMs), 8, 'right')}`, dim: row.pending },
  ];
  // An upgraded connection's size is what passed over it after the 101, each way.
  const sizes = row.upgrade ? [row.upgrade.bytesIn, row.upgrade.bytesOut] : [row.requestBytes, row.responseBytes];
  if (col.size > 0) spans.push({ text: ` ${pad(row.pending ? '' : `${shortBytes(sizes[0]!)}/${shortBytes(sizes[1]!)}`, 11, 'right')}`, dim: true });
  spans.push({ text: ' ' }, ...marks, { text: ' '.repeat(Math.max(0, 2 - markWidth)) });
  // The selected row is bold; its marker says which it is even without colours.
  return selected ? spans.map((s) => ({ ...s, bold: true, dim: false })) : spans;
}

function headingLine(width: number, tunnelWidth: number): StyledLine {
  const col = columns(width, tunnelWidth);
  let text = `  ${'time'.padEnd(9)}${col.tunnel > 0 ? 'tunnel'.padEnd(col.tunnel + 1) : ''}${'method'.padEnd(8)}${'path'.padEnd(col.path + 1)}${'code'}${'duration'.padStart(9)}`;
  if (col.size > 0) text += ` ${'req/res'.padStart(11)}`;
  return [{ text, dim: true }];
}

/** The column heading and the rows on screen; an empty list says how to fill it. */
export function ExchangeList({ state }: { readonly state: InspectorState }) {
  const height = listHeight(state.size, headerLines(state.info.tunnels));
  const width = state.size.columns;
  const shown = state.visible.slice(state.top, state.top + height);
  const tunnelWidth = tunnelColumnWidth(state);
  const lines: StyledLine[] = shown.map((row, i) => rowLine(row, width, state.top + i === state.selected, row.id === state.marked, tunnelWidth));
  if (shown.length === 0) {
    const empty = state.filter !== '' ? `nothing matches the filter "${state.filter}" (Esc clears it)` : `waiting for requests: send one to ${state.info.url}`;
    lines.push([{ text: `  ${empty}`, dim: true }]);
  }
  while (lines.length < height) lines.push([]);
  return (
    <>
      <StyledText spans={headingLine(width, tunnelWidth)} />
      {lines.map((l, i) => (
        <StyledText key={i} spans={l} />
      ))}
    </>
  );
}
