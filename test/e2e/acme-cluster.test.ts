import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, createRelay, type RelayHandle } from '../../src/index.js';
import type { AcmeStatus } from '../../src/relay/acme/index.js';
import { DEFAULT_OFFLINE_LIMITS } from '../../src/relay/offline.js';
import { openRedisStore } from '../../src/relay/store/redis.js';
import type { RelayStore } from '../../src/relay/store/types.js';
import { servedCertificate, startPebble, type Pebble } from '../helpers/pebble.js';
import { startRedis } from '../helpers/redis.js';
import { startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';

// As in acme.test.ts: the domain is `localhost`, pebble's DNS answers every name with 127.0.0.1, and pebble checks
// HTTP-01 on one port (pebble.httpPort). Only relay A listens there; relay B's plain-HTTP port is elsewhere, so an
// order B places can only succeed if A answers B's challenge from Redis.
const DOMAIN = 'localhost';


/** The relay's ACME state from its metrics, over HTTPS verified against pebble's root. */
function acmeOf(relay: RelayHandle, root: string): Promise<AcmeStatus> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port: relay.port, servername: DOMAIN, headers: { host: DOMAIN }, path: '/_hooktunnel/metrics', ca: root }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve((JSON.parse(body) as { acme: AcmeStatus }).acme));
    }).on('error', reject).end();
  });
}

function challengeAt(port: number, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: `/.well-known/acme-challenge/${token}`, headers: { host: DOMAIN } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject).end();
  });
}

async function relayOn(store: RelayStore, pebble: Pebble, httpPort: number, log: string[]): Promise<RelayHandle> {
  const relay = await createRelay({
    host: '127.0.0.1', port: 0, domain: DOMAIN, store, heartbeatMs: 200,
    acme: { email: 'ops@example.com', directory: pebble.directory, directoryCa: readFileSync(pebble.caFile), httpPort, onLog: (line) => log.push(line) },
  });
  onTestFinished(() => relay.close());
  return relay;
}

describe.skipIf(lacks('the ACME cluster tests', 'pebble', 'openssl', 'redis-server'))('ACME for two relays sharing one Redis (pebble, a real redis-server)', () => {
  it('orders the base certificate once for both, answers one node\'s challenges on the other, and serves a tunnel host ordered through one from the other without a new order', { timeout: 90_000 }, async () => {
    const pebble = await startPebble();
    const redis = await startRedis();
    onTestFinished(() => redis.stop());
    const open = () => openRedisStore(redis.url, { prefix: 'acme-e2e:', reservationMs: 60_000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 } });
    const [storeA, storeB] = [await open(), await open()];
    const logA: string[] = [];
    const logB: string[] = [];

    // Both start at once: one takes the order lock and orders; the other waits and takes the certificate from Redis.
    const [a, b] = await Promise.all([relayOn(storeA, pebble, pebble.httpPort, logA), relayOn(storeB, pebble, 0, logB)]);
    const root = await pebble.root();
    const [sa, sb] = [await acmeOf(a, root), await acmeOf(b, root)];
    expect(sa.orders + sb.orders).toBe(1);
    expect([sa, sb].map((s) => ({ ok: s.ok, certificates: s.certificates }))).toEqual([{ ok: true, certificates: 1 }, { ok: true, certificates: 1 }]);
    const baseA = await servedCertificate(a.port, DOMAIN);
    expect(baseA.subjectaltname).toBe(`DNS:${DOMAIN}`);
    expect((await servedCertificate(b.port, DOMAIN)).serialNumber).toBe(baseA.serialNumber);
    expect([...logA, ...logB].filter((l) => /taken from the store/.test(l))).toHaveLength(1);

    // A challenge token written through node A's store is answered on node B's plain-HTTP port, and the other way.
    await storeA.certStore!().setChallenge('from_a', 'from_a.key-authorization');
    expect(await challengeAt(b.httpPort!, 'from_a')).toEqual({ status: 200, body: 'from_a.key-authorization' });
    await storeB.certStore!().setChallenge('from_b', 'from_b.ka');
    expect(await challengeAt(pebble.httpPort, 'from_b')).toEqual({ status: 200, body: 'from_b.ka' });
    await storeB.certStore!().clearChallenge('from_b');
    expect((await challengeAt(pebble.httpPort, 'from_b')).status).toBe(404);

    // An agent on B; the first handshake for its host on B orders that host's certificate. Pebble validates on
    // A's port, so the order succeeds only because A answers B's token from Redis.
    const target = await startTarget((_req, res) => res.end('shop ok'));
    const agent = await connectAgent({ relay: b.url, target: target.url, ca: root, subdomain: 'shop' });
    onTestFinished(() => agent.close());
    const onB = await servedCertificate(b.port, `shop.${DOMAIN}`);
    expect(onB.subjectaltname).toBe(`DNS:shop.${DOMAIN}`);
    const afterB = await acmeOf(b, root);
    expect(afterB.orders).toBe(sb.orders + 1);

    // Node A serves the same certificate for that host (the tunnel exists in the shared directory), ordering nothing.
    const onA = await servedCertificate(a.port, `shop.${DOMAIN}`);
    expect(onA.serialNumber).toBe(onB.serialNumber);
    const afterA = await acmeOf(a, root);
    expect(afterA.orders).toBe(sa.orders);
    expect(afterA.certificates).toBe(2);
    expect((await acmeOf(b, root)).orders).toBe(afterB.orders);
    // And it is a real certificate for that host: verified against pebble's root by name.
    const verified = await new Promise<number>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: a.port, servername: `shop.${DOMAIN}`, headers: { host: DOMAIN }, path: '/_hooktunnel/health', ca: root }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject).end();
    });
    expect(verified).toBe(200);
  });
});
