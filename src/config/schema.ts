import { z } from 'zod';

/**
 * The shape of `hooktunnel.yaml` (or `.json`): what a project commits so that `hooktunnel` with no target starts
 * its tunnels. Every object is strict: an unknown key is an error, with the closest known key suggested.
 */

/** `500ms`, `2s`, `1m`, or a number of seconds. */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** Parses a duration as the config writes it into milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const m = DURATION.exec(value.trim())!;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

const duration = z.union([
  z.number().nonnegative().max(86_400),
  z.string().regex(DURATION, 'expected a duration such as 500ms, 2s or 1m'),
]);

const status = (min: number, max: number): z.ZodNumber => z.number().int().min(min, `expected a status from ${min} to ${max}`).max(max, `expected a status from ${min} to ${max}`);

/** A target as on the command line: `3000`, `host:port` or a URL with a base path. */
const target = z.union([z.number().int().min(1).max(65_535), z.string().min(1)]).transform(String);

/** A configured answer (ack, mock, no route). */
export const answerSchema = z.strictObject({
  status: status(100, 599).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Inline body. */
  body: z.string().optional(),
  /** Or the body from a file, relative to the config file. */
  bodyFile: z.string().min(1).optional(),
}).refine((a) => !(a.body !== undefined && a.bodyFile !== undefined), { message: 'give body or bodyFile, not both' });

/** When a route applies. Every given condition must hold. */
export const matchSchema = z.strictObject({
  /** One method or a list: `POST`, `[POST, PUT]`. */
  method: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** A path prefix (`/stripe` matches `/stripe` and `/stripe/x`), or a glob with `*` (`/hooks/*.json`). */
  path: z.string().startsWith('/', 'expected a path starting with /').optional(),
  /** Header name -> value or glob (`X-GitHub-Event: push`, `X-Shopify-Topic: orders/*`). */
  header: z.record(z.string().min(1), z.string()).optional(),
  /** JSON body field (dotted path) -> value or glob (`type: invoice.*`). */
  body: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
});

export const retrySchema = z.strictObject({
  /** Deliveries in all, the first included. */
  attempts: z.number().int().min(1).max(100).optional(),
  /** Wait before each retry; the last one repeats. */
  delays: z.array(duration).min(1).optional(),
});

export const MODES = ['passthrough', 'ack', 'mock', 'fail'] as const;
export type ResponseMode = (typeof MODES)[number];

export const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: matchSchema.optional(),
  to: target.optional(),
  mode: z.enum(MODES).optional(),
  /** The answer `ack` gives at once (default 202 with a short JSON body). */
  ack: answerSchema.optional(),
  /** The answer `mock` gives (default 200, empty body). */
  mock: answerSchema.optional(),
  /** The status `fail` answers with (default 503). */
  fail: z.strictObject({ status: status(400, 599).optional(), body: z.string().optional() }).optional(),
  retry: retrySchema.optional(),
}).superRefine((r, ctx) => {
  const mode = r.mode ?? 'passthrough';
  if ((mode === 'passthrough' || mode === 'ack') && r.to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: `a ${mode} route needs "to": where to forward (3000, host:port or a URL)` });
});

export const tunnelSchema = z.strictObject({
  subdomain: z.string().min(1).optional(),
  /** `user:password` senders must present (checked at the relay). */
  auth: z.string().regex(/^[^:]+:.+$/, 'expected user:password').optional(),
  allowIps: z.array(z.string().min(1)).optional(),
  hostHeader: z.enum(['rewrite', 'preserve']).optional(),
  /** How long the target may take to answer. */
  timeout: duration.optional(),
  /** Shorthand for one route that takes everything. */
  to: target.optional(),
  routes: z.array(routeSchema).min(1).optional(),
  /** The answer when no route matches (default 404 `no_route`). */
  noMatch: answerSchema.optional(),
}).superRefine((t, ctx) => {
  if (t.to === undefined && t.routes === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'a tunnel needs "to" or "routes"' });
  if (t.to !== undefined && t.routes !== undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'give "to" or "routes", not both (add a last route without "match" for the default)' });
});

/** A provider's secret or secrets (several while a key is rotated). */
const secrets = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const configSchema = z.strictObject({
  version: z.literal(1).optional(),
  /** Relay URL; none: the embedded relay on 127.0.0.1. */
  relay: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  /** Captures and tunnel ids, relative to the config file. */
  dataDir: z.string().min(1).optional(),
  capture: z.boolean().optional(),
  /** Provider (as in --verify: github, stripe, generic:X-Signature…) -> secret(s). */
  verify: z.record(z.string().min(1), secrets).optional(),
  tunnels: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected letters, digits, - and _'), tunnelSchema)
    .refine((t) => Object.keys(t).length > 0, { message: 'at least one tunnel' }),
});

export type ProjectConfig = z.output<typeof configSchema>;
export type TunnelConfig = z.output<typeof tunnelSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type AnswerConfig = z.output<typeof answerSchema>;
export type MatchConfig = z.output<typeof matchSchema>;

/** Keys that hold secrets: a literal value there, in a file git tracks, gets a warning. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const [first, second, third] = path;
  if (first === 'token' || first === 'verify') return true;
  return first === 'tunnels' && typeof second === 'string' && third === 'auth';
}
