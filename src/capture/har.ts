import { headerPairs, headerValue } from '../protocol/headers.js';
import type { Capture } from './queries.js';

/**
 * A body as HAR text: UTF-8 text as is, anything else base64. HAR 1.2 has `encoding: "base64"` for response
 * content only; for postData the same marker is a custom field, `_encoding` (custom fields start with `_`).
 */
function content(body: Buffer, key: 'encoding' | '_encoding'): { text: string; encoding?: 'base64'; _encoding?: 'base64' } {
  const text = body.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(body) && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text };
  return { text: body.toString('base64'), [key]: 'base64' };
}

/** HAR's place for remarks: said when a body was stored only up to the capture limit. */
function truncation(stored: Buffer, total: number, truncated: boolean): { comment?: string } {
  return truncated ? { comment: `truncated at the capture limit: ${stored.length} of ${total} bytes stored` } : {};
}

function pairs(raw: readonly string[]): Array<{ name: string; value: string }> {
  return headerPairs(raw).map(([name, value]) => ({ name, value }));
}

function queryOf(url: string): Array<{ name: string; value: string }> {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(url.slice(q + 1))].map(([name, value]) => ({ name, value }));
}

/** The headers' byte count as HAR counts it: every "Name: value\r\n" plus the blank line. */
function headersSize(raw: readonly string[]): number {
  let n = 2;
  for (let i = 0; i < raw.length; i += 2) n += Buffer.byteLength(`${raw[i]}: ${raw[i + 1]}\r\n`);
  return n;
}

/** Bodies of one capture, for export. */
export interface CaptureWithBodies {
  readonly capture: Capture;
  readonly requestBody: Buffer;
  readonly responseBody: Buffer;
}

function harRequest(c: Capture, body: Buffer, url: string): object {
  const mimeType = headerValue(c.requestHeaders, 'content-type') ?? 'application/octet-stream';
  const postData = body.length > 0 || c.requestBytes > 0 ? { postData: { mimeType, ...content(body, '_encoding'), ...truncation(body, c.requestBytes, c.requestTruncated) } } : {};
  return {
    method: c.method, url, httpVersion: 'HTTP/1.1', cookies: [], headers: pairs(c.requestHeaders), queryString: queryOf(url),
    ...postData, headersSize: headersSize(c.requestHeaders), bodySize: c.requestBytes,
  };
}

/** The response, or for an exchange the target never answered, status 0 (as browsers write for failed requests). */
function harResponse(c: Capture, body: Buffer): object {
  const headers = c.responseHeaders ?? [];
  const mimeType = headerValue(headers, 'content-type') ?? '';
  return {
    status: c.responseHeaders ? c.status : 0, statusText: '', httpVersion: 'HTTP/1.1', cookies: [], headers: pairs(headers),
    content: { size: c.responseBytes, mimeType, ...content(body, 'encoding'), ...truncation(body, c.responseBytes, c.responseTruncated) },
    redirectURL: headerValue(headers, 'location') ?? '',
    headersSize: c.responseHeaders ? headersSize(headers) : -1,
    bodySize: c.responseHeaders ? c.responseBytes : -1,
  };
}

/**
 * A HAR 1.2 log (http://www.softwareishard.com/blog/har-12-spec/) of the captures in the order given. URLs use the
 * target the request was forwarded to, with the path exactly as forwarded (`//`, `..` and `%2F` stay as they
 * were). An exchange the agent never finished says so in the entry's `comment`. Custom fields: `_id`, `_replayOf`,
 * `_error` on entries.
 */
export function toHar(items: readonly CaptureWithBodies[], version: string): object {
  const entries = items.map(({ capture: c, requestBody, responseBody }) => ({
    startedDateTime: new Date(c.time).toISOString(),
    time: c.durationMs,
    request: harRequest(c, requestBody, `${c.target.replace(/\/+$/, '')}${c.path}`),
    response: harResponse(c, responseBody),
    cache: {},
    timings: { send: 0, wait: c.durationMs, receive: 0 },
    ...(c.complete ? {} : { comment: 'incomplete: the agent stopped before this exchange ended; bodies hold what had arrived' }),
    _id: c.id,
    ...(c.replayOf ? { _replayOf: c.replayOf } : {}),
    ...(c.error ? { _error: c.error } : {}),
  }));
  return { log: { version: '1.2', creator: { name: 'hooktunnel', version }, entries } };
}
