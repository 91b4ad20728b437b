import { formatDuration } from '../format.js';
import { displayWidth, fit, type Span } from '../text.js';
import type { Connection, InspectorState } from './state.js';
import { StyledText } from './StyledText.js';

/** The state in one or two words: what comes with it (attempt, next try, reason) goes on the second line. */
function connectionSpans(c: Connection): Span[] {
  if (c.state === 'online') return [{ text: '● ', color: 'green' }, { text: 'online', color: 'green', bold: true }];
  if (c.state === 'reconnecting') return [{ text: '◌ ', color: 'yellow' }, { text: 'reconnecting', color: 'yellow', bold: true }];
  return [{ text: '○ ', color: 'red' }, { text: 'offline', color: 'red', bold: true }];
}

const WIDE = '  ·  ';
const NARROW = ' · ';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The pieces of the second line, most wanted first (a narrow terminal cuts the last ones): the counters and the
 * relay; while the connection is down, why and when the next try is, before the counters.
 */
function facts(state: InspectorState): Span[] {
  const { info, connection, counts } = state;
  const out: Span[] = [];
  if (connection.state !== 'online') {
    const retry = connection.state === 'reconnecting' ? `next try in ${formatDuration(connection.delayMs)} (attempt ${connection.attempt}): ` : '';
    out.push({ text: fit(`${retry}${connection.reason}`, 200), color: connection.state === 'offline' ? 'red' : 'yellow' });
  }
  out.push({ text: plural(counts.requests, 'request') });
  if (counts.errors > 0) out.push({ text: plural(counts.errors, 'error'), color: 'red', bold: true });
  if ((counts.redeliveries ?? 0) > 0) out.push({ text: plural(counts.redeliveries!, 'redelivery').replace('redeliverys', 'redeliveries'), color: 'magenta' });
  if (counts.dropped > 0) out.push({ text: `${counts.dropped} lost while offline`, color: 'red' });
  // The embedded relay's address is the public URL's origin, on the first line already: what matters is its reach.
  if (connection.state === 'online') out.push({ text: info.embedded ? 'embedded relay: local only' : `relay ${info.relay}`, dim: true });
  // The list shows the earlier rows themselves: their count matters least.
  if (counts.earlier > 0) out.push({ text: `${counts.earlier} earlier`, dim: true });
  return out;
}

/** `→ target`, then the facts, with wide separators when all fit the width, narrow ones when not. */
function secondLine(state: InspectorState): Span[] {
  const rest = facts(state);
  const used = displayWidth(`→ ${state.info.target}`) + rest.reduce((w, p) => w + displayWidth(p.text), 0);
  const sep = used + WIDE.length * rest.length <= state.size.columns ? WIDE : NARROW;
  return [{ text: '→ ', dim: true }, { text: state.info.target }, ...rest.flatMap((p) => [{ text: sep, dim: true }, p])];
}

/**
 * Two lines: the connection state and the public URL (nothing else after it, so it is easy to select, and the state
 * is short, so that the URL is not cut at 80 columns), then the target, the counters, and the relay (or why the
 * connection is down), cut at the terminal's width.
 */
export function Header({ state }: { readonly state: InspectorState }) {
  const first: Span[] = [...connectionSpans(state.connection), { text: '  ' }, { text: state.info.url, bold: true }];
  return (
    <>
      <StyledText spans={first} />
      <StyledText spans={secondLine(state)} />
    </>
  );
}
