import { request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RelayHandle } from '../../src/index.js';
import { sign } from '../../src/relay/cluster/auth.js';
import { DEFAULT_OFFLINE_LIMITS, keptRequest } from '../../src/relay/offline.js';
import { openRedisStore } from '../../src/relay/store/redis.js';
import { pausedResponse, rawExchange, send } from '../helpers/http.js';
import { redisForSuite } from '../helpers/redis.js';
import { readBody, startAgent, startRelay, startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';
import { freePort } from '../helpers/ports.js';

// Forwarding between cluster nodes in detail, with in-process nodes on one real redis-server: what the target sees
// through another node is what it sees through the node its agent is on, and gatekeeping happens once.

const SECRET = 'forward-test-secret-0123456789';

/** POSTs `parts` chunked (no Content-Length) and reads the answer. */
function sendChunked(base: string, path: string, parts: Buffer[]): Promise<{ status: number; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path, agent: false }, (res) => {
      const got: Buffer[] = [];
      res.on('data', (c: Buffer) => got.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(got) }));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
}

/**
 * A TCP proxy in front of a node that holds back the node's bytes (its 100 Continue, its answer) until the request
 * in flight has arrived whole, or for `holdMs`. Each request through it records whether its body had to wait for
 * those bytes (`waited`): a forwarder that sends the body only after 100 Continue waits, one that sends it with the
 * head does not.
 */
