import type { Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { headerValue } from '../../protocol/headers.js';
import { INFLATE_CAP, PREVIEW_BYTES, hexSummary, isText } from '../body-preview.js';
import { formatBytes, sanitize } from '../format.js';
import { jsonLines } from '../json-lines.js';
import { line, type StyledLine } from '../text.js';

/** A body as the detail view gets it: the stored bytes and what the capture knows about them. */
export interface BodyInput {
  readonly body: Buffer;
  readonly headers: readonly string[];
  /** Bytes the body had on the wire (the store may hold fewer). */
  readonly totalBytes: number;
  readonly truncated: boolean;
}

/** At most this many lines per body: the rest is one line saying so. */
export const MAX_BODY_LINES = 3000;

const NOTE = { dim: true } as const;

function decompressor(encoding: string): Transform | undefined {
  // SYNC_FLUSH: a body cut at the capture limit decodes as far as it goes instead of failing.
  const opts = { finishFlush: constants.Z_SYNC_FLUSH };
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip(opts);
  if (encoding === 'deflate') return createInflate(opts);
  if (encoding === 'br') return createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH });
  return undefined;
}

/**
 * Decompresses at most `cap` bytes of `body`, on the zlib thread pool (the UI stays responsive), and stops there:
 * a gzip bomb costs `cap` bytes of memory and no more. Undefined when the encoding is unknown or nothing decoded.
 */
export function inflateCapped(body: Buffer, encoding: string, cap = INFLATE_CAP): Promise<{ data: Buffer; cut: boolean } | undefined> {
  const z = decompressor(encoding);
  if (!z) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (cut: boolean): void => {
      if (done) return;
      done = true;
      z.destroy();
      const data = Buffer.concat(parts).subarray(0, cap);
      resolve(size === 0 ? undefined : { data, cut });
    };
    z.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      size += chunk.length;
      if (size > cap) finish(true);
    });
    z.on('end', () => finish(false));
    // Broken input: whatever decoded before the error is still worth showing.
    z.on('error', () => finish(true));
    z.end(body);
  });
}

/** The longest prefix of `buf` of at most `n` bytes that does not end inside a UTF-8 character. */
function utf8Prefix(buf: Buffer, n: number): Buffer {
  if (buf.length <= n) return buf;
  let end = n;
  while (end > n - 4 && end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

function textLines(text: string, maxLines: number): StyledLine[] {
  const lines: StyledLine[] = [];
  let start = 0;
  while (start <= text.length && lines.length < maxLines) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl;
    lines.push(line(sanitize(text.slice(start, end))));
    if (nl === -1) return lines;
    start = nl + 1;
  }
  if (start < text.length) lines.push(line(`… (${text.length - start} more characters not shown)`, NOTE));
  return lines;
}

function formLines(text: string, maxLines: number): StyledLine[] {
  const lines: StyledLine[] = [];
  // Decoded first, escaped after: `%1b` in a form shows as \x1b, never as a raw ESC.
  for (const [k, v] of new URLSearchParams(text)) {
    if (lines.length >= maxLines) return [...lines, line('… (more fields not shown)', NOTE)];
    lines.push([{ text: sanitize(k), color: 'cyan' }, { text: ' = ', dim: true }, { text: sanitize(v) }]);
  }
  return lines.length > 0 ? lines : [line('(empty form)', NOTE)];
}

/**
 * The lines that show one body in the detail view: JSON pretty-printed and coloured, forms decoded into fields,
 * gzip/deflate/br decompressed up to a cap, binary as a hex summary, text as lines. Everything from the body goes
 * through `sanitize`; every kind of body is bounded in the lines it makes.
 */
export async function bodyLines(input: BodyInput, maxLines = MAX_BODY_LINES): Promise<StyledLine[]> {
  if (input.totalBytes === 0 && input.body.length === 0) return [line('(no body)', NOTE)];
  const notes: StyledLine[] = [];
  if (input.truncated) notes.push(line(`(stored ${formatBytes(input.body.length)} of ${formatBytes(input.totalBytes)}: cut at the capture limit)`, NOTE));
  const encoding = headerValue(input.headers, 'content-encoding')?.trim().toLowerCase();
  let shown = input.body;
  let cut = input.truncated;
  if (encoding && encoding !== 'identity') {
    const inflated = await inflateCapped(input.body, encoding);
    if (inflated) {
      const more = inflated.cut ? `, preview cut at ${formatBytes(INFLATE_CAP)}` : '';
      notes.push(line(`(${sanitize(encoding)}: ${formatBytes(input.body.length)} decompressed to ${formatBytes(inflated.data.length)}${more})`, NOTE));
      shown = inflated.data;
      cut ||= inflated.cut;
    } else notes.push(line(`(content-encoding ${sanitize(encoding)}: not decoded, shown as stored)`, NOTE));
  }
  const head = utf8Prefix(shown, PREVIEW_BYTES);
  if (!isText(head)) return [...notes, line(`binary, ${formatBytes(shown.length)}:`, NOTE), ...hexSummary(shown).map((l) => line(l))];
  const type = headerValue(input.headers, 'content-type')?.toLowerCase() ?? '';
  if (type.includes('json') || /^\s*[[{]/.test(head.toString('utf8', 0, Math.min(head.length, 64)))) {
    const whole = utf8Prefix(shown, INFLATE_CAP);
    const json = jsonLines(whole.toString('utf8'), maxLines, !cut && whole.length === shown.length);
    if (json) return [...notes, ...json];
  }
  const text = head.toString('utf8');
  const rest = head.length < shown.length ? [line(`… (${formatBytes(shown.length - head.length)} more not shown)`, NOTE)] : [];
  if (type.includes('application/x-www-form-urlencoded')) return [...notes, ...formLines(text, maxLines), ...rest];
  return [...notes, ...textLines(text, maxLines), ...rest];
}
