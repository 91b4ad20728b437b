import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent } from '../../src/index.js';
import { DEFAULT_OFFLINE_LIMITS } from '../../src/relay/offline.js';
import { openRedisStore } from '../../src/relay/store/redis.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { redisForSuite, startRedis, type TestRedis } from '../helpers/redis.js';
import { lacks } from '../helpers/tools.js';
import { startAgent, startRelay, startTarget } from '../helpers/servers.js';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(lacks('the Redis relay tests', 'redis-server'))('two relays sharing one Redis (in-process relays, a real redis-server)', () => {
  const redis = redisForSuite();
  let n = 0;

  const relayOnRedis = async (prefix: string) => {
    const store = await openRedisStore(redis.url, {
      prefix, reservationMs: 60_000, leaseMs: 1000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 },
    });
    return startRelay({ store, heartbeatMs: 100, offline: { waitMs: 0 } });
  };

  it('an id held through one relay is refused to a stranger through the other; when its owner reconnects through the other, the first closes its stale link', { timeout: 20_000 }, async () => {
    const prefix = `e2e${++n}:`;
    const a = await relayOnRedis(prefix);
    const b = await relayOnRedis(prefix);
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const first = await startAgent(a, target.url, { subdomain: 'roaming' });
    await expect(connectAgent({ relay: b.url, target: target.url, subdomain: 'roaming' })).rejects.toMatchObject({ code: 'tunnel_taken' });

    const second = await startAgent(b, target.url, { subdomain: 'roaming', secret: first.secret });
    // Relay a learns at its next renewal (a heartbeat) that b holds the tunnel now, and closes its link (4003).
    await until(() => a.stats().tunnels === 0, 'relay a to drop its stale link');
    expect(b.stats().tunnels).toBe(1);
    const { prefix: path } = splitPublicUrl(second.publicUrl);
    expect((await send(b.url, `${path}/here`)).body.toString()).toBe('got /here');
  });

  it('a request kept through one relay is delivered when the agent comes back through the other', { timeout: 20_000 }, async () => {
    const prefix = `e2e${++n}:`;
    const a = await relayOnRedis(prefix);
    const b = await relayOnRedis(prefix);
    const target = await startTarget((_req, res) => res.end('ok'));
    const first = await connectAgent({ relay: a.url, target: target.url, subdomain: 'kept-across' });
    const secret = first.secret;
    await first.close();
    await until(() => a.stats().tunnels === 0, 'the agent to leave relay a');
    const res = await send(a.url, '/t/kept-across/hook', { method: 'POST', body: Buffer.from([0, 1, 2, 255]) });
    expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(res.body.toString()).toMatch(/was kept/);

    const missed: Array<{ path: string; body: Buffer }> = [];
    const back = await connectAgent({ relay: b.url, target: target.url, subdomain: 'kept-across', secret });
    back.events.on('missed', (e) => missed.push({ path: e.path, body: e.body }));
    await until(() => missed.length === 1, 'the kept request');
    expect(missed).toEqual([{ path: '/hook', body: Buffer.from([0, 1, 2, 255]) }]);
    await until(() => b.stats().kept === 0, 'the ack to reach Redis');
    await back.close();
  });

  it('while Redis is down, a tunnel connected to the relay is still served (no store on that path); what needs the store gets 503 relay_store_unavailable; it recovers when Redis is back', { timeout: 30_000 }, async () => {
    const own = await startRedis();
    let restarted: TestRedis | undefined;
    try {
      const store = await openRedisStore(own.url, {
        prefix: 'down:', reservationMs: 60_000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 },
      });
      const errors: string[] = [];
      const relay = await startRelay({ store, heartbeatMs: 100, onStateError: (err) => errors.push(err.message) });
      const target = await startTarget((req, res) => res.end(`got ${req.url}`));
      const agent = await startAgent(relay, target.url, { subdomain: 'steady' });
      const { prefix: path } = splitPublicUrl(agent.publicUrl);

      await own.stop();
      expect((await send(relay.url, `${path}/while-down`)).body.toString()).toBe('got /while-down');
      const unknown = await send(relay.url, '/t/elsewhere/x');
      expect(unknown.status).toBe(503);
      expect(unknown.headers['x-hooktunnel-error']).toBe('relay_store_unavailable');
      expect(errors.length).toBeGreaterThan(0);

      restarted = await startRedis({ port: own.port });
      // ioredis reconnects by itself (backoff up to 2 s); bounded wait for the store to answer again.
      let status = 0;
      for (let i = 0; i < 100 && status !== 404; i++) {
        status = (await send(relay.url, '/t/elsewhere/x')).status;
        if (status !== 404) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(404);
      expect((await send(relay.url, `${path}/after`)).body.toString()).toBe('got /after');
    } finally {
      await restarted?.stop();
      await own.stop();
    }
  });

  it('requests kept in Redis survive Redis killed (-9) and restarted on its append-only file: the agent gets each once', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-redis-aof-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // appendfsync always: with everysec, Redis may answer writes it has not yet written when its disk is busy, and
    // kill -9 would lose them (see the README's "Redis persistence").
    const first = await startRedis({ dir, appendonly: true, appendfsync: 'always' });
    let second: TestRedis | undefined;
    try {
      const store = await openRedisStore(first.url, {
        prefix: 'aof:', reservationMs: 60_000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 },
      });
      const relay = await startRelay({ store, heartbeatMs: 100, offline: { waitMs: 0 }, onStateError: () => {} });
      const target = await startTarget((_req, res) => res.end('ok'));
      const away = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'kept-aof' });
      const secret = away.secret;
      await away.close();
      await until(() => relay.stats().tunnels === 0, 'the agent to leave');
      const bodies = [Buffer.from('first kept'), randomBytes(100_000), Buffer.from([0, 255, 0])];
      for (const [i, body] of bodies.entries()) {
        const res = await send(relay.url, `/t/kept-aof/hook/${i}`, { method: 'POST', body });
        expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');
        expect(res.body.toString()).toMatch(/was kept/);
      }

      await first.kill();
      second = await startRedis({ port: first.port, dir, appendonly: true, appendfsync: 'always' });
      // The relay's client reconnects by itself; until then a connecting agent is refused relay_store_unavailable.
      const missed: Array<{ path: string; sha: string }> = [];
      let back;
      for (let i = 0; i < 50 && !back; i++) {
        back = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'kept-aof', secret }).catch(() => undefined);
        if (!back) await new Promise((r) => setTimeout(r, 100));
      }
      expect(back).toBeDefined();
      back!.events.on('missed', (e) => missed.push({ path: e.path, sha: createHash('sha256').update(e.body).digest('hex') }));
      await until(() => missed.length >= 3, 'the kept requests');
      await new Promise((r) => setTimeout(r, 300));
      expect(missed).toEqual(bodies.map((b, i) => ({ path: `/hook/${i}`, sha: createHash('sha256').update(b).digest('hex') })));
      await back!.close();
    } finally {
      await second?.stop();
      await first.stop();
    }
  });
});
