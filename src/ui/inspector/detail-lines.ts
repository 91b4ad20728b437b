import { STATUS_CODES } from 'node:http';
import { deliveryState } from '../../model/exchange.js';
import type { SignatureCheck } from '../../model/signature.js';
import type { UpgradeSummary } from '../../model/exchange.js';
import type { Capture } from '../../capture/queries.js';
import { headerPairs } from '../../protocol/headers.js';
import { formatBytes, formatClock, formatDuration, sanitize } from '../format.js';
import { line, type Span, type StyledLine } from '../text.js';
import { bodyLines } from './body-lines.js';
import type { ExchangeRow } from './rows.js';

const NOTE = { dim: true } as const;

/** The compact mark of a signature check: ✓ valid, ✗ invalid, · unsigned. */
export function signatureMark(s: SignatureCheck): Span {
  if (s.status === 'valid') return { text: '✓', color: 'green' };
  if (s.status === 'invalid') return { text: '✗', color: 'red', bold: true };
  return { text: '·', dim: true };
}

/** `✓ valid signature (github)`, `✗ invalid signature (stripe): mismatch`, `· unsigned`. */
export function signatureLine(s: SignatureCheck): StyledLine {
  const words = s.status === 'unsigned' ? 'unsigned' : `${s.status} signature`;
  const provider = s.provider ? ` (${sanitize(s.provider)})` : '';
  const reason = s.reason ? `: ${sanitize(s.reason)}` : '';
  const mark = signatureMark(s);
  return [mark, { text: ` ${words}${provider}${reason}`, color: mark.color, dim: mark.dim }];
}

/** A section title: `── Request headers ──`. */
function title(text: string): StyledLine {
  return [{ text: `── ${text} ──`, bold: true, color: 'blue' }];
}

