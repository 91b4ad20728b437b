import type { ChalkInstance } from 'chalk';
import type { BodyDiff, ExchangeDiff, HeaderDiff } from '../capture/diff.js';
import type { SignatureCheck } from '../model/signature.js';
import { describeSignature, formatBytes, sanitize } from './format.js';
import { fit, line, type Span, type StyledLine } from './text.js';

/** A JSON value in a diff line is cut to this many columns. */
const VALUE_WIDTH = 120;

const NOTE = { dim: true } as const;
const ADD = { color: 'green' } as const;
const REMOVE = { color: 'red' } as const;
const CHANGE = { color: 'yellow' } as const;

function title(text: string): StyledLine {
  return [{ text: `── ${text} ──`, bold: true, color: 'blue' }];
}

function value(v: unknown): string {
  return fit(sanitize(v === undefined ? 'undefined' : JSON.stringify(v)), VALUE_WIDTH);
}

function headerLines(d: HeaderDiff): StyledLine[] {
  const out: StyledLine[] = [];
  for (const h of d.added) for (const v of h.values) out.push([{ text: '+ ', ...ADD }, { text: `${sanitize(h.name)}: ${sanitize(v)}`, ...ADD }]);
  for (const h of d.removed) for (const v of h.values) out.push([{ text: '- ', ...REMOVE }, { text: `${sanitize(h.name)}: ${sanitize(v)}`, ...REMOVE }]);
  for (const h of d.changed) {
    out.push([{ text: '~ ', ...CHANGE }, { text: `${sanitize(h.name)}: `, color: 'cyan' }, { text: sanitize(h.a.join(', ')), ...REMOVE }, { text: ' → ', dim: true }, { text: sanitize(h.b.join(', ')), ...ADD }]);
  }
  if (d.reordered) {
    out.push(line('order only (same headers, another order):', NOTE));
    out.push(line(`  a: ${sanitize(d.reordered.a.join(', '))}`, NOTE), line(`  b: ${sanitize(d.reordered.b.join(', '))}`, NOTE));
  }
  return out.length > 0 ? out : [line('(same)', NOTE)];
}

function bodyLines(d: BodyDiff): StyledLine[] {
  if (d.kind === 'same') return [line(d.bytes === 0 ? '(same: empty)' : `(same: ${formatBytes(d.bytes)})`, NOTE)];
  if (d.kind === 'binary') {
    return [
      line('binary (or too large to compare by content):', NOTE),
      [{ text: '  a: ', dim: true }, { text: `${formatBytes(d.a.bytes)}  sha256 ${d.a.sha256}` }],
      [{ text: '  b: ', dim: true }, { text: `${formatBytes(d.b.bytes)}  sha256 ${d.b.sha256}` }],
    ];
  }
  if (d.kind === 'json') {
    if (d.changes.length === 0) return [line('(same JSON; only its formatting differs)', NOTE)];
    const out = d.changes.map((c): StyledLine => {
      const path = sanitize(c.path);
      if (c.op === 'added') return [{ text: `+ ${path}: `, ...ADD }, { text: value(c.b), ...ADD }];
      if (c.op === 'removed') return [{ text: `- ${path}: `, ...REMOVE }, { text: value(c.a), ...REMOVE }];
      return [{ text: `${path}: `, color: 'cyan' }, { text: value(c.a), ...REMOVE }, { text: ' → ', dim: true }, { text: value(c.b), ...ADD }];
    });
    return d.cut ? [...out, line(`… (more changes not listed)`, NOTE)] : out;
  }
  if (d.tooLarge) return [line(`text differs in too many lines to diff here: ${d.removed} line(s) in a, ${d.added} in b`, NOTE)];
  return [
    line(`text: ${d.removed} line(s) removed, ${d.added} added`, NOTE),
    ...d.lines.map((l): StyledLine => {
      if (l.op === 'skip') return line(`  … ${l.count} unchanged line(s)`, NOTE);
      const style = l.op === '+' ? ADD : l.op === '-' ? REMOVE : NOTE;
      return [{ text: `${l.op} ${sanitize(l.text)}`, ...style }];
    }),
  ];
}

function signatureSpan(s: SignatureCheck | null): Span {
  if (!s) return { text: 'not verified', dim: true };
  return { text: sanitize(describeSignature(s)), color: s.status === 'valid' ? 'green' : s.status === 'invalid' ? 'red' : undefined, dim: s.status === 'unsigned' };
}

/** Every line of a diff as `hooktunnel diff` prints it and the inspector's diff page shows it; all text escaped. */
export function diffLines(d: ExchangeDiff): StyledLine[] {
  const lines: StyledLine[] = [
    [{ text: 'diff ', bold: true }, { text: d.a, color: 'red', bold: true }, { text: ' → ', dim: true }, { text: d.b, color: 'green', bold: true }, { text: d.same ? '  (no differences)' : '', dim: true }],
    line(''),
    title('Request'),
  ];
  const { method, path } = d.request;
  if (!method && !path) lines.push(line('(same method and path)', NOTE));
  if (method) lines.push([{ text: 'method: ', color: 'cyan' }, { text: sanitize(method.a), ...REMOVE }, { text: ' → ', dim: true }, { text: sanitize(method.b), ...ADD }]);
  if (path) lines.push([{ text: 'path: ', color: 'cyan' }, { text: sanitize(path.a), ...REMOVE }, { text: ' → ', dim: true }, { text: sanitize(path.b), ...ADD }]);
  lines.push(line(''), title('Request headers'), ...headerLines(d.request.headers), line(''), title('Request body'), ...bodyLines(d.request.body), line(''));
  const status = d.response.status;
  lines.push(status ? [{ text: '── Response ', bold: true, color: 'blue' }, { text: `${status.a || 'no answer'}`, ...REMOVE, bold: true }, { text: ' → ', dim: true }, { text: `${status.b || 'no answer'}`, ...ADD, bold: true }, { text: ' ──', bold: true, color: 'blue' }] : title('Response'));
  if (!status) lines.push(line('(same status)', NOTE));
  lines.push(line(''));
  lines.push(title('Response headers'), ...headerLines(d.response.headers), line(''), title('Response body'), ...bodyLines(d.response.body), line(''));
  lines.push(title('Signature'), [{ text: 'a: ', dim: true }, signatureSpan(d.signature.a), { text: '   b: ', dim: true }, signatureSpan(d.signature.b), { text: d.signature.same ? '   (same)' : '', dim: true }]);
  return lines;
}

/** Styled lines as terminal text, coloured with `c` (chalk, which prints no colour when not on a TTY). */
export function ansiText(lines: readonly StyledLine[], c: ChalkInstance): string {
  const styled = (s: Span): string => {
    let fn: ChalkInstance = c;
    if (s.color) fn = (fn as unknown as Record<string, ChalkInstance>)[s.color] ?? fn;
    if (s.bold) fn = fn.bold;
    if (s.dim) fn = fn.dim;
    if (s.inverse) fn = fn.inverse;
    return fn(sanitize(s.text));
  };
  return lines.map((l) => l.map(styled).join('')).join('\n') + '\n';
}
