import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RedisLock } from '../../src/relay/acme/redis-lock.js';
import { RedisCertStore } from '../../src/relay/acme/redis-store.js';
import { redisForSuite } from '../helpers/redis.js';
import { lacks } from '../helpers/tools.js';

describe.skipIf(lacks('the Redis certificate store tests', 'redis-server', 'openssl'))('RedisLock and RedisCertStore (a real redis-server)', () => {
  const redis = redisForSuite();
  let n = 0;

  /** A client of its own per contender, as two relay processes would have. */
  function client(): Redis {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    onTestFinished(() => void c.quit());
    return c;
  }

  const key = (): string => `lock-test:${++n}`;

  it('lets one of two contenders take the lock; the other gets it once it is released', async () => {
    const k = key();
    const [one, two] = [new RedisLock(client(), { ttlMs: 5000 }), new RedisLock(client(), { ttlMs: 5000 })];
    const [a, b] = await Promise.all([one.tryAcquire(k), two.tryAcquire(k)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const winner = (a ?? b)!;
    expect(await two.tryAcquire(k)).toBeUndefined();
    expect(await winner.release()).toBe(true);
    const next = await two.tryAcquire(k);
    expect(next).toBeDefined();
    await next!.release();
  });

  it('a release with the wrong token does nothing', async () => {
    const k = key();
    const c = client();
    const stale = (await new RedisLock(c, { ttlMs: 5000 }).tryAcquire(k))!;
    // Its lock runs out (deleted here, as expiry would) and another holder takes it.
    await c.del(k);
    const current = (await new RedisLock(client(), { ttlMs: 5000 }).tryAcquire(k))!;
    expect(current.token).not.toBe(stale.token);
    // The old holder's release presents its own token: the new holder's lock stays.
    expect(await stale.release()).toBe(false);
    expect(await c.get(k)).toBe(current.token);
    expect(await current.release()).toBe(true);
    expect(await c.get(k)).toBeNull();
    expect(await current.release()).toBe(false);
  });

  it('a holder that finds its lock taken by another says it lost it, and does not extend the other\'s', { timeout: 10_000 }, async () => {
    const k = key();
    const c = client();
    const held = (await new RedisLock(c, { ttlMs: 300 }).tryAcquire(k))!;
    await c.set(k, 'another-holder', 'PX', 400);
    await new Promise((r) => setTimeout(r, 250));
    expect(held.lost).toBe(true);
    // Not extended by the first holder's renewals: it expires on its own TTL.
    await new Promise((r) => setTimeout(r, 300));
    expect(await c.get(k)).toBeNull();
    await held.release();
  });

  it('a holder keeps the lock past its TTL by renewing it; one that stops renewing (died) loses it within the TTL', { timeout: 10_000 }, async () => {
    const k = key();
    const lock = new RedisLock(client(), { ttlMs: 300 });
    const held = (await lock.tryAcquire(k))!;
    await new Promise((r) => setTimeout(r, 900));
    expect(await new RedisLock(client()).tryAcquire(k)).toBeUndefined();
    expect(held.lost).toBe(false);
    await held.release();

    // A holder that dies: its key set by hand with a TTL, never renewed.
    const c = client();
    await c.set(k, 'dead-holder', 'PX', 300);
    const waited = Date.now();
    const taken = await new RedisLock(c, { ttlMs: 5000, pollMs: 50 }).acquire(k);
    expect(Date.now() - waited).toBeLessThan(2000);
    expect(await c.get(k)).toBe(taken.token);
    await taken.release();
  });

  it('withLock runs contenders one after the other, also after one failed; a wait has a bound', { timeout: 10_000 }, async () => {
    const k = key();
    const order: string[] = [];
    const [one, two] = [new RedisLock(client(), { ttlMs: 2000, pollMs: 20 }), new RedisLock(client(), { ttlMs: 2000, pollMs: 20 })];
    const first = one.withLock(k, async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 200));
      order.push('first out');
      throw new Error('boom');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = two.withLock(k, async () => void order.push('second'));
    await expect(first).rejects.toThrow('boom');
    await second;
    expect(order).toEqual(['first in', 'first out', 'second']);

    const c = client();
    await c.set(k, 'someone', 'PX', 5000);
    await expect(new RedisLock(c, { waitMs: 200, pollMs: 20 }).withLock(k, async () => 'never')).rejects.toThrow(/held by another relay for more than 0 s/);
  });

  it('keeps the account key, certificates and challenge tokens where another node reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-redis-certs-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const pair = (name: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`], { cwd: dir, stdio: 'ignore' });
      return { certPem: readFileSync(join(dir, `${name}.pem`), 'utf8'), keyPem: readFileSync(join(dir, `${name}.key`), 'utf8') };
    };
    const prefix = `certs${++n}:`;
    const nodeA = new RedisCertStore(client(), { prefix });
    const nodeB = new RedisCertStore(client(), { prefix });
    expect(await nodeB.loadAccountKey()).toBeUndefined();
    await nodeA.saveAccountKey(Buffer.from('-----BEGIN PRIVATE KEY-----\nabc\n'));
    expect((await nodeB.loadAccountKey())?.toString()).toBe('-----BEGIN PRIVATE KEY-----\nabc\n');

    const a = pair('a');
    const b = pair('b');
    await nodeA.saveCertificate({ name: '*.example.com', ...a });
    await nodeA.saveCertificate({ name: 'x.example.com', ...b });
    expect((await nodeB.loadCertificates()).map((c) => c.name).sort()).toEqual(['*.example.com', 'x.example.com']);
    expect(await nodeB.loadCertificate('x.example.com')).toEqual({ name: 'x.example.com', ...b });
    // A pair that does not belong together, or an entry that is not JSON, is as good as none: ordered again.
    await nodeA.saveCertificate({ name: 'x.example.com', certPem: b.certPem, keyPem: a.keyPem });
    expect(await nodeB.loadCertificate('x.example.com')).toBeUndefined();
    await client().hset(`${prefix}acme:certs`, 'y.example.com', 'not json');
    expect((await nodeB.loadCertificates()).map((c) => c.name)).toEqual(['*.example.com']);
    await nodeB.deleteCertificate('*.example.com');
    expect(await nodeA.loadCertificate('*.example.com')).toBeUndefined();

    await nodeA.setChallenge('tok_1', 'tok_1.thumb');
    expect(await nodeB.getChallenge('tok_1')).toBe('tok_1.thumb');
    expect(await client().pttl(`${prefix}acme:challenge:tok_1`)).toBeGreaterThan(60_000);
    await nodeA.clearChallenge('tok_1');
    expect(await nodeB.getChallenge('tok_1')).toBeUndefined();
    // Another deployment's prefix sees none of it.
    await nodeA.setChallenge('tok_2', 'v');
    expect(await new RedisCertStore(client(), { prefix: `other${n}:` }).getChallenge('tok_2')).toBeUndefined();
  });
});
