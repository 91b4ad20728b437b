import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RedisDirectory } from '../../src/relay/store/redis-directory.js';
import { RedisInbox } from '../../src/relay/store/redis-inbox.js';
import type { RedisUsage } from '../../src/relay/store/redis-usage.js';
import { openRedisStore, redactRedisUrl } from '../../src/relay/store/redis.js';
import { secretDigest } from '../../src/relay/tunnel-ids.js';
import { redisForSuite } from '../helpers/redis.js';
import { lacks } from '../helpers/tools.js';
import { directoryContract, inboxContract } from '../helpers/store-contract.js';

describe.skipIf(lacks('the Redis store tests', 'redis-server'))('redis store (a real redis-server on loopback)', () => {
  const server = redisForSuite();
  let n = 0;

  /** A fresh connection and key prefix per test, so that tests share the server and nothing else. */
  function connection(): { redis: Redis; prefix: string } {
    const redis = new Redis(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    onTestFinished(() => void redis.disconnect());
    return { redis, prefix: `test${++n}:` };
  }

  describe('inbox', () => inboxContract((limits) => {
    const { redis, prefix } = connection();
    return new RedisInbox(redis, prefix, limits);
  }));

  describe('tunnel directory', () => directoryContract((ms) => {
    const { redis, prefix } = connection();
    return new RedisDirectory(redis, prefix, ms, 10_000);
  }));

  it('two relays on one Redis: an id claimed through one is refused through the other, and a kept request is delivered by either', async () => {
    const options = { reservationMs: 60_000, offline: { maxCount: 10, maxBytes: 1 << 20, ttlMs: 60_000 }, limits: { tunnelsPerToken: 10, requestsPerMinute: 100 }, prefix: `shared${++n}:` };
    const a = await openRedisStore(server.url, options);
    onTestFinished(() => a.close());
    const b = await openRedisStore(server.url, options);
    onTestFinished(() => b.close());
    const owner = { owner: 'token:x' };
    const claimed = await a.directory.claim('shared', undefined, owner);
    await expect(b.directory.claim('shared', 'not the secret', owner)).rejects.toMatchObject({ code: 'tunnel_taken' });
    await a.directory.release('shared', claimed.epoch);
    const head = { method: 'POST', path: '/p', headers: [], remote: '', host: '', id: 'k1', arrivedAt: Date.now(), status: 503 };
    const body = Buffer.from([0, 255, 1, 254, 13, 10]);
    await a.inbox.keep('shared', { head, body });
    const again = await b.directory.claim('shared', claimed.secret, owner);
    expect(again).toMatchObject({ inherited: true, epoch: claimed.epoch + 1 });
    const { items } = await b.inbox.pending('shared');
    expect(items).toHaveLength(1);
    expect(Buffer.compare(items[0]!.body, body)).toBe(0);
    await b.inbox.ack('shared', ['k1']);
    expect((await a.inbox.pending('shared')).items).toEqual([]);
  });

  it('per-token limits hold across the relays: tunnels by their leases, requests per minute by the shared counts', async () => {
    const options = { reservationMs: 60_000, offline: { maxCount: 10, maxBytes: 1000, ttlMs: 60_000 }, limits: { tunnelsPerToken: 1, requestsPerMinute: 3 }, prefix: `usage${++n}:`, usageFlushMs: 3_600_000 };
    const a = await openRedisStore(server.url, options);
    onTestFinished(() => a.close());
    const b = await openRedisStore(server.url, options);
    onTestFinished(() => b.close());
    const owner = { owner: 'token:x' };
    expect(await b.usage.canOpen('token:x')).toBe(true);
    const claimed = await a.directory.claim('one', undefined, owner);
    expect(await b.usage.canOpen('token:x')).toBe(false);
    expect(await b.usage.canOpen('token:y')).toBe(true);
    await a.directory.release('one', claimed.epoch);
    expect(await b.usage.canOpen('token:x')).toBe(true);

    const now = 30_000 + 60_000 * Math.floor(Date.now() / 60_000);
    expect(a.usage.request('token:x', now)).toBe(0);
    expect(a.usage.request('token:x', now)).toBe(0);
    await (a.usage as RedisUsage).flush(now);
    expect(b.usage.request('token:x', now)).toBe(0);
    await (b.usage as RedisUsage).flush(now);
    // Three in this minute over both relays: both refuse now, with the seconds to the next minute.
    expect(b.usage.request('token:x', now)).toBe(30);
    await (a.usage as RedisUsage).flush(now);
    expect(a.usage.request('token:x', now)).toBe(30);
    expect(a.usage.request('token:other', now)).toBe(0);
  });

  it('a relay that stops renewing loses the lease: the tunnel is then reserved, refused to others, and its owner can take it over', async () => {
    const { redis, prefix } = connection();
    const d = new RedisDirectory(redis, prefix, 60_000, 50);
    const claimed = await d.claim('leased', undefined, { owner: 'token:x' });
    expect(await d.lookup('leased')).toMatchObject({ held: true });
    await new Promise((r) => setTimeout(r, 120));
    const lapsed = await d.lookup('leased');
    expect(lapsed).toMatchObject({ held: false });
    expect(lapsed!.reservedUntil).toBeGreaterThan(Date.now() + 50_000);
    await expect(d.claim('leased', undefined, { owner: 'token:y' })).rejects.toMatchObject({ code: 'tunnel_taken' });
    const taken = await d.claim('leased', claimed.secret, { owner: 'token:x' });
    expect(taken).toMatchObject({ inherited: true, epoch: claimed.epoch + 1 });
    // The old holder learns at its next renewal that the tunnel is someone else's now.
    expect(await d.renew([{ id: 'leased', epoch: claimed.epoch, secretDigest: secretDigest(claimed.secret).toString('hex'), access: { owner: 'token:x' } }])).toEqual(['leased']);
  });

  it('records which cluster node holds a tunnel: the claimant, the renewer, nobody after a release or once the lease ran out', async () => {
    const { redis, prefix } = connection();
    const a = new RedisDirectory(redis, prefix, 60_000, 10_000, 'http://10.0.0.1:8080');
    const b = new RedisDirectory(redis, prefix, 60_000, 150, 'http://10.0.0.2:8080');
    const access = { owner: 'token:x' };
    const first = await a.claim('held-by', undefined, access);
    expect(await b.lookup('held-by')).toMatchObject({ held: true, holder: 'http://10.0.0.1:8080' });
    const moved = await b.claim('held-by', first.secret, access);
    expect(await a.lookup('held-by')).toMatchObject({ held: true, holder: 'http://10.0.0.2:8080' });
    const held = { id: 'held-by', secretDigest: secretDigest(first.secret).toString('hex'), access };
    // The old node's renewal is fenced off by the epoch and does not take the holder back.
    expect(await a.renew([{ ...held, epoch: first.epoch }])).toEqual(['held-by']);
    expect((await a.lookup('held-by'))?.holder).toBe('http://10.0.0.2:8080');
    await b.release('held-by', moved.epoch);
    expect(await a.lookup('held-by')).toMatchObject({ held: false, holder: undefined });
    const again = await b.claim('held-by', first.secret, access);
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.lookup('held-by')).toMatchObject({ held: false, holder: undefined });
    await b.renew([{ ...held, epoch: again.epoch }]);
    expect(await a.lookup('held-by')).toMatchObject({ held: true, holder: 'http://10.0.0.2:8080' });
    // A relay outside a cluster records no holder.
    await new RedisDirectory(redis, prefix, 60_000, 10_000).claim('no-holder', undefined, access);
    expect((await a.lookup('no-holder'))?.holder).toBeUndefined();
  });

  it('refuses to start when Redis cannot be reached, naming the URL without its password', async () => {
    await expect(openRedisStore('redis://:hunter2@127.0.0.1:1/0', { reservationMs: 1, offline: { maxCount: 1, maxBytes: 1, ttlMs: 1 }, limits: { tunnelsPerToken: 1, requestsPerMinute: 1 }, connectTimeoutMs: 1000 }))
      .rejects.toThrow(/cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0/);
    expect(redactRedisUrl('rediss://user:pw@h:6380/2')).toBe('rediss://user:***@h:6380/2');
  });
});
