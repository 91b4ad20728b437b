import { readFileSync } from 'node:fs';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import { parseTarget, type Target } from '../agent/target.js';
import type { RouteConditions } from '../agent/routes.js';
import { parseVerifySpec } from '../webhooks/secrets.js';
import type { WebhookSecret } from '../webhooks/types.js';
import { fromConfigDir, type LoadedConfig } from './load.js';
import { durationMs, type AnswerConfig, type ResponseMode, type RouteConfig, type TunnelConfig } from './schema.js';

/** A fixed answer, its body read. */
export interface PlannedAnswer {
  readonly status: number;
  /** Flat `[name, value, …]`. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/** Retry policy of an `ack` route. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly delaysMs: readonly number[];
}

/** One route, ready to use. */
export interface PlannedRoute {
  /** The route's name, or `#<n>` (1-based) when it has none. */
  readonly name: string;
  readonly when: RouteConditions;
  readonly mode: ResponseMode;
  /** Where passthrough and ack forward. */
  readonly target?: Target;
  /** What ack, mock and fail answer. */
  readonly answer?: PlannedAnswer;
  /** The answer of each answering mode (the route's own, else the default), for a mode switched to at run time. */
  readonly answers: Readonly<Record<'ack' | 'mock' | 'fail', PlannedAnswer>>;
  readonly retry: RetryPolicy;
}

/** One tunnel of the config, ready to connect. */
export interface PlannedTunnel {
  readonly name: string;
  readonly subdomain?: string;
  readonly auth?: string;
  readonly allowIps?: readonly string[];
  readonly hostHeader: 'rewrite' | 'preserve';
  readonly timeoutMs?: number;
  readonly routes: readonly PlannedRoute[];
  readonly noMatch: PlannedAnswer;
}

/** Everything the config asks for. */
export interface Plan {
  readonly relay?: string;
  readonly token?: string;
  readonly dataDir?: string;
  readonly capture?: boolean;
  readonly secrets: readonly WebhookSecret[];
  readonly tunnels: readonly PlannedTunnel[];
}

/** Retries of an `ack` route when the config says nothing: five deliveries, waiting 1, 2, 5 and 10 s between them. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, delaysMs: [1000, 2000, 5000, 10_000] };

const ACK_BODY = '{"received":true}';

function answer(loaded: LoadedConfig, at: string, given: AnswerConfig | undefined, fallback: { status: number; body: string; type?: string }): PlannedAnswer {
  const headers: string[] = [];
  for (const [name, value] of Object.entries(given?.headers ?? {})) headers.push(name, value);
  let body: Buffer;
  if (given?.bodyFile !== undefined) {
    const file = fromConfigDir(loaded, given.bodyFile);
    try {
      body = readFileSync(file);
    } catch (err) {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `${loaded.file}: ${at}.bodyFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    body = Buffer.from(given?.body ?? fallback.body);
  }
  const typed = headers.some((_, i) => i % 2 === 0 && headers[i]!.toLowerCase() === 'content-type');
  if (!typed && given?.body === undefined && given?.bodyFile === undefined && fallback.type) headers.push('Content-Type', fallback.type);
  return { status: given?.status ?? fallback.status, headers, body };
}

function target(loaded: LoadedConfig, at: string, to: string): Target {
  try {
    return parseTarget(to);
  } catch (err) {
    if (!isHooktunnelError(err)) throw err;
    throw new HooktunnelError(ErrorCode.InvalidArgument, `${loaded.file}: ${at}.to: ${err.message}`);
  }
}

function route(loaded: LoadedConfig, at: string, r: RouteConfig, index: number): PlannedRoute {
  const mode = r.mode ?? 'passthrough';
  const m = r.match ?? {};
  const when: RouteConditions = {
    ...(m.method !== undefined ? { methods: Array.isArray(m.method) ? m.method : [m.method] } : {}),
    ...(m.path !== undefined ? { path: m.path } : {}),
    ...(m.header !== undefined ? { headers: m.header } : {}),
    ...(m.body !== undefined ? { body: m.body } : {}),
  };
  const planned = {
    name: r.name ?? `#${index + 1}`,
    when,
    mode,
    retry: { attempts: r.retry?.attempts ?? DEFAULT_RETRY.attempts, delaysMs: r.retry?.delays?.map(durationMs) ?? DEFAULT_RETRY.delaysMs },
    ...(r.to !== undefined ? { target: target(loaded, at, r.to) } : {}),
  };
  const answers = {
    ack: answer(loaded, `${at}.ack`, r.ack, { status: 202, body: ACK_BODY, type: 'application/json' }),
    mock: answer(loaded, `${at}.mock`, r.mock, { status: 200, body: '' }),
    fail: answer(loaded, `${at}.fail`, r.fail, { status: r.fail?.status ?? 503, body: '' }),
  };
  return mode === 'passthrough' ? { ...planned, answers } : { ...planned, answers, answer: answers[mode] };
}

function tunnel(loaded: LoadedConfig, name: string, t: TunnelConfig): PlannedTunnel {
  const at = `tunnels.${name}`;
  const routes = t.routes ? t.routes.map((r, i) => route(loaded, `${at}.routes[${i}]`, r, i)) : [route(loaded, at, { to: t.to }, 0)];
  return {
    name,
    ...(t.subdomain !== undefined ? { subdomain: t.subdomain } : {}),
    ...(t.auth !== undefined ? { auth: t.auth } : {}),
    ...(t.allowIps !== undefined ? { allowIps: t.allowIps } : {}),
    hostHeader: t.hostHeader ?? 'rewrite',
    ...(t.timeout !== undefined ? { timeoutMs: durationMs(t.timeout) } : {}),
    routes,
    noMatch: answer(loaded, `${at}.noMatch`, t.noMatch, { status: 404, body: `{"error":{"code":"no_route","message":"no route of tunnel ${name} matches this request"}}`, type: 'application/json' }),
  };
}

/** Turns a validated config into what the agent runs: targets parsed, answers read, durations in ms. */
export function planConfig(loaded: LoadedConfig): Plan {
  const { config } = loaded;
  const secrets: WebhookSecret[] = [];
  for (const [provider, value] of Object.entries(config.verify ?? {})) {
    for (const secret of Array.isArray(value) ? value : [value]) secrets.push(parseVerifySpec(`${provider}=${secret}`, `${loaded.file}: verify.${provider}`));
  }
  return {
    ...(config.relay !== undefined ? { relay: config.relay } : {}),
    ...(config.token !== undefined ? { token: config.token } : {}),
    ...(config.dataDir !== undefined ? { dataDir: fromConfigDir(loaded, config.dataDir) } : {}),
    ...(config.capture !== undefined ? { capture: config.capture } : {}),
    secrets,
    tunnels: Object.entries(config.tunnels).map(([name, t]) => tunnel(loaded, name, t)),
  };
}
