import { INLINE_BODY_BYTES, type RequestHead } from '../protocol/index.js';
import type { Target } from './target.js';

/**
 * How much of a request body a route's JSON field condition reads, at most: the body the relay sends with the
 * request head (a body of at most this many bytes with a Content-Length). The route is chosen before any byte is
 * forwarded and nothing is held back for it; a larger or chunked body fails body conditions. The bytes forwarded
 * never change.
 */
export const BODY_MATCH_BYTES = INLINE_BODY_BYTES;

/** A fixed answer: a route's `ack`, `mock` or `fail`, or a tunnel's answer when no route matches. */
export interface FixedAnswer {
  readonly status: number;
  /** Flat `[name, value, …]`; Content-Length is set from the body. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/** One route as the agent runs it. */
export interface AgentRoute {
  readonly name: string;
  readonly when: RouteConditions;
  /**
   * `passthrough`: forward to `target`, the sender gets its answer. `ack`: the sender gets `answer` at once, the
   * request goes to `target` in the background, retried. `mock` / `fail`: `answer`, nothing forwarded.
   */
  readonly mode: 'passthrough' | 'ack' | 'mock' | 'fail';
  readonly target?: Target;
  /** The answer of the route's own mode (ack, mock, fail). */
  readonly answer?: FixedAnswer;
  /** The answer of each answering mode, for a mode switched to at run time (DEFAULT_ANSWERS where missing). */
  readonly answers?: Partial<Readonly<Record<'ack' | 'mock' | 'fail', FixedAnswer>>>;
  /** `ack`: deliveries in all and the waits between them (the last repeats). */
  readonly retry?: { readonly attempts: number; readonly delaysMs: readonly number[] };
}

/** A route's conditions, compiled. Every given one must hold. */
export interface RouteConditions {
  /** Upper-case methods. */
  readonly methods?: readonly string[];
  /** A path prefix at a segment boundary, or a glob when it holds `*` or `?`. Matched without the query. */
  readonly path?: string;
  /** Header name (any case) -> value or glob, compared without regard to case. */
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON body field (dotted path, `data.object.id`, `items.0.sku`) -> value or glob. */
  readonly body?: Readonly<Record<string, string>>;
}

/** A glob (`*` any run of characters, `?` one) as a regular expression over the whole value. */
export function globRegExp(glob: string, flags = ''): RegExp {
  const source = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, flags);
}

function isGlob(text: string): boolean {
  return /[*?]/.test(text);
}

/** A compiled router: the first route whose conditions hold wins. */
export class Router<R> {
  private readonly tests: Array<{ route: R; test: (head: RequestHead, json: () => unknown) => boolean; body: boolean }>;

  constructor(routes: ReadonlyArray<{ readonly route: R; readonly when: RouteConditions }>) {
    this.tests = routes.map(({ route, when }) => ({ route, test: compile(when), body: when.body !== undefined && Object.keys(when.body).length > 0 }));
  }

  /** Whether some route reads the body: the request's first BODY_MATCH_BYTES must then arrive before a route is chosen. */
  get needsBody(): boolean {
    return this.tests.some((t) => t.body);
  }

  /**
   * The route for `head`; `body` is the body's first bytes (at most BODY_MATCH_BYTES), or undefined when no route
   * reads it. A body that is not JSON, or longer than what was read, fails every body condition.
   */
  match(head: RequestHead, body?: Buffer, complete = true): R | undefined {
    let parsed: { value: unknown } | undefined;
    const json = (): unknown => {
      if (!parsed) parsed = { value: body && complete ? parseJson(body) : undefined };
      return parsed.value;
    };
    return this.tests.find((t) => t.test(head, json))?.route;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The value at a dotted path in parsed JSON, as a string (numbers and booleans as JSON writes them). */
export function fieldAt(value: unknown, path: string): string | undefined {
  let at: unknown = value;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = Array.isArray(at) ? (/^\d+$/.test(part) ? at[Number(part)] : undefined) : (at as Record<string, unknown>)[part];
  }
  if (typeof at === 'string') return at;
  if (typeof at === 'number' || typeof at === 'boolean') return String(at);
  return undefined;
}

function valueTest(expected: string): (value: string | undefined) => boolean {
  if (!isGlob(expected)) return (value) => value !== undefined && value.toLowerCase() === expected.toLowerCase();
  const re = globRegExp(expected, 'i');
  return (value) => value !== undefined && re.test(value);
}

function pathTest(path: string): (p: string) => boolean {
  if (isGlob(path)) {
    const re = globRegExp(path);
    return (p) => re.test(p);
  }
  const prefix = path.replace(/\/+$/, '');
  return (p) => prefix === '' || p === prefix || p.startsWith(`${prefix}/`);
}

function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1];
  return undefined;
}

function compile(when: RouteConditions): (head: RequestHead, json: () => unknown) => boolean {
  const checks: Array<(head: RequestHead, json: () => unknown) => boolean> = [];
  if (when.methods) {
    const methods = new Set(when.methods.map((m) => m.toUpperCase()));
    checks.push((head) => methods.has(head.method.toUpperCase()));
  }
  if (when.path !== undefined) {
    const test = pathTest(when.path);
    checks.push((head) => test(head.path.split('?')[0]!));
  }
  for (const [name, expected] of Object.entries(when.headers ?? {})) {
    const test = valueTest(expected);
    const lower = name.toLowerCase();
    checks.push((head) => test(headerValue(head.headers, lower)));
  }
  for (const [field, expected] of Object.entries(when.body ?? {})) {
    const test = valueTest(expected);
    checks.push((_head, json) => test(fieldAt(json(), field)));
  }
  return (head, json) => checks.every((c) => c(head, json));
}