/** Header values are kept as latin1 (a character per byte); shown as UTF-8 when their bytes are valid UTF-8. */
export function headerText(value: string): string {
  if (/^[\x00-\x7f]*$/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : value;
}

function headerLines(raw: readonly string[]): StyledLine[] {
  if (raw.length === 0) return [line('(none)', NOTE)];
  return headerPairs(raw).map(([name, value]) => [{ text: sanitize(name), color: 'cyan' }, { text: ': ', dim: true }, { text: sanitize(headerText(value)) }]);
}

/** The query string's fields, decoded for reading: escapes decoded here are shown escaped again (`%1b` -> \x1b). */
function queryLines(path: string): StyledLine[] {
  const q = path.indexOf('?');
  if (q === -1) return [];
  const fields = [...new URLSearchParams(path.slice(q + 1))].slice(0, 200);
  if (fields.length === 0) return [];
  return [title('Query'), ...fields.map(([k, v]): StyledLine => [{ text: sanitize(k), color: 'cyan' }, { text: ' = ', dim: true }, { text: sanitize(v) }]), line('')];
}

function statusSpan(status: number, error?: string): Span {
  const color = error || status >= 500 || status === 0 ? 'red' : status >= 400 ? 'yellow' : status >= 300 ? 'cyan' : 'green';
  const reason = STATUS_CODES[status] ?? '';
  return { text: status ? `${status}${reason ? ` ${reason}` : ''}` : 'no answer', color, bold: true };
}

/** `2025-11-25 12:00:01`, local time. */
function stamp(time: number): string {
  const d = new Date(time);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${formatClock(time)}`;
}

/** `⇅ websocket · 64 messages in, 64 out · 1.0 MB in, 1.0 MB out`: what passed over an upgraded connection. */
export function upgradeLine(u: UpgradeSummary): StyledLine {
  const messages = u.protocol.toLowerCase() === 'websocket' ? ` · ${u.messagesIn} messages in, ${u.messagesOut} out` : '';
  return [{ text: `⇅ ${sanitize(u.protocol)}`, color: 'cyan', bold: true }, { text: `${messages} · ${formatBytes(u.bytesIn)} in, ${formatBytes(u.bytesOut)} out`, dim: true }];
}

/** The first lines of every detail: request line and what is known of the exchange without its bodies. */
export function summaryLines(row: ExchangeRow | Capture, time: number): StyledLine[] {
  const facts = [`id ${row.id}`, stamp(time), formatDuration(row.durationMs)];
  const marks: Span[] = [];
  if (row.replayOf) marks.push({ text: `  ↻ replay of ${row.replayOf}`, color: 'magenta' });
  if (row.missed) marks.push({ text: '  missed while offline', color: 'magenta' });
  if ('complete' in row && !row.complete) marks.push({ text: '  incomplete (in flight when the agent stopped)', color: 'yellow' });
  const lines: StyledLine[] = [
    [{ text: sanitize(row.method), bold: true }, { text: ' ' }, { text: sanitize(row.path), bold: true }],
    [{ text: facts.join(' · '), dim: true }, ...marks],
  ];
  if (row.signature) lines.push(signatureLine(row.signature));
  const routing = routingLine(row);
  if (routing) lines.push(routing);
  if (row.upgrade) lines.push(upgradeLine(row.upgrade));
  lines.push(line(''));
  return lines;
}

/** A project run's: `tunnel hooks · route invoices · mode ack · → http://localhost:4000 · attempt 2/5, retrying`. */
function routingLine(row: ExchangeRow | Capture): StyledLine | undefined {
  if (row.route === undefined && row.tunnelName === undefined) return undefined;
  const parts: Span[] = [];
  const add = (label: string, value: string, color?: Span['color']): void => {
    if (parts.length > 0) parts.push({ text: ' · ', dim: true });
    parts.push({ text: `${label} `, dim: true }, { text: sanitize(value), color });
  };
  if (row.tunnelName !== undefined) add('tunnel', row.tunnelName, 'cyan');
  if (row.route !== undefined) add('route', row.route, 'cyan');
  if (row.mode !== undefined) add('mode', row.mode, row.mode === 'passthrough' ? undefined : 'magenta');
  if ('target' in row) add('→', row.target);
  if (row.ackAttempt) {
    const state = 'complete' in row ? deliveryState(row) : row.pending ? undefined : deliveryState({ ...row, complete: true });
    add('attempt', `${row.ackAttempt.n}/${row.ackAttempt.of}${state === 'failed' ? ', failed, replayable' : state ? `, ${state}` : ''}`, state === 'failed' ? 'red' : undefined);
  }
  return parts;
}

/**
 * Every line of the detail view of one captured exchange: request line, query fields, request headers and body;
 * response status, headers and body; the error when there was one. All text from the exchange is escaped.
 */
export async function detailLines(c: Capture, requestBody: Buffer, responseBody: Buffer): Promise<StyledLine[]> {
  const lines: StyledLine[] = [...summaryLines(c, c.time), ...queryLines(c.path)];
  lines.push(title(`Request headers (${c.requestHeaders.length / 2})`), ...headerLines(c.requestHeaders), line(''));
  lines.push(title(`Request body · ${formatBytes(c.requestBytes)}`));
  lines.push(...(await bodyLines({ body: requestBody, headers: c.requestHeaders, totalBytes: c.requestBytes, truncated: c.requestTruncated })), line(''));
  if (c.responseHeaders) {
    lines.push([{ text: '── Response ', bold: true, color: 'blue' }, statusSpan(c.status), { text: ` · ${formatBytes(c.responseBytes)} · ${formatDuration(c.durationMs)} ──`, bold: true, color: 'blue' }]);
    lines.push(...headerLines(c.responseHeaders), line(''), title('Response body'));
    lines.push(...(await bodyLines({ body: responseBody, headers: c.responseHeaders, totalBytes: c.responseBytes, truncated: c.responseTruncated })));
  }
  if (c.error) {
    const got = c.status ? ` (the sender got ${c.status})` : ' (the sender got no answer)';
    lines.push(line(''), title('Error'), [{ text: `${sanitize(c.error)}${got}`, color: 'red', bold: true }], line(sanitize(c.message ?? ''), { color: 'red' }));
  } else if (!c.responseHeaders) lines.push(line('(no response yet)', NOTE));
  return lines;
}

/** The detail of an exchange that is not in the store (in flight, or captures are off): what the list knows. */
export function rowOnlyLines(row: ExchangeRow, why: string): StyledLine[] {
  const lines = [...summaryLines(row, row.time), ...queryLines(row.path)];
  if (!row.pending) lines.push([statusSpan(row.status, row.error), { text: ` · ${formatBytes(row.requestBytes)} -> ${formatBytes(row.responseBytes)}`, dim: true }]);
  if (row.error) lines.push(line(`${sanitize(row.error)}: ${sanitize(row.message ?? '')}`, { color: 'red' }));
  lines.push(line(''), line(sanitize(why), NOTE));
  return lines;
}
