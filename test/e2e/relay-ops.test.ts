import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createRelay, type RelayHandle } from '../../src/index.js';
import { DEFAULT_OFFLINE_LIMITS } from '../../src/relay/offline.js';
import { openRedisStore } from '../../src/relay/store/redis.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { lacks } from '../helpers/tools.js';
import { startAgent, startRelay, startTarget } from '../helpers/servers.js';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Reads Prometheus text (0.0.4) strictly enough to catch a malformed exposition: every sample is preceded by its
 * family's `# HELP` and `# TYPE` (counter or gauge), names are valid, values are numbers, the text ends in `\n`.
 */
function parsePrometheus(text: string): Map<string, { type: string; help: string; value: number }> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, { type: string; help: string; value: number }>();
  let help: { name: string; text: string } | undefined;
  let type: { name: string; type: string } | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const h = /^# HELP (\S+) (.+)$/.exec(line);
    const t = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    const sample = /^(\S+) (\S+)$/.exec(line);
    if (h) help = { name: h[1]!, text: h[2]! };
    else if (t) type = { name: t[1]!, type: t[2]! };
    else if (sample) {
      const [, name, value] = sample;
      expect(name).toMatch(NAME);
      expect(help?.name, `HELP before ${name}`).toBe(name);
      expect(type?.name, `TYPE before ${name}`).toBe(name);
      expect(families.has(name!), `${name} once`).toBe(false);
      if (type!.type === 'counter') expect(name).toMatch(/_total$/);
      expect(Number.isFinite(Number(value)), `${name} ${value}`).toBe(true);
      families.set(name!, { type: type!.type, help: help!.text, value: Number(value) });
    } else {
      throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

async function prometheus(relay: RelayHandle, how: 'accept' | 'query' = 'accept'): Promise<Map<string, { type: string; help: string; value: number }>> {
  const res = how === 'accept'
    ? await send(relay.url, '/_hooktunnel/metrics', { headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2' } })
    : await send(relay.url, '/_hooktunnel/metrics?format=prometheus');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(res.body.toString());
}

const valueOf = (m: Map<string, { value: number }>, name: string): number | undefined => m.get(name)?.value;

async function health(relay: RelayHandle): Promise<{ status: number; body: { ok: boolean; status: string; reasons?: string[]; store: { up: boolean; location: string; error?: string } } }> {
  const res = await send(relay.url, '/_hooktunnel/health');
  expect(res.headers['content-type']).toBe('application/json');
  return { status: res.status, body: JSON.parse(res.body.toString()) };
}

/** Polls `read` every 100 ms until `done` holds, 100 times at most. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  if (!done(value)) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
  return value;
}

describe('metrics and health of one relay (memory store)', () => {
  it('serves JSON by default and Prometheus text when asked (Accept or ?format), with the counters of real traffic', { timeout: 20_000 }, async () => {
    const relay = await startRelay({ heartbeatMs: 100 });
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const agent = await startAgent(relay, target.url, { subdomain: 'counted' });
    const { prefix } = splitPublicUrl(agent.publicUrl);
    for (const n of [1, 2, 3]) expect((await send(relay.url, `${prefix}/hook/${n}`)).body.toString()).toBe(`got /hook/${n}`);
    expect((await send(relay.url, '/t/nobody-here/x')).status).toBe(404);

    // A browser or curl (*/*) gets JSON, as before.
    const json = await send(relay.url, '/_hooktunnel/metrics', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(json.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json.body.toString())).toMatchObject({ tunnels: 1, requests: 3, inFlight: 0, storeUp: true, storeErrors: 0, clusterTunnels: 1 });

    for (const how of ['accept', 'query'] as const) {
      const m = await prometheus(relay, how);
      expect(valueOf(m, 'hooktunnel_tunnels')).toBe(1);
      expect(valueOf(m, 'hooktunnel_requests_total')).toBe(3);
      expect(m.get('hooktunnel_requests_total')!.type).toBe('counter');
      expect(valueOf(m, 'hooktunnel_requests_in_flight')).toBe(0);
      expect(valueOf(m, 'hooktunnel_offline_kept')).toBe(0);
      expect(valueOf(m, 'hooktunnel_store_up')).toBe(1);
      expect(valueOf(m, 'hooktunnel_store_errors_total')).toBe(0);
      expect(valueOf(m, 'hooktunnel_cluster_tunnels')).toBe(1);
      expect(valueOf(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(m.has('hooktunnel_acme_certificates')).toBe(false);
    }
    // ?format wins over Accept; an unknown one is refused, not guessed.
    const forced = await send(relay.url, '/_hooktunnel/metrics?format=json', { headers: { accept: 'text/plain' } });
    expect(forced.headers['content-type']).toBe('application/json');
    const bad = await send(relay.url, '/_hooktunnel/metrics?format=xml');
    expect(bad.status).toBe(400);
    expect(bad.headers['x-hooktunnel-error']).toBe('bad_request');
    expect(bad.body.toString()).toMatch(/format must be prometheus or json/);

    await agent.close();
    await until(() => prometheus(relay), (m) => valueOf(m, 'hooktunnel_tunnels') === 0 && valueOf(m, 'hooktunnel_cluster_tunnels') === 0, 'the tunnel to be gone from the metrics');
    expect(await health(relay)).toMatchObject({ status: 200, body: { ok: true, status: 'ok', store: { up: true, location: 'memory' } } });
  });
});

