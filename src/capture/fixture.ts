import { ErrorCode, HooktunnelError } from '../errors.js';
import { PROVIDERS, type ProviderName } from '../model/signature.js';
import { headerPairs } from '../protocol/headers.js';
import { eventOf, providerOf, secretHeaders } from '../webhooks/identify.js';
import type { WebhookSecret } from '../webhooks/types.js';
import type { Capture } from './queries.js';

/** The fixture format this version writes and reads. A file with another `format` is refused, never guessed at. */
export const FIXTURE_FORMAT = 1;

/**
 * One request as a JSON fixture file (`hooktunnel save`, README "Fixtures and tests"): stable, meant to be read,
 * edited and kept in a repository. The field names are a public contract: add fields, never rename them.
 */
export interface Fixture {
  readonly format: typeof FIXTURE_FORMAT;
  readonly method: string;
  /** As sent, query included. */
  readonly path: string;
  /** `[name, value]` pairs in wire order, repeats kept. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /**
   * The body: text (`bodyEncoding: "utf8"`) or base64 (`"base64"`), exactly the captured bytes. With `reserialize`,
   * a JSON value written out in the file and sent as compact JSON (`JSON.stringify`).
   */
  readonly body: unknown;
  readonly bodyEncoding: 'utf8' | 'base64';
  /** True: `body` is a JSON value, sent re-serialised compactly (not byte for byte). */
  readonly reserialize?: boolean;
  /** The provider that sent it, when known: replay signs it for this provider. */
  readonly provider?: ProviderName;
  /** The provider's event type, when known (`invoice.paid`, `push`). */
  readonly event?: string;
  /** When the request was captured (ISO 8601). */
  readonly capturedAt?: string;
  /** The capture it was saved from. */
  readonly captureId?: string;
  /** The tunnel it arrived through: with the relay's X-Forwarded-Host, the public URL a Twilio replay is signed for. */
  readonly tunnel?: string;
  /** The target's answer at the time, for reference only. */
  readonly response?: { readonly status: number };
  /** Headers left out because they carry secrets (names only); `--keep-secrets` keeps them. */
  readonly secretsRemoved?: readonly string[];
}

/** How saveFixture builds a fixture. */
export interface FixtureOptions {
  /** Keep signature and credential headers (default: left out, their names listed in `secretsRemoved`). */
  readonly keepSecrets?: boolean;
  /** Write a JSON body as a JSON value (see Fixture.reserialize). Refused for a body that is not JSON. */
  readonly reserialize?: boolean;
  /** Configured secrets: a `generic` secret names a header to leave out. */
  readonly secrets?: readonly WebhookSecret[];
}

/** True when `body` is valid UTF-8 (it survives decoding and encoding again). */
function isUtf8(body: Buffer): boolean {
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}

/** A capture and its (whole) request body as a fixture. */
export function captureToFixture(c: Capture, body: Buffer, options: FixtureOptions = {}): Fixture {
  const hidden = secretHeaders(options.secrets ?? []);
  const pairs = headerPairs(c.requestHeaders);
  const kept = options.keepSecrets ? pairs : pairs.filter(([name]) => !hidden.has(name.toLowerCase()));
  const removed = [...new Set(pairs.filter((p) => !kept.includes(p)).map(([name]) => name))];
  const provider = providerOf(c.requestHeaders, c.signature, options.secrets);
  const event = eventOf(provider, c.requestHeaders, body);
  return {
    format: FIXTURE_FORMAT,
    method: c.method,
    path: c.path,
    headers: kept,
    ...fixtureBody(body, options.reserialize === true),
    ...(provider ? { provider } : {}),
    ...(event ? { event } : {}),
    capturedAt: new Date(c.time).toISOString(),
    captureId: c.id,
    tunnel: c.tunnel,
    ...(c.responseHeaders ? { response: { status: c.status } } : {}),
    ...(removed.length > 0 ? { secretsRemoved: removed } : {}),
  };
}

function fixtureBody(body: Buffer, reserialize: boolean): Pick<Fixture, 'body' | 'bodyEncoding' | 'reserialize'> {
  if (reserialize) {
    try {
      return { body: JSON.parse(body.toString('utf8')) as unknown, bodyEncoding: 'utf8', reserialize: true };
    } catch {
      throw new HooktunnelError(ErrorCode.InvalidArgument, '--reserialize needs a JSON body; this one is not JSON');
    }
  }
  return isUtf8(body) ? { body: body.toString('utf8'), bodyEncoding: 'utf8' } : { body: body.toString('base64'), bodyEncoding: 'base64' };
}

/**
 * The fixture as its file's text, laid out to be read and edited (README, "Fixtures"): one field per line, one header
 * pair per line, small values (`response`, `secretsRemoved`) on their field's line, a JSON body (`reserialize`)
 * indented under its field; a newline at the end.
 */
export function fixtureText(f: Fixture): string {
  const fields = Object.entries(f).filter(([, value]) => value !== undefined);
  return `{\n${fields.map(([key, value]) => `  ${JSON.stringify(key)}: ${fieldText(key, value)}`).join(',\n')}\n}\n`;
}

