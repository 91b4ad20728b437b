import { formatDuration } from '../format.js';
import { fit, type Span } from '../text.js';
import type { Connection, InspectorState } from './state.js';
import { StyledText } from './StyledText.js';

function connectionSpans(c: Connection): Span[] {
  if (c.state === 'online') return [{ text: '● ', color: 'green' }, { text: 'online', color: 'green', bold: true }];
  if (c.state === 'reconnecting') return [{ text: '◌ ', color: 'yellow' }, { text: `reconnecting (attempt ${c.attempt}, next try in ${formatDuration(c.delayMs)})`, color: 'yellow', bold: true }];
  return [{ text: '○ ', color: 'red' }, { text: 'offline', color: 'red', bold: true }];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Two lines: the connection state and the public URL (nothing else after it, so it is easy to select), then the
 * target, the counters, and the relay (or why the connection is down), cut at the terminal's width.
 */
export function Header({ state }: { readonly state: InspectorState }) {
  const { info, connection, counts } = state;
  const sep: Span = { text: '  ·  ', dim: true };
  const first: Span[] = [...connectionSpans(connection), { text: '  ' }, { text: info.url, bold: true }];
  const second: Span[] = [{ text: '→ ', dim: true }, { text: info.target }, sep, { text: plural(counts.requests, 'request') }];
  if (counts.errors > 0) second.push(sep, { text: plural(counts.errors, 'error'), color: 'red', bold: true });
  if (counts.dropped > 0) second.push(sep, { text: `${counts.dropped} lost while offline`, color: 'red' });
  if (counts.earlier > 0) second.push(sep, { text: `${counts.earlier} earlier`, dim: true });
  second.push(sep);
  if (connection.state === 'online') second.push({ text: `relay ${info.relay}${info.embedded ? ' (embedded: reachable from this machine only)' : ''}`, dim: true });
  else second.push({ text: fit(connection.reason, 200), color: connection.state === 'offline' ? 'red' : 'yellow' });
  return (
    <>
      <StyledText spans={first} />
      <StyledText spans={second} />
    </>
  );
}