describe('a relay whose ACME settings are refused', () => {
  it('rejects with invalid_argument and leaves its data directory free for the next relay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-ops-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const bad = createRelay({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'relay'), domain: 'not_a.domain!', acme: { email: 'ops@example.com', dir: join(dir, 'acme') } });
    await expect(bad).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/ACME needs a domain name/) });
    // The SQLite store opened before the ACME settings were checked was closed: its lock is free.
    const next = await startRelay({ dataDir: join(dir, 'relay') });
    expect((await health(next)).status).toBe(200);
  });
});

describe.skipIf(lacks('the Redis metrics and health tests', 'redis-server'))('metrics and health of relays sharing one Redis (a real redis-server)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const storeOn = (url: string, prefix: string) =>
    openRedisStore(url, { prefix, reservationMs: 60_000, leaseMs: 1000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 } });

  it('each relay counts its own tunnels, and both the cluster\'s', { timeout: 20_000 }, async () => {
    const a = await startRelay({ store: await storeOn(redis.url, 'ops1:'), heartbeatMs: 100 });
    const b = await startRelay({ store: await storeOn(redis.url, 'ops1:'), heartbeatMs: 100 });
    const target = await startTarget((_req, res) => res.end('ok'));
    await startAgent(a, target.url, { subdomain: 'on-a' });
    await startAgent(b, target.url, { subdomain: 'on-b1' });
    await startAgent(b, target.url, { subdomain: 'on-b2' });
    const [ma, mb] = [await prometheus(a), await prometheus(b)];
    expect([valueOf(ma, 'hooktunnel_tunnels'), valueOf(mb, 'hooktunnel_tunnels')]).toEqual([1, 2]);
    expect([valueOf(ma, 'hooktunnel_cluster_tunnels'), valueOf(mb, 'hooktunnel_cluster_tunnels')]).toEqual([3, 3]);
    // Another deployment's prefix on the same Redis is not counted.
    const other = await startRelay({ store: await storeOn(redis.url, 'ops1-other:'), heartbeatMs: 100 });
    expect(valueOf(await prometheus(other), 'hooktunnel_cluster_tunnels')).toBe(0);
  });

  it('health is 503 degraded, saying why, while Redis is down, and 200 again once it is back; connected tunnels are served meanwhile', { timeout: 30_000 }, async () => {
    const own = await startRedis();
    let restarted: TestRedis | undefined;
    try {
      const errors: string[] = [];
      const relay = await startRelay({ store: await storeOn(own.url, 'ops2:'), heartbeatMs: 100, onStateError: (err) => errors.push(err.message) });
      const target = await startTarget((req, res) => res.end(`got ${req.url}`));
      const agent = await startAgent(relay, target.url, { subdomain: 'steady' });
      const { prefix } = splitPublicUrl(agent.publicUrl);
      expect(await health(relay)).toMatchObject({ status: 200, body: { ok: true, status: 'ok', store: { up: true } } });

      await own.stop();
      const down = await health(relay);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ ok: false, status: 'degraded', store: { up: false, location: own.url } });
      expect(down.body.reasons).toHaveLength(1);
      expect(down.body.reasons![0]).toContain(`the relay store (${own.url}) is failing`);
      const m = await prometheus(relay);
      expect(valueOf(m, 'hooktunnel_store_up')).toBe(0);
      expect(m.has('hooktunnel_cluster_tunnels')).toBe(false);
      expect(valueOf(m, 'hooktunnel_tunnels')).toBe(1);
      expect((await send(relay.url, `${prefix}/while-down`)).body.toString()).toBe('got /while-down');
      // The heartbeat's store calls fail too, and are counted.
      await until(() => prometheus(relay), (x) => (valueOf(x, 'hooktunnel_store_errors_total') ?? 0) > 0, 'a counted store error');
      expect(errors.length).toBeGreaterThan(0);

      restarted = await startRedis({ port: own.port });
      // ioredis reconnects by itself (backoff up to 2 s); the next heartbeat that reaches the store clears the failure.
      const back = await until(() => health(relay), (h) => h.status === 200, 'health to recover');
      expect(back.body).toMatchObject({ ok: true, status: 'ok', store: { up: true } });
      expect(back.body.reasons).toBeUndefined();
      expect(valueOf(await prometheus(relay), 'hooktunnel_store_up')).toBe(1);
      expect((await send(relay.url, `${prefix}/after`)).body.toString()).toBe('got /after');
    } finally {
      await restarted?.stop();
      await own.stop();
    }
  });
});
