import { decodeContent } from '../model/content-encoding.js';
import { headerValue } from '../protocol/headers.js';
import { formatBytes, sanitize } from './format.js';

/** How much of a body a preview shows at most. */
export const PREVIEW_BYTES = 64 * 1024;
/** A compressed body is decompressed for preview up to this size, never more (a zip bomb stays small). */
export const INFLATE_CAP = 1024 * 1024;

/** True when `buf` is valid UTF-8 text without binary control bytes. */
export function isText(buf: Buffer): boolean {
  const s = buf.toString('utf8');
  return Buffer.byteLength(s) === buf.length && !s.includes('\ufffd') && !/[\u0000-\u0008\u000e-\u001a]/.test(s);
}

/** A hex dump of the first bytes, 16 per line. */
export function hexSummary(buf: Buffer, limit = 256): string[] {
  const lines: string[] = [];
  for (let off = 0; off < Math.min(buf.length, limit); off += 16) {
    const row = buf.subarray(off, Math.min(off + 16, limit, buf.length));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines;
}

/** Pretty JSON, or undefined when the text is not JSON or too deeply nested to print. */
function prettyJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON, or nested beyond the engine's stack: shown as text
    return undefined;
  }
}

/**
 * Lines that show a body to a person: JSON pretty-printed, forms decoded, compressed bodies decompressed (bounded),
 * binary as a hex summary, everything sanitised so that no byte from the network reaches the terminal raw.
 */
export function previewBody(body: Buffer, headers: readonly string[], totalBytes: number, truncated: boolean): string[] {
  if (totalBytes === 0) return ['(no body)'];
  const notes: string[] = [];
  if (truncated) notes.push(`(stored ${formatBytes(body.length)} of ${formatBytes(totalBytes)}: truncated at the capture limit)`);
  const encoding = headerValue(headers, 'content-encoding')?.toLowerCase();
  const inflated = decodeContent(body, encoding, INFLATE_CAP);
  if (inflated) notes.push(`(${encoding}, ${formatBytes(body.length)} -> ${formatBytes(inflated.length)}${inflated.length >= INFLATE_CAP ? '+, preview cut' : ''})`);
  const shown = inflated ?? body;
  const type = headerValue(headers, 'content-type')?.toLowerCase() ?? '';
  if (!isText(shown.subarray(0, PREVIEW_BYTES))) return [...notes, `binary, ${formatBytes(totalBytes)}:`, ...hexSummary(shown)];
  const text = shown.subarray(0, PREVIEW_BYTES).toString('utf8');
  const cut = shown.length > PREVIEW_BYTES ? [`… (${formatBytes(shown.length - PREVIEW_BYTES)} more)`] : [];
  if (type.includes('json') || /^\s*[[{]/.test(text)) {
    const pretty = prettyJson(text);
    if (pretty !== undefined) return [...notes, ...pretty.split('\n').map(sanitize), ...cut];
  }
  if (type.includes('application/x-www-form-urlencoded')) {
    const fields = [...new URLSearchParams(text)].map(([k, v]) => `${sanitize(k)} = ${sanitize(v)}`);
    return [...notes, ...fields, ...cut];
  }
  return [...notes, ...text.split('\n').map(sanitize), ...cut];
}
