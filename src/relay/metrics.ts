import type { AcmeStatus } from './acme/index.js';
import type { RelayStats } from './options.js';

/** How this relay's store answers, as health and metrics report it. */
export interface StoreHealth {
  /** Where the state is (a Redis URL without its password, a file, `memory`). */
  readonly location: string;
  /** False while the store does not answer, or its last call failed and none succeeded since. */
  readonly up: boolean;
  /** Why it is down (the last error). */
  readonly error?: string;
  /** Store calls that failed since start. */
  readonly errors: number;
  /** Tunnels held through every relay sharing the store (this one alone otherwise); absent while it is down. */
  readonly clusterTunnels?: number;
}

/** Everything `/_hooktunnel/health` and `/_hooktunnel/metrics` say, taken at one moment. */
export interface RelaySnapshot {
  readonly stats: RelayStats;
  readonly store: StoreHealth;
  readonly acme?: AcmeStatus;
}

/**
 * A renewal is "failing past its retry" once it has failed this many times in a row: the first failure is retried
 * (after `--acme-retry`) without making the relay degraded; when the retry fails too, it is.
 */
export const DEGRADED_AFTER_FAILURES = 2;

/** Why the relay is degraded now (empty when it is not). */
export function degradedReasons(snapshot: RelaySnapshot): string[] {
  const reasons: string[] = [];
  const { store, acme } = snapshot;
  if (!store.up) reasons.push(`the relay store (${store.location}) is failing: ${store.error ?? 'no answer'}`);
  if (acme) {
    if (acme.validUntil === undefined) reasons.push('ACME: the base certificate is missing');
    for (const f of acme.failing) {
      if (f.validUntil !== undefined && f.failures >= DEGRADED_AFTER_FAILURES) {
        reasons.push(`ACME: renewal of the certificate for ${f.name} failed ${f.failures} times (${f.error}); next try at ${f.nextAttemptAt}`);
      }
    }
  }
  return reasons;
}

/** The body of `/_hooktunnel/health` (JSON) and its status: 200 `ok`, or 503 `degraded` with the reasons. */
export function healthReport(snapshot: RelaySnapshot, protocol: number): { status: 200 | 503; body: Record<string, unknown> } {
  const reasons = degradedReasons(snapshot);
  const { store, acme } = snapshot;
  const body = {
    ok: reasons.length === 0,
    status: reasons.length === 0 ? 'ok' : 'degraded',
    ...(reasons.length > 0 ? { reasons } : {}),
    protocol,
    store: { up: store.up, location: store.location, ...(store.error !== undefined && !store.up ? { error: store.error } : {}) },
    ...(acme ? { acme } : {}),
  };
  return { status: reasons.length === 0 ? 200 : 503, body };
}

/** The body of `/_hooktunnel/metrics` as JSON (the default). */
export function metricsJson(snapshot: RelaySnapshot, memory: NodeJS.MemoryUsage): Record<string, unknown> {
  const { stats, store, acme } = snapshot;
  return {
    ...stats,
    storeUp: store.up,
    storeErrors: store.errors,
    ...(store.clusterTunnels !== undefined ? { clusterTunnels: store.clusterTunnels } : {}),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    ...(acme ? { acme } : {}),
  };
}

/** The Content-Type of the Prometheus text exposition format this relay writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Which format a metrics request asks for: `?format=prometheus` or `?format=json` decide; otherwise an Accept header
 * that names `text/plain` or OpenMetrics (what Prometheus sends) gets the text format, anything else JSON.
 * Undefined for another `format` value.
 */
export function metricsFormat(url: string, accept: string | undefined): 'prometheus' | 'json' | undefined {
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const format = query.get('format');
  if (format !== null) return format === 'prometheus' || format === 'json' ? format : undefined;
  const ranges = (accept ?? '').toLowerCase().split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { type, q: q ? Number(q.slice(2)) : 1 };
  });
  return ranges.some((r) => (r.type === 'text/plain' || r.type === 'application/openmetrics-text') && r.q > 0) ? 'prometheus' : 'json';
}

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: number;
}