function fieldText(key: string, value: unknown): string {
  if (key === 'headers') {
    const pairs = value as ReadonlyArray<readonly [string, string]>;
    if (pairs.length === 0) return '[]';
    return `[\n${pairs.map(([name, v]) => `    [${JSON.stringify(name)}, ${JSON.stringify(v)}]`).join(',\n')}\n  ]`;
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  if (key === 'response' && value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
}

/** The file name `save` picks: provider and event (`stripe-invoice-paid.json`), else method and path (`post-hooks-github.json`). */
export function fixtureFileName(f: Pick<Fixture, 'provider' | 'event' | 'method' | 'path'>): string {
  const words = f.provider && f.event ? `${f.provider} ${f.event}` : `${f.method} ${f.path.split('?')[0]}`;
  const slug = words.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `${slug || 'request'}.json`;
}

/** A fixture file that cannot be used: the message names the file and the field. */
function invalid(file: string, field: string, why: string): HooktunnelError {
  return new HooktunnelError(ErrorCode.InvalidArgument, `${file}: ${field}: ${why}`);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Reads a fixture file's text. Throws `invalid_argument` naming `file` and the field for anything it cannot send
 * as written: not JSON, another format, a bad method, path, header or body, an unknown provider.
 */
export function parseFixture(text: string, file: string): Fixture {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw invalid(file, '(file)', `not JSON (${(err as Error).message})`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw invalid(file, '(file)', 'not a JSON object');
  const o = data as Record<string, unknown>;
  if (o.format !== FIXTURE_FORMAT) throw invalid(file, 'format', o.format === undefined ? `missing (this hooktunnel reads format ${FIXTURE_FORMAT})` : `${JSON.stringify(o.format)} is not a format this hooktunnel reads (${FIXTURE_FORMAT})`);
  if (typeof o.method !== 'string' || !TOKEN.test(o.method)) throw invalid(file, 'method', 'must be an HTTP method such as "POST"');
  if (typeof o.path !== 'string' || !o.path.startsWith('/') || /[\s\0]/.test(o.path)) throw invalid(file, 'path', 'must be a path starting with "/", without spaces');
  const headers = parseHeaders(o.headers, file);
  const reserialize = o.reserialize === undefined ? false : o.reserialize;
  if (typeof reserialize !== 'boolean') throw invalid(file, 'reserialize', 'must be true or false');
  if (o.bodyEncoding !== 'utf8' && o.bodyEncoding !== 'base64') throw invalid(file, 'bodyEncoding', 'must be "utf8" or "base64"');
  if (!reserialize && typeof o.body !== 'string') throw invalid(file, 'body', 'must be a string (or set "reserialize": true for a JSON value)');
  if (reserialize && (o.body === undefined || o.bodyEncoding !== 'utf8')) throw invalid(file, 'body', 'with "reserialize": true, a JSON value and "bodyEncoding": "utf8"');
  if (o.bodyEncoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(o.body as string)) throw invalid(file, 'body', 'is not base64');
  if (o.provider !== undefined && !(PROVIDERS as readonly unknown[]).includes(o.provider)) throw invalid(file, 'provider', `must be one of ${PROVIDERS.join(', ')}`);
  for (const field of ['event', 'tunnel', 'capturedAt', 'captureId'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') throw invalid(file, field, 'must be a string');
  }
  return { ...(o as unknown as Fixture), headers, reserialize };
}

function parseHeaders(value: unknown, file: string): Array<[string, string]> {
  if (!Array.isArray(value)) throw invalid(file, 'headers', 'must be a list of [name, value] pairs');
  return value.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw invalid(file, `headers[${i}]`, 'must be a [name, value] pair of strings');
    }
    if (!TOKEN.test(pair[0])) throw invalid(file, `headers[${i}]`, `"${pair[0]}" is not a header name`);
    if (/[\r\n\0]/.test(pair[1])) throw invalid(file, `headers[${i}]`, 'a header value cannot hold a line break');
    // HTTP carries header values as bytes: Latin-1 characters at most (anything else is refused when sent).
    if (/[^\t\x20-\x7e\x80-\xff]/.test(pair[1])) throw invalid(file, `headers[${i}]`, `the value of ${pair[0]} holds characters a header cannot carry`);
    return [pair[0], pair[1]] as [string, string];
  });
}

/** The bytes a fixture sends: its body decoded, or with `reserialize` its JSON value as compact JSON. */
export function fixtureBytes(f: Fixture): Buffer {
  if (f.reserialize) return Buffer.from(JSON.stringify(f.body), 'utf8');
  return Buffer.from(f.body as string, f.bodyEncoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * The fixture as a Capture, for replayCapture: its method, path and headers (flat; the replay computes its own
 * Content-Length), its tunnel (else `fixture`), id `name` (the replay's `replayOf`).
 */
export function fixtureCapture(f: Fixture, name: string, target: string): Capture {
  const headers = f.headers.flatMap(([n, v]) => [n, v]);
  return {
    id: name, time: f.capturedAt ? Date.parse(f.capturedAt) || Date.now() : Date.now(), tunnel: f.tunnel ?? 'fixture', target,
    method: f.method, path: f.path, requestHeaders: headers, status: f.response?.status ?? 0, durationMs: 0,
    requestBytes: 0, responseBytes: 0, requestTruncated: false, responseTruncated: false, missed: false, complete: true, requestComplete: true,
  };
}
