import { formatDuration } from '../format.js';
import { displayWidth, fit, pad, type Span } from '../text.js';
import { MAX_HEADER_TUNNELS } from './layout.js';
import type { Connection, InspectorState, ProjectTunnel } from './state.js';
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

/**
 * `→ target` (for a project run, how many tunnels), then the facts, with wide separators when all fit the width,
 * narrow ones when not.
 */
function secondLine(state: InspectorState): Span[] {
  const rest = facts(state);
  const tunnels = state.info.tunnels;
  const lead: Span[] = tunnels ? [{ text: plural(tunnels.length, 'tunnel') }] : [{ text: '→ ', dim: true }, { text: state.info.target }];
  const used = lead.reduce((w, p) => w + displayWidth(p.text), 0) + rest.reduce((w, p) => w + displayWidth(p.text), 0);
  const sep = used + WIDE.length * rest.length <= state.size.columns ? WIDE : NARROW;
  return [...lead, ...rest.flatMap((p) => [{ text: sep, dim: true }, p])];
}

/**
 * A project run's tunnels, one a line: name, then the URL last on its line (easy to select). The connection
 * state leads the first line; past MAX_HEADER_TUNNELS the last line says how many more there are.
 */
function tunnelLines(state: InspectorState, tunnels: readonly ProjectTunnel[]): Span[][] {
  const width = Math.min(16, Math.max(...tunnels.map((t) => displayWidth(t.name))));
  const shown = tunnels.length > MAX_HEADER_TUNNELS ? tunnels.slice(0, MAX_HEADER_TUNNELS - 1) : tunnels;
  const lead = connectionSpans(state.connection);
  // The names line up under the first, whatever the state's word.
  const indent = ' '.repeat(lead.reduce((w, s) => w + displayWidth(s.text), 0) + 2);
  const lines = shown.map((t, i): Span[] => [
    ...(i === 0 ? [...lead, { text: '  ' }] : [{ text: indent }]),
    { text: `${pad(fit(t.name, width), width)}  `, color: 'cyan' },
    { text: t.url || 'connecting…', bold: t.url !== '', dim: t.url === '' },
  ]);
  if (shown.length < tunnels.length) lines.push([{ text: `${indent}+${tunnels.length - shown.length} more: ${tunnels.slice(shown.length).map((t) => t.name).join(', ')}`, dim: true }]);
  return lines;
}

const MODE_COLOUR = { passthrough: undefined, ack: 'cyan', mock: 'magenta', fail: 'red' } as const;

/** Every route of a project run with its mode now (`M` switches the selected exchange's): `hooks: invoices ack, push`. */
function routesLine(tunnels: readonly ProjectTunnel[]): Span[] {
  const out: Span[] = [{ text: 'routes ', dim: true }];
  tunnels.forEach((t, i) => {
    if (i > 0) out.push({ text: ' · ', dim: true });
    if (tunnels.length > 1) out.push({ text: `${t.name}: `, dim: true });
    t.routes.forEach((r, j) => {
      out.push({ text: `${j > 0 ? ', ' : ''}${r.name} ` }, { text: r.mode, color: MODE_COLOUR[r.mode], bold: r.mode !== 'passthrough', dim: r.mode === 'passthrough' });
    });
  });
  return out;
}

/**
 * For one tunnel, two lines: the connection state and the public URL (nothing else after it, so it is easy to select, and the state
 * is short, so that the URL is not cut at 80 columns), then the target, the counters, and the relay (or why the
 * connection is down), cut at the terminal's width.
 */
export function Header({ state }: { readonly state: InspectorState }) {
  const tunnels = state.info.tunnels;
  if (tunnels) {
    return (
      <>
        {tunnelLines(state, tunnels).map((spans, i) => (
          <StyledText key={i} spans={spans} />
        ))}
        <StyledText spans={secondLine(state)} />
        <StyledText spans={routesLine(tunnels)} />
      </>
    );
  }
  const first: Span[] = [...connectionSpans(state.connection), { text: '  ' }, { text: state.info.url, bold: true }];
  return (
    <>
      <StyledText spans={first} />
      <StyledText spans={secondLine(state)} />
    </>
  );
}
