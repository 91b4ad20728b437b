import type { ProviderName } from '../model/signature.js';
import type { TestExchange } from './collector.js';

/** What `tunnel.waitFor` waits for: every field given must match. */
export interface ExchangeMatch {
  /** Any case. */
  readonly method?: string;
  /** The whole path with its query, or the path before `?`; or a RegExp tested on the whole path. */
  readonly path?: string | RegExp;
  /** Headers of the request by name (any case): a value, a RegExp on the value, or `true` for present. */
  readonly header?: Readonly<Record<string, string | RegExp | true>>;
  readonly provider?: ProviderName;
  readonly event?: string;
  readonly where?: (exchange: TestExchange) => boolean;
}

function pathMatches(want: string | RegExp, path: string): boolean {
  if (want instanceof RegExp) return want.test(path);
  return path === want || path.split('?')[0] === want;
}

function headerMatches(want: string | RegExp | true, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (want === true) return true;
  return want instanceof RegExp ? want.test(value) : value === want;
}

/** True when `e` matches every field of `m`. */
export function matches(m: ExchangeMatch, e: TestExchange): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== e.method.toUpperCase()) return false;
  if (m.path !== undefined && !pathMatches(m.path, e.path)) return false;
  for (const [name, want] of Object.entries(m.header ?? {})) if (!headerMatches(want, e.request.header(name))) return false;
  if (m.provider !== undefined && m.provider !== e.provider) return false;
  if (m.event !== undefined && m.event !== e.event) return false;
  return m.where === undefined || m.where(e);
}

/** The match in words, for a timeout's message: `method POST, path /hooks, header x-event=push, where (a function)`. */
export function describeMatch(m: ExchangeMatch): string {
  const parts: string[] = [];
  if (m.method !== undefined) parts.push(`method ${m.method}`);
  if (m.path !== undefined) parts.push(`path ${String(m.path)}`);
  for (const [name, want] of Object.entries(m.header ?? {})) parts.push(`header ${name}${want === true ? '' : `=${String(want)}`}`);
  if (m.provider !== undefined) parts.push(`provider ${m.provider}`);
  if (m.event !== undefined) parts.push(`event ${m.event}`);
  if (m.where !== undefined) parts.push('where (a function)');
  return parts.length > 0 ? parts.join(', ') : 'any exchange';
}

/** One line per exchange for a timeout's message: `POST /hooks 200 stripe payment_intent.succeeded`. */
export function describeExchange(e: TestExchange, taken: boolean): string {
  const who = [e.provider, e.event].filter(Boolean).join(' ');
  return `${e.method} ${e.path} ${e.status || e.error || '---'}${who ? ` ${who}` : ''}${taken ? ' (taken by an earlier waitFor)' : ''}`;
}