async function holdingProxy(port: number, holdMs: number): Promise<{ port: number; requests: Array<{ bodyBytes: number; waited: boolean }>; server: Server }> {
  const requests: Array<{ bodyBytes: number; waited: boolean }> = [];
  const server = createServer((client) => {
    const node = connect(port, '127.0.0.1');
    let head = Buffer.alloc(0);
    let remaining = 0;
    let current: { bodyBytes: number; waited: boolean } | undefined;
    let held: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      clearTimeout(timer);
      timer = undefined;
      for (const b of held) client.write(b);
      held = [];
    };
    client.on('data', (data: Buffer) => {
      node.write(data);
      let rest = data;
      while (rest.length > 0) {
        if (remaining > 0) {
          const n = Math.min(remaining, rest.length);
          remaining -= n;
          rest = rest.subarray(n);
          if (remaining === 0) release();
          continue;
        }
        head = Buffer.concat([head, rest]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        current = { bodyBytes: length, waited: false };
        requests.push(current);
        rest = head.subarray(end + 4);
        head = Buffer.alloc(0);
        remaining = length;
        if (remaining === 0) release();
      }
    });
    node.on('data', (data: Buffer) => {
      if (remaining === 0 || (current?.waited && timer === undefined)) return void client.write(data);
      held.push(data);
      timer ??= setTimeout(() => {
        current!.waited = true;
        release();
      }, holdMs);
    });
    client.on('close', () => node.destroy());
    node.on('close', () => client.destroy());
    client.on('error', () => node.destroy());
    node.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, requests, server };
}

describe.skipIf(lacks('the cluster forwarding tests', 'redis-server'))('forwarding between cluster nodes (in-process nodes, a real redis-server)', () => {
  const redis = redisForSuite();
  let n = 0;

  /** Two nodes of a fresh cluster (own key prefix): `home` for the agent, `other` for the senders. */
  const pair = async (limits: { requestsPerMinute?: number; maxBodyBytes?: number } = {}, domain?: string): Promise<{ home: RelayHandle; other: RelayHandle; prefix: string }> => {
    const prefix = `fwd${++n}:`;
    const node = async (): Promise<RelayHandle> => {
      const port = await freePort();
      return startRelay({ port, domain, offline: { waitMs: 0 }, limits, cluster: { redis: redis.url, url: `http://127.0.0.1:${port}`, secret: SECRET, prefix } });
    };
    return { home: await node(), other: await node(), prefix };
  };

  it('the target sees the same head through another node as through its own: header order, case and repeats, Host, X-Forwarded-*; bodies of unknown length; a sender without Host', { timeout: 20_000 }, async () => {
    const { home, other } = await pair();
    const seen: Array<{ raw: string[]; body: string }> = [];
    const target = await startTarget((req, res) => {
      void readBody(req).then((body) => {
        seen.push({ raw: req.rawHeaders, body: body.toString() });
        res.writeHead(202, { 'X-Multi': ['a', 'b'] }).end('ok');
      });
    });
    await startAgent(home, target.url, { subdomain: 'same-head' });
    const headers = ['Host', 'hooks.example', 'X-Sig', '1', 'x-sig', '2', 'X-Forwarded-For', '198.51.100.4', 'Content-Type', 'text/plain', 'Content-Length', '5'];
    for (const base of [home.url, other.url]) {
      const res = await send(base, '/t/same-head/p?q=1', { method: 'POST', headers, body: 'hello' });
      expect(res.status).toBe(202);
      expect(res.headers['x-multi']).toBe('a, b');
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]!.raw).toEqual(expect.arrayContaining(['X-Forwarded-For', '198.51.100.4, 127.0.0.1', 'X-Forwarded-Host', 'hooks.example']));

    const parts = [Buffer.alloc(100_000, 1), Buffer.alloc(3, 2), Buffer.alloc(70_000, 3)];
    const chunked = await sendChunked(other.url, '/t/same-head/chunked', parts);
    expect(chunked.status).toBe(202);
    expect(seen[2]!.body).toBe(Buffer.concat(parts).toString());

    for (const port of [home.port, other.port]) {
      const answer = await rawExchange(port, 'GET /t/same-head/old HTTP/1.0\r\nX-A: 1\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 202/);
    }
    expect(seen[4]!.raw).toEqual(seen[3]!.raw);
    expect(seen[3]!.raw).not.toContain('Host');
  });

  it('gatekeeping happens once, on the node the request reached: allow lists refuse there, and the rate limit counts each request once', { timeout: 20_000 }, async () => {
    const { home, other } = await pair({ requestsPerMinute: 3 });
    const hits: string[] = [];
    const target = await startTarget((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    await startAgent(home, target.url, { subdomain: 'walled', allowIps: ['10.0.0.0/8'] });
    const refused = await send(other.url, '/t/walled/x');
    expect(refused.status).toBe(403);
    expect(refused.headers['x-hooktunnel-error']).toBe('forbidden');
    expect(hits).toEqual([]);

    await startAgent(home, target.url, { subdomain: 'counted' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(other.url, `/t/counted/${i}`)).status);
    // Counted twice (here and on the holder), the second would already be refused.
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(hits).toEqual(['/0', '/1', '/2']);
  });

  it('backpressure through the hop, both ways: a target answering a sender that stops reading waits, and so does a sender whose target stops reading', { timeout: 30_000 }, async () => {
    const { home, other } = await pair();
    const MiB = 1024 * 1024;
    let written = 0;
    let blocked: () => void = () => {};
    const blockedOnce = new Promise<void>((r) => (blocked = r));
    const chunk = Buffer.alloc(64 * 1024, 1);
    const target = await startTarget((req, res) => {
      if (req.url === '/upload') return void req.pause();
      res.writeHead(200, { 'content-length': String(256 * MiB) });
      const more = (): void => {
        while (written < 256 * MiB) {
          written += chunk.length;
          if (!res.write(chunk)) {
            blocked();
            return void res.once('drain', more);
          }
        }
        res.end();
      };
      more();
    });
    await startAgent(home, target.url, { subdomain: 'slow-ends' });
    const paused = await pausedResponse(other.url, '/t/slow-ends/download');
    await blockedOnce;
    await new Promise((r) => setTimeout(r, 500));
    const stalledAt = written;
    paused.destroy();
    // Bytes did flow (past the 2 MiB stream window), and stopped well short of the body.
    expect(stalledAt).toBeGreaterThan(2 * MiB);
    expect(stalledAt).toBeLessThan(64 * MiB);

    let sent = 0;
    const url = new URL(other.url);
    const upload = request({ host: url.hostname, port: url.port, method: 'POST', path: '/t/slow-ends/upload', agent: false, headers: { 'content-length': String(256 * MiB) } });
    upload.on('error', () => {});
    onTestFinished(() => void upload.destroy());
    const pump = (): void => {
      while (sent < 256 * MiB) {
        sent += chunk.length;
        if (!upload.write(chunk)) return void upload.once('drain', pump);
      }
    };
    pump();
    let before = -1;
    for (let i = 0; i < 100 && sent !== before; i++) {
      before = sent;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(sent).toBe(before);
    expect(sent).toBeGreaterThan(2 * MiB);
    expect(sent).toBeLessThan(64 * MiB);
  });

  it("on a tunnel's own host (subdomain routing) an unsigned /_hooktunnel/cluster/ path is the tunnel's, through either node", { timeout: 20_000 }, async () => {
    const { home, other } = await pair({}, 'tunnel.test');
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    await startAgent(home, target.url, { subdomain: 'own-host' });
    for (const base of [home.url, other.url]) {
      const res = await send(base, '/_hooktunnel/cluster/tunnel/x/y', { headers: { host: 'own-host.tunnel.test' } });
      expect(res.body.toString()).toBe('got /_hooktunnel/cluster/tunnel/x/y');
    }
    expect((await send(other.url, '/_hooktunnel/cluster/tunnel/own-host/y', { headers: { host: 'tunnel.test' } })).status).toBe(403);
  });

  it("the holder's errors reach the sender with their codes, also one it makes mid-body", { timeout: 20_000 }, async () => {
    const { home, other } = await pair({ maxBodyBytes: 100_000 });
    await startAgent(home, 'http://127.0.0.1:1', { subdomain: 'no-target' });
    const res = await send(other.url, '/t/no-target/x');
    expect(res.status).toBe(502);
    expect(res.headers['x-hooktunnel-error']).toBe('upstream_unreachable');
    // No Content-Length: the node it reached cannot tell, the holder counts while streaming.
    const large = await sendChunked(other.url, '/t/no-target/big', [Buffer.alloc(60_000), Buffer.alloc(60_000)]);
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body.toString())).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it("a node asked for a tunnel it does not hold answers 421 before taking the body; asked to deliver, it hands its agent what was kept", { timeout: 20_000 }, async () => {
    const { home, prefix } = await pair();
    const target = await startTarget((_req, res) => res.end('ok'));
    const agent = await startAgent(home, target.url, { subdomain: 'delivered' });
    const missed: string[] = [];
    agent.events.on('missed', (e) => missed.push(`${e.path} ${e.body.toString()}`));

    const path = '/_hooktunnel/cluster/tunnel/elsewhere/x';
    const notHere = await send(home.url, path, { method: 'POST', body: 'never read', headers: { 'x-hooktunnel-cluster-auth': sign(SECRET, 'POST', path, '127.0.0.1'), 'x-hooktunnel-cluster-remote': '127.0.0.1' } });
    expect(notHere.status).toBe(421);
    expect(notHere.headers['x-hooktunnel-cluster-not-here']).toBe('1');

    // Kept by another node while the agent was already connected here (the race the deliver call closes).
    const store = await openRedisStore(redis.url, { prefix, reservationMs: 60_000, offline: DEFAULT_OFFLINE_LIMITS, limits: { tunnelsPerToken: 10, requestsPerMinute: 6000 } });
    onTestFinished(() => store.close());
    await store.inbox.keep('delivered', keptRequest({ method: 'POST', path: '/late', headers: [], remote: '127.0.0.1', host: '' }, Buffer.from('late body'), Date.now()));
    const deliver = '/_hooktunnel/cluster/deliver/delivered';
    expect((await send(home.url, deliver, { method: 'POST' })).status).toBe(403);
    expect(missed).toEqual([]);
    const ok = await send(home.url, deliver, { method: 'POST', headers: { 'x-hooktunnel-cluster-auth': sign(SECRET, 'POST', deliver, ''), 'x-hooktunnel-cluster-remote': '' } });
    expect(ok.status).toBe(204);
    for (let i = 0; i < 200 && missed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(missed).toEqual(['/late late body']);
  });

  it('a node remembers which node holds a tunnel (a burst of crossing requests asks Redis far less than once each); when the agent moves, the old holder\'s 421 sends the request on to the new one', { timeout: 20_000 }, async () => {
    const prefix = `fwd${++n}:`;
    const node = async (): Promise<RelayHandle> => {
      const port = await freePort();
      // A cache longer than the test: what the request after the move finds in it is surely stale.
      return startRelay({ port, heartbeatMs: 300, offline: { waitMs: 0 }, cluster: { redis: redis.url, url: `http://127.0.0.1:${port}`, secret: SECRET, prefix, holderCacheMs: 60_000 } });
    };
    const home = await node();
    const other = await node();
    const next = await node();
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const first = await startAgent(home, target.url, { subdomain: 'moving' });
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    onTestFinished(() => void client.quit());
    await client.connect();
    const commands = async (): Promise<number> => Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]);

    expect((await send(other.url, '/t/moving/first')).body.toString()).toBe('got /first');
    const before = await commands();
    for (let i = 0; i < 50; i++) expect((await send(other.url, `/t/moving/${i}`)).body.toString()).toBe(`got /${i}`);
    // Heartbeat renewals of the three nodes run meanwhile; one lookup per request would be 50 on its own.
    expect((await commands()) - before - 1).toBeLessThan(25);

    const moved: string[] = [];
    const second = await startAgent(next, target.url, { subdomain: 'moving', secret: first.secret });
    second.events.on('request', (e) => moved.push(e.path));
    for (let i = 0; i < 200 && home.stats().tunnels > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(home.stats().tunnels).toBe(0);
    // `other` still believes home holds it: home answers 421, other looks it up again and forwards to next.
    const res = await send(other.url, '/t/moving/after');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got /after');
    expect(moved).toEqual(['/after']);
  });
  it('a small body crosses to the holder with its head, without waiting for its 100 Continue; a larger one leaves once the holder has taken the request', { timeout: 20_000 }, async () => {
    const prefix = `fwd${++n}:`;
    const homePort = await freePort();
    const proxy = await holdingProxy(homePort, 1000);
    onTestFinished(() => void proxy.server.close());
    // Other nodes reach `home` through the proxy: its cluster URL is the proxy's.
    const home = await startRelay({ port: homePort, offline: { waitMs: 0 }, cluster: { redis: redis.url, url: `http://127.0.0.1:${proxy.port}`, secret: SECRET, prefix } });
    const otherPort = await freePort();
    const other = await startRelay({ port: otherPort, offline: { waitMs: 0 }, cluster: { redis: redis.url, url: `http://127.0.0.1:${otherPort}`, secret: SECRET, prefix } });
    const got: number[] = [];
    const target = await startTarget((req, res) => void readBody(req).then((body) => {
      got.push(body.length);
      res.end(`got ${body.length}`);
    }));
    await startAgent(home, target.url, { subdomain: 'small-first' });

    for (const size of [1024, 0, 200_000]) {
      const started = Date.now();
      const res = await send(other.url, '/t/small-first/hook', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(size) }, body: Buffer.alloc(size, 0x61) });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe(`got ${size}`);
      if (size <= 1024) expect(Date.now() - started).toBeLessThan(900);
    }
    expect(got).toEqual([1024, 0, 200_000]);
    expect(proxy.requests.map((r) => [r.bodyBytes, r.waited])).toEqual([[1024, false], [0, false], [200_000, true]]);
  });
});