/** `# HELP` text: backslash and line feed escaped (the format's only escapes there). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Families as Prometheus text (version 0.0.4): `# HELP`, `# TYPE` and one sample each, every line ending in `\n`. */
export function prometheusText(families: readonly Family[]): string {
  return families.map((f) => `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n${f.name} ${formatValue(f.value)}\n`).join('');
}

/** The relay's metrics as Prometheus families (README "Metrics" lists them). */
export function metricFamilies(snapshot: RelaySnapshot, memory: NodeJS.MemoryUsage): Family[] {
  const { stats, store, acme } = snapshot;
  const families: Family[] = [
    { name: 'hooktunnel_tunnels', type: 'gauge', help: 'Tunnels whose agent is connected to this relay.', value: stats.tunnels },
    { name: 'hooktunnel_requests_in_flight', type: 'gauge', help: 'Requests being relayed to agents connected here.', value: stats.inFlight },
    { name: 'hooktunnel_requests_total', type: 'counter', help: 'Requests for tunnels received by this relay since start.', value: stats.requests },
    { name: 'hooktunnel_protocol_violations_total', type: 'counter', help: 'Agents disconnected for breaking the protocol since start.', value: stats.violations },
    { name: 'hooktunnel_offline_kept', type: 'gauge', help: 'Requests kept for agents that are away.', value: stats.kept },
    { name: 'hooktunnel_offline_dropped_total', type: 'counter', help: 'Kept requests dropped by the offline limits since start.', value: stats.dropped },
    { name: 'hooktunnel_offline_waiting', type: 'gauge', help: 'Requests waiting now for an agent that is away.', value: stats.waiting },
    { name: 'hooktunnel_store_up', type: 'gauge', help: 'Whether the relay store answers (1) or is failing (0).', value: store.up ? 1 : 0 },
    { name: 'hooktunnel_store_errors_total', type: 'counter', help: 'Relay store calls that failed since start.', value: store.errors },
  ];
  if (store.clusterTunnels !== undefined) {
    families.push({ name: 'hooktunnel_cluster_tunnels', type: 'gauge', help: 'Tunnels held through every relay sharing this relay\'s store (this relay alone without a shared store).', value: store.clusterTunnels });
  }
  if (acme) {
    families.push(
      { name: 'hooktunnel_acme_ok', type: 'gauge', help: 'Whether the base certificate is there and no renewal is failing (1), or not (0).', value: acme.ok ? 1 : 0 },
      { name: 'hooktunnel_acme_certificates', type: 'gauge', help: 'Certificates served now.', value: acme.certificates },
      { name: 'hooktunnel_acme_certificate_expiry_seconds', type: 'gauge', help: 'When the base (or wildcard) certificate expires, in seconds since the epoch.', value: acme.validUntil ? Date.parse(acme.validUntil) / 1000 : 0 },
      { name: 'hooktunnel_acme_orders_total', type: 'counter', help: 'ACME orders this relay placed since start.', value: acme.orders },
      { name: 'hooktunnel_acme_issued_total', type: 'counter', help: 'Certificates this relay obtained for a new name since start.', value: acme.issued },
      { name: 'hooktunnel_acme_renewed_total', type: 'counter', help: 'Certificates this relay renewed since start.', value: acme.renewed },
      { name: 'hooktunnel_acme_failures_total', type: 'counter', help: 'ACME orders and renewals that failed since start.', value: acme.failures },
      { name: 'hooktunnel_acme_failing_certificates', type: 'gauge', help: 'Certificates whose last renewal or order failed.', value: acme.failing.length },
      { name: 'hooktunnel_acme_refused_total', type: 'counter', help: 'TLS handshakes for names that are not tunnels here: no order placed.', value: acme.refused },
      { name: 'hooktunnel_acme_limited_total', type: 'counter', help: 'TLS handshakes for tunnel hosts that got no order (budget, pending bound or backoff).', value: acme.limited },
      { name: 'hooktunnel_acme_pending_orders', type: 'gauge', help: 'On-demand orders in progress.', value: acme.pending },
    );
  }
  families.push(
    { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size in bytes.', value: memory.rss },
    { name: 'nodejs_heap_size_used_bytes', type: 'gauge', help: 'V8 heap used in bytes.', value: memory.heapUsed },
  );
  return families;
}
