import { ErrorCode, HooktunnelError } from '../errors.js';
import { newExchangeId } from '../model/exchange.js';
import type { CaptureEnd, CaptureHead } from './schema.js';

/** The `tunnel` of a capture brought in from a HAR file: how `requests` and the store tell imported ones apart. */
export const IMPORTED_TUNNEL = 'imported';

/** One HAR entry, ready for CaptureStore.writeWhole. */
export interface ImportedEntry {
  readonly head: CaptureHead;
  readonly end: CaptureEnd;
  readonly request: Buffer;
  readonly response: Buffer;
}

type Json = Record<string, unknown>;

function invalid(file: string, field: string, why: string): HooktunnelError {
  return new HooktunnelError(ErrorCode.InvalidArgument, `${file}: ${field}: ${why}`);
}

function object(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Header objects as a flat list; HTTP/2 pseudo-headers (`:authority`, which devtools write) are left out. */
function headers(value: unknown, file: string, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(file, field, 'must be a list of {name, value}');
  const out: string[] = [];
  value.forEach((h, i) => {
    if (!object(h) || typeof h.name !== 'string' || typeof h.value !== 'string') throw invalid(file, `${field}[${i}]`, 'must be {name, value} strings');
    if (!h.name.startsWith(':')) out.push(h.name, h.value);
  });
  return out;
}

/**
 * A HAR body: `text` as UTF-8, or base64 with `encoding: "base64"` (HAR 1.2 content) or our `_encoding` (postData);
 * a postData with only `params` (some devtools write forms so) is encoded as a form.
 */
function body(value: unknown, file: string, field: string): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (!object(value)) throw invalid(file, field, 'must be an object');
  const encoding = value.encoding ?? value._encoding;
  if (typeof value.text === 'string') {
    if (encoding === 'base64') {
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(value.text)) throw invalid(file, `${field}.text`, 'is not base64');
      return Buffer.from(value.text, 'base64');
    }
    if (encoding !== undefined) throw invalid(file, `${field}.encoding`, `${JSON.stringify(encoding)} is not "base64"`);
    return Buffer.from(value.text, 'utf8');
  }
  if (Array.isArray(value.params)) {
    const form = new URLSearchParams();
    for (const p of value.params as Json[]) form.append(String(p?.name ?? ''), String(p?.value ?? ''));
    return Buffer.from(form.toString());
  }
  return Buffer.alloc(0);
}

function entry(e: unknown, i: number, file: string, now: number): ImportedEntry {
  const at = `log.entries[${i}]`;
  if (!object(e)) throw invalid(file, at, 'must be an object');
  const req = e.request;
  if (!object(req)) throw invalid(file, `${at}.request`, 'missing');
  if (typeof req.method !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(req.method)) throw invalid(file, `${at}.request.method`, 'must be an HTTP method');
  let url: URL;
  try {
    url = new URL(String(req.url));
  } catch {
    throw invalid(file, `${at}.request.url`, req.url === undefined ? 'missing' : `${JSON.stringify(req.url)} is not an absolute URL`);
  }
  const time = typeof e.startedDateTime === 'string' && !Number.isNaN(Date.parse(e.startedDateTime)) ? Date.parse(e.startedDateTime) : now;
  const requestHeaders = headers(req.headers, file, `${at}.request.headers`);
  const request = body(req.postData, file, `${at}.request.postData`);
  const res = object(e.response) ? e.response : undefined;
  // Status 0 is how browsers (and our export) write a request that got no answer.
  const answered = res !== undefined && typeof res.status === 'number' && res.status > 0;
  const responseHeaders = answered ? headers(res.headers, file, `${at}.response.headers`) : undefined;
  const response = answered ? body(res.content, file, `${at}.response.content`) : Buffer.alloc(0);
  const size = answered && object(res.content) && typeof res.content.size === 'number' ? res.content.size : response.length;
  const bodySize = typeof req.bodySize === 'number' && req.bodySize > request.length ? req.bodySize : request.length;
  const head: CaptureHead = {
    id: newExchangeId(), time, tunnel: IMPORTED_TUNNEL, target: url.origin, method: req.method, path: `${url.pathname}${url.search}`, headers: requestHeaders,
  };
  const end: CaptureEnd = {
    status: answered ? (res.status as number) : 0, responseHeaders,
    ...(answered ? {} : { message: 'the HAR entry has no response' }),
    durationMs: typeof e.time === 'number' && e.time >= 0 ? e.time : 0,
    // A body the HAR file left out (devtools omit large or binary ones) is marked truncated: its size is known, its bytes are not.
    requestBytes: bodySize, responseBytes: Math.max(size, response.length),
    requestTruncated: bodySize > request.length, responseTruncated: size > response.length, requestComplete: true,
  };
  return { head, end, request, response };
}

/**
 * The entries of a HAR file (HAR 1.2, http://www.softwareishard.com/blog/har-12-spec/, as our `export` and
 * browsers' devtools write it) as captures, tunnel IMPORTED_TUNNEL, fresh ids. Throws `invalid_argument` naming
 * the file and the field for a file that is not HAR.
 */
export function parseHar(text: string, file: string, now: number = Date.now()): ImportedEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid(file, '(file)', `not JSON (${(err as Error).message})`);
  }
  if (!object(data) || !object(data.log)) throw invalid(file, 'log', 'missing: not a HAR file');
  if (!Array.isArray(data.log.entries)) throw invalid(file, 'log.entries', 'missing or not a list');
  return data.log.entries.map((e, i) => entry(e, i, file, now));
}
