import { formatClock, formatDuration, sanitize } from '../format.js';
import { displayWidth, pad, type Span, type StyledLine } from '../text.js';
import type { InspectorState } from './state.js';
import { signatureMark } from './detail-lines.js';
import { listHeight } from './layout.js';
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

/** The widths of the fixed columns at a terminal width; the path takes the rest. */
function columns(width: number): { size: number; path: number } {
  const size = width >= 64 ? 12 : 0;
  // marker 2, time 9, method 8, space after the path 1, status 4, duration 8, marks 3; one column spare.
  return { size, path: Math.max(4, width - 2 - 9 - 8 - 1 - 4 - 8 - 3 - size - 1) };
}

/** One row of the list, exactly `width` columns wide. */
export function rowLine(row: ExchangeRow, width: number, selected: boolean, marked = false): StyledLine {
  const col = columns(width);
  const failed = isFailure(row);
  const status = statusSpan(row);
  const marks: Span[] = [];
  if (row.replayOf) marks.push({ text: '↻', color: 'magenta' });
  // A replay is a redelivery too: its ↻ says so already.
  else if (row.redeliveryOf) marks.push({ text: '↺', color: 'magenta' });
  if (row.missed) marks.push({ text: '⏸', color: 'magenta' });
  if (row.signature) marks.push(signatureMark(row.signature));
  const markWidth = marks.reduce((w, s) => w + displayWidth(s.text), 0);
  // Escaped before measuring: an escape takes several columns, and the columns must line up.
  const path = sanitize(row.error && !row.missed ? `${row.path}  ${row.error}` : row.path);
  const spans: Span[] = [
    // Rows are printable ASCII unless the exchange or a mark is not: measuring ASCII is what keeps redraws cheap.
    // The second column marks the row that `d` compares with (marked with `m`).
    { text: `${selected ? '>' : ' '}${marked ? '•' : ' '}`, bold: true, color: 'cyan' },
    { text: `${formatClock(row.time)} `, dim: true },
    { text: `${pad(sanitize(row.method), 7)} `, bold: true },
    { text: `${pad(path, col.path)} `, color: failed ? 'red' : undefined },
    { ...status, text: pad(status.text, 3) },
    { text: ` ${pad(row.pending ? '…' : formatDuration(row.durationMs), 8, 'right')}`, dim: row.pending },
  ];
  if (col.size > 0) spans.push({ text: ` ${pad(row.pending ? '' : `${shortBytes(row.requestBytes)}/${shortBytes(row.responseBytes)}`, 11, 'right')}`, dim: true });
  spans.push({ text: ' ' }, ...marks, { text: ' '.repeat(Math.max(0, 2 - markWidth)) });
  // The selected row is bold; its marker says which it is even without colours.
  return selected ? spans.map((s) => ({ ...s, bold: true, dim: false })) : spans;
}

function headingLine(width: number): StyledLine {
  const col = columns(width);
  let text = `  ${'time'.padEnd(9)}${'method'.padEnd(8)}${'path'.padEnd(col.path + 1)}${'code'}${'duration'.padStart(9)}`;
  if (col.size > 0) text += ` ${'req/res'.padStart(11)}`;
  return [{ text, dim: true }];
}

/** The column heading and the rows on screen; an empty list says how to fill it. */
export function ExchangeList({ state }: { readonly state: InspectorState }) {
  const height = listHeight(state.size);
  const width = state.size.columns;
  const shown = state.visible.slice(state.top, state.top + height);
  const lines: StyledLine[] = shown.map((row, i) => rowLine(row, width, state.top + i === state.selected, row.id === state.marked));
  if (shown.length === 0) {
    const empty = state.filter !== '' ? `nothing matches the filter "${state.filter}" (Esc clears it)` : `waiting for requests: send one to ${state.info.url}`;
    lines.push([{ text: `  ${empty}`, dim: true }]);
  }
  while (lines.length < height) lines.push([]);
  return (
    <>
      <StyledText spans={headingLine(width)} />
      {lines.map((l, i) => (
        <StyledText key={i} spans={l} />
      ))}
    </>
  );
}
