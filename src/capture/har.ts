import type { Capture } from './queries.js';

/** One HAR 1.2 entry's body text: UTF-8 text as is, anything else base64 (`encoding: "base64"`). */
function content(body: Buffer, mimeType: string): { text: string; encoding?: 'base64' } {
  const text = body.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(body) && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text };
  return { text: body.toString('base64'), encoding: 'base64' };
}

function pairs(raw: readonly string[]): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (let i = 0; i < raw.length; i += 2) out.push({ name: raw[i]!, value: raw[i + 1]! });
  return out;
}

function headerOf(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
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

/**
 * A HAR 1.2 log (http://www.softwareishard.com/blog/har-12-spec/) of the captures, oldest first. URLs use the
 * target the request was forwarded to. Captures without a response (errors, missed) get status 0, as browsers
 * write for failed requests, with the error in `_error`.
 */
export function toHar(items: readonly CaptureWithBodies[], version: string): object {
  return {
    log: {
      version: '1.2',
      creator: { name: 'hooktunnel', version },
      entries: items.map(({ capture: c, requestBody, responseBody }) => {
        // The literal path as forwarded, not a normalised URL: `//`, `..` and `%2F` stay as they were.
        const url = `${c.target.replace(/\/+$/, '')}${c.path}`;
        const reqType = headerOf(c.requestHeaders, 'content-type') ?? 'application/octet-stream';
        const resHeaders = c.responseHeaders ?? [];
        const resType = headerOf(resHeaders, 'content-type') ?? '';
        return {
          startedDateTime: new Date(c.time).toISOString(),
          time: c.durationMs,
          request: {
            method: c.method,
            url,
            httpVersion: 'HTTP/1.1',
            cookies: [],
            headers: pairs(c.requestHeaders),
            queryString: queryOf(url),
            ...(requestBody.length > 0 || c.requestBytes > 0 ? { postData: { mimeType: reqType, ...content(requestBody, reqType) } } : {}),
            headersSize: headersSize(c.requestHeaders),
            bodySize: c.requestBytes,
          },
          response: {
            status: c.responseHeaders ? c.status : 0,
            statusText: '',
            httpVersion: 'HTTP/1.1',
            cookies: [],
            headers: pairs(resHeaders),
            content: { size: c.responseBytes, mimeType: resType, ...content(responseBody, resType) },
            redirectURL: headerOf(resHeaders, 'location') ?? '',
            headersSize: c.responseHeaders ? headersSize(resHeaders) : -1,
            bodySize: c.responseHeaders ? c.responseBytes : -1,
          },
          cache: {},
          timings: { send: 0, wait: c.durationMs, receive: 0 },
          _id: c.id,
          ...(c.replayOf ? { _replayOf: c.replayOf } : {}),
          ...(c.error ? { _error: c.error } : {}),
        };
      }),
    },
  };
}
